"""The console backend through the real wiring (control.wiring.run_show): runner, journal,
API, OSC; no OBS (its link keeps retrying a closed port, as on a day OBS is late).

Log in with the cookie, write a note, reload the rundown (valid, invalid, without the
segment on air), take over OSC, ask for the stream with OBS down; then replay the journal
as a restarted controller would and get the very same show."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from pythonosc.udp_client import SimpleUDPClient

from control.cli import main
from control.config import Settings
from control.journal import journal_path, read_journal, replay
from control.obs.launcher import free_port
from control.show.state import ShowState
from control.wiring.live import run_show

DIRECTOR, PRODUCER = "director-token-wiring-0123", "producer-token-wiring-0123"
RUNDOWN = """\
show:
  title: Wiring
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  safe_scene: Slate
segments:
  - {id: intro, title: Intro, duration: 10m, scene: Studio Wide, then: hold}
  - {id: talk, title: Talk, duration: 10m, scene: Studio Interview}
  - {id: outro, title: Outro, duration: 10m, scene: Credits}
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(ctl: Any, predicate: Callable[[ShowState], bool]) -> None:
    """Until the runner publishes a state for which `predicate` holds."""
    changed = asyncio.Event()
    ctl.runner.listen(lambda change: changed.set())
    async with asyncio.timeout(10):
        while not predicate(ctl.runner.state):
            changed.clear()
            await changed.wait()


def essence(state: ShowState) -> dict[str, Any]:
    keys = ("on_air", "since_ms", "target_ms", "extra_ms", "held", "next_id", "skipped",
            "asrun", "rundown", "producer_notes", "last_reload")
    return {k: getattr(state, k) for k in keys}


async def test_the_console_backend_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "wiring.yaml"
    path.write_text(RUNDOWN, "utf-8")
    port, osc_port = free_port(), free_udp_port()
    settings = Settings(obs_url=f"ws://127.0.0.1:{free_port()}", http_port=port,
                        director_token=DIRECTOR, producer_token=PRODUCER,
                        state_dir=tmp_path / "state", osc_enabled=True, osc_port=osc_port,
                        min_take_interval_ms=0)
    base = f"http://127.0.0.1:{port}"
    same = {"Origin": base}
    async with run_show(path, settings, start="now") as ctl:
        await until(ctl, lambda s: s.on_air == "intro")
        jar = aiohttp.CookieJar(unsafe=True)  # 127.0.0.1: an IP host
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.post(f"{base}/api/login", json={"token": PRODUCER}) as resp:
                assert resp.status == 200 and await resp.json() == {"role": "producer"}
            async with http.post(f"{base}/api/notes/talk", json={"text": "guest is ready"},
                                 headers=same) as resp:
                assert resp.status == 200
                state = (await resp.json())["state"]
            note = {s["id"]: s["producer_note"] for s in state["segments"]}
            assert note == {"intro": None, "talk": "guest is ready", "outro": None}
            async with http.post(f"{base}/api/take", headers=same) as resp:
                assert resp.status == 403  # producers do not take
            async with http.post(f"{base}/api/logout", headers=same) as resp:
                assert resp.status == 200
            async with http.get(f"{base}/?token={DIRECTOR}", allow_redirects=False) as resp:
                assert resp.status == 303 and resp.headers["Location"] == "/"
            async with http.get(f"{base}/api/whoami") as resp:
                assert await resp.json() == {"role": "director"}

            # the websocket with the cookie sees what the others do
            async with http.ws_connect(f"{base}/api/ws", headers=same) as ws:
                first = await ws.receive_json()
                assert first["state"]["on_air"]["id"] == "intro"

            # a valid reload: talk retimed and retitled, outro gone, encore new
            path.write_text(RUNDOWN.replace("title: Talk, duration: 10m", "title: Talk!, "
                                            "duration: 8m").replace(
                "  - {id: outro, title: Outro, duration: 10m, scene: Credits}\n",
                "  - {id: encore, title: Encore, duration: 5m, scene: Credits}\n"), "utf-8")
            journal = journal_path(settings.state_dir, str(path))
            async with http.post(f"{base}/api/reload", headers=same) as resp:
                assert resp.status == 200, await resp.text()
                answer = await resp.json()
            assert answer["changes"] == {
                "added": ["encore"], "removed": ["outro"], "changed": ["talk"], "moved": [],
                "retimed": [{"id": "talk", "from_s": 600.0, "to_s": 480.0}], "show": [],
                "guests": False}
            assert answer["state"]["on_air"]["id"] == "intro"  # still on air
            assert answer["state"]["show"]["last_reload"]["changes"] == answer["changes"]
            assert [r["type"] for r in read_journal(journal).records].count("rundown") == 1

            # an invalid one: 422 with file:line:col, nothing journaled, nothing changed
            size = journal.stat().st_size
            path.write_text(RUNDOWN.replace("duration: 10m, scene: Credits",
                                            "duration: ten minutes, scene: Credits"), "utf-8")
            async with http.post(f"{base}/api/reload", headers=same) as resp:
                assert resp.status == 422
                answer = await resp.json()
            assert answer["error"] == "invalid_rundown"
            assert answer["errors"] and answer["errors"][0].startswith(f"{path}:9:")
            assert journal.stat().st_size == size
            assert ctl.runner.state.rundown.segment("talk").title == "Talk!"

            # without the segment on air: 409
            path.write_text(RUNDOWN.replace(
                "  - {id: intro, title: Intro, duration: 10m, scene: Studio Wide, then: hold}\n",
                ""), "utf-8")
            async with http.post(f"{base}/api/reload", headers=same) as resp:
                assert resp.status == 409
                assert "'intro' is on air" in (await resp.json())["reason"]
            assert journal.stat().st_size == size

            # OSC: the same command() as the console
            SimpleUDPClient("127.0.0.1", osc_port).send_message("/showctl/take", "talk")
            await until(ctl, lambda s: s.on_air == "talk")
            aired = ctl.runner.state.asrun[-1]
            assert (aired.source, aired.by) == ("osc", "osc")

            # stream with OBS down: 502 with the reason, the show goes on
            async with http.post(f"{base}/api/stream", json={"active": True},
                                 headers=same) as resp:
                assert resp.status == 502
                answer = await resp.json()
            assert answer["error"] == "output_failed" and answer["reason"]
            async with http.get(f"{base}/api/state") as resp:
                model = await resp.json()
            assert any("OBS is not connected" in a["text"] for a in model["alarms"])
        final = ctl.runner.state
    # the controller is gone: a restart replays the journal to the same show
    out = replay(read_journal(journal))
    assert out.warnings == ()
    assert essence(out.state) == essence(final)
    assert out.state.producer_note("talk") == "guest is ready"
    assert (settings.state_dir / "console-sessions.json").exists()


