"""The rundown loader, past tests/show/test_fuzz_loader.py (which feeds it random text, random
documents over its keys, line mutations of the sample, alias bombs and deep nesting):

- values: one scalar (or key) of a real rundown replaced by an odd one (huge, negative or
  unicode-digit durations, impossible dates, YAML escapes such as a lone surrogate);
- what an accepted rundown promises: the whole show simulates, and its read model and
  journal session record are strict JSON in UTF-8 (a console and the journal can carry it);
- files: bytes that are not UTF-8, a BOM, NUL, CR line ends, through `read_rundown_file`;
- a reload of a broken file during the show (`POST /api/reload`): 422 with `file:line:col`
  errors, the show and the journal untouched.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import yaml
from fuzz.support import RUNDOWN, Live, fuzz
from hypothesis import example, given
from hypothesis import strategies as st
from rundowns import REHEARSAL, SAMPLE

from control.journal.records import session_record
from control.journal.store import encode
from control.show.diagnostics import RundownError
from control.show.loader import Loaded, load_rundown
from control.show.simulate import simulate
from control.show.state import initial_state
from control.show.view import show_view
from control.wiring.rundown import read_rundown_file

TEXTS = {p.name: p.read_text("utf-8") for p in (SAMPLE, REHEARSAL)}
# every scalar as the text it is (BaseLoader): `23:59:50` stays a time, not YAML 1.1's 86390
DOCS = {name: yaml.load(text, Loader=yaml.BaseLoader) for name, text in TEXTS.items()}

ODD_SCALARS = [
    "0s", "-1m", "99999999h", "1e309s", "１０m", "٣m", "1m..", "..2m", "3m..1m", "0s..0s",
    "5m..5m", "1ms", "0.0001s", "NaN", ".inf", "-.inf", "~", "null", "", " ", "yes", "no",
    "0x10", "0o17", "1_000", "23:59:60", "24:00:00", "25:00", "-1:00", "00:00:00.000001",
    "2023-02-29 00:00:00", "0000-01-01 00:00:00", "9999-12-31 23:59:59", "1969-12-31 23:59:59",
    "2023-12-31T22:00:00+25:00", "2023-12-31 22:00:00 +08:00", "Asia/Nowhere", "UTC+8",
    "../../etc/passwd", "Etc/GMT+14", "localtime", "fade -1s", "fade 1e9s", "cut 1s",
    "next next", "科学", "\u202e", "a" * 5000, "-", "--", "x\ty", "\x7f",
]
# YAML double-quoted escapes: what a director could paste, and what no text may hold
ESCAPES = ['"\\udc80"', '"a\\ud800b"', '"\\x00"', '"\\u2028"', '"\\U0010ffff"', '"\\N"',
           '"\\_"', '"\\e"', '"\\L\\P"', '"\\t"', "'it''s'", '"\\"', "!!binary aGk=",
           "!!python/object:os.system x", "&a x", "*nope", "!!str 1", "!!int x",
           "!!float 1e999", "!!timestamp 2023-12-31", "[1, 2]", "{a: 1}", "|\n  block"]


def load_or_refuse(text: str) -> Loaded | None:
    """Load; a refusal is a RundownError with positioned errors. An accepted rundown keeps
    its promises: it simulates, and it travels as strict UTF-8 JSON."""
    try:
        loaded = load_rundown(text, "fuzz.yaml")
    except RundownError as exc:
        assert exc.errors, "a refusal must carry at least one error"
        for d in exc.diagnostics:
            assert d.line >= 1 and d.col >= 1 and d.message
        return None
    rundown = loaded.rundown
    simulate(rundown)
    state = initial_state(rundown)
    model = show_view(state, rundown.show.start_ms)
    json.dumps(model, ensure_ascii=False, allow_nan=False).encode("utf-8")
    encode(session_record("fuzz.yaml", text))
    return loaded


def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], bool]]:
    """Every (path, is_key) of a document: the scalars and the mapping keys."""
    out: list[tuple[tuple[Any, ...], bool]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append(((*path, k), True))
            out.extend(_leaves(v, (*path, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(_leaves(v, (*path, i)))
    else:
        out.append((path, False))
    return out


def _replace(doc: Any, path: tuple[Any, ...], is_key: bool, value: Any) -> None:
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if is_key:
        parent[value if isinstance(value, str) else str(value)] = parent.pop(last)
    else:
        parent[last] = value


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    """A real rundown with one to three scalars or keys replaced by odd ones."""
    doc = copy.deepcopy(DOCS[draw(st.sampled_from(sorted(DOCS)))])
    for _ in range(draw(st.integers(1, 3))):
        leaves = _leaves(doc)
        path, is_key = draw(st.sampled_from(leaves))
        if not path:
            break
        value = draw(st.sampled_from(ODD_SCALARS) | st.integers() | st.floats()
                     | st.booleans() | st.none() | st.text(max_size=12)
                     | st.sampled_from([10**30, -(10**30), 2**63]))
        _replace(doc, path, is_key, value)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def test_odd_values_in_real_rundowns() -> None:
    accepted = []

    @fuzz(150)
    @given(text=mutated_documents())
    def run(text: str) -> None:
        accepted.append(load_or_refuse(text) is not None)

    for name, doc in DOCS.items():  # unmutated, the round trip keeps them valid
        assert load_or_refuse(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)), name
    run()
    assert any(accepted) and not all(accepted), "the mutations were all judged alike"


def test_yaml_escapes_and_tags_in_every_text_field() -> None:
    """Each escape or tag as the value of each scalar of the rehearsal rundown, in turn."""
    base = TEXTS[REHEARSAL.name]
    lines = base.splitlines(keepends=True)
    spots = [i for i, line in enumerate(lines)
             if ": " in line and not line.lstrip().startswith("#") and not line.rstrip().
             endswith(":")]
    rng = random.Random(8)
    accepted = 0
    for escape in ESCAPES:
        for i in rng.sample(spots, min(8, len(spots))):
            head, _, _ = lines[i].partition(": ")
            text = "".join([*lines[:i], f"{head}: {escape}\n", *lines[i + 1:]])
            accepted += load_or_refuse(text) is not None
    assert accepted, "no replacement at all was accepted: the test tests nothing"


def test_a_lone_surrogate_is_refused_where_it_is() -> None:
    text = TEXTS[REHEARSAL.name].replace("title: Rehearsal", 'title: "Re\\udc80"')
    try:
        load_rundown(text, "r.yaml")
    except RundownError as exc:
        (error,) = exc.errors
        assert (error.line, "lone surrogate" in error.message) == (7, True), error
    else:
        raise AssertionError("a lone surrogate was accepted")


@example(raw=b"\xef\xbb\xbf" + TEXTS[REHEARSAL.name].encode())
@example(raw=TEXTS[REHEARSAL.name].encode("utf-16"))
@example(raw=TEXTS[REHEARSAL.name].replace("\n", "\r").encode())
@example(raw=TEXTS[REHEARSAL.name].replace("Rehearsal", "Re\x00").encode())
@example(raw=TEXTS[REHEARSAL.name].encode()[:-7] + b"\xff\xfe")
@fuzz(60)
@given(raw=st.data())
def test_files_that_are_not_clean_utf8(tmp_path_factory: Any, raw: Any) -> None:
    if not isinstance(raw, bytes):
        text = TEXTS[REHEARSAL.name].encode()
        at = raw.draw(st.integers(0, len(text)))
        raw = text[:at] + raw.draw(st.binary(min_size=1, max_size=8)) + text[at:]
    path = tmp_path_factory.mktemp("files") / "r.yaml"
    path.write_bytes(raw)
    try:
        _, loaded = read_rundown_file(path)
    except RundownError as exc:
        assert all(d.line >= 1 and d.col >= 1 and d.message for d in exc.diagnostics)
    else:
        load_or_refuse(path.read_text("utf-8"))
        assert loaded.rundown.segments


# -- a reload of a broken file during the show


@st.composite
def broken_rundowns(draw: st.DrawFn) -> str:
    """The running show's own rundown with a line or a value broken."""
    lines = RUNDOWN.splitlines(keepends=True)
    i = draw(st.integers(0, len(lines) - 1))
    op = draw(st.sampled_from(["delete", "char", "value", "escape", "indent"]))
    if op == "delete":
        del lines[i]
    elif op == "char":
        k = draw(st.integers(0, max(len(lines[i]) - 1, 0)))
        lines[i] = lines[i][:k] + draw(st.sampled_from(list(":-[]{}&*!|>'\"%@`#,? \t0"))) \
            + lines[i][k + 1:]
    elif op in ("value", "escape") and ": " in lines[i]:
        head = lines[i].split(": ")[0]
        value = draw(st.sampled_from(ESCAPES if op == "escape" else ODD_SCALARS))
        lines[i] = f"{head}: {value}\n"
    else:
        lines[i] = "  " + lines[i]
    return "".join(lines)


