"""The guest page in Firefox ESR (Debian's, through tests/firefox.py), loopback only, as
test_webrtc_e2e and test_returnfeed_e2e do it in Chromium: the page joins over WHIP, the
mixer receives its camera, the page shows the green room and sends its link stats; a closed
tab's link joins again; and the page plays its return feed (sound with energy in it, after a
real click, nobody clicking again). The bodies run again in a network namespace that has
nothing but loopback (unshare -n), so no packet can leave 127.0.0.1."""

from __future__ import annotations

import time

import pytest
from aiohttp import web
from firefox import FIREFOX, Firefox, FirefoxError, Page, available, launch_firefox
from guests.test_returnfeed_e2e import Guest, serve
from helpers import until
from netns import only_inside, rerun_inside

from control.guests.gateway import Gateway, configure_ice_hosts, guest_statuses
from control.guests.invites import invite_url, make_token
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.routes import install

pytestmark = [pytest.mark.browser, pytest.mark.live]
INNER = "SHOWCTL_TEST_NETNS_FIREFOX"
# the return feed's energy, as the page's own stats give it (inbound-rtp of the return track)
RETURN_ENERGY = """(async () => {
  const el = document.getElementById('return');
  const track = el.srcObject && el.srcObject.getAudioTracks()[0];
  const pc = window.showctlGuest.pc();
  if (!track || !pc) return 0;
  let energy = 0;
  (await pc.getStats(track)).forEach((r) => {
    if (r.type === 'inbound-rtp') energy = r.totalAudioEnergy || 0; });
  return energy;
})()"""


def test_in_a_loopback_namespace():
    rerun_inside(__file__, " -k 'firefox_joins or firefox_plays or gone_camera'", INNER,
                 timeout=240, needs=(FIREFOX, "node"), passed=3)


def inside() -> None:
    only_inside(INNER, "test_in_a_loopback_namespace")
    if why := available():
        pytest.skip(why)


async def open_page(target: Firefox | Page, link: str) -> None:
    await target.goto(link)

    async def loaded() -> bool:
        try:
            return bool(await target.evaluate("window.showctlGuest !== undefined"))
        except FirefoxError:  # still navigating: no context to evaluate in yet
            return False

    await until(loaded, 15, "the page's script", interval=0.1)


@pytest.mark.timeout(120)
async def test_firefox_joins():
    inside()
    configure_ice_hosts(["127.0.0.1"])
    mixer = ProgramMixer(MixerSettings(port=9))  # not started: we only read what it receives
    gateway = Gateway(mixer)
    secret = b"firefox-e2e"
    roster = {"ada": {"id": "ada", "name": "Ada", "name_zh": None, "role": None}}

    def view():
        return guest_statuses(list(roster.values()), gateway, on_air=[], ready=[])

    app = web.Application()
    install(app, gateway, secret=secret, roster=lambda: roster,
            status=lambda g: {"status": view()[0]["status"], "on_air": False})
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    link = invite_url("127.0.0.1", port, "ada", make_token(secret, "ada", time.time() + 600))
    try:
        async with launch_firefox() as firefox:
            await open_page(firefox, link)
            await firefox.evaluate("showctlGuest.join()")
            await until(lambda: gateway.phase("ada") == "connected", 30, "the guest connected")
            await until(lambda: mixer.frames("ada").received > 10, 20, "frames in the mixer")
            frame = mixer.frames("ada").latest()
            assert frame is not None and frame.width >= 320
            assert view()[0]["status"] == "green-room"
            await until(lambda: firefox.evaluate("showctlGuest.state().status === 'green-room'"),
                        10, "the page showing green-room", interval=0.1)
            await until(lambda: "ada" in gateway.link, 15, "the page's stats")
            # the tab closes; the same link, in the same browser, joins again and takes over
            tab = await firefox.new_page()
            await firefox.page.close()
            before = mixer.frames("ada").received
            await open_page(tab, link)
            await tab.evaluate("showctlGuest.join()")
            await until(lambda: mixer.frames("ada").received > before + 10
                        and gateway.phase("ada") == "connected", 20, "the slot restored")
            assert len(gateway.sessions) == 1
    finally:
        await gateway.close()
        await runner.cleanup()


@pytest.mark.timeout(120)
async def test_firefox_plays_its_return_feed():
    """Firefox as ada (fake microphone), bob an aiortc tone: ada's page plays what comes
    back after the Join click, and it is not silence."""
    inside()
    async with serve() as server, launch_firefox() as firefox:
        bob = Guest("bob")
        try:
            await bob.join(server)
            await open_page(firefox, server.link("ada"))
            await firefox.click("#join")  # a real click: the browser lets the page play sound
            await until(lambda: server.gateway.phase("ada") == "connected", 30,
                        "the page connected")
            await until(lambda: firefox.evaluate("showctlGuest.state().hearing"), 15,
                        "the return feed playing", interval=0.1)
            assert await firefox.evaluate("document.getElementById('hear').hidden") is True
            await until(lambda: _energy_above(firefox, 0.01), 20,
                        "sound with energy in the return feed", interval=0.2)
        finally:
            await bob.close()


async def _energy_above(firefox: Firefox, floor: float) -> bool:
    return float(await firefox.evaluate(RETURN_ENERGY) or 0) > floor


# the guest picks a camera that is gone by the time it is opened (unplugged; Safari gives
# devices new ids after a reload): the page falls back to any camera instead of failing
PICK_GONE_CAMERA = """(() => {
  const sel = document.getElementById('camera');
  const gone = document.createElement('option');
  gone.value = 'gone-camera'; gone.textContent = 'gone';
  sel.append(gone); sel.value = 'gone-camera';
  window.unhandled = [];
  addEventListener('unhandledrejection', (e) => unhandled.push(String(e.reason)));
  window.before = document.getElementById('preview').srcObject;
  sel.dispatchEvent(new Event('change'));
  return true; })()"""
NEW_PREVIEW = """(() => {
  const s = document.getElementById('preview').srcObject;
  return !!s && s !== window.before && s.getVideoTracks()[0].readyState === 'live'; })()"""


@pytest.mark.timeout(60)
async def test_firefox_falls_back_from_a_gone_camera():
    inside()
    async with serve() as server, launch_firefox() as firefox:
        await open_page(firefox, server.link("ada"))
        await until(lambda: firefox.evaluate(
            "!!document.getElementById('preview').srcObject"), 15, "the preview", interval=0.1)
        assert await firefox.evaluate(PICK_GONE_CAMERA)
        await until(lambda: firefox.evaluate(NEW_PREVIEW), 15, "a camera after all",
                    interval=0.1)
        assert await firefox.evaluate("window.unhandled") == []
        assert await firefox.evaluate("document.getElementById('error').textContent") == ""
