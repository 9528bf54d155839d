"""Guest health end to end, loopback only: the controller runs in-process (no OBS needed),
headless Chromium with a fake camera joins as a guest whose laptop runs on 8 % battery (the
Battery Status API, stubbed before the page loads), and a director's console in the same
Chromium shows the guest's signal meter. The page's own report (with the figures health.js
adds) reaches the read model's ``health`` (poor: battery 8 %), the metric
``showctl_guest_health`` and the meter's tooltip, in English and Chinese; the
director's "Switch camera" reaches the guest's page, which lists its devices and, when the
guest accepts, replaces its camera track in place (no new join, the sender keeps sending);
the controller logs the guest's answer. Asked for the microphone, the guest declines (the
track stays), then accepts (replaced in place).

Re-runs itself under ``unshare -n`` (nothing but loopback), like the other WebRTC tests.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import CHROMIUM, launch_chromium, until
from netns import only_inside, rerun_inside
from rundowns import guest_show

from control.config import Settings
from control.guests.invites import SECRET_ENV, invite_url, load_secret, make_token
from control.obs.launcher import free_port
from control.wiring.live import run_show

INNER = "SHOWCTL_TEST_NETNS_HEALTH"
DIRECTOR = "director-health-token-0123"
RUNDOWN = guest_show("Health")
LOW_BATTERY = """Object.defineProperty(navigator, "getBattery", {
  value: () => Promise.resolve({ level: 0.08, charging: false }) });"""
VIDEO_TRACK = ("showctlGuest.pc() && showctlGuest.pc().getSenders()"
               ".find((s) => s.track && s.track.kind === 'video').track")
AUDIO_TRACK = VIDEO_TRACK.replace("'video'", "'audio'")


def test_in_a_loopback_namespace():
    rerun_inside(__file__, "::test_guest_health_and_the_device_switch", INNER, timeout=150,
                 needs=(CHROMIUM,))


def get(url: str) -> str:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {DIRECTOR}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


def ada(base: str) -> dict[str, Any]:
    state = json.loads(get(base + "/api/state"))
    return next(g for g in state["guests"] if g["id"] == "ada")


@pytest.mark.timeout(120)
async def test_guest_health_and_the_device_switch(tmp_path: Path, caplog):
    only_inside(INNER, "test_in_a_loopback_namespace")
    from playwright.async_api import async_playwright

    caplog.set_level(logging.INFO)
    rundown = tmp_path / "health.yaml"
    rundown.write_text(RUNDOWN, "utf-8")
    port = free_port()
    settings = replace(Settings(), obs_url=f"ws://127.0.0.1:{free_port()}",  # no OBS
                       http_port=port, director_token=DIRECTOR, state_dir=tmp_path,
                       armed=False, guest_ice_hosts="127.0.0.1", guest_secret="health-secret",
                       mixer_port=free_port(), mixer_width=320, mixer_height=180, mixer_fps=10)
    secret = load_secret(tmp_path, {SECRET_ENV: "health-secret"})
    link = invite_url("127.0.0.1", port, "ada", make_token(secret, "ada",
                                                           int(time.time()) + 600))
    base = f"http://127.0.0.1:{port}"
    async with run_show(rundown, settings, fresh=True), async_playwright() as pw:
        assert (await asyncio.to_thread(ada, base))["health"] is None  # never joined
        browser = await launch_chromium(pw, media=True)
        try:
            console = await (await browser.new_context(viewport={"width": 1600,
                                                                 "height": 900})).new_page()
            errors: list[str] = []
            console.on("pageerror", lambda e: errors.append(str(e)))
            await console.goto(base + "/")
            await console.locator("#login-token").fill(DIRECTOR)
            await console.locator("#login-submit").click()
            row = console.locator('#guests-list li.guest[data-id="ada"]')
            meter = row.locator(".signal")
            await meter.wait_for(state="attached", timeout=10_000)
            assert await meter.is_hidden()  # invited: no meter

            guest_context = await browser.new_context()
            await guest_context.add_init_script(LOW_BATTERY)
            guest = await guest_context.new_page()
            guest.on("pageerror", lambda e: errors.append(str(e)))
            await guest.goto(link)
            await until(lambda: guest.evaluate("window.showctlGuest !== undefined"), 10,
                        "the guest page's script", interval=0.05)
            await guest.evaluate("showctlGuest.join()")

            # the page's report, with health.js's figures, reaches the read model: the battery
            # is the worst cause (another may win a report while the machine is busy)
            def reported() -> dict[str, Any] | None:
                g = ada(base)
                return g if ((g["health"] or {}).get("cause") == "battery"
                             and "frames_dropped_pct" in (g["link"] or {})) else None

            g = await until(lambda: asyncio.to_thread(reported), 40, "the page's report",
                            interval=0.2)
            print("health", g["health"], "link", g["link"])  # the figures (pytest -s)
            assert g["health"] == {"score": 40, "grade": "poor", "bars": 1, "cause": "battery",
                                   "value": 8}
            assert g["link"]["battery_pct"] == 8 and g["link"]["power"] == "battery"
            assert g["link"]["framesSent"] > 0 and 0 <= g["link"]["frames_dropped_pct"] <= 100

            # ... and the metric, with the roster id as its only label
            text = await asyncio.to_thread(get, base + "/metrics")
            found = re.search(r'^showctl_guest_health\{guest="ada"\} (\S+)$', text, re.M)
            assert found and 0 <= float(found.group(1)) <= 40, text[:2000]

            # the console's meter: one bar lit, red, the cause in the tooltip
            async def tooltip(meter: Any, words: str) -> bool:
                return words in (await meter.get_attribute("title") or "")

            await meter.wait_for(state="visible", timeout=10_000)
            await until(lambda: tooltip(meter, "battery 8 %"), 10, "the cause in the tooltip",
                        interval=0.05)
            assert (await meter.get_attribute("title") or "").startswith("Health: Poor (40/100)")
            assert await meter.get_attribute("data-grade") == "poor"
            assert await meter.locator(".bar.lit").count() == 1
            chinese = await (await browser.new_context(locale="zh-CN")).new_page()
            await chinese.goto(base + "/")
            await chinese.locator("#login-token").fill(DIRECTOR)
            await chinese.locator("#login-submit").click()
            zh_meter = chinese.locator('#guests-list li.guest[data-id="ada"] .signal')
            await zh_meter.wait_for(state="visible", timeout=10_000)
            await until(lambda: tooltip(zh_meter, "电量 8 %"), 10, "the tooltip in Chinese",
                        interval=0.05)
            await chinese.close()

            # the director asks Ada to switch camera: her page lists its cameras
            before = await guest.evaluate(VIDEO_TRACK + ".id")
            session = await guest.evaluate("showctlGuest.state().session")
            await row.locator(".switch-camera-btn").click()
            prompt = guest.locator("#switch-device")
            await prompt.wait_for(state="visible", timeout=10_000)
            assert "camera" in (await prompt.locator("h2").text_content() or "")
            assert await prompt.locator("option").count() >= 1  # the fake camera
            sent_before = (await asyncio.to_thread(ada, base))["link"]["framesSent"]
            await guest.click("#switch-accept")
            await until(lambda: guest.evaluate(
                "showctlGuest.health().last && showctlGuest.health().last.outcome"), 15,
                "the guest's answer", interval=0.05)
            assert (await guest.evaluate("showctlGuest.health().last"))["outcome"] == "accepted"
            await prompt.wait_for(state="detached", timeout=5_000)
            # replaced in place: a new live track on the same sender and session, no offer
            after = await guest.evaluate(VIDEO_TRACK + ".id")
            assert after != before
            assert await guest.evaluate(VIDEO_TRACK + ".readyState") == "live"
            assert await guest.evaluate("showctlGuest.state().session") == session
            assert await guest.evaluate("showctlGuest.pc().signalingState") == "stable"
            assert await guest.evaluate(
                "showctlGuest.pc().getSenders().filter((s) => s.track).length") == 2
            # and the new track is sent: the page reports more frames sent
            await until(lambda: asyncio.to_thread(
                lambda: ada(base)["link"]["framesSent"] > sent_before + 20), 20,
                "frames sent from the new camera track", interval=0.2)
            await until(lambda: any("ada accepted switching camera" in r.getMessage()
                                    for r in caplog.records), 10, "the answer logged", interval=0.05)
            assert any("ada: asked to switch camera (1 page) by the director" in r.getMessage()
                       for r in caplog.records)

            # asked for the microphone, the guest keeps hers: nothing changes, the answer says so
            mic = await guest.evaluate(AUDIO_TRACK + ".id")
            await row.locator(".switch-microphone-btn").click()
            await prompt.wait_for(state="visible", timeout=10_000)
            assert "microphone" in (await prompt.locator("h2").text_content() or "")
            await guest.click("#switch-decline")
            await until(lambda: guest.evaluate(
                "showctlGuest.health().last.outcome === 'declined'"), 15, "the refusal",
                interval=0.05)
            assert await guest.evaluate(AUDIO_TRACK + ".id") == mic
            assert await prompt.count() == 0
            await until(lambda: any("ada declined switching microphone" in r.getMessage()
                                    for r in caplog.records), 10, "the refusal logged",
                        interval=0.05)
            # asked again, she accepts: the microphone's track is replaced in place too
            await row.locator(".switch-microphone-btn").click()
            await prompt.wait_for(state="visible", timeout=10_000)
            await guest.click("#switch-accept")
            await until(lambda: guest.evaluate("showctlGuest.health().switches === 2"), 15,
                        "the microphone switched", interval=0.05)
            assert await guest.evaluate(AUDIO_TRACK + ".id") != mic
            assert await guest.evaluate(AUDIO_TRACK + ".readyState") == "live"
            assert await guest.evaluate("showctlGuest.state().session") == session
            assert errors == []
        finally:
            await browser.close()
