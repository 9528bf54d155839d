"""Overlay benchmarks against real Chromium (Debian's /usr/bin/chromium) and the overlay hub on
a real aiohttp server, loopback only. Not a test: numbers for people.

1. cue-to-pixel latency: POST /api/overlays/lower-third/play -> the first animation frame
   (requestAnimationFrame) in which the page draws the graphic, on the controller's clock as
   the page estimates it; `--runs` plays (default 50), median and p95.
2. countdown agreement: two countdown pages, one on a clock 2345.6 ms wrong; over the same
   ~5 s of frames, how far apart their ideas of the controller's clock are (what decides
   whether they show the same second), and how often they draw different seconds at the
   same moment (away from the second boundaries: should be never).

Run: .venv/bin/python bench/overlays.py [--runs 50]. About 30 s.
Results: bench/results/overlays.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
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
TOKEN = "bench-director-token"
SKEW_MS = 2345.6
SKEWED = ("(() => { const real = performance.now.bind(performance); "
          f"performance.now = () => real() + {SKEW_MS}; }})();")
FRAME_MS = 1000 / 60


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median_ms": round(statistics.median(values), 2),
            "p95_ms": round(pct(values, 0.95), 2), "min_ms": round(min(values), 2),
            "max_ms": round(max(values), 2)}


async def wait(page: Page, expression: str, timeout: float = 10) -> None:
    await page.wait_for_function(f"() => ({expression})", timeout=timeout * 1000,
                                 polling="raf")


async def open_page(browser: Any, url: str, init: str | None = None) -> Page:
    context = await browser.new_context(viewport={"width": 1920, "height": 1080})
    if init:
        await context.add_init_script(init)
    page = await context.new_page()
    await page.goto(url)
    await wait(page, "window.showctl && showctl.link && showctl.link.rev !== null "
                     "&& showctl.clock.synced")
    return page


async def latency(browser: Any, base: str, key: str, runs: int) -> dict[str, Any]:
    page = await open_page(browser, f"{base}/overlays/lower-third?key={key}&skipAnimation=1")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    to_frame: list[float] = []
    api: list[float] = []
    async with aiohttp.ClientSession(headers=headers) as http:
        for i in range(runs):
            sent = time.time() * 1000
            async with http.post(f"{base}/api/overlays/lower-third/play",
                                 json={"data": {"name": f"Run {i}", "name_zh": "朱定真"}}) as r:
                assert r.status == 200, await r.text()
            api.append(time.time() * 1000 - sent)
            await wait(page, f"showctl.plays.length >= {i + 1}")
            frame = await page.evaluate(f"showctl.plays[{i}].frame")
            to_frame.append(frame - sent)
            async with http.post(f"{base}/api/overlays/lower-third/stop", json={}) as r:
                assert r.status == 200
            await wait(page, "!document.querySelector('showctl-lower-third')"
                             ".classList.contains('on')")
    await page.context.close()
    return {"api_round_trip": summary(api), "api_to_first_frame": summary(to_frame)}


async def agreement(browser: Any, hub: OverlayHub, base: str, key: str) -> dict[str, Any]:
    url = f"{base}/overlays/countdown?key={key}&trace=1"
    a = await open_page(browser, url)
    b = await open_page(browser, url, SKEWED)
    target = time.time() * 1000 + 60_000
    hub.play("countdown", {"target": datetime.fromtimestamp(target / 1000, UTC).isoformat()})
    for page in (a, b):
        await wait(page, "showctl.element.lastDraw !== null")
        await page.evaluate("showctl.frames.length = 0")
    for page in (a, b):
        await wait(page, "showctl.frames.length >= 300")
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
        "drawn_remaining_difference": summary(differences),
        "same_moment_comparisons": compared,
        "different_second_shown": mismatches,
    }


class _NoShow:
    def read_model(self) -> dict[str, Any]:
        return {"segments": []}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
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
                    "machine": platform.platform(),
                    "chromium": browser.version,
                    "cue_to_pixel": await latency(browser, base, key, args.runs),
                    "countdown_agreement": await agreement(browser, hub, base, key),
                }
            finally:
                await browser.close()
    finally:
        await runner.cleanup()
    out = ROOT / "bench" / "results" / "overlays.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
