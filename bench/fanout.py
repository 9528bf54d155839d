"""State fan-out and event-loop lag: a take reaching every console, side by side with a bare
aiohttp baseline.

N websocket clients (default 200, spread over 4 processes as separate browsers would be)
watch; M takes (default 50) are made through the API.
Latency of one take = from sending POST /api/take to the LAST client holding the new state.
A client connects as the console does (``/api/ws?delta=1``) and holds the state the console
would: a full ``{"type": "state", "state": ...}`` replaces it, a ``{"type": "delta", ...}``
(JSON Patch, RFC 6902, or merge patch, RFC 7386; its ``prev`` revision checked) is applied
to it, a gap asks for the whole state again; the take has arrived when the on-air segment it
holds is the one taken, whichever message brought it.
Baseline, in the same run: a minimal aiohttp server that broadcasts the same read model to
the same number of websocket clients when poked (the floor of Python websockets here).

Loop lag, in the same runs: the controller's own 10 ms probe (``/debug/looplag``,
control/metrics/looplag.py) over the controller's takes, side by side with the same probe in
a bare idle loop in its own process at the same time (the machine's scheduling floor), and
in the baseline server's loop over its broadcasts.

Run: .venv/bin/python bench/fanout.py [--clients 200] [--takes 50] [--processes 4]
Loopback only; bounded (about a minute). Results: bench/results/fanout.json; ``run(...)``
returns them for bench/report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    collecting_ws,
    load_average,
    machine,
    pct,
    ratio,
    summary,
    wait_on_air,
    write_result,
)
from control.metrics.looplag import LoopLagProbe, summarize  # noqa: E402
from control.obs.launcher import free_port  # noqa: E402
from control.web.patch import PatchError  # noqa: E402
from control.web.patch import apply as apply_patch  # noqa: E402

TOKEN, VIEWER = "bench-director-token-0123", "bench-viewer-token-0123456"


class Held:
    """The state one client holds, as the console (static/live.js) keeps it: a full
    ``state`` message replaces it, a ``delta``'s JSON Patch is applied to it (with the
    controller's own applier) when its ``prev`` is the revision held. A delta that does not
    fit drops the state: the client asks for the whole state again (``{"type": "resync"}``)
    and ignores deltas until it comes."""

    def __init__(self) -> None:
        self.state: dict | None = None
        self.rev: Any = None
        self.resyncing = False

    def receive(self, data: dict) -> bool:
        """Take one message; False when the client should ask for the whole state."""
        kind = data.get("type")
        if kind == "state" and isinstance(data.get("state"), dict):
            self.state, self.rev, self.resyncing = data["state"], data.get("rev"), False
            return True
        if kind != "delta" or self.resyncing:
            return True
        if self.state is None or data.get("prev") != self.rev:
            return self._lost()
        try:
            self.state = apply_patch(self.state, data.get("patch"))
        except (PatchError, TypeError, AttributeError):
            return self._lost()
        self.rev = data.get("rev", self.rev)
        return True

    def _lost(self) -> bool:
        self.state, self.rev, self.resyncing = None, None, True
        return False


PUSHES = "\0pushes"  # asks a watcher process for its per-push figures


def _key(state: dict | None) -> str | None:
    """What a held state says happened: the baseline's poke number or the on-air segment."""
    if not state:
        return None
    if "k" in state:
        return f"k{state['k']}"
    on_air = state.get("on_air") or {}
    return on_air.get("id")


