"""The benchmark report's shape (bench/report.py) on stub results, the fan-out clients' state
keeping, and the loop-lag probe. No timing assertions: the figures themselves are for people."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from rundowns import ROOT

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report
from bench.fanout import Held
from control.metrics.looplag import LoopLagProbe, install_debug, summarize

MACHINE = {"cpu_model": "Test CPU", "cores": 2, "memory_bytes": 8 * 2**30, "kernel": "6.1",
           "platform": "Linux", "python": "3.11.7", "obs": "OBS Studio - 29.0.2",
           "chromium": "Chromium 120", "ffmpeg": "ffmpeg version 5.1",
           "load_average_start": [0.5, 0.4, 0.3], "load_average_end": [0.6, 0.5, 0.4]}


def stats(median: float, n: int = 10) -> dict[str, float]:
    return {"n": n, "median_ms": median, "p95_ms": median * 1.5, "p99_ms": median * 2,
            "min_ms": median / 2, "max_ms": median * 2}


def lag(median: float) -> dict[str, Any]:
    return {**stats(median, 500), "interval_ms": 10.0, "over_50ms": 0}


STUB: dict[str, dict[str, Any]] = {
    "take_latency": {"takes": 10, "hard_starts": 3, "bare_to_event": stats(30),
                     "controller_to_event": stats(33), "hard_start_error": stats(-1.5, 3),
                     "hard_start_abs_median_ms": 1.5, "hard_start_abs_p95_ms": 2.0,
                     "measured_lead_ms": 28.0},
    "fanout": {"clients": 20, "takes": 10, "processes": 4, "read_model_bytes": 28000,
               "controller_message_bytes_median": 900.0,
               "controller_take_to_last_client": stats(20),
               "baseline_broadcast_to_last_client": stats(16),
               "loop_lag": {"controller_during_fanout": lag(0.3),
                            "bare_idle_loop_same_window": lag(0.2),
                            "bare_broadcast_server_during_baseline": lag(0.25)}},
    "mixer": {"seconds": 6.0,
              "showctl": {"fps": 29.9, "cpu_ms_per_frame": 19.0,
                          "latency": {**stats(80), "stamped_frames_seen": "90/90"}},
              "ffmpeg": {"fps": 29.7, "cpu_ms_per_frame": 19.5,
                         "latency": {**stats(56), "stamped_frames_seen": "90/90"}},
              "goals": {"cpu_ratio_at_most_1.3": True, "sustained_30_fps": True,
                        "median_latency_at_most_150_ms": True}},
    "overlays": {"chromium": "120", "cue_to_pixel": {"api_to_first_frame": stats(8),
                                                     "baseline_api_to_first_frame": stats(6)},
                 "countdown_agreement": {"clock_estimate_difference_ms": 0.2,
                                         "different_second_shown": 0,
                                         "same_moment_comparisons": 100}},
    "prompter_scroll": {"positions": 100, "screens": 1, "showctl": stats(1.0, 100),
                        "bare_aiohttp_relay": stats(0.5, 100), "delivered": 1.0},
}


def entries(**overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {name: {"status": "ok", "params": {}, "seconds": 1.0, "result": result}
           for name, result in STUB.items()}
    out.update(overrides)
    return out


def test_every_area_has_a_figure_next_to_its_baseline_and_a_ratio() -> None:
    composed = report.compose(entries(), MACHINE, setting="quick")
    json.dumps(composed)  # JSON-serialisable as is
    assert composed["schema"] == report.SCHEMA and composed["setting"] == "quick"
    assert composed["machine"] == MACHINE
    figures = {f["figure"]: f for f in composed["figures"]}
    assert {f["area"] for f in figures.values()} == {"Takes", "Mixer", "Graphics", "Consoles",
                                                     "Event loop", "Hosts' screens"}
    names = " / ".join(figures)
    for what in ("take latency", "hard-start error", "CPU per output frame", "glass-to-glass",
                 "cue-to-pixel", "state fan-out", "loop lag", "prompter scroll"):
        assert what in names
    for f in figures.values():
        assert f["showctl"] and "median" in f["showctl"]
        if f["baseline_name"] is not None:  # all but the hard-start error (a target, not a rival)
            assert f["baseline"] and f["ratio_median"] == pytest.approx(
                f["showctl"]["median"] / f["baseline"]["median"])
    fan = figures["state fan-out: take -> last of 20 clients"]
    assert fan["ratio_p99"] == pytest.approx(40 / 32)
    assert fan["showctl"] == {"n": 10, "median": 20, "p95": 30, "p99": 40, "min": 10, "max": 40}
    assert figures["CPU per output frame"]["showctl"] == {"median": 19.0}
    assert all(composed["goals"].values())
    assert composed["benchmarks"]["fanout"]["result"] is STUB["fanout"]
    slow = {**STUB["prompter_scroll"], "showctl": stats(20.0, 100)}  # p99 40 ms: over a frame
    goals = report.compose(entries(prompter_scroll={"status": "ok", "result": slow}), MACHINE,
                           setting="quick")["goals"]
    assert goals["prompter scroll p99 within one frame"] is False


def test_the_markdown_has_the_table_goals_machine_and_runs() -> None:
    composed = report.compose(entries(), MACHINE, setting="full")
    md = report.render_markdown(composed)
    assert md.startswith("# showctl benchmark report (full)\n")
    for heading in ("## Goals", "## Machine", "## Runs"):
        assert f"\n{heading}\n" in md
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    table = [r for r in rows if r.split("|")[1].strip() in
             {"Takes", "Mixer", "Graphics", "Consoles", "Event loop", "Hosts' screens"}]
    assert len(table) == len(composed["figures"])
    assert all(r.count("|") == 6 for r in table)  # 5 columns, none broken by a value
    assert "| Consoles | state fan-out: take -> last of 20 clients (ms) | **20.00** (p95 30.00, " \
           "p99 40.00, 10.00–40.00, n 10) |" in md
    assert "1.25× (p99 1.25×)" in md
    for value in ("Test CPU", "8.0 GiB", "[0.5, 0.4, 0.3]", "[0.6, 0.5, 0.4]", "6.1",
                  "3.11.7", "OBS Studio - 29.0.2", "Chromium 120"):
        assert value in md


def test_a_failed_benchmark_is_reported_and_the_others_are_kept() -> None:
    failed = {"status": "error", "error": "TimeoutError: OBS | never came", "seconds": 120.0,
              "params": {"takes": 10, "hard": 3}}
    composed = report.compose(entries(take_latency=failed), MACHINE, setting="quick")
    assert not any(f["bench"] == "take_latency" for f in composed["figures"])
    assert any(f["bench"] == "fanout" for f in composed["figures"])
    assert composed["goals"]["hard start within one frame (|error| p95)"] is None
    md = report.render_markdown(composed)
    assert "| take_latency | error: TimeoutError: OBS / never came | takes=10, hard=3 | 120.0 |" \
        in md
    assert "hard start within one frame (|error| p95): not measured" in md


def test_main_composes_from_result_files_and_writes_both(tmp_path: Path, monkeypatch,
                                                         capsys) -> None:
    results = tmp_path / "results"
    results.mkdir()
    for name, result in STUB.items():
        if name != "mixer":  # one missing: skipped, not fatal to the report
            (results / f"{name}.json").write_text(json.dumps(result))
    monkeypatch.setattr(report, "machine", lambda: dict(MACHINE))
    out = tmp_path / "out"
    code = report.main(["--from-results", str(results), "--out", str(out)])
    assert code == 1  # not every benchmark there
    md, js = (out / "report.md").read_text(), json.loads((out / "report.json").read_text())
    assert md == capsys.readouterr().out
    assert js["setting"] == "composed" and js["benchmarks"]["mixer"]["status"] == "skipped"
    assert [f["bench"] for f in js["figures"]].count("fanout") == 3


def test_a_run_makes_its_results_folder_before_running_anything(tmp_path: Path, monkeypatch,
                                                                 capsys) -> None:
    """bench/results/ is ignored by git: a fresh clone has none, and a full run once crashed
    on it after minutes of benchmarks. The folder is made first; each benchmark's file and
    the report land in it."""
    results = tmp_path / "fresh-clone" / "bench" / "results"
    monkeypatch.setattr(report, "RESULTS", results)
    monkeypatch.setattr(report, "machine", lambda: dict(MACHINE))
    seen: list[bool] = []

    def run_all(names, quick):
        seen.append((results / "quick" if quick else results).is_dir())
        return {name: entries()[name] for name in names}

    monkeypatch.setattr(report, "run_all", run_all)
    assert report.main(["--only", "take_latency", "--only", "fanout"]) == 0
    assert seen == [True]
    assert sorted(p.name for p in results.iterdir()) == [
        "fanout.json", "report.json", "report.md", "take_latency.json"]
    assert json.loads((results / "take_latency.json").read_text()) == STUB["take_latency"]
    assert report.main(["--quick", "--only", "mixer"]) == 0
    assert seen == [True, True]
    assert sorted(p.name for p in (results / "quick").iterdir()) == [
        "mixer.json", "report.json", "report.md"]
    capsys.readouterr()


def test_quick_counts_are_smaller_and_every_benchmark_runs_alone() -> None:
    for bench in report.BENCHES:
        assert bench.quick.keys() == bench.full.keys()
        assert all(bench.quick[k] <= bench.full[k] for k in bench.quick)
        script = ROOT / "bench" / f"{bench.name}.py"
        assert 'if __name__ == "__main__":' in script.read_text()
        assert "def run(" in script.read_text()


def test_showctl_bench_is_a_thin_wrapper(monkeypatch) -> None:
    from control import cli

    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "call", lambda argv, cwd: calls.append(argv) or 0)
    assert cli.main(["bench", "--quick", "--only", "fanout"]) == 0
    assert calls[0][1:] == ["-m", "bench", "--quick", "--only", "fanout"]


# --- the fan-out clients hold the state the console would ---------------------------------

def test_a_client_reaches_the_same_state_from_full_states_or_deltas() -> None:
    held = Held()
    assert held.receive({"type": "state", "rev": 1, "state": {"on_air": {"id": "s0"},
                                                              "segments": [1, 2]}})
    assert held.receive({"type": "delta", "rev": 2, "prev": 1, "patch": [
        {"op": "replace", "path": "/on_air/id", "value": "s1"},
        {"op": "add", "path": "/segments/2", "value": 3},
        {"op": "add", "path": "/a~1b", "value": True}]})
    assert held.state == {"on_air": {"id": "s1"}, "segments": [1, 2, 3], "a/b": True}
    assert held.receive({"type": "delta", "rev": 3, "prev": 2, "patch": [
        {"op": "replace", "path": "/on_air/id", "value": "s2"},
        {"op": "remove", "path": "/a~1b"}]})
    assert held.state == {"on_air": {"id": "s2"}, "segments": [1, 2, 3]}
    assert held.receive({"type": "pong"}) and held.rev == 3
    # a gap: ask for the whole state, ignore deltas until it comes
    assert not held.receive({"type": "delta", "rev": 5, "prev": 4, "patch": []})
    assert held.state is None
    assert held.receive({"type": "delta", "rev": 6, "prev": 5, "patch": []})
    assert held.receive({"type": "state", "rev": 6, "state": {"on_air": {"id": "s5"}}})
    assert held.state == {"on_air": {"id": "s5"}} and not held.resyncing
    # a patch that does not fit is a gap too
    assert not held.receive({"type": "delta", "rev": 7, "prev": 6,
                             "patch": [{"op": "remove", "path": "/missing"}]})


# --- the loop-lag probe ---------------------------------------------------------------------

async def test_the_probe_keeps_each_wake_ups_overshoot() -> None:
    probe = LoopLagProbe(interval=0.005)
    probe.start(duration=5)
    await asyncio.sleep(0.15)
    assert probe.running
    await probe.stop()
    figures = probe.summary()
    assert not figures["running"] and figures["interval_ms"] == 5
    assert figures["n"] >= 5
    assert 0 <= figures["min_ms"] <= figures["median_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert summarize([], 0.01) == {"n": 0, "interval_ms": 10.0}
    assert summarize([0.001, 0.06], 0.01)["over_50ms"] == 1


async def test_the_debug_endpoint_wants_a_token_and_runs_a_window() -> None:
    app = web.Application()
    probe = LoopLagProbe()
    install_debug(app, probe, token_ok=lambda token, _request: token == "good")
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/debug/looplag")).status == 401
        bad = await client.post("/debug/looplag", headers={"Authorization": "Bearer bad"})
        assert bad.status == 401 and not probe.running
        auth = {"Authorization": "Bearer good"}
        assert (await client.post("/debug/looplag?interval_ms=0", headers=auth)).status == 400
        started = await client.post("/debug/looplag?interval_ms=2&max_s=30", headers=auth)
        assert started.status == 200 and (await started.json())["running"]
        await asyncio.sleep(0.1)
        assert (await (await client.get("/debug/looplag", headers=auth)).json())["n"] > 0
        stopped = await (await client.delete("/debug/looplag", headers=auth)).json()
        assert not stopped["running"] and stopped["interval_ms"] == 2 and stopped["n"] > 0
    assert not probe.running


# --- a fresh clone --------------------------------------------------------------------------

def clean_checkout(into: Path) -> Path:
    """The repository's files as a fresh clone of them would have them: what git tracks or
    would track (as they are now), nothing it ignores (no bench/results/, no state/)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


