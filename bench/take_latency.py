"""Take latency and hard-start accuracy against one real OBS, side by side in one run.

1. bare: a plain obs-websocket client's SetCurrentProgramScene (Cut): request round trip
   and time to CurrentProgramSceneChanged.
2. controller: `showctl run` (its own process); POST /api/take -> CurrentProgramSceneChanged
   seen by an observer client. Ratio = controller median / bare median (to the event).
   Both sides pace their takes alike: a random pause (PACING_S) after each one, so their
   requests meet OBS's frame clock at every phase (a fixed pause of a whole number of frames
   would land each request at the same phase, and make one side look faster than it is).
3. hard starts: 20 hard starts 2 s apart, taken by the controller on its own; error =
   CurrentProgramSceneChanged arrival - target (the controller sends early by the measured
   take latency).

Run: `make bench` (or .venv/bin/python bench/take_latency.py [--takes 50] [--hard 20]).
Loopback only; bounded: about a minute. Results: bench/results/take_latency.json;
``run(takes, hard)`` returns them for bench/report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    load_average,
    machine,
    pct,
    summary,
    wait_on_air,
    write_result,
)
from control.obs.client import ObsClient  # noqa: E402
from control.obs.launcher import ObsLauncher, free_port  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
SCENES = {"Bench A": ["Bug"], "Bench B": ["Bug"]}
TOKEN = "bench-director-token-0123"
WARMUPS = 5  # takes on each side before the measured ones (connections, caches, first frames)
# The pause after each take, uniform: at least the controller's minimum time between takes
# (500 ms), and 100 ms wide, three whole frames at 30 fps (six at 60), so the phase at which
# the next request meets OBS's frame clock is uniform too, never locked to it.
PACING_S = (0.55, 0.65)
MIN_TAKE_INTERVAL_S = 0.5  # the controller refuses a take closer than this to the last one
STARTUP_S = 90  # the controller's process up and on air (imports alone take seconds on a busy box)


async def pause(rng: random.Random) -> None:
    """The pause between two takes, on either side."""
    await asyncio.sleep(rng.uniform(*PACING_S))


class Observer:
    """Timestamps every CurrentProgramSceneChanged as it arrives (wall clock, ms)."""

    def __init__(self, client: ObsClient) -> None:
        self.arrivals: asyncio.Queue[tuple[str, float, float]] = asyncio.Queue()
        client.add_event_listener(self._on)

    def _on(self, event) -> None:
        if event.event_type == "CurrentProgramSceneChanged":
            self.arrivals.put_nowait((event.data["sceneName"], time.perf_counter(),
                                      time.time() * 1000))

    def clear(self) -> None:
        """Forget what arrived so far: a take then waits for its own event, not a late or
        repeated one of an earlier change (the controller re-applies its scene when it
        connects; a stale match would end a measurement early and start the pause early)."""
        while not self.arrivals.empty():
            self.arrivals.get_nowait()

    async def wait(self, scene: str, timeout: float = 5.0) -> tuple[float, float]:
        async with asyncio.timeout(timeout):
            while True:
                name, perf, wall = await self.arrivals.get()
                if name == scene:
                    return perf, wall


async def bare(client: ObsClient, observer: Observer, takes: int,
               rng: random.Random) -> tuple[list, list]:
    await client.call("SetCurrentSceneTransition", {"transitionName": "Cut"})
    rtt, to_event = [], []
    for i in range(WARMUPS + takes):
        scene = "Bench A" if i % 2 else "Bench B"
        await pause(rng)
        observer.clear()
        t0 = time.perf_counter()
        await client.call("SetCurrentProgramScene", {"sceneName": scene})
        t1 = time.perf_counter()
        perf, _ = await observer.wait(scene)
        if i >= WARMUPS:
            rtt.append((t1 - t0) * 1000)
            to_event.append((perf - t0) * 1000)
    return rtt, to_event


def rundown_text(start: datetime, warmups: int, takes: int, hard: int) -> str:
    lines = ["show:", "  title: Bench", "  timezone: Asia/Shanghai",
             f"  start: {start:%Y-%m-%d %H:%M:%S}", "  transition: cut", "segments:"]
    n = 0
    for _ in range(warmups + takes):
        scene = "Bench A" if n % 2 else "Bench B"
        lines.append(f"  - {{id: s{n}, title: S{n}, duration: 500ms, scene: {scene}, "
                     "then: hold}")
        n += 1
    # after the manual takes (one every ~0.7 s; up to twice that on a busy machine: a hard
    # start among them would take a segment meant for a manual take)
    first_hard = start + timedelta(seconds=round((warmups + takes) * 1.5) + 10)
    for i in range(hard):
        scene = "Bench A" if n % 2 else "Bench B"
        at = first_hard + timedelta(seconds=2 * i)
        lines.append(f"  - {{id: s{n}, title: S{n}, duration: 2s, scene: {scene}, "
                     f"at: \"{at:%Y-%m-%d %H:%M:%S}\", then: next}}")
        n += 1
    lines.append("  - {id: end, title: End, duration: 10m, scene: Bench A}")
    return "\n".join(lines) + "\n"


async def controller_run(obs: ObsLauncher, observer: Observer, tmp: Path, takes: int,
                         hard: int, rng: random.Random) -> tuple[list, list, dict]:
    port = free_port()
    start = datetime.now(TZ).replace(microsecond=0) + timedelta(seconds=3)
    warmups = WARMUPS
    text = rundown_text(start, warmups, takes, hard)
    rundown = tmp / "bench.yaml"
    rundown.write_text(text, "utf-8")
    env = {**os.environ, "SHOWCTL_OBS_URL": obs.url, "SHOWCTL_OBS_PASSWORD": obs.password,
           "SHOWCTL_HTTP_PORT": str(port), "SHOWCTL_DIRECTOR_TOKEN": TOKEN,
           "SHOWCTL_STATE_DIR": str(tmp / "state")}
    log = (tmp / "controller.log").open("wb")
    # --start now: the show (hard starts too) starts when the controller has opened it, so a
    # slow start on a busy machine does not eat into the time planned for the manual takes
    proc = subprocess.Popen([sys.executable, "-m", "control.cli", "run", "--no-terminal",
                             "--start", "now", str(rundown)], cwd=ROOT, env=env, stdout=log,
                            stderr=log)
    url = f"http://127.0.0.1:{port}/api"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    latencies: list[float] = []
    errors: list[float] = []
    try:
        async with aiohttp.ClientSession(headers=headers) as http:
            model = await wait_on_air(http, f"{url}/state", timeout=STARTUP_S)
            # the show-start take is stamped at the show's start, which the controller may
            # reach ahead of time by its lead: the first take waits for the minimum time
            # between takes to have passed since that instant (a loaded machine trips here)
            since_s = model["on_air"]["since_ms"] / 1000
            await asyncio.sleep(max(0.0, since_s + MIN_TAKE_INTERVAL_S - time.time()))
            for i in range(1, warmups + takes):
                scene = "Bench A" if i % 2 else "Bench B"
                await pause(rng)  # also past the controller's 500 ms between takes
                observer.clear()
                t0 = time.perf_counter()
                async with http.post(f"{url}/take") as r:
                    assert r.status == 200, await r.text()
                perf, _ = await observer.wait(scene)
                if i >= warmups:
                    latencies.append((perf - t0) * 1000)
            state = await (await http.get(f"{url}/state")).json()
            lead_ms = state["obs"]["take_latency_ms"]
            hard_starts = [s for s in state["segments"] if s["hard_start"]]
            for i, seg in enumerate(hard_starts):
                scene = "Bench A" if (warmups + takes + i) % 2 else "Bench B"
                target = datetime.fromisoformat(seg["hard_start"]).timestamp() * 1000
                _, wall = await observer.wait(scene, timeout=2 * hard + 120)
                errors.append(wall - target)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
    return latencies, errors, {"measured_lead_ms": lead_ms}


async def run(takes: int = 50, hard: int = 20, seed: int | None = None) -> dict:
    """Both sides in one run, on one private OBS; the figures as a JSON-able dict. `seed`
    fixes the pauses between takes (the same sequence on both sides)."""
    info = machine()
    seed = random.randrange(2**32) if seed is None else seed
    with tempfile.TemporaryDirectory(prefix="showctl-bench-") as tmpdir:
        tmp = Path(tmpdir)
        obs = ObsLauncher(tmp / "obs", scenes=SCENES).start()
        try:
            async with ObsClient(obs.url, obs.password) as client:
                await client.wait_connected(10)
                observer = Observer(client)
                rtt, to_event = await bare(client, observer, takes, random.Random(seed))
                ctl, errors, extra = await controller_run(obs, observer, tmp, takes, hard,
                                                          random.Random(seed))
        finally:
            obs.close()
    info["load_average_end"] = load_average()
    report = {
        "machine": info,
        "takes": takes, "hard_starts": hard, "warmups": WARMUPS,
        "pacing_s": {"distribution": "uniform", "low": PACING_S[0], "high": PACING_S[1],
                     "seed": seed},
        "bare_request_round_trip": summary(rtt),
        "bare_to_event": summary(to_event),
        "controller_to_event": summary(ctl),
        "ratio_median": statistics.median(ctl) / statistics.median(to_event),
        "ratio_p99": pct(ctl, .99) / pct(to_event, .99),
        "overhead_p99_ms": pct(ctl, .99) - pct(to_event, .99),
        "hard_start_error": summary(errors),
        "hard_start_abs_median_ms": statistics.median(abs(e) for e in errors),
        "hard_start_abs_p95_ms": pct([abs(e) for e in errors], .95),
        **extra,
    }
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=50)
    parser.add_argument("--hard", type=int, default=20)
    parser.add_argument("--seed", type=int, help="the pauses between takes (random if unset)")
    args = parser.parse_args()
    write_result("take_latency", asyncio.run(run(args.takes, args.hard, args.seed)))
