"""The guest's full-quality recording (ISO) end to end in Chromium (fake camera and
microphone): the guest joins, goes on air in the running show (controller in-process, OBS a
closed port, no mixer), is recorded by their own page while on air, and uploads it after
the segment (no upload request before the take that ends it). The page is closed mid-upload (its chunk 2 never gets through), reopened in the
same browser, and the upload completes from where the server stopped. The file arrives
whole (every chunk verified; ffprobe decodes every frame without an error, sound and
picture) and its length matches the time on air within a generous bound; the director's
console lists it and downloads it. Re-runs itself in a loopback-only namespace, like
test_tab_close."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from guests.support import page_until
from helpers import CHROMIUM, launch_chromium, until
from netns import only_inside, rerun_inside

from control.config import Settings
from control.guests.invites import SECRET_ENV, invite_url, load_secret, make_token
from control.obs.launcher import free_port
from control.show.commands import Take
from control.wiring.live import run_show

INNER = "SHOWCTL_TEST_NETNS_ISO"
ON_AIR_S = 6.0
BOUND_S = 2.0  # the file's length against the time on air the page showed (1 s pieces)
RUNDOWN = """\
show:
  title: ISO
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  safe_scene: Slate
guests:
  ada:
    name: Ada
segments:
  - {id: intro, title: Intro, duration: 10m, scene: Studio, then: hold}
  - {id: talk, title: Talk, duration: 10m, scene: Guests, guests: [ada]}
  - {id: outro, title: Outro, duration: 10m, scene: Studio, then: hold}
"""


def test_iso_in_a_loopback_namespace():
    out = rerun_inside(__file__, "::test_the_recording_arrives_whole_and_resumes -s", INNER,
                       timeout=300, needs=(CHROMIUM, "ffmpeg", "ffprobe"))
    print(*(line[line.index("ISO:"):] for line in out.splitlines() if "ISO:" in line), sep="\n")


def probe(path: Path) -> dict[str, Any]:
    """Each stream's frames decoded to the end (ffprobe -count_frames: decoder errors are
    reported), and the first and last video packet times."""
    counted = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=codec_type,nb_read_frames", "-of", "json", str(path)],
        capture_output=True, text=True, timeout=120)
    frames = {s["codec_type"]: int(s.get("nb_read_frames") or 0)
              for s in json.loads(counted.stdout or "{}").get("streams", [])}
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                          "packet=pts_time", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    times = [float(x) for x in out.split() if x.replace(".", "", 1).isdigit()]
    return {"frames": frames, "video_s": max(times) - min(times) if times else 0.0,
            "errors": counted.stderr.strip(), "rc": counted.returncode}


@pytest.mark.timeout(280)
async def test_the_recording_arrives_whole_and_resumes(tmp_path: Path):
    only_inside(INNER, "test_iso_in_a_loopback_namespace")
    from playwright.async_api import async_playwright

    rundown = tmp_path / "show.yaml"
    rundown.write_text(RUNDOWN, "utf-8")
    port = free_port()
    state = tmp_path / "state"
    settings = Settings(obs_url=f"ws://127.0.0.1:{free_port()}", http_port=port,
                        director_token="t" * 24, state_dir=state, mixer_enabled=False,
                        guest_ice_hosts="127.0.0.1", guest_secret="iso-secret")
    secret = load_secret(tmp_path, {SECRET_ENV: "iso-secret"})
    link = invite_url("127.0.0.1", port, "ada", make_token(secret, "ada", time.time() + 600))
    async with run_show(rundown, settings, start="now", fresh=True) as ctl, \
            async_playwright() as pw:
        browser = await launch_chromium(pw, media=True)
        context = await browser.new_context()  # one browser: its IndexedDB, its rejoin secret
        blocked: list[str] = []
        sent: list[float] = []  # when the page made each upload request

        async def hold_chunk_2(route: Any) -> None:  # the upload stops there: close the page
            sent.append(time.monotonic())
            if "/chunks/" in route.request.url and int(route.request.url.rsplit("/", 1)[1]) >= 2:
                blocked.append(route.request.url)
                await route.abort()
            else:
                await route.continue_()

        page = await context.new_page()
        await page.route("**/guest/ada/iso/**", hold_chunk_2)
        await page.goto(link)
        await page_until(page, "window.showctlGuest !== undefined", 15, "the page's script")
        await page.evaluate("showctlGuest.join()")
        await until(lambda: ctl.guests.gateway.phase("ada") == "connected", 30, "ada connected")
        await ctl.command(Take(segment_id="talk"))
        await page_until(page, "showctlGuest.iso().recording", 15, "the page recording")
        on = time.monotonic()
        await until(lambda: time.monotonic() - on >= ON_AIR_S, ON_AIR_S + 1, "time on air")
        off = time.monotonic()
        await ctl.command(Take(segment_id="outro"))
        await page_until(page, "!showctlGuest.state().onAir", 15, "the page off air")
        on_air_s = time.monotonic() - on
        assert await page.evaluate("showctlGuest.iso().recording") is False
        await until(lambda: blocked, 30, "the upload reaching chunk 2")
        assert sent and min(sent) > off, "an upload request while the guest was on air"
        upload = ctl.guests.iso.ledger.find("ada", "talk-1")
        assert upload.next == 2 and upload.phase.value == "uploading"
        await page.close()  # mid-upload

        again = await context.new_page()
        await again.goto(link)
        await until(lambda: upload.phase.value == "complete", 60, "the upload completing")
        await page_until(again, "showctlGuest.iso().phase === 'done'", 10, "the page saying so")
        console = await browser.new_page()  # the director's console lists it, with a download
        await console.goto(f"http://127.0.0.1:{port}/?token={settings.director_token}")
        item = '#guests-list li.guest[data-id="ada"] .guest-iso li.iso-complete'
        await page_until(console, f"!!document.querySelector('{item} a.iso-download')", 20,
                         "the console listing the recording")
        listed = await console.evaluate(f"document.querySelector('{item}').textContent")
        href = await console.evaluate(f"document.querySelector('{item} a').href")
        downloaded = await console.evaluate(
            "async (url) => (await (await fetch(url)).arrayBuffer()).byteLength", href)
        await browser.close()
    assert "talk-1.webm" in listed and "0:0" in listed, listed  # ~6 s on air: 0:05..0:07
    final = state / "iso" / "ada" / "talk-1.webm"
    assert final.stat().st_size == upload.size == sum(n for _, n in upload.chunks)
    assert downloaded == upload.size
    assert not final.with_name("talk-1.webm.part").exists()
    found = probe(final)
    length = found["video_s"]
    print(f"ISO: {final.stat().st_size} bytes in {len(upload.chunks)} chunks, video "
          f"{length:.2f} s, frames {found['frames']}, page {upload.duration_ms} ms, on air "
          f"{on_air_s:.2f} s")
    assert found["rc"] == 0 and not found["errors"], found
    assert found["frames"].keys() == {"video", "audio"}, found
    assert found["frames"]["video"] >= 5 * length and found["frames"]["audio"] >= 10 * length, found
    assert abs(length - on_air_s) < BOUND_S, (length, on_air_s)
    assert upload.duration_ms is not None and abs(upload.duration_ms / 1000 - on_air_s) < BOUND_S

