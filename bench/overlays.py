"""Overlay benchmarks against real Chromium (Debian's /usr/bin/chromium) and the overlay hub on
a real aiohttp server, loopback only. Not a test: numbers for people.

1. cue-to-pixel latency: POST /api/overlays/lower-third/play -> the first animation frame
   (requestAnimationFrame) in which the page draws the graphic, on the controller's clock as
   the page estimates it; `--runs` plays (default 50), median and p95. Baseline, interleaved
   play by play in the same browser: a bare aiohttp server that broadcasts the play over a
   websocket to a bare page showing a text box (the floor of websocket -> paint here). Each
   is split where the time goes: request sent -> message in the page (the server and the
   network), message -> first frame (the page).
2. countdown agreement: two countdown pages, one on a clock 2345.6 ms wrong; over the same
   `--frames` frames (~5 s), how far apart their ideas of the controller's clock are (what
   decides whether they show the same second), and how often they draw different seconds at
   the same moment (away from the second boundaries: should be never).

Run: .venv/bin/python bench/overlays.py [--runs 50] [--frames 300]. About 30 s.
Results: bench/results/overlays.json; ``run(runs, frames)`` returns them for bench/report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import collecting_ws, load_average, machine, ratio, summary, write_result  # noqa: E402
from control.overlays import (  # noqa: E402
    OPENAPI_PATHS,
    OverlayHub,
    api_routes,
    derive_read_key,
    install,
)
from control.web.app import create_app  # noqa: E402
from control.web.auth import Auth  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-renderer-backgrounding", "--disable-background-timer-throttling"]
TOKEN = "bench-director-token-0123"
SKEW_MS = 2345.6
SKEWED = ("(() => { const real = performance.now.bind(performance); "
          f"performance.now = () => real() + {SKEW_MS}; }})();")
FRAME_MS = 1000 / 60
POLL_MS = 5


# the baseline: a bare page that shows a text box when a websocket message says so, and
# notes the wall clock in the next animation frame (as graphic.js notes the controller's)
BARE_PAGE = """<!doctype html><html><body style="margin:0;background:transparent">
<div id="g" style="position:absolute;left:80px;bottom:80px;padding:16px;font:48px sans-serif;
color:#fff;background:#c00;visibility:hidden"></div>
<script>
const g = document.getElementById('g');
const bare = (window.bare = { plays: [], ready: false });
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onopen = () => { bare.ready = true; };
ws.onmessage = (e) => {
  const received = performance.timeOrigin + performance.now();
  const m = JSON.parse(e.data);
  if (m.play) {
    g.textContent = m.name;
    g.style.visibility = 'visible';
    requestAnimationFrame(() => bare.plays.push({
      received, frame: performance.timeOrigin + performance.now() }));
  } else {
    g.style.visibility = 'hidden';
  }
};
</script></body></html>"""


async def wait(page: Page, expression: str, timeout: float = 10,
               polling: float | str = "raf") -> None:
    await page.wait_for_function(f"() => ({expression})", timeout=timeout * 1000,
                                 polling=polling)


async def open_page(browser: Any, url: str, init: str | None = None) -> Page:
    context = await browser.new_context(viewport={"width": 1920, "height": 1080})
    if init:
        await context.add_init_script(init)
    page = await context.new_page()
    await page.goto(url)
    await wait(page, "window.showctl && showctl.link && showctl.link.rev !== null "
                     "&& showctl.clock.synced")
    return page


async def bare_server() -> tuple[web.AppRunner, str]:
    """The baseline's server: GET / (the bare page), GET /ws, POST /play and /stop."""
    sockets: set[web.WebSocketResponse] = set()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=BARE_PAGE, content_type="text/html")

    async def send(message: dict[str, Any]) -> web.Response:
        text = json.dumps(message)
        for sock in list(sockets):
            await sock.send_str(text)
        return web.json_response({"ok": True})

    async def play(request: web.Request) -> web.Response:
        data = (await request.json())["data"]
        return await send({"play": True, "name": data["name"]})

    async def stop(request: web.Request) -> web.Response:
        return await send({"play": False})

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/ws", collecting_ws(sockets))
    app.router.add_post("/play", play)
    app.router.add_post("/stop", stop)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def _play(http: aiohttp.ClientSession, page: Page, play: str, stop: str, i: int,
                plays: str, hidden: str) -> tuple[float, float, float, float]:
    """One play, milliseconds: the API's round trip, request sent -> first frame drawn, and
    that split where the time goes: request sent -> message in the page, message in the
    page -> first frame."""
    sent = time.time() * 1000
    async with http.post(play, json={"data": {"name": f"Run {i}", "name_zh": "朱定真"}}) as r:
        assert r.status == 200, await r.text()
    api = time.time() * 1000 - sent
    # polled on a timer, not per frame: a poller that asks for every frame would hold the
    # page to the display's frame grid while it waits, and be part of what is measured
    await wait(page, f"{plays}.length >= {i + 1}", polling=POLL_MS)
    drawn = await page.evaluate(f"{plays}[{i}]")
    async with http.post(stop, json={}) as r:
        assert r.status == 200
    await wait(page, hidden, polling=POLL_MS)
    frame, received = drawn["frame"], drawn.get("received")
    if received is None:  # (a page that does not say when the message came)
        return api, frame - sent, math.nan, math.nan
    return api, frame - sent, received - sent, frame - received


