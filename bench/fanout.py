"""State fan-out: a take reaching every console, side by side with a bare aiohttp baseline.

N websocket clients (default 100, spread over 4 processes as separate browsers would be)
watch; M takes (default 50) are made through the API.
Latency of one take = from sending POST /api/take to the LAST client holding the new state.
Baseline, in the same run: a minimal aiohttp server that broadcasts the same read model to
the same number of websocket clients when poked (the floor of Python websockets here).

Run: .venv/bin/python bench/fanout.py [--clients 100] [--takes 50]
Loopback only; bounded (about a minute). Results: bench/results/fanout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from control.obs.launcher import free_port  # noqa: E402

TOKEN, VIEWER = "bench-director-token-x", "bench-viewer-token-xx"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median_ms": statistics.median(values), "p95_ms": pct(values, .95),
            "p99_ms": pct(values, .99), "max_ms": max(values)}


def _key(data: dict) -> str | None:
    """What a state message says happened: the baseline's poke number or the on-air segment."""
    state = data.get("state") or {}
    if "k" in state:
        return f"k{state['k']}"
    on_air = state.get("on_air") or {}
    return on_air.get("id")


def _watch_process(url: str, headers: dict[str, str], clients: int, conn: Connection) -> None:
    """One process of watchers, as separate browsers would be: `clients` websockets; for
    every key asked for, answers the wall time by which all of them had seen it."""
    async def main() -> None:
        seen: dict[str, dict[int, float]] = {}
        changed = asyncio.Event()
        connected = 0

        async def watch(session: aiohttp.ClientSession, i: int) -> None:
            nonlocal connected
            async with session.ws_connect(url, headers=headers, max_msg_size=0) as ws:
                connected += 1
                changed.set()
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    key = _key(json.loads(msg.data))
                    if key is not None and i not in seen.setdefault(key, {}):
                        seen[key][i] = time.time()
                        changed.set()

        async with aiohttp.ClientSession() as session:
            tasks = [asyncio.create_task(watch(session, i)) for i in range(clients)]
            while connected < clients:
                changed.clear()
                await asyncio.wait_for(changed.wait(), 30)
            conn.send("ready")
            loop = asyncio.get_running_loop()
            while True:
                key = await loop.run_in_executor(None, conn.recv)
                if key is None:
                    break
                async with asyncio.timeout(20):
                    while len(seen.get(key, {})) < clients:
                        changed.clear()
                        await changed.wait()
                conn.send(max(seen[key].values()))
            for t in tasks:
                t.cancel()

    asyncio.run(main())


async def measure(clients: int, takes: int, ws_url: str, headers: dict[str, str],
                  take: Callable[[int], Awaitable[str]], processes: int = 4) -> list[float]:
    """Latency of each take to the last of `clients` watchers, spread over `processes`."""
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
    try:
        for pipe in pipes:
            assert await asyncio.wait_for(loop.run_in_executor(None, pipe.recv), 60) == "ready"
        for k in range(takes):
            await asyncio.sleep(0.55)  # the controller refuses takes closer than 500 ms
            t0 = time.time()
            key = await take(k)
            for pipe in pipes:
                pipe.send(key)
            last = [await asyncio.wait_for(loop.run_in_executor(None, pipe.recv), 30)
                    for pipe in pipes]
            out.append((max(last) - t0) * 1000)
    finally:
        for pipe in pipes:
            pipe.send(None)
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    return out


async def _post(http: aiohttp.ClientSession, url: str) -> int:
    async with http.post(url) as resp:
        await resp.read()
        return resp.status


async def baseline(clients: int, takes: int, model: dict) -> list[float]:
    """The same read model (as the controller sent it) broadcast by a bare server."""
    sockets: set[web.WebSocketResponse] = set()

    async def ws(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        sockets.add(sock)
        async for _ in sock:
            pass
        sockets.discard(sock)
        return sock

    async def poke(request: web.Request) -> web.Response:
        k = int(request.query["k"])
        text = json.dumps({"type": "state", "state": {**model, "k": k}})
        for sock in list(sockets):
            await sock.send_str(text)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/ws", ws)
    app.router.add_post("/poke", poke)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    posts: list[asyncio.Task] = []
    async with aiohttp.ClientSession() as http:
        async def take(k: int) -> str:
            posts.append(asyncio.create_task(_post(http, f"http://127.0.0.1:{port}/poke?k={k}")))
            return f"k{k}"
        result = await measure(clients, takes, f"ws://127.0.0.1:{port}/ws", {}, take)
        await asyncio.gather(*posts)
    await runner.cleanup()
    return result


RUNDOWN = """\
show:
  title: Fan-out bench
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
segments:
""" + "".join(f"  - {{id: s{i}, title: Segment {i}, duration: 1m, scene: S{i % 4}}}\n"
              for i in range(60))


async def controller(clients: int, takes: int, tmp: Path) -> tuple[list[float], dict]:
    rundown = tmp / "fanout.yaml"
    rundown.write_text(RUNDOWN, "utf-8")
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
            async with asyncio.timeout(30):
                while True:
                    try:
                        async with http.get(f"{base}/state") as r:
                            if r.status == 200:
                                model = await r.json()
                                if model["on_air"]:
                                    break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)

            posts: list[asyncio.Task] = []

            async def take(k: int) -> str:
                posts.append(asyncio.create_task(_post(http, f"{base}/take")))
                return f"s{k + 1}"

            result = await measure(clients, takes, f"ws://127.0.0.1:{port}/api/ws",
                                   {"Authorization": f"Bearer {VIEWER}"}, take)
            statuses = await asyncio.gather(*posts)
            assert all(s == 200 for s in statuses), statuses
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    return result, model


async def main(clients: int, takes: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="showctl-fanout-") as tmp:
        ctl, model = await controller(clients, takes, Path(tmp))
    base = await baseline(clients, takes, model)
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "clients": clients, "takes": takes, "read_model_bytes": len(json.dumps(model)),
        "controller_take_to_last_client": summary(ctl),
        "baseline_broadcast_to_last_client": summary(base),
        "ratio_median": statistics.median(ctl) / statistics.median(base),
        "ratio_p99": pct(ctl, .99) / pct(base, .99),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--takes", type=int, default=50)
    args = parser.parse_args()
    result = asyncio.run(main(args.clients, args.takes))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fanout.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