def test_a_broken_reload_leaves_the_show_alone(live: Live) -> None:
    statuses: set[int] = set()
    try:
        @fuzz(40)
        @given(text=broken_rundowns())
        @example(text=RUNDOWN.replace("title: Talk", 'title: "\\udc80"'))
        @example(text=RUNDOWN.replace("duration: 10m, scene: Credits", "duration: -1m, "
                                      "scene: Credits"))
        @example(text=RUNDOWN.replace("- {id: intro", "- {id: outro"))
        def run(text: str) -> None:
            live.rundown.write_text(text, "utf-8")
            before = live.snapshot()
            resp = live.request("POST", "/api/reload", b"", {"Content-Type": "application/json"})
            statuses.add(resp.status)
            assert resp.status in (200, 409, 422), (resp.status, resp.body[:300])
            answer = resp.json()
            if resp.status == 422:
                assert answer["error"] == "invalid_rundown" and answer["errors"], answer
                assert all(e.startswith(str(live.rundown)) for e in answer["errors"]), answer
            if resp.status != 200:
                assert live.snapshot() == before, f"a refused reload changed the show: {text}"
            else:  # put the show's own rundown back
                live.rundown.write_text(RUNDOWN, "utf-8")
                assert live.request("POST", "/api/reload", b"").status == 200
            live.state()  # the read model is still strict JSON

        run()
    finally:
        live.rundown.write_text(RUNDOWN, "utf-8")
    assert 422 in statuses
    assert live.request("POST", "/api/reload", b"").status == 200
    assert Path(live.rundown).read_text("utf-8") == RUNDOWN
