"""A standby pair's costs: failover time (the leader SIGKILLed, until the standby has OBS in
the show's desired state; the goal: 1.5 s at p95), and take latency through etcd against
one machine in the same run (the goal: p99 overhead <= 10 ms). docs/redundancy.md#timing.

A real three-member etcd on loopback (50/500, lease TTL 1 s), a real OBS, two `showctl run`
processes with `cluster:` settings. Each run: wait a random part of a lease cycle, SIGKILL
the leader, and read from the standby's log when it held the lead (`... is leader
(driving)` is not used: its clock is the log's) and when OBS first held the desired state
under it (`takeover-applied {"t": wall s}`); check the segment on air kept its start
instant (the elapsed time is continuous); start the killed one again, as the new standby.
Take latency: `showctl run` alone, then `showctl run` with `cluster:` settings (leading
alone: every take's records go to etcd in a fenced txn before it is acknowledged), each
POST /api/take -> CurrentProgramSceneChanged seen by an observer client, paced as
bench/take_latency.py paces them. Loopback only, bounded in runs and time.

    python bench/failover.py --runs 10 --takes 50   (writes bench/results/failover.json)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import load_average, machine, summary, write_result  # noqa: E402
from bench.take_latency import (  # noqa: E402
    MIN_TAKE_INTERVAL_S,
    SCENES,
    TZ,
    WARMUPS,
    Observer,
    pause,
    rundown_text,
)
from control.cluster.members import EtcdMembers  # noqa: E402
from control.obs.client import ObsClient  # noqa: E402
from control.obs.launcher import ObsLauncher, free_port, scenes_for  # noqa: E402
from control.show.loader import load_rundown  # noqa: E402
from control.wiring.standby import APPLIED_MARK  # noqa: E402

RUNDOWN = """\
show:
  title: Failover bench
  timezone: UTC
  start: 2023-12-31 22:00:00
  safe_scene: Slate
segments:
  - {id: intro, title: Intro, duration: 60m, scene: Studio Wide, then: hold}
  - {id: talk, title: Talk, duration: 60m, scene: Studio Interview}
