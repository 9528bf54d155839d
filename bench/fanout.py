"""State fan-out: a take reaching every console, side by side with a bare aiohttp baseline.

N websocket clients (default 100) watch; M takes (default 50) are made through the API.
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
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
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


class Watchers:
    """N websocket clients; each notes when it first sees a message that `matches`."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.expect: Callable[[dict], bool] = lambda m: False
        self.done = asyncio.Event()
        self.count = 0

    async def watch(self, session: aiohttp.ClientSession, url: str, i: int,
                    headers: dict[str, str]) -> None:
        async with session.ws_connect(url, headers=headers, max_msg_size=0) as ws:
            self.count += 1
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(msg.data)
                if i not in self.seen and self.expect(data):
                    self.seen[i] = time.perf_counter()
                    if len(self.seen) == self.n:
                        self.done.set()

    def arm(self, n: int, expect: Callable[[dict], bool]) -> None:
        self.n, self.expect, self.seen = n, expect, {}
        self.done = asyncio.Event()


async def measure(clients: int, takes: int, ws_url: str, headers: dict[str, str],
                  take: Callable[[int], Awaitable[Callable[[dict], bool]]]) -> list[float]:
    watchers = Watchers()
    out: list[float] = []
    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(watchers.watch(session, ws_url, i, headers))
                 for i in range(clients)]
        async with asyncio.timeout(30):
            while watchers.count < clients:
                await asyncio.sleep(0.05)
        for k in range(takes):
            await asyncio.sleep(0.55)  # the controller refuses takes closer than 500 ms
            t0 = time.perf_counter()
            watchers.arm(clients, await take(k))
            async with asyncio.timeout(10):
                await watchers.done.wait()
            out.append((max(watchers.seen.values()) - t0) * 1000)
        for t in tasks:
            t.cancel()
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
        async def take(k: int) -> Callable[[dict], bool]:
            posts.append(asyncio.create_task(_post(http, f"http://127.0.0.1:{port}/poke?k={k}")))
            return lambda m: m.get("state", {}).get("k") == k
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

            async def take(k: int) -> Callable[[dict], bool]:
                expected = f"s{k + 1}"
                posts.append(asyncio.create_task(_post(http, f"{base}/take")))
                return lambda m: (m.get("state", {}).get("on_air") or {}).get("id") == expected

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