def _watch_process(url: str, headers: dict[str, str], clients: int, conn: Connection) -> None:
    """One process of watchers, as separate browsers would be: `clients` websockets; for
    every key asked for, answers the wall time by which all of them had seen it and the
    median size of the messages that brought it."""
    async def main() -> None:
        seen: dict[str, dict[int, float]] = {}
        sizes: dict[str, list[int]] = {}
        changed = asyncio.Event()
        connected = 0

        # a message is stamped when its socket delivers it, and parsed afterwards by one
        # task: when a push reaches all of this process's clients at once, the last one's
        # arrival is not delayed by parsing the others' (each browser has its own process)
        inbox: deque[tuple[int, float, str, aiohttp.ClientWebSocketResponse]] = deque()
        pushes: dict[int, tuple[float, int]] = {}  # now_ms of a push -> (worst ms, clients)
        work = asyncio.Event()
        held = [Held() for _ in range(clients)]

        async def watch(session: aiohttp.ClientSession, i: int) -> None:
            nonlocal connected
            # compress=15: offer permessage-deflate, as every browser does
            async with session.ws_connect(url, headers=headers, max_msg_size=0,
                                          compress=15) as ws:
                connected += 1
                changed.set()
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    inbox.append((i, time.time(), msg.data, ws))
                    work.set()

        async def process() -> None:
            while True:
                await work.wait()
                work.clear()
                while inbox:
                    i, arrived, data, ws = inbox.popleft()
                    if not held[i].receive(json.loads(data)):
                        await ws.send_str('{"type": "resync"}')
                    key = _key(held[i].state)
                    show = (held[i].state or {}).get("show") or {}
                    if isinstance(show.get("now_ms"), int):  # every push: built -> arrived
                        worst, count = pushes.get(show["now_ms"], (0.0, 0))
                        pushes[show["now_ms"]] = (max(worst, arrived * 1000 - show["now_ms"]),
                                                  count + 1)
                    if key is not None and i not in seen.setdefault(key, {}):
                        seen[key][i] = arrived
                        sizes.setdefault(key, []).append(len(data))
                        changed.set()

        async with aiohttp.ClientSession() as session:
            tasks = [asyncio.create_task(watch(session, i)) for i in range(clients)]
            tasks.append(asyncio.create_task(process()))
            while connected < clients:
                changed.clear()
                await asyncio.wait_for(changed.wait(), 30)
            conn.send("ready")
            loop = asyncio.get_running_loop()
            while True:
                key = await loop.run_in_executor(None, conn.recv)
                if key is None:
                    break
                if key == PUSHES:  # the parent asks for every push's figures
                    conn.send(pushes)
                    continue
                async with asyncio.timeout(20):
                    while len(seen.get(key, {})) < clients:
                        changed.clear()
                        await changed.wait()
                conn.send((max(seen[key].values()), statistics.median(sizes[key])))
            for t in tasks:
                t.cancel()

    asyncio.run(main())


Hook = Callable[[], Awaitable[None]]


async def measure(clients: int, takes: int, ws_url: str, headers: dict[str, str],
                  take: Callable[[int], Awaitable[str]], processes: int = 4,
                  on_ready: Hook | None = None,
                  on_done: Hook | None = None, interval: float = 0.55,
                  pushes: dict[int, tuple[float, int]] | None = None
                  ) -> tuple[list[float], list[float]]:
    """Latency of each take to the last of `clients` watchers, spread over `processes`, and
    the size of the message that brought it. `on_ready` runs once every watcher is
    connected, `on_done` after the last take (the window of the loop-lag probes)."""
    ctx = multiprocessing.get_context("spawn")
    pipes, procs = [], []
    for n in range(processes):
        parent, child = ctx.Pipe()
        share = clients // processes + (1 if n < clients % processes else 0)
        proc = ctx.Process(target=_watch_process, args=(ws_url, headers, share, child))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    loop = asyncio.get_running_loop()
    out: list[float] = []
    sizes: list[float] = []
    try:
        for pipe in pipes:
            assert await asyncio.wait_for(loop.run_in_executor(None, pipe.recv), 60) == "ready"
        if on_ready is not None:
            await on_ready()
        for k in range(takes):
            await asyncio.sleep(interval)  # the controller refuses takes closer than 500 ms
            t0 = time.time()
            key = await take(k)
            for pipe in pipes:
                pipe.send(key)
            last = [await asyncio.wait_for(loop.run_in_executor(None, pipe.recv), 30)
                    for pipe in pipes]
            out.append((max(t for t, _ in last) - t0) * 1000)
            sizes.append(statistics.median(size for _, size in last))
        if on_done is not None:
            await on_done()
        if pushes is not None:  # every push (a read model stamps its show.now_ms): the worst
            for pipe in pipes:  # client in each process; merged: the worst of all clients
                pipe.send(PUSHES)
                theirs = await asyncio.wait_for(loop.run_in_executor(None, pipe.recv), 30)
                for at, (worst, count) in theirs.items():
                    old_worst, old_count = pushes.get(at, (0.0, 0))
                    pushes[at] = (max(worst, old_worst), count + old_count)
    finally:
        for pipe in pipes:
            pipe.send(None)
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    return out, sizes