"""
TOKEN = "director-failover-bench-01"
STEP_TIMEOUT_S = 60.0  # a process start on a loaded 2-core box (imports alone take seconds)


class Controller:
    """One `showctl run` of the pair: its port, state directory and log."""

    def __init__(self, tmp: Path, name: str, rundown: Path, obs: ObsLauncher,
                 etcd: EtcdMembers) -> None:
        (tmp / name).mkdir()
        self.name, self.rundown = name, rundown
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / name / "controller.log"
        self.env = {**os.environ, "SHOWCTL_OBS_URL": obs.url,
                    "SHOWCTL_OBS_PASSWORD": obs.password, "SHOWCTL_HTTP_HOST": "127.0.0.1",
                    "SHOWCTL_HTTP_PORT": str(self.port),
                    "SHOWCTL_STATE_DIR": str(tmp / name / "state"),
                    "SHOWCTL_DIRECTOR_TOKEN": TOKEN,
                    "SHOWCTL_CLUSTER_ENDPOINTS": ",".join(etcd.endpoints),
                    "SHOWCTL_CLUSTER_NAME": name, "SHOWCTL_CLUSTER_URL": self.url,
                    "SHOWCTL_CLUSTER_SECRET": "failover-bench-secret"}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "control.cli", "run", "--no-terminal", "--start", "now",
                 str(self.rundown)], cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def get(self, path: str) -> dict[str, Any] | None:
        req = urllib.request.Request(self.url + path,
                                     headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return json.loads(resp.read())
        except (OSError, ValueError):  # URLError/HTTPError are OSErrors: not serving yet
            return None

    def post(self, path: str) -> int:
        req = urllib.request.Request(self.url + path, data=b"", method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def applied_after(self, t: float) -> float | None:
        for line in self.log.read_text("utf-8", "replace").splitlines():
            if APPLIED_MARK in line:
                at = json.loads(line.split(APPLIED_MARK, 1)[1])["t"]
                if at > t:
                    return at
        return None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def until(predicate: Any, what: str, timeout: float = STEP_TIMEOUT_S) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"failover bench: no {what} within {timeout:g} s")
        time.sleep(0.01)
    return value


def one_failover(leader: Controller, standby: Controller) -> dict[str, float | bool]:
    before = until(lambda: leader.get("/api/state"), "state from the leader")
    time.sleep(random.uniform(0, 0.25))  # a random point of the leader's renewal cycle
    killed = time.time()
    leader.kill()
    applied = until(lambda: standby.applied_after(killed), "takeover-applied line")
    after = until(lambda: standby.get("/api/state"), "state from the new leader")
    return {"applied_ms": (applied - killed) * 1000,
            "continuous": (after["on_air"] or {}).get("since_ms")
            == (before["on_air"] or {}).get("since_ms")}


async def measure_takes(ctl: Controller, obs: ObsLauncher, takes: int) -> list[float]:
    """POST /api/take -> the observer sees the new program scene, ms, after warm-ups."""
    rng = random.Random(takes)
    async with ObsClient(obs.url, obs.password) as client:
        await client.wait_connected(10)
        observer = Observer(client)
        model = await asyncio.to_thread(until, lambda: (ctl.get("/api/state") or {}).get(
            "on_air") and ctl.get("/api/state"), "the show on air")
        await asyncio.sleep(max(0.0, model["on_air"]["since_ms"] / 1000
                                + MIN_TAKE_INTERVAL_S - time.time()))
        out = []
        for i in range(1, WARMUPS + takes):
            scene = "Bench A" if i % 2 else "Bench B"
            await pause(rng)
            observer.clear()
            t0 = time.perf_counter()
            status = await asyncio.to_thread(ctl.post, "/api/take")
            assert status == 200, status
            perf, _ = await observer.wait(scene)
            if i >= WARMUPS:
                out.append((perf - t0) * 1000)
        return out


def take_latency(tmp: Path, obs: ObsLauncher, etcd: EtcdMembers,
                 takes: int) -> dict[str, Any]:
    """One machine, then a cluster leader, on the same OBS: take latency of each."""
    from datetime import datetime, timedelta

    out: dict[str, Any] = {"takes": takes}
    for mode in ("single", "cluster"):
        rundown = tmp / f"takes-{mode}.yaml"
        start = datetime.now(TZ).replace(microsecond=0) + timedelta(seconds=3)
        rundown.write_text(rundown_text(start, WARMUPS, takes, 0), "utf-8")
        ctl = Controller(tmp, f"takes-{mode}", rundown, obs, etcd)
        if mode == "single":
            ctl.env = {k: v for k, v in ctl.env.items() if not k.startswith("SHOWCTL_CLUSTER")}
        else:
            ctl.env["SHOWCTL_CLUSTER_PEER_URL"] = f"http://127.0.0.1:{free_port()}"
        ctl.start()
        try:
            out[mode] = summary(asyncio.run(measure_takes(ctl, obs, takes)), 2)
        finally:
            ctl.stop()
    p99 = [out[m].get("p99_ms") for m in ("single", "cluster")]
    out["p99_overhead_ms"] = None if None in p99 else round(p99[1] - p99[0], 2)
    return out


def run(runs: int = 10, takes: int = 50) -> dict[str, Any]:
    load_start = load_average()
    times: list[float] = []
    broken = 0
    with tempfile.TemporaryDirectory(prefix="showctl-failover-") as tmp_name, \
            EtcdMembers(Path(tmp_name) / "etcd") as etcd:
        tmp = Path(tmp_name)
        rundown = tmp / "failover.yaml"
        rundown.write_text(RUNDOWN, "utf-8")
        obs = ObsLauncher(tmp / "obs", scenes={**SCENES, **scenes_for(
            load_rundown(RUNDOWN, "failover.yaml").rundown)})
        obs.start()
        try:
            latency = take_latency(tmp, obs, etcd, takes)
        except BaseException:
            obs.close()
            raise
        pair = [Controller(tmp, n, rundown, obs, etcd) for n in ("main", "backup")]
        pair[0].env["SHOWCTL_CLUSTER_PEER_URL"] = pair[1].url
        pair[1].env["SHOWCTL_CLUSTER_PEER_URL"] = pair[0].url
        try:
            pair[0].start()
            until(lambda: pair[0].get("/api/state"), "first leader")
            pair[1].start()
            leader, standby = pair
            for i in range(runs):
                until(lambda s=standby: (s.get("/cluster/status") or {}).get("role")
                      == "follower", "standby")
                result = one_failover(leader, standby)
                times.append(result["applied_ms"])
                broken += not result["continuous"]
                print(f"failover {i + 1}/{runs}: {result['applied_ms']:.0f} ms",
                      file=sys.stderr, flush=True)
                leader.start()  # back, as the standby
                leader, standby = standby, leader
        finally:
            for node in pair:
                node.stop()
            obs.close()
    return {"machine": machine(), "load_average": {"start": load_start, "end": load_average()},
            "etcd": {"heartbeat_ms": 50, "election_ms": 500, "lease_ttl_s": 1},
            "kill_to_desired_state_in_obs": summary(times, 1), "take_latency": latency,
            "segment_start_changed": broken, "goal_p95_ms": 1500}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--takes", type=int, default=50)
    args = parser.parse_args()
    write_result("failover", run(args.runs, args.takes))