@pytest.mark.live
@pytest.mark.timeout(300)
@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists()
                    or shutil.which("obs") is None or shutil.which("Xvfb") is None,
                    reason="needs a git checkout, obs-studio and xvfb (make deps)")
def test_showctl_bench_quick_runs_in_a_fresh_clone(tmp_path: Path) -> None:
    """`showctl bench --quick` where bench/results/ does not exist yet. One benchmark (take
    latency, about a minute: its own OBS and controller), not all four (three minutes):
    the folder and the report are the same code for every one."""
    repo = clean_checkout(tmp_path / "clone")
    assert not (repo / "bench" / "results").exists()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the clone's own code
    done = subprocess.run([sys.executable, "-m", "control.cli", "bench", "--quick", "--only",
                           "take_latency"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = repo / "bench" / "results" / "quick"
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md",
                                                     "take_latency.json"]
    composed = json.loads((out / "report.json").read_text())
    assert composed["setting"] == "quick"
    take = next(f for f in composed["figures"] if f["figure"].startswith("take latency"))
    params = next(b for b in report.BENCHES if b.name == "take_latency").quick
    assert take["showctl"]["n"] == take["baseline"]["n"] == params["takes"]
    measured = json.loads((out / "take_latency.json").read_text())
    assert measured["hard_start_error"]["n"] == params["hard"]
    assert (out / "report.md").read_text() in done.stdout
