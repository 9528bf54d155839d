"""Prompter scroll: the operator's position reaching the other prompter screens, side by side
with a bare aiohttp relay.

`showctl run` (OBS absent: the prompter does not need it) with a show whose first segment
has a script; an operator client (the prompter token, as /prompter?operate=1 speaks) sends
its position 60 times a second (once a frame, as the page does); N screens (default 1: "a
second screen") hold /stage/ws as prompter pages do. Latency of one position = from the
operator's send to a screen receiving it, on one clock (all clients in this process, on
loopback). The screens' own drawing is not in it (a page applies a position in the same
task that receives it, control/stage/static/prompter.js). Baseline, in the same run: a
minimal aiohttp server in its own process that relays each message from one socket to the
others (the floor of a Python websocket relay here). Goal: within one frame (16.7 ms).

Run: .venv/bin/python bench/prompter_scroll.py [--positions 600] [--screens 1]
Loopback only; bounded (about half a minute). Results: bench/results/prompter_scroll.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import load_average, machine, ratio, summary, write_result  # noqa: E402
from control.obs.launcher import free_port  # noqa: E402
from control.overlays import read_key  # noqa: E402

# tokens of 24+ characters: the controller refuses shorter ones
DIRECTOR, PROMPTER = "bench-director-token-0123456", "bench-prompter-token-0123456"
RUNDOWN = """\
show:
  title: Prompter bench
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
segments:
  - id: read
    title: Read
    duration: 30m
    scene: S
    script: |
""" + "".join(f"      Line {i} of the script, as long as a line on a prompter is.\n"
              for i in range(200))
FRAME_S = 1 / 60


async def relay_latencies(url: str, positions: int, screens: int,
                          operate: dict[str, Any] | None) -> list[float]:
    """Send `positions` scroll messages from one socket; ms until each screen had each."""
    sent: dict[int, float] = {}
    latencies: list[float] = []
    async with aiohttp.ClientSession() as http:
        operator = await http.ws_connect(url)
        followers = [await http.ws_connect(url) for _ in range(screens)]
        if operate is not None:
            await operator.send_json(operate)
            while True:
                message = json.loads((await operator.receive()).data)
                if message.get("type") == "operator":
                    assert message["ok"], message
                    break

        async def watch(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                at = time.perf_counter()
                message = json.loads(msg.data)
                if message.get("type") == "scroll" and message["line"] in sent:
                    latencies.append((at - sent[message["line"]]) * 1000)

        watchers = [asyncio.create_task(watch(ws)) for ws in followers]
        await asyncio.sleep(0.5)  # the screens' first state has arrived
        for line in range(1, positions + 1):
            sent[line] = time.perf_counter()
            await operator.send_json({"type": "scroll", "seg": "read", "line": line,
                                      "frac": 0.5})
            await asyncio.sleep(FRAME_S)
        await asyncio.sleep(0.5)
        for task in watchers:
            task.cancel()
        for ws in (operator, *followers):
            await ws.close()
    return latencies


async def controller(positions: int, screens: int, tmp: Path) -> list[float]:
    rundown = tmp / "prompter.yaml"
    rundown.write_text(RUNDOWN, "utf-8")
    port = free_port()
    env = {**os.environ, "SHOWCTL_OBS_URL": f"ws://127.0.0.1:{free_port()}",  # OBS absent
           "SHOWCTL_HTTP_PORT": str(port), "SHOWCTL_DIRECTOR_TOKEN": DIRECTOR,
           "SHOWCTL_PROMPTER_TOKEN": PROMPTER, "SHOWCTL_MIXER_ENABLED": "false",
           "SHOWCTL_STATE_DIR": str(tmp / "state")}
    log = (tmp / "controller.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "control.cli", "run", "--no-terminal",
                             "--start", "now", str(rundown)], cwd=ROOT, env=env, stdout=log,
                            stderr=log)
    try:
        try:
            await _wait_up(f"http://127.0.0.1:{port}/api/state", DIRECTOR)
        except TimeoutError:
            log.flush()
            raise TimeoutError("the controller did not come up; its log ends:\n"
                               + (tmp / "controller.log").read_text()[-2000:]) from None
        url = f"ws://127.0.0.1:{port}/stage/ws?key={read_key(DIRECTOR)}&screen=prompter"
        return await relay_latencies(url, positions, screens,
                                     {"type": "operate", "token": PROMPTER})
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


async def _wait_up(url: str, token: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        while True:
            try:
                async with http.get(url) as r:
                    if r.status == 200 and (await r.json())["on_air"]:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the controller did not come up at {url}")
            await asyncio.sleep(0.2)


def bare_relay(port: int) -> None:
    """A minimal relay: each text message from one socket to every other one."""
    sockets: set[web.WebSocketResponse] = set()

    async def ws(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        sockets.add(sock)
        try:
            async for msg in sock:
                for other in list(sockets):
                    if other is not sock:
                        await other.send_str(msg.data)
        finally:
            sockets.discard(sock)
        return sock

    app = web.Application()
    app.router.add_get("/ws", ws)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


async def baseline(positions: int, screens: int) -> list[float]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--bare-relay", str(port)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.ws_connect(f"ws://127.0.0.1:{port}/ws"):
                        break
                except aiohttp.ClientError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)
        return await relay_latencies(f"ws://127.0.0.1:{port}/ws", positions, screens, None)
    finally:
        proc.terminate()
        proc.wait(10)


async def run(positions: int = 600, screens: int = 1) -> dict[str, Any]:
    info = machine()
    load_start = load_average()
    with tempfile.TemporaryDirectory(prefix="showctl-prompter-") as tmp:
        ours = await controller(positions, screens, Path(tmp))
    theirs = await baseline(positions, screens)
    result = {
        "benchmark": "prompter_scroll",
        "what": "operator's scroll position -> another prompter screen (ms)",
        "positions": positions, "screens": screens, "goal_ms": round(FRAME_S * 1000, 1),
        "showctl": summary(ours, 3), "bare_aiohttp_relay": summary(theirs, 3),
        "median_ratio": ratio(summary(ours).get("median_ms"),
                              summary(theirs).get("median_ms")),
        "delivered": len(ours) / (positions * screens),
        "machine": {**info, "load_average_start": load_start,
                    "load_average_end": load_average()},
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=600)
    parser.add_argument("--screens", type=int, default=1)
    parser.add_argument("--bare-relay", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_relay:
        bare_relay(args.bare_relay)
        return
    if not 1 <= args.positions <= 10_000 or not 1 <= args.screens <= 200:
        parser.error("--positions 1..10000, --screens 1..200")
    write_result("prompter_scroll", asyncio.run(run(args.positions, args.screens)))


if __name__ == "__main__":
    main()
