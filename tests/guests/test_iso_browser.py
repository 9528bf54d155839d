"""The guest's full-quality recording (ISO) end to end in Chromium (fake camera and
microphone): the guest joins, goes on air in the running show (controller in-process, OBS a
closed port, no mixer), is recorded by their own page while on air, and uploads it after
the segment (nothing reaches the server before the take that ends it). The server refuses
chunk 2 (a full disk, as far as the page knows), the page is closed mid-upload, reopened in
the same browser, and the upload completes from where the server stopped. The file arrives
whole (every chunk verified; ffprobe decodes every frame without an error, sound and
picture) and its length matches the time on air within a generous bound; the director's
console lists it and downloads it. Re-runs itself in a loopback-only namespace, like
test_tab_close. `recorded_and_resumed` is the browser-neutral flow (test_iso_firefox.py)."""

from __future__ import annotations

import errno
import json
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from guests.support import page_until
from helpers import CHROMIUM, launch_chromium, until
from netns import only_inside, rerun_inside
from rundowns import guest_show

from control.config import Settings
from control.guests.invites import SECRET_ENV, invite_url, load_secret, make_token
from control.guests.iso import Upload
from control.obs.launcher import free_port
from control.show.commands import Take
from control.wiring.live import LiveShow, run_show

INNER = "SHOWCTL_TEST_NETNS_ISO"
ON_AIR_S = 6.0
BOUND_S = 2.0  # the file's length against the time the page showed ON AIR (1 s pieces)
RUNDOWN = guest_show("ISO", outro=True)


class Tab(Protocol):
    async def evaluate(self, expression: str) -> Any: ...
    async def close(self) -> None: ...


OpenTab = Callable[[str], Awaitable[Tab]]  # the link -> a tab of the one browser, script loaded
Console = Callable[[LiveShow, str], Awaitable[None]]  # (the show, its base URL)


@dataclass
class Recorded:
    upload: Upload
    file: Path
    on_air_s: float


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


def hold_from_chunk_2(ctl: LiveShow) -> tuple[list[float], list[int]]:
    """The show's ISO store refuses chunk 2 on (ENOSPC: the page is told 507 and tries
    again later) until the returned flag list gets an item; (when each request reached the
    store, the flag)."""
    store, arrived, released = ctl.guests.iso, [], []
    append, opened = store.append, store.ledger.open

    def held_append(upload: Upload, data: bytes, sha: str) -> None:
        arrived.append(time.monotonic())
        if upload.next >= 2 and not released:
            raise OSError(errno.ENOSPC, "held by the test")
        append(upload, data, sha)

    def timed_open(*args: Any, **kwargs: Any) -> Any:
        arrived.append(time.monotonic())
        return opened(*args, **kwargs)

    store.append = held_append  # type: ignore[method-assign]
    store.ledger.open = timed_open  # type: ignore[method-assign]
    return arrived, released


