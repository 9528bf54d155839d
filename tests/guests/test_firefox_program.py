"""On air in the real OBS from Firefox ESR, as test_program_e2e does it from Chromium:
preflight provisions the "Program Feed" source, the controller runs in-process, Firefox
(tests/firefox.py) joins with the invite link, the guest's segment is taken: the page says
ON AIR and OBS's program shows the fake camera in the guest's box. Then the browser is
killed (SIGKILL, every process): the slate replaces it in OBS. Loopback only: re-runs itself
under ``unshare -n``."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
from firefox import FIREFOX, available, launch_firefox
from guests.support import differs, free_udp_port, shot
from guests.test_firefox_guest import open_page
from helpers import until
from netns import only_inside, rerun_inside
from rundowns import guest_show

from control.config import Settings
from control.guests.invites import SECRET_ENV, invite_url, load_secret, make_token
from control.obs.client import ObsClient
from control.obs.launcher import ObsLauncher, ObsLaunchError, free_port
from control.obs.preflight import preflight
from control.show.commands import Take
from control.show.loader import load_rundown
from control.wiring.live import run_show

Image = pytest.importorskip("PIL.Image")
pytestmark = [pytest.mark.browser, pytest.mark.live]
INNER = "SHOWCTL_TEST_NETNS_FIREFOX_PROGRAM"
RUNDOWN = guest_show("Firefox on air")


def test_firefox_on_air_in_a_loopback_namespace():
    rerun_inside(__file__, "::test_firefox_guest_on_air_in_obs", INNER, timeout=150,
                 needs=(FIREFOX, "node", "obs"))


@pytest.mark.timeout(120)
async def test_firefox_guest_on_air_in_obs(tmp_path: Path):
    only_inside(INNER, "test_firefox_on_air_in_a_loopback_namespace")
    if why := available():
        pytest.skip(why)
    rundown_path = tmp_path / "guests.yaml"
    rundown_path.write_text(RUNDOWN, "utf-8")
    rundown = load_rundown(RUNDOWN, str(rundown_path)).rundown
    launcher = ObsLauncher(tmp_path / "obs", scenes={"Studio": [], "Slate": []},
                           start_timeout=25)
    try:
        await asyncio.to_thread(launcher.start)
    except ObsLaunchError as exc:
        pytest.fail(str(exc), pytrace=False)
    http_port, feed_port = free_port(), free_udp_port()
    settings = replace(Settings(), obs_url=launcher.url, obs_password=launcher.password,
                       http_port=http_port, director_token="d" * 24, state_dir=tmp_path,
                       armed=False, guest_ice_hosts="127.0.0.1", guest_secret="e2e-secret",
                       mixer_port=feed_port)
    secret = load_secret(tmp_path, {SECRET_ENV: "e2e-secret"})
    link = invite_url("127.0.0.1", http_port, "ada", make_token(secret, "ada",
                                                                int(time.time()) + 600))
    try:
        async with ObsClient(launcher.url, launcher.password) as client:
            await client.wait_connected(timeout=10)
            await preflight(client, rundown, provision=True, feed_url=f"udp://127.0.0.1:{feed_port}")
            async with run_show(rundown_path, settings, fresh=True) as ctl:
                await ctl.command(Take(segment_id="talk"))

                async def on_program() -> bool:
                    scene = await client.call("GetCurrentProgramScene")
                    return (scene.get("currentProgramSceneName") == "Guests"
                            and ctl.guests.mixing.running)

                await until(on_program, 15, "the guest segment on program, the mixer on",
                            interval=0.05)

                async def settled_slate():  # two equal pictures in a row: the slate is up
                    a = await shot(client, "Guests")
                    await asyncio.sleep(0.2)
                    b = await shot(client, "Guests")
                    return [b] if differs(a, b) < 3 and b.std() > 5 else None

                [slate] = await until(settled_slate, 15, "the slate in OBS", interval=0.05)

                async def camera() -> bool:
                    return differs(await shot(client, "Guests"), slate) > 25

                async def slated() -> bool:
                    return differs(await shot(client, "Guests"), slate) < 8

                firefox = await launch_firefox()
                try:
                    await open_page(firefox, link)
                    await firefox.click("#join")
                    await until(lambda: "ada" not in ctl.guests.mixer.compositor.slated, 30,
                                "Firefox's picture in the mixer", interval=0.02)
                    await until(camera, 20, "the fake camera in the guest's box in OBS",
                                interval=0.05)
                    await until(lambda: firefox.evaluate("showctlGuest.state().onAir"), 10,
                                "the page saying ON AIR", interval=0.1)
                    assert await firefox.evaluate("showctlGuest.state().status") == "on-air"
                    firefox.kill()  # the browser dies: no goodbye
                    await until(slated, 15, "the slate after Firefox died", interval=0.05)
                finally:
                    await firefox.close()
                status = {g["id"]: g["status"] for g in ctl.read_model()["guests"]}
                assert status["ada"] == "disconnected", status  # the slot is kept
    finally:
        await asyncio.to_thread(launcher.close)