def _bare_loop(conn: Connection, interval: float) -> None:
    """The loop-lag probe in an idle asyncio loop of its own process, until told to stop;
    answers the probe's samples (seconds)."""
    async def main() -> None:
        probe = LoopLagProbe(interval)
        probe.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def readable() -> None:
            loop.remove_reader(conn.fileno())
            stop.set()

        loop.add_reader(conn.fileno(), readable)
        await stop.wait()
        await probe.stop()
        conn.recv()
        conn.send(list(probe.samples))

    asyncio.run(main())


class BareLoop:
    """A bare idle loop with the probe, in its own process, for a window of a run."""

    def __init__(self, interval: float = 0.010) -> None:
        self.interval = interval
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_bare_loop, args=(child, interval), daemon=True)

    def start(self) -> None:
        self._proc.start()

    def stop(self) -> dict[str, Any]:
        self._conn.send("stop")
        samples = self._conn.recv() if self._conn.poll(10) else []
        self._proc.join(10)
        return summarize(samples, self.interval)


async def _post(http: aiohttp.ClientSession, url: str) -> int:
    async with http.post(url) as resp:
        await resp.read()
        return resp.status


async def baseline(clients: int, takes: int, model: dict,
                   processes: int = 4) -> tuple[list[float], dict[str, Any]]:
    """The same read model (as the controller sent it) broadcast by a bare server; and the
    loop-lag probe in that server's loop over the broadcasts."""
    sockets: set[web.WebSocketResponse] = set()

    async def poke(request: web.Request) -> web.Response:
        k = int(request.query["k"])
        text = json.dumps({"type": "state", "state": {**model, "k": k}})
        for sock in list(sockets):
            await sock.send_str(text)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/ws", collecting_ws(sockets))
    app.router.add_post("/poke", poke)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    posts: list[asyncio.Task] = []
    probe = LoopLagProbe()

    async def ready() -> None:
        probe.start()

    async def done() -> None:
        await probe.stop()

    async with aiohttp.ClientSession() as http:
        async def take(k: int) -> str:
            posts.append(asyncio.create_task(_post(http, f"http://127.0.0.1:{port}/poke?k={k}")))
            return f"k{k}"
        result, _ = await measure(clients, takes, f"ws://127.0.0.1:{port}/ws", {}, take,
                                  processes, ready, done)
        await asyncio.gather(*posts)
    await runner.cleanup()
    return result, probe.summary()


def rundown_text(segments: int = 60) -> str:
    """A plain show of `segments` one-minute segments (a read model of realistic size)."""
    return ("show:\n  title: Fan-out bench\n  timezone: Asia/Shanghai\n"
            "  start: 2023-12-31 22:00:00\nsegments:\n"
            + "".join(f"  - {{id: s{i}, title: Segment {i}, duration: 1m, scene: S{i % 4}}}\n"
                      for i in range(segments)))


