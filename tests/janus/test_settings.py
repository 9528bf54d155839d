"""`guests.sfu`: off by default (the gateway answers the guests itself, as ever); `janus`
needs the VideoRoom's admin key and makes a JanusGateway; a join while Janus is away is
refused with 503 and Retry-After, the door's checks first."""

from __future__ import annotations

from pathlib import Path

import pytest

from control.config import ConfigError, load_settings
from control.guests.gateway import Gateway, GatewayError, HeldFrames
from control.wiring.guests import make_gateway
from control.wiring.sfu import JanusGateway, room_secret

pytestmark = pytest.mark.unit

OFFER = ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
         "a=ice-ufrag:abcd\r\na=fingerprint:sha-256 00\r\n")


def test_off_by_default_the_gateway_answers_itself():
    settings = load_settings(None, {})
    assert settings.guest_sfu == "off"
    assert type(make_gateway(settings, HeldFrames())) is Gateway


def test_janus_needs_its_admin_key(tmp_path: Path):
    with pytest.raises(ConfigError, match="admin key"):
        load_settings(None, {"SHOWCTL_GUEST_SFU": "janus"})
    with pytest.raises(ConfigError, match="off or janus"):
        load_settings(None, {"SHOWCTL_GUEST_SFU": "livekit"})
    (tmp_path / "key").write_text("k3y\n")
    path = tmp_path / "show.yaml"
    path.write_text("guests: {sfu: janus}\njanus: {url: 'http://127.0.0.1:8188/janus', "
                    f"room: 77, admin_key_file: {tmp_path / 'key'}}}\n")
    settings = load_settings(path, {})
    assert (settings.janus_url, settings.janus_room, settings.janus_admin_key) == (
        "http://127.0.0.1:8188/janus", 77, "k3y")
    gateway = make_gateway(settings, HeldFrames())
    assert isinstance(gateway, JanusGateway)
    room = gateway.room.settings
    assert (room.room, room.admin_key, room.forward_host) == (77, "k3y", "127.0.0.1")
    # none configured: derived from the admin key (a restarted showctl still holds it)
    assert room.secret == room_secret("k3y", 77) != room_secret("k3y", 78)
    assert room.secret != room_secret("other", 77) and "k3y" not in room.secret
    assert gateway.joins_per_minute == settings.guest_joins_per_minute  # the door's limits


async def test_a_join_while_janus_is_away_is_503_with_retry_after():
    settings = load_settings(None, {"SHOWCTL_GUEST_SFU": "janus",
                                    "SHOWCTL_JANUS_ADMIN_KEY": "k",
                                    "SHOWCTL_JANUS_URL": "http://127.0.0.1:9/janus"})
    gateway = make_gateway(settings, HeldFrames())
    with pytest.raises(GatewayError) as refused:
        await gateway.join("ada", OFFER, "127.0.0.1")
    assert (refused.value.status, refused.value.retry_after) == (503, 2)
    with pytest.raises(GatewayError) as bad:  # the door's own checks come first
        await gateway.join("ada", "not sdp", "127.0.0.1")
    assert bad.value.status == 400
    assert gateway.sessions == {} and gateway.phase("ada") == "invited"
    await gateway.close()