def test_a_manual_cut_in_obs_is_a_warning() -> None:
    from control.show.alarms import alarms
    from control.show.loader import load_rundown
    from control.show.state import initial_state
    from control.show.view import show_view

    rundown = load_rundown(RUNDOWN, "w.yaml").rundown
    state = initial_state(rundown)
    model = show_view(state, rundown.show.start_ms - 60_000)
    obs = {"connected": True, "alarms": [], "manual_override": None}
    assert not [a for a in alarms(state, model, obs) if "by hand" in a["text"]]
    found = [a for a in alarms(state, model, {**obs, "manual_override": "Bars"})
             if "by hand" in a["text"]]
    assert found == [{"level": "warning", "text": "OBS program was cut by hand to Bars: "
                      "showctl leaves it there until the show's next scene change",
                      "code": "manual_override", "params": {"scene": "Bars"}}]


async def test_a_reload_refuses_cue_data_that_validate_refuses(tmp_path: Path, capsys) -> None:
    """One rundown reader: cue data that does not fit its graphics template is refused by
    `POST /api/reload` with the very diagnostic `showctl validate` prints, and the show
    keeps its rundown."""
    good = RUNDOWN.replace(
        "  - {id: talk, title: Talk, duration: 10m, scene: Studio Interview}\n",
        "  - id: talk\n    title: Talk\n    duration: 10m\n    scene: Studio Interview\n"
        "    cues:\n      - {at: 5s, overlay: lower-third, data: {name: Host}}\n")
    path = tmp_path / "cues.yaml"
    path.write_text(good, "utf-8")
    port = free_port()
    settings = Settings(obs_url=f"ws://127.0.0.1:{free_port()}", http_port=port,
                        director_token=DIRECTOR, state_dir=tmp_path / "state",
                        mixer_enabled=False)
    async with run_show(path, settings, start="now") as ctl:
        path.write_text(good.replace("data: {name: Host}", "data: {name: [Host, Guest]}"),
                        "utf-8")
        assert main(["validate", str(path)]) == 1
        refused = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
        assert len(refused) == 1 and "segment 'talk': cue lower-third: " in refused[0]
        journal = journal_path(settings.state_dir, str(path))
        size = journal.stat().st_size
        async with aiohttp.ClientSession() as http, http.post(
                f"http://127.0.0.1:{port}/api/reload",
                headers={"Authorization": f"Bearer {DIRECTOR}"}) as resp:
            assert resp.status == 422
            answer = await resp.json()
        assert answer["error"] == "invalid_rundown"
        assert answer["errors"] == refused
        assert journal.stat().st_size == size
        cue, = ctl.runner.state.rundown.segment("talk").cues
        assert cue.data == {"name": "Host"}
