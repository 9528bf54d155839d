"""STUN/TURN servers come from config only: none by default (aiortc would otherwise ask
Google's public STUN server), the same list for the gateway and the guest's page, and a
bad entry is a config error naming it."""

from __future__ import annotations

import json
import re
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from control.config import ConfigError, load_settings
from control.guests.gateway import Gateway, HeldFrames
from control.guests.iceservers import IceServer, parse_ice_servers
from control.guests.invites import make_token
from control.guests.routes import install


def test_none_unless_configured() -> None:
    assert parse_ice_servers("") == ()
    assert Gateway(HeldFrames()).ice_servers == ()
    assert load_settings(None, {}).guest_ice_servers == ""


def test_turn_servers_get_the_credentials_stun_servers_do_not() -> None:
    servers = parse_ice_servers("stun:stun.example.org:3478, turn:turn.example.org?transport=udp",
                                "show", "s3cret")
    assert servers == (IceServer("stun:stun.example.org:3478"),
                       IceServer("turn:turn.example.org?transport=udp", "show", "s3cret"))
    assert [s.to_json() for s in servers] == [
        {"urls": "stun:stun.example.org:3478"},
        {"urls": "turn:turn.example.org?transport=udp", "username": "show",
         "credential": "s3cret"}]
    ice = servers[1].to_aiortc()
    assert (ice.urls, ice.username, ice.credential) == (
        "turn:turn.example.org?transport=udp", "show", "s3cret")


@pytest.mark.parametrize(("env", "reason"), [
    ({"SHOWCTL_ICE_SERVERS": "http://stun.example.org"}, "not a STUN/TURN URL"),
    ({"SHOWCTL_ICE_SERVERS": "stun:"}, "not a STUN/TURN URL"),
    ({"SHOWCTL_ICE_SERVERS": "turn:turn.example.org"}, "needs SHOWCTL_TURN_USERNAME"),
])
def test_a_bad_entry_is_a_config_error(env: dict[str, str], reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        load_settings(None, env)


async def test_the_guest_page_gets_the_same_servers() -> None:
    servers = parse_ice_servers("stun:stun.example.org", None, None)
    gateway = Gateway(HeldFrames(), ice_servers=servers)
    app = web.Application()
    roster = {"ada": {"id": "ada", "name": "Ada", "name_zh": None, "role": None}}
    install(app, gateway, secret=b"k", roster=lambda: roster,
            status=lambda g: {"status": "invited"})
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        token = make_token(b"k", "ada", int(time.time() + 60))
        response = await client.get("/guest/ada", params={"t": token})
        assert response.status == 200
        html = await response.text()
    boot = json.loads(re.search(r'<script[^>]*id="boot"[^>]*>(.*?)</script>', html, re.S)
                      .group(1))
    assert boot["ice_servers"] == [{"urls": "stun:stun.example.org"}]
    await gateway.close()
