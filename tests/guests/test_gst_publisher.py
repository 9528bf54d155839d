"""Any WHIP publisher, not only a browser: a stock GStreamer 1.22 ``webrtcbin`` (Debian's;
its DTLS certificate is RSA) publishes VP8 + Opus to ``/whip/{guest}`` with the guest's
invite token, the DTLS handshake completes (the gateway answers ``a=setup:passive``: as a
DTLS client aiortc offers only ECDSA suites, "no shared cipher" with webrtcbin), the session
goes live and its pictures and sound reach the mixer's side; then, with the whole
controller and a real OBS, its picture is on air in OBS's program (the "Program Feed"), and
the slate comes back when it leaves. The publisher runs with the system Python
(tests/guests/gst_publisher.py); the bodies run again in a loopback-only network namespace,
like test_webrtc_e2e."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from pathlib import Path

import pytest
from aiohttp import web
from guests.support import differs, free_udp_port, shot
from helpers import until
from netns import only_inside, rerun_inside
from rundowns import guest_show

from control.config import Settings
from control.guests.gateway import Gateway, HeldFrames, configure_ice_hosts, passive_answer
from control.guests.invites import SECRET_ENV, load_secret, make_token
from control.guests.routes import install
from control.obs.client import ObsClient
from control.obs.launcher import ObsLauncher, ObsLaunchError, free_port
from control.obs.preflight import preflight
from control.show.commands import Take
from control.show.loader import load_rundown
from control.wiring.live import run_show

INNER = "SHOWCTL_TEST_NETNS_GST"
INNER_OBS = "SHOWCTL_TEST_NETNS_GST_OBS"
SYSTEM_PYTHON = "/usr/bin/python3"
PUBLISHER = Path(__file__).with_name("gst_publisher.py")
GI_CHECK = ("import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstWebRTC', "
            "'1.0'); from gi.repository import Gst; Gst.init(None); "
            "assert Gst.ElementFactory.find('webrtcbin') and Gst.ElementFactory.find('nicesrc')")

OFFER = """v=0\r
o=- 1 0 IN IP4 0.0.0.0\r
s=-\r
t=0 0\r
a=group:BUNDLE video0 audio1\r
m=video 9 UDP/TLS/RTP/SAVPF 96\r
c=IN IP4 0.0.0.0\r
a=setup:actpass\r
a=ice-ufrag:abcd\r
a=ice-pwd:abcdefghijklmnopqrstuvwx\r
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r
a=mid:video0\r
a=sendonly\r
a=rtcp-mux\r
a=rtpmap:96 VP8/90000\r
m=audio 9 UDP/TLS/RTP/SAVPF 111\r
c=IN IP4 0.0.0.0\r
a=setup:{audio}\r
a=ice-ufrag:abcd\r
a=ice-pwd:abcdefghijklmnopqrstuvwx\r
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r
a=mid:audio1\r
a=sendonly\r
a=rtcp-mux\r
a=rtpmap:111 opus/48000/2\r
"""


def setups(sdp: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in sdp.splitlines()
            if line.startswith("a=setup:")]


@pytest.mark.unit
def test_the_answer_is_passive_where_the_offer_leaves_the_choice():
    offer = OFFER.replace("{audio}", "active")
    answer = OFFER.replace("actpass", "active").replace("{audio}", "passive")
    assert setups(passive_answer(offer, answer)) == ["passive", "passive"]
    # the offer wants to be the server on one m-line: that answer stays active
    offer = OFFER.replace("{audio}", "passive")
    answer = OFFER.replace("actpass", "active").replace("{audio}", "active")
    assert setups(passive_answer(offer, answer)) == ["passive", "active"]


def gst_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    done = subprocess.run([SYSTEM_PYTHON, "-c", GI_CHECK], capture_output=True, timeout=30)
    return done.returncode == 0


def test_in_a_loopback_namespace():
    if not gst_available():
        pytest.skip("needs Debian's python3-gi, gstreamer1.0-plugins-bad and -nice")
    rerun_inside(__file__, "::test_gstreamer_publishes", INNER, timeout=90, needs=())


def test_on_air_in_obs_in_a_loopback_namespace():
    if not gst_available():
        pytest.skip("needs Debian's python3-gi, gstreamer1.0-plugins-bad and -nice")
    pytest.importorskip("PIL.Image")
    rerun_inside(__file__, "::test_gstreamer_on_air_in_obs", INNER_OBS, timeout=120,
                 needs=("obs",))


class Events:
    """The publisher's JSON lines, read as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.seen: list[dict] = []

    async def wait(self, check, timeout: float, what: str) -> dict:
        async def read() -> dict:
            for event in self.seen:
                if check(event):
                    return event
            assert self.proc.stdout is not None
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    raise AssertionError(f"the publisher ended before {what}: {self.seen}")
                with contextlib.suppress(ValueError):
                    event = json.loads(line)
                    self.seen.append(event)
                    if check(event):
                        return event

        try:
            return await asyncio.wait_for(read(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}: {self.seen}") from None


@pytest.mark.timeout(60)
async def test_gstreamer_publishes():
    only_inside(INNER, "test_in_a_loopback_namespace")
    configure_ice_hosts(["127.0.0.1"])
    sink = HeldFrames()
    gateway = Gateway(sink)
    secret = b"gst"
    roster = {"ada": {"id": "ada", "name": "Ada", "name_zh": None, "role": None}}
    app = web.Application()
    install(app, gateway, secret=secret, roster=lambda: roster,
            status=lambda g: {"status": gateway.phase(g), "on_air": False})
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    token = make_token(secret, "ada", time.time() + 600)
    proc = await asyncio.create_subprocess_exec(
        SYSTEM_PYTHON, str(PUBLISHER), f"http://127.0.0.1:{port}/whip/ada", token,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    events = Events(proc)
    try:
        answer = await events.wait(lambda e: e["event"] == "answer", 20, "the WHIP answer")
        assert answer["status"] == 201, answer
        assert answer["location"].startswith("/whip/ada/")
        peer = await events.wait(lambda e: e["event"] == "peer"
                                 and e["state"] in ("connected", "failed"), 20,
                                 "DTLS connected on the publisher's side")
        assert peer["state"] == "connected", events.seen  # DTLS and SRTP are up
        assert not [e for e in events.seen if e["event"] == "error"], events.seen
        await until(lambda: gateway.phase("ada") == "connected", 10, "the session live")
        await until(lambda: sink.held.get("ada") is not None
                    and sink.held["ada"].received > 10, 15, "the publisher's pictures")
        picture = sink.picture("ada")
        assert picture is not None and (picture.width, picture.height) == (320, 240)
        await until(lambda: sink.audio_samples.get("ada", 0) > 48_000, 10, "its sound")
        # it leaves (WHIP DELETE): the session ends
        assert proc.stdin is not None
        proc.stdin.close()
        await events.wait(lambda e: e["event"] == "left", 15, "the publisher leaving")
        await until(lambda: not gateway.sessions, 10, "the session ended")
        assert gateway.phase("ada") == "disconnected"
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        await runner.cleanup()


RUNDOWN = guest_show("A GStreamer guest")


@pytest.mark.timeout(100)
async def test_gstreamer_on_air_in_obs(tmp_path: Path):
    only_inside(INNER_OBS, "test_on_air_in_obs_in_a_loopback_namespace")
    rundown_path = tmp_path / "gst.yaml"
    rundown_path.write_text(RUNDOWN, "utf-8")
    rundown = load_rundown(RUNDOWN, str(rundown_path)).rundown
    launcher = ObsLauncher(tmp_path / "obs", scenes={"Studio": [], "Slate": []},
                           start_timeout=25)
    try:
        await asyncio.to_thread(launcher.start)
    except ObsLaunchError as exc:
        pytest.fail(str(exc), pytrace=False)
    http_port, feed_port = free_port(), free_udp_port()
    settings = Settings(obs_url=launcher.url, obs_password=launcher.password,
                        http_port=http_port, director_token="g" * 24, state_dir=tmp_path,
                        armed=False, guest_ice_hosts="127.0.0.1", guest_secret="gst-secret",
                        mixer_port=feed_port)
    secret = load_secret(tmp_path, {SECRET_ENV: "gst-secret"})
    token = make_token(secret, "ada", time.time() + 600)
    proc = None
    try:
        async with ObsClient(launcher.url, launcher.password) as client:
            await client.wait_connected(timeout=10)
            await preflight(client, rundown, provision=True,
                            feed_url=f"udp://127.0.0.1:{feed_port}")
            async with run_show(rundown_path, settings, fresh=True) as ctl:
                await ctl.command(Take(segment_id="talk"))
                mixing = ctl.guests.mixing
                await until(lambda: mixing.running, 10, "the mixer on")

                async def settled():  # two equal pictures in a row
                    a = await shot(client, "Guests")
                    await asyncio.sleep(0.2)
                    b = await shot(client, "Guests")
                    return (b,) if differs(a, b) < 3 and b.std() > 5 else None

                (slate,) = await until(settled, 30, "the slate in OBS")
                proc = await asyncio.create_subprocess_exec(
                    SYSTEM_PYTHON, str(PUBLISHER), f"http://127.0.0.1:{http_port}/whip/ada",
                    token, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                events = Events(proc)
                peer = await events.wait(lambda e: e["event"] == "peer"
                                         and e["state"] in ("connected", "failed"), 20,
                                         "the publisher connected")
                assert peer["state"] == "connected", events.seen

                async def bars():  # the test pattern, not the slate
                    return differs(await shot(client, "Guests"), slate) > 25

                await until(bars, 30, "the GStreamer picture in OBS's program", interval=0.05)
                guests = {g["id"]: g["status"] for g in ctl.read_model()["guests"]}
                assert guests["ada"] == "on-air", guests

                assert proc.stdin is not None
                proc.stdin.close()  # it leaves (WHIP DELETE): the slate again

                async def slated():
                    return differs(await shot(client, "Guests"), slate) < 8

                await until(slated, 30, "the slate after the publisher left", interval=0.05)
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        await asyncio.to_thread(launcher.close)
