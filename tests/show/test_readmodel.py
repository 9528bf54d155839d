"""The read model's instants: every one in both forms, `<name>` (ISO 8601 in the show's zone)
and `<name>_ms` (epoch ms), and the two agree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rundowns import SAMPLE, load

from control.show import commands as C
from control.show.engine import advance, apply
from control.show.state import initial_state
from control.show.view import Devices, read_model

OBS: Any = {"connected": True, "in_sync": True, "alarms": [], "manual_override": None}


def _instants(node: Any, where: str = "") -> list[tuple[str, str | None, int | None]]:
    """Every (path, ISO, ms) pair in the model; asserts no instant is given in one form."""
    found = []
    if isinstance(node, list):
        for i, item in enumerate(node):
            found += _instants(item, f"{where}[{i}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("_ms") and key != "av_offset_ms":
                name = key.removesuffix("_ms")
                assert name in node, f"{where}.{key} has no ISO twin {name!r}"
                found.append((f"{where}.{name}", node[name], value))
            elif isinstance(value, str) and _is_iso(value):
                assert f"{key}_ms" in node, f"{where}.{key} ({value}) has no {key}_ms"
            else:
                found += _instants(value, f"{where}.{key}")
    return found


def _is_iso(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None and "T" in text
    except ValueError:
        return False


def test_every_instant_is_given_as_iso_and_as_epoch_ms() -> None:
    rundown = load(SAMPLE.read_text("utf-8")).rundown
    start = rundown.show.start_ms
    state = advance(initial_state(rundown), start).state  # the show starts by itself
    state = apply(state, C.Skip(), start + 1_000).state   # the next one skipped
    state = apply(state, C.Take(), start + 60_000).state  # and one taken by hand
    model = read_model(state, start + 90_000, Devices(obs=OBS, guests=[]))
    pairs = _instants(model)
    names = {path.split("[")[0].split(".")[1] + "." + path.rsplit(".", 1)[1]
             for path, _, _ in pairs}
    for expected in ("show.now", "show.planned_start", "show.planned_end", "on_air.since",
                     "on_air.planned_end", "segments.planned_start", "segments.start",
                     "segments.end", "segments.hard_start", "hard_starts.target",
                     "hard_starts.projected_arrival", "asrun.start", "asrun.end", "asrun.at"):
        assert expected in names, expected
    for path, text, ms in pairs:
        if text is None or ms is None:
            assert text is None and ms is None, (path, text, ms)
            continue
        assert round(datetime.fromisoformat(text).timestamp() * 1000) == ms, path