async def controller(clients: int, takes: int, tmp: Path,
                     processes: int = 4) -> tuple[list[float], list[float], dict, dict]:
    """The controller's fan-out; its loop lag and a bare loop's over the same window."""
    rundown = tmp / "fanout.yaml"
    rundown.write_text(rundown_text(max(60, takes + 2)), "utf-8")
    port = free_port()
    env = {**os.environ, "SHOWCTL_OBS_URL": f"ws://127.0.0.1:{free_port()}",  # OBS absent
           "SHOWCTL_HTTP_PORT": str(port), "SHOWCTL_DIRECTOR_TOKEN": TOKEN,
           "SHOWCTL_VIEWER_TOKEN": VIEWER, "SHOWCTL_STATE_DIR": str(tmp / "state")}
    log = (tmp / "controller.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "control.cli", "run", "--no-terminal",
                             "--start", "now", str(rundown)], cwd=ROOT, env=env, stdout=log,
                            stderr=log)
    base = f"http://127.0.0.1:{port}/api"
    try:
        async with aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            model = await wait_on_air(http, f"{base}/state", timeout=30)

            posts: list[asyncio.Task] = []
            lag_url = f"http://127.0.0.1:{port}/debug/looplag"
            lag: dict[str, Any] = {}
            bare = BareLoop()

            async def take(k: int) -> str:
                posts.append(asyncio.create_task(_post(http, f"{base}/take")))
                return f"s{k + 1}"

            async def ready() -> None:
                bare.start()
                async with http.post(lag_url) as r:
                    if r.status != 200:
                        lag["controller"] = {"error": f"POST /debug/looplag: {r.status}"}

            async def done() -> None:
                async with http.delete(lag_url) as r:
                    if r.status == 200:
                        lag.setdefault("controller", await r.json())
                lag["bare_idle_loop"] = await asyncio.to_thread(bare.stop)

            # as the console connects: deltas if the controller offers them
            result, sizes = await measure(clients, takes,
                                          f"ws://127.0.0.1:{port}/api/ws?delta=1",
                                          {"Authorization": f"Bearer {VIEWER}"}, take,
                                          processes, ready, done)
            statuses = await asyncio.gather(*posts)
            assert all(s == 200 for s in statuses), statuses
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    return result, sizes, model, lag


async def run(clients: int = 200, takes: int = 50, processes: int = 4) -> dict[str, Any]:
    """Controller and baseline fan-out, and the loop lag of each, as a JSON-able dict."""
    info = machine()
    with tempfile.TemporaryDirectory(prefix="showctl-fanout-") as tmp:
        ctl, sizes, model, lag = await controller(clients, takes, Path(tmp), processes)
    base, base_lag = await baseline(clients, takes, model, processes)
    info["load_average_end"] = load_average()
    ctl_lag = lag.get("controller", {})
    idle = lag.get("bare_idle_loop", {})
    return {
        "machine": info,
        "clients": clients, "takes": takes, "processes": processes,
        "read_model_bytes": len(json.dumps(model)),
        "controller_message_bytes_median": statistics.median(sizes),
        "controller_take_to_last_client": summary(ctl),
        "baseline_broadcast_to_last_client": summary(base),
        "ratio_median": statistics.median(ctl) / statistics.median(base),
        "ratio_p99": pct(ctl, .99) / pct(base, .99),
        "goal_p99_at_most_50_ms": pct(ctl, .99) <= 50,
        "loop_lag": {
            "controller_during_fanout": ctl_lag,
            "bare_idle_loop_same_window": idle,
            "bare_broadcast_server_during_baseline": base_lag,
            "ratio_p99_controller_to_bare_idle": ratio(ctl_lag.get("p99_ms"),
                                                       idle.get("p99_ms")),
            "ratio_p99_controller_to_bare_server": ratio(ctl_lag.get("p99_ms"),
                                                         base_lag.get("p99_ms")),
            "goal_no_stall_over_50_ms": ctl_lag.get("max_ms", 1e9) <= 50,
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--takes", type=int, default=50)
    parser.add_argument("--processes", type=int, default=4,
                        help="watcher processes the clients are spread over")
    args = parser.parse_args()
    write_result("fanout", asyncio.run(run(args.clients, args.takes, args.processes)))
