"""Tokens and roles; and that tokens stay out of the access log."""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer
from web.support import VIEWER, FakeShow, make_app

from control.web.accesslog import AccessLogger
from control.web.app import create_app
from control.web.auth import Auth, at_least, bearer_token


def test_no_token_means_no_api() -> None:
    with pytest.raises(ValueError, match="no API token configured"):
        Auth({})
    with pytest.raises(ValueError, match="never runs its API open"):
        Auth.from_settings(director="", producer=None, viewer="")


D_SECRET, V_SECRET = "d-secret-0123456789abcdef", "v-secret-0123456789abcdef"


def test_empty_settings_are_skipped() -> None:
    auth = Auth.from_settings(director=D_SECRET, producer="", viewer=V_SECRET)
    assert auth.role_of(D_SECRET) == "director"
    assert auth.role_of(V_SECRET) == "viewer"
    assert auth.role_of("") is None
    assert auth.role_of(D_SECRET[:-1]) is None
    assert auth.role_of(D_SECRET + " ") is None
    assert auth.role_of("☃") is None and auth.role_of("\ud800") is None


@pytest.mark.parametrize(("settings", "words"), [
    ({"director": "same", "viewer": "same"}, "the viewer and director tokens are the same"),
    ({"director": "has space"}, "whitespace"),
    ({"producer": " padded"}, "whitespace"),
    ({"director": "x" * 23}, r"the director token is 23 characters long; at least 24 .*"
                             r"secrets.token_urlsafe\(24\)"),
])
def test_bad_settings_are_refused(settings: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Auth.from_settings(**settings)


def test_unknown_roles_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown role 'admin'"):
        Auth({"t" * 24: "admin"})  # type: ignore[dict-item]


def test_the_app_needs_a_configured_auth() -> None:
    # create_app takes an Auth, and there is no Auth without a token
    with pytest.raises(ValueError):
        create_app(FakeShow(), Auth.from_settings())


def test_roles_are_ordered() -> None:
    assert at_least("director", "producer") and at_least("producer", "producer")
    assert at_least("producer", "viewer") and not at_least("viewer", "producer")
    assert not at_least("producer", "director")


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER  abc ", "abc"),
    (None, None), ("", None), ("Bearer", None), ("Bearer ", None), ("Basic abc", None),
    ("Bearer a b", None), ("abc", None),
])
def test_bearer_header_parsing(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


async def test_the_access_log_leaves_tokens_out(caplog: pytest.LogCaptureFixture) -> None:
    server = TestServer(make_app(FakeShow()), host="127.0.0.1")
    await server.start_server(access_log_class=AccessLogger)  # as the wiring's AppRunner would
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        async with TestClient(server) as client:
            async with client.ws_connect("/api/ws", params={"token": VIEWER}) as ws:
                await ws.receive_json()
            async with client.get("/api/state", params={"token": VIEWER}) as resp:
                assert resp.status == 401
            await server.close()  # the websocket's line is written when its handler ends
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any(" GET /api/ws 101 " in line for line in lines), lines
    assert any(" GET /api/state 401 " in line for line in lines), lines
    assert not any(VIEWER in line for line in lines)