def _known(values: list[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]


async def latency(browser: Any, base: str, key: str, runs: int) -> dict[str, Any]:
    page = await open_page(browser, f"{base}/overlays/lower-third?key={key}&skipAnimation=1")
    runner, bare_base = await bare_server()
    bare = await (await browser.new_context(viewport={"width": 1920, "height": 1080})).new_page()
    await bare.goto(bare_base)
    await wait(bare, "window.bare && bare.ready")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    # per page: API round trips, sent -> frame, sent -> message, message -> frame
    ours: tuple[list[float], ...] = ([], [], [], [])
    theirs: tuple[list[float], ...] = ([], [], [], [])
    try:
        async with aiohttp.ClientSession(headers=headers) as http:
            for i in range(runs):
                times = await _play(http, page, f"{base}/api/overlays/lower-third/play",
                                    f"{base}/api/overlays/lower-third/stop", i,
                                    "showctl.plays", "!document.querySelector("
                                    "'showctl-lower-third').classList.contains('on')")
                for values, value in zip(ours, times, strict=True):
                    values.append(value)
                times = await _play(http, bare, f"{bare_base}/play", f"{bare_base}/stop", i,
                                    "bare.plays", "document.getElementById('g').style"
                                    ".visibility === 'hidden'")
                for values, value in zip(theirs, times, strict=True):
                    values.append(value)
    finally:
        await page.context.close()
        await bare.context.close()
        await runner.cleanup()
    to_frame, bare_frame = summary(ours[1], 2), summary(theirs[1], 2)
    return {"api_round_trip": summary(ours[0], 2), "api_to_first_frame": to_frame,
            "api_to_message": summary(_known(ours[2]), 2),
            "message_to_first_frame": summary(_known(ours[3]), 2),
            "baseline_api_round_trip": summary(theirs[0], 2),
            "baseline_api_to_first_frame": bare_frame,
            "baseline_api_to_message": summary(theirs[2], 2),
            "baseline_message_to_first_frame": summary(theirs[3], 2),
            "ratio_median": ratio(to_frame["median_ms"], bare_frame["median_ms"]),
            "ratio_p95": ratio(to_frame["p95_ms"], bare_frame["p95_ms"])}


async def agreement(browser: Any, hub: OverlayHub, base: str, key: str,
                    frames: int = 300) -> dict[str, Any]:
    url = f"{base}/overlays/countdown?key={key}&trace=1"
    a = await open_page(browser, url)
    b = await open_page(browser, url, SKEWED)
    target = time.time() * 1000 + 60_000
    hub.play("countdown", {"target": datetime.fromtimestamp(target / 1000, UTC).isoformat()})
    for page in (a, b):
        await wait(page, "showctl.element.lastDraw !== null")
        await page.evaluate("showctl.frames.length = 0")
    for page in (a, b):
        await wait(page, f"showctl.frames.length >= {frames}", timeout=10 + frames / 20)
    fa = await a.evaluate("showctl.frames.slice()")
    fb = await b.evaluate("showctl.frames.slice()")
    offset_b = await b.evaluate("showctl.clock.offset")
    rtt = [await p.evaluate("showctl.clock.rtt") for p in (a, b)]
    err_a = [f["server"] - f["local"] for f in fa]
    err_b = [f["server"] - (f["local"] - SKEW_MS) for f in fb]
    differences, compared, mismatches = [], 0, 0
    for f in fa:
        best = min(fb, key=lambda g: abs(g["local"] - SKEW_MS - f["local"]))
        gap = f["local"] - (best["local"] - SKEW_MS)
        if abs(gap) > 2 * FRAME_MS:
            continue
        rb = best["remaining"] - gap
        differences.append(abs(f["remaining"] - rb))
        if min(f["remaining"] % 1000, 1000 - f["remaining"] % 1000) > FRAME_MS:
            compared += 1
            mismatches += math.ceil(rb / 1000) != math.ceil(f["remaining"] / 1000)
    await a.context.close()
    await b.context.close()
    return {
        "frames_per_page": [len(fa), len(fb)],
        "clock_estimate_difference_ms": round(abs(statistics.median(err_a)
                                                  - statistics.median(err_b)), 3),
        "skewed_page_offset_error_ms": round(offset_b + SKEW_MS, 3),
        "best_round_trip_ms": rtt,
        "drawn_remaining_difference": summary(differences, 2),
        "same_moment_comparisons": compared,
        "different_second_shown": mismatches,
    }


class _NoShow:
    def read_model(self) -> dict[str, Any]:
        return {"segments": []}

    def has_segment(self, segment_id: str) -> bool:
        return False


async def run(runs: int = 50, frames: int = 300) -> dict[str, Any]:
    """Both overlay benchmarks on one real Chromium; the figures as a JSON-able dict."""
    info = machine()
    hub = OverlayHub()
    # the API's guard and JSON errors, as in the controller (no show: overlays only)
    app = create_app(_NoShow(), Auth({TOKEN: "director"}),  # type: ignore[arg-type]
                     extra_routes=api_routes(), openapi_paths=OPENAPI_PATHS)
    key = derive_read_key(TOKEN)

    def authorize(request: web.Request, min_role: str) -> str | None:
        ok = request.headers.get("Authorization") == f"Bearer {TOKEN}"
        return "director" if ok else None

    install(app, hub, authorize=authorize, read_key=lambda: key)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=ARGS)
            try:
                results = {
                    "when": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": info,
                    "chromium": browser.version,
                    "runs": runs,
                    "cue_to_pixel": await latency(browser, base, key, runs),
                    "countdown_agreement": await agreement(browser, hub, base, key, frames),
                }
            finally:
                await browser.close()
    finally:
        await runner.cleanup()
    info["load_average_end"] = load_average()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    write_result("overlays", asyncio.run(run(args.runs, args.frames)))
