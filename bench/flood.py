"""The websocket flood of issue 13, side by side with a quiet run: does the show still take?

The attack: 8 sockets holding only the overlay read key (it is in every OBS browser source
URL) sending ``{"type":"resync"}`` as fast as TCP carries them without ever reading, and 8
viewer sockets sending pings the same way; each reconnects as soon as it is cut (or its
socket takes nothing for a second; once a second while refused), for the whole attack.
Measured against the real controller (``showctl run``, no OBS: a take is applied to the
show's state whether or not OBS is there), in one run:

- take latency: ``POST /api/take`` → its answer, whose state has the new segment on air;
- ``GET /healthz`` every 100 ms;
- the controller's resident memory (VmRSS), sampled every 0.5 s;

quiet, then under the attack (attackers in a process of their own, started 1 s before the
first take), then quiet again; the quiet reference pools both quiet phases (the machine's
drift meanwhile counts on both sides). Goal: under attack, take latency and ``/healthz``
medians stay within 2x of quiet (``ratio_*`` in the result), no take fails.

Run: .venv/bin/python bench/flood.py [--takes 10] [--sockets 8] [--attack-seconds 20]
Loopback only; bounded (about a minute and a half: at most ``--attack-seconds`` of attack). Results:
bench/results/flood.json; ``run(...)`` returns them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import load_average, machine, ratio, summary, write_result  # noqa: E402
from control.drill.hostile import RETRY_PAUSE_S, attack_process  # noqa: E402
from control.obs.launcher import free_port  # noqa: E402
from control.overlays import read_key  # noqa: E402

DIRECTOR, VIEWER = "flood-director-token-0123456", "flood-viewer-token-012345678"
TAKE_PAUSE_S = 0.6       # past the controller's 500 ms between takes
HEALTH_EVERY_S = 0.1
STARTUP_S = 90.0
# a refused attacker (429: its address broke a limit) tries again after RETRY_PAUSE_S: each
# try is a whole HTTP request, so a shorter pause turns the socket flood into a request flood,
# which no websocket limit answers (that is a proxy's job); --retry-pause 0.05 measures it
MAX_RUN_S = 60.0         # per phase: a stalled controller ends the phase, not the bench


def rundown_text(segments: int) -> str:
    lines = ["show:", "  title: Flood bench", "  timezone: Asia/Shanghai",
             "  start: 2023-12-31 22:00:00", "  safe_scene: Slate", "segments:"]
    lines += [f"  - {{id: s{i}, title: S{i}, duration: 10m, scene: Bench, then: hold}}"
              for i in range(segments)]
    return "\n".join(lines) + "\n"


# the attackers: control/drill/hostile.py (the drill's flood fault runs the same ones)


# -- the measuring side ------------------------------------------------------------------------

def rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


async def _health(http: aiohttp.ClientSession, url: str, stop: asyncio.Event,
                  out: list[float]) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=30)) as resp:
                await resp.read()
                if resp.status == 200:
                    out.append((time.perf_counter() - t0) * 1000)
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(HEALTH_EVERY_S)


async def _memory(pid: int, stop: asyncio.Event, out: list[int]) -> None:
    while not stop.is_set():
        rss = rss_bytes(pid)
        if rss is not None:
            out.append(rss)
        await asyncio.sleep(0.5)


async def phase(http: aiohttp.ClientSession, base: str, pid: int, takes: int) -> dict[str, Any]:
    """`takes` takes, one every TAKE_PAUSE_S, with /healthz and memory sampled meanwhile."""
    stop = asyncio.Event()
    health: list[float] = []
    memory: list[int] = []
    tasks = [asyncio.create_task(_health(http, f"{base}/healthz", stop, health)),
             asyncio.create_task(_memory(pid, stop, memory))]
    latencies: list[float] = []
    failed = 0
    deadline = time.monotonic() + MAX_RUN_S
    try:
        for _ in range(takes):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(TAKE_PAUSE_S)
            t0 = time.perf_counter()
            try:
                async with http.post(f"{base}/api/take", json={},
                                     timeout=aiohttp.ClientTimeout(total=30)) as resp:
                    body = await resp.json()
                ok = resp.status == 200 and body["state"]["on_air"] is not None
            except (aiohttp.ClientError, TimeoutError, ValueError):
                ok = False
            if ok:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                failed += 1
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return {"take_ms": summary(latencies, 2), "takes_failed": failed,
            "healthz_ms": summary(health, 2),
            "rss_peak_bytes": max(memory) if memory else None,
            "rss_start_bytes": memory[0] if memory else None,
            "raw": {"take_ms": latencies, "healthz_ms": health}}


def pooled(*phases: dict[str, Any]) -> dict[str, Any]:
    """Quiet runs before and after the attack as one reference: a busy machine's drift
    between them counts on the quiet side too."""
    takes = [v for p in phases for v in p["raw"]["take_ms"]]
    health = [v for p in phases for v in p["raw"]["healthz_ms"]]
    peaks = [p["rss_peak_bytes"] for p in phases if p["rss_peak_bytes"]]
    return {"take_ms": summary(takes, 2), "takes_failed": sum(p["takes_failed"] for p in phases),
            "healthz_ms": summary(health, 2), "rss_peak_bytes": max(peaks) if peaks else None}


def _median(stats: dict[str, Any]) -> float | None:
    return stats.get("median_ms")


async def measure(base: str, pid: int, port: int, takes: int, sockets: int,
                  attack_seconds: float, retry_pause: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {DIRECTOR}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        quiet = await phase(http, base, pid, takes)
        receiver, sender = multiprocessing.Pipe(duplex=False)
        attackers = multiprocessing.Process(
            target=attack_process, args=(port, sockets, read_key(DIRECTOR, None, VIEWER),
                                         VIEWER, attack_seconds, retry_pause, sender),
            daemon=True)
        attackers.start()
        await asyncio.sleep(1.0)  # the flood is on before the first take
        attacked = await phase(http, base, pid, takes)
        counts = await asyncio.to_thread(lambda: receiver.recv()
                                         if receiver.poll(attack_seconds + 30) else {})
        attackers.join(10)
        if attackers.is_alive():
            attackers.kill()
        after = await phase(http, base, pid, takes)  # quiet again: the show is still there
    result = {"quiet_before": quiet, "attack": attacked, "quiet_after": after,
              "quiet": pooled(quiet, after), "attackers": counts}
    for part in (quiet, attacked, after):
        del part["raw"]
    return result


async def _up(base: str) -> None:
    deadline = time.monotonic() + STARTUP_S
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"{base}/api/state",
                                    headers={"Authorization": f"Bearer {DIRECTOR}"}) as r:
                    if r.status == 200 and (await r.json())["on_air"] is not None:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("the controller did not come up")


def run(takes: int = 20, sockets: int = 8, attack_seconds: float = 20.0,
        retry_pause: float = RETRY_PAUSE_S) -> dict[str, Any]:
    info = machine()
    load_start = load_average()
    with tempfile.TemporaryDirectory(prefix="showctl-flood-") as tmpdir:
        tmp = Path(tmpdir)
        rundown = tmp / "flood.yaml"
        rundown.write_text(rundown_text(3 * takes + 10), "utf-8")
        port = free_port()
        env = {**os.environ, "SHOWCTL_OBS_URL": f"ws://127.0.0.1:{free_port()}",  # no OBS
               "SHOWCTL_HTTP_PORT": str(port), "SHOWCTL_DIRECTOR_TOKEN": DIRECTOR,
               "SHOWCTL_VIEWER_TOKEN": VIEWER, "SHOWCTL_STATE_DIR": str(tmp / "state"),
               "SHOWCTL_MIXER_ENABLED": "false", "PYTHONPATH": str(ROOT)}
        log = (tmp / "controller.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "control.cli", "run", "--no-terminal",
                                 "--start", "now", str(rundown)], cwd=ROOT, env=env,
                                stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(_up(base))
            figures = asyncio.run(measure(base, proc.pid, port, takes, sockets,
                                          attack_seconds, retry_pause))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            log.close()
            lines = (tmp / "controller.log").read_text("utf-8", "replace").splitlines()
            closes = sum("too many messages" in line or "took over" in line for line in lines)
    quiet, attack = figures["quiet"], figures["attack"]  # quiet: before and after, pooled
    take_ratio = ratio(_median(attack["take_ms"]), _median(quiet["take_ms"]))
    health_ratio = ratio(_median(attack["healthz_ms"]), _median(quiet["healthz_ms"]))
    before = figures["quiet_before"]["rss_peak_bytes"]
    growth = (attack["rss_peak_bytes"] - before
              if attack["rss_peak_bytes"] and before else None)
    return {"machine": info, "load_average": {"start": load_start, "end": load_average()},
            "params": {"takes": takes, "sockets_per_kind": sockets,
                       "attack_seconds": attack_seconds, "retry_pause_s": retry_pause},
            **figures, "ratio_take_median": take_ratio, "ratio_healthz_median": health_ratio,
            "rss_growth_under_attack_bytes": growth, "controller_log_cuts": closes,
            "goal_within_2x": (None if take_ratio is None or health_ratio is None
                               else take_ratio <= 2 and health_ratio <= 2
                               and attack["takes_failed"] == 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--takes", type=int, default=20, help="in each of the three phases")
    parser.add_argument("--sockets", type=int, default=8, help="of each kind")
    parser.add_argument("--attack-seconds", type=float, default=20.0)
    parser.add_argument("--retry-pause", type=float, default=RETRY_PAUSE_S,
                        help="seconds a refused (429) attacker waits before trying again")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(args.takes, args.sockets, args.attack_seconds, args.retry_pause)
    path = write_result("flood", result, args.out)
    brief = {k: result[k] for k in ("ratio_take_median", "ratio_healthz_median",
                                    "goal_within_2x", "rss_growth_under_attack_bytes",
                                    "attackers", "controller_log_cuts")}
    for name in ("quiet_before", "attack", "quiet_after", "quiet"):
        part = result[name]
        brief[name] = {"take_median_ms": _median(part["take_ms"]),
                       "take_max_ms": part["take_ms"].get("max_ms"),
                       "takes_ok": part["take_ms"]["n"], "takes_failed": part["takes_failed"],
                       "healthz_median_ms": _median(part["healthz_ms"]),
                       "healthz_max_ms": part["healthz_ms"].get("max_ms"),
                       "healthz_n": part["healthz_ms"]["n"],
                       "rss_peak_mb": round((part["rss_peak_bytes"] or 0) / 2**20, 1)}
    print(json.dumps(brief, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
