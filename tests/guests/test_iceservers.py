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
from control.guests.iceservers import IceServer, TurnRest, parse_ice_servers
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
    ({"SHOWCTL_ICE_SERVERS": "turn:turn.example.org"}, "needs SHOWCTL_TURN_SECRET"),
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


def test_a_turn_secret_needs_no_static_credentials(tmp_path) -> None:
    (tmp_path / "turn-secret").write_text("from-a-file\n")
    s = load_settings(None, {"SHOWCTL_ICE_SERVERS": "turn:turn.example.org",
                             "SHOWCTL_TURN_SECRET_FILE": str(tmp_path / "turn-secret"),
                             "SHOWCTL_GUEST_TURN_TTL": "2h"})
    assert (s.turn_secret, s.guest_turn_ttl_ms) == ("from-a-file", 7_200_000)


async def test_each_guest_page_gets_credentials_of_its_own() -> None:
    servers = parse_ice_servers("stun:stun.example.org,turn:turn.example.org", rest=True)
    gateway = Gateway(HeldFrames(), ice_servers=servers, turn=TurnRest("s3cret", 600))
    app = web.Application()
    roster = {g: {"id": g, "name": g, "name_zh": None, "role": None} for g in ("ada", "bob")}
    install(app, gateway, secret=b"k", roster=lambda: roster,
            status=lambda g: {"status": "invited"})
    boots = {}
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for guest in roster:
            token = make_token(b"k", guest, int(time.time() + 60))
            html = await (await client.get(f"/guest/{guest}", params={"t": token})).text()
            boots[guest] = json.loads(re.search(r'<script[^>]*id="boot"[^>]*>(.*?)</script>',
                                                html, re.S).group(1))["ice_servers"]
    ada, bob = boots["ada"], boots["bob"]
    assert ada[0] == {"urls": "stun:stun.example.org"}
    expiry, name = ada[1]["username"].split(":")
    assert name == "ada" and 0 < int(expiry) - time.time() <= 600
    assert bob[1]["username"].endswith(":bob") and bob[1]["credential"] != ada[1]["credential"]
    await gateway.close()
