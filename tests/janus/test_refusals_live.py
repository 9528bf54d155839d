"""Offers that pass the door's checks but that Janus refuses: a clear 400, nothing left
behind on Janus or in the gateway (a real Janus, in the test's own namespace: on the
machine's own, Janus would put the machine's other addresses in its answers)."""

from __future__ import annotations

import pytest
from helpers import until
from janus.space import STUDIO, only_in_studio, rerun_in_studio

from control.guests.gateway import GatewayError, HeldFrames
from control.janus.server import JanusServer
from control.wiring.sfu import JanusGateway, janus_room

pytestmark = [pytest.mark.live, pytest.mark.timeout(60)]
INNER = "SHOWCTL_TEST_JANUS_REFUSALS"


def test_in_the_studio_namespace():
    rerun_in_studio(__file__, "::test_an_offer_janus_refuses_is_a_clear_400", INNER,
                    timeout=120)

# well formed enough for the door (v=0, a media line, ICE credentials, a fingerprint), but
# not an SDP Janus can use (no a=mid, no codec it knows, an impossible fingerprint)
ODD = ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
       "m=video 9 UDP/TLS/RTP/SAVPF 120\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:120 NOPE/90000\r\n"
       "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n"
       "a=fingerprint:sha-256 00\r\na=setup:actpass\r\na=sendonly\r\n")


async def test_an_offer_janus_refuses_is_a_clear_400(tmp_path):
    only_in_studio(INNER, "test_in_the_studio_namespace")
    with JanusServer(tmp_path / "janus", interface=STUDIO) as server:
        await refused_thrice(server)


async def refused_thrice(server: JanusServer) -> None:
    gateway = JanusGateway(HeldFrames(), janus_room(server.url, 5, server.admin_key, None))
    gateway.start()
    try:
        await until(lambda: gateway.sfu_up, 15, "connected to Janus")
        for _ in range(3):  # again and again: nothing builds up
            with pytest.raises(GatewayError) as refused:
                await gateway.join("ada", ODD, "127.0.0.1")
            assert refused.value.status == 400
            assert "media server" in refused.value.reason
        assert gateway.sessions == {} and gateway.room.publishers == {}
        assert gateway.phase("ada") == "invited"
        assert gateway.room.client.transactions.pending == {}
        assert gateway.sfu_up  # the session to Janus is fine
    finally:
        await gateway.close()
