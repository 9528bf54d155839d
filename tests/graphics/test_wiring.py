"""Through the real wiring (control.wiring.run_show: runner, journal, API; no OBS, whose link
keeps retrying a closed port): a cue of the rundown plays the lower third on a page in
Chromium on time, and takes it out when its `for` ends; the API sits behind the roles."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from graphics.support import Overlay
from playwright.async_api import Browser

from control.config import Settings
from control.obs.launcher import free_port
from control.wiring.live import run_show

pytestmark = pytest.mark.asyncio(loop_scope="session")

DIRECTOR, VIEWER = "director-token-overlays-wiring", "viewer-token-overlays-wiring"
RUNDOWN = """\
show:
  title: Overlay wiring
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  safe_scene: Slate
segments:
  - id: weather
    title: Weather
    duration: 10m
    scene: Remote Guest
    then: hold
    cues:
      - {at: 2s, overlay: lower-third, for: 1500ms, data: {name: Zhu Dingzhen, name_zh: 朱定真, role: "Chief expert, CMA"}}
  - {id: talk, title: Talk, duration: 10m, scene: Studio Interview}
"""


async def test_a_rundown_cue_plays_the_lower_third_on_time(browser: Browser,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "wiring.yaml"
    path.write_text(RUNDOWN, "utf-8")
    port = free_port()
    settings = Settings(obs_url=f"ws://127.0.0.1:{free_port()}", http_port=port,
                        director_token=DIRECTOR, viewer_token=VIEWER,
                        state_dir=tmp_path / "state", min_take_interval_ms=0)
    base = f"http://127.0.0.1:{port}"
    async with run_show(path, settings, start="now") as ctl:
        async with asyncio.timeout(10):
            while ctl.runner.state.on_air != "weather":
                await asyncio.sleep(0.01)
        since = ctl.runner.state.since_ms
        assert since is not None
        async with aiohttp.ClientSession() as http:
            bearer = {"Authorization": f"Bearer {DIRECTOR}"}
            async with http.get(f"{base}/api/overlays", headers=bearer) as resp:
                assert resp.status == 200
                graphics = {g["template"]: g for g in (await resp.json())["graphics"]}
            async with http.get(f"{base}/api/overlays",
                                headers={"Authorization": f"Bearer {VIEWER}"}) as resp:
                assert resp.status == 403
            async with http.post(f"{base}/api/overlays/lower-third/stop", json={}) as resp:
                assert resp.status == 401
            async with http.get(f"{base}/api/state", headers=bearer) as resp:
                assert resp.status == 200  # the rest of the API as it was
            url = graphics["lower-third"]["url"]
            assert url.startswith(f"{base}/overlays/lower-third?key=")
            async with http.get(url.split("?")[0]) as resp:
                assert resp.status == 403  # no key, no page
        page = await Overlay.open(browser, url)
        try:
            assert ctl.runner.now() < since + 2000, "the page must be up before the cue"
            await page.wait("showctl.plays.length > 0", timeout=6, what="the cue")
            play = await page.eval("showctl.plays[0]")
            lateness = play["frame"] - (since + 2000)
            # never early; late by less than half the cue's lead (a generous bound: the suite
            # runs beside busy loops; cue-to-pixel precision is bench/overlays.py's figure)
            assert -5 < lateness < 1000, f"first frame {lateness:.1f} ms after the cue's time"
            assert await page.eval("document.querySelector('.name').textContent") == "Zhu Dingzhen"
            assert await page.eval("document.querySelector('.name-zh').textContent") == "朱定真"
            await page.wait("!document.querySelector('showctl-lower-third').classList"
                            ".contains('on')", timeout=4, what="the cue's `for` to end")
            assert await page.eval("showctl.clock.now()") >= since + 3500
            assert page.errors == []
        finally:
            await page.close()