async def recorded_and_resumed(tmp_path: Path, open_tab: OpenTab,
                               console: Console | None = None) -> Recorded:
    """The flow: join, on air ON_AIR_S, off air; the upload held at chunk 2, the tab closed,
    a new tab of the same browser completes it. Asserts on the way; returns what arrived."""
    rundown = tmp_path / "show.yaml"
    rundown.write_text(RUNDOWN, "utf-8")
    port = free_port()
    settings = Settings(obs_url=f"ws://127.0.0.1:{free_port()}", http_port=port,
                        director_token="t" * 24, state_dir=tmp_path / "state",
                        mixer_enabled=False, guest_ice_hosts="127.0.0.1",
                        guest_secret="iso-secret")
    secret = load_secret(tmp_path, {SECRET_ENV: "iso-secret"})
    link = invite_url("127.0.0.1", port, "ada", make_token(secret, "ada", time.time() + 600))
    async with run_show(rundown, settings, start="now", fresh=True) as ctl:
        arrived, released = hold_from_chunk_2(ctl)
        tab = await open_tab(link)
        await tab.evaluate("showctlGuest.join()")
        await until(lambda: ctl.guests.gateway.phase("ada") == "connected", 30, "ada connected")
        await until(lambda: tab.evaluate("showctlGuest.iso().armed"), 15,
                    "the page next up, its ISO capture open", interval=0.05)
        await ctl.command(Take(segment_id="talk"))
        await until(lambda: tab.evaluate("showctlGuest.state().onAir"), 15,
                    "the page on air", interval=0.05)
        on = time.monotonic()
        await until(lambda: tab.evaluate("showctlGuest.iso().recording"), 15,
                    "the page recording", interval=0.05)
        await until(lambda: time.monotonic() - on >= ON_AIR_S, ON_AIR_S + 1, "time on air")
        off = time.monotonic()
        await ctl.command(Take(segment_id="outro"))
        await until(lambda: tab.evaluate("!showctlGuest.state().onAir"), 15, "the page off air",
                    interval=0.05)
        on_air_s = time.monotonic() - on
        assert await tab.evaluate("showctlGuest.iso().recording") is False
        upload = await until(lambda: ctl.guests.iso.ledger.of("ada").get("talk-1"), 30,
                             "the upload opened")
        await until(lambda: upload.next == 2 and len(arrived) >= 4, 30,
                    "the upload held at chunk 2")
        assert min(arrived) > off, "an upload request while the guest was on air"
        await tab.close()  # mid-upload
        assert upload.next == 2 and upload.phase.value == "uploading"
        released.append(1)
        again = await open_tab(link)
        await until(lambda: upload.phase.value == "complete", 60, "the upload completing")
        await until(lambda: again.evaluate("showctlGuest.iso().phase === 'done'"), 10,
                    "the page saying so", interval=0.1)
        if console is not None:
            await console(ctl, f"http://127.0.0.1:{port}")
    return Recorded(upload, tmp_path / "state" / "iso" / "ada" / "talk-1.webm", on_air_s)


def check_file(got: Recorded, browser: str) -> None:
    """Whole, decodable to the end, sound and picture, as long as the time on air."""
    upload, final = got.upload, got.file
    assert final.stat().st_size == upload.size == sum(n for _, n in upload.chunks)
    assert not final.with_name("talk-1.webm.part").exists()
    found = probe(final)
    length = found["video_s"]
    print(f"ISO: {browser}: {final.stat().st_size} bytes in {len(upload.chunks)} chunks, "
          f"video {length:.2f} s, frames {found['frames']}, page {upload.duration_ms} ms, "
          f"on air {got.on_air_s:.2f} s")
    assert found["rc"] == 0 and not found["errors"], found
    assert found["frames"].keys() == {"video", "audio"}, found
    assert found["frames"]["video"] >= 5 * length and found["frames"]["audio"] >= 10 * length
    assert abs(length - got.on_air_s) < BOUND_S, (length, got.on_air_s)
    assert upload.duration_ms is not None
    assert abs(upload.duration_ms / 1000 - got.on_air_s) < BOUND_S


@pytest.mark.timeout(280)
async def test_the_recording_arrives_whole_and_resumes(tmp_path: Path):
    only_inside(INNER, "test_iso_in_a_loopback_namespace")
    from playwright.async_api import async_playwright

    downloaded: list[tuple[str, int]] = []
    async with async_playwright() as pw:
        browser = await launch_chromium(pw, media=True)
        context = await browser.new_context()  # one browser: its IndexedDB, its rejoin secret

        async def open_tab(link: str) -> Any:
            page = await context.new_page()
            await page.goto(link)
            await page_until(page, "window.showctlGuest !== undefined", 15, "the page's script")
            return page

        async def console(ctl: LiveShow, base: str) -> None:  # the director's list, download
            page = await browser.new_page()
            await page.goto(f"{base}/?token={'t' * 24}")
            item = '#guests-list li.guest[data-id="ada"] .guest-iso li.iso-complete'
            await page_until(page, f"!!document.querySelector('{item} a.iso-download')", 20,
                             "the console listing the recording")
            listed = await page.evaluate(f"document.querySelector('{item}').textContent")
            href = await page.evaluate(f"document.querySelector('{item} a').href")
            size = await page.evaluate(
                "async (url) => (await (await fetch(url)).arrayBuffer()).byteLength", href)
            downloaded.append((listed, size))

        got = await recorded_and_resumed(tmp_path, open_tab, console)
        await browser.close()
    check_file(got, "chromium")
    listed, size = downloaded[0]
    assert "talk-1.webm" in listed and "0:0" in listed, listed  # ~6 s on air: 0:05..0:07
    assert size == got.upload.size
