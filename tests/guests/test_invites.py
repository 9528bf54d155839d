"""Invite tokens: signed, bound to one guest, expiring; the CLI prints the link last."""

from __future__ import annotations

import os
import stat

import pytest

from control.cli import main
from control.guests.invites import (
    InviteError,
    check_token,
    invite_url,
    load_secret,
    make_token,
    token_guest,
)

SECRET = b"s3cret"


def test_valid_token_for_its_guest():
    token = make_token(SECRET, "zhu-dingzhen", 1000)
    check_token(SECRET, token, "zhu-dingzhen", 999)
    assert token_guest(SECRET, token, 0) == "zhu-dingzhen"


def test_expired_is_401():
    token = make_token(SECRET, "zhu-dingzhen", 1000)
    with pytest.raises(InviteError) as e:
        check_token(SECRET, token, "zhu-dingzhen", 1000)
    assert e.value.status == 401 and "expired" in e.value.reason


def test_other_guests_token_is_403():
    token = make_token(SECRET, "someone-else", 1000)
    with pytest.raises(InviteError) as e:
        check_token(SECRET, token, "zhu-dingzhen", 0)
    assert e.value.status == 403


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: make_token(b"other", "zhu-dingzhen", 1000),
    lambda t: "garbage", lambda t: "", lambda t: "a.b.c", lambda t: "!!!.???",
])
def test_tampered_or_missing_is_401(mangle):
    token = mangle(make_token(SECRET, "zhu-dingzhen", 1000))
    with pytest.raises(InviteError) as e:
        check_token(SECRET, token, "zhu-dingzhen", 0)
    assert e.value.status == 401


def test_changed_expiry_is_401():
    token = make_token(SECRET, "zhu-dingzhen", 1000)
    forged = make_token(b"x", "zhu-dingzhen", 10**10).split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(InviteError):
        check_token(SECRET, forged, "zhu-dingzhen", 0)


def test_secret_from_env_or_a_private_file(tmp_path):
    assert load_secret(tmp_path, {"SHOWCTL_GUEST_SECRET": "abc"}) == b"abc"
    first = load_secret(tmp_path / "state", {})
    path = tmp_path / "state" / "guest-secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_secret(tmp_path / "state", {}) == first and len(first) >= 32


def test_url():
    assert invite_url("127.0.0.1", 8080, "a b", "T") == "http://127.0.0.1:8080/guest/a%20b?t=T"


def test_cli_invite_prints_the_link_last(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHOWCTL_STATE_DIR", str(tmp_path / "st"))
    monkeypatch.setenv("SHOWCTL_HTTP_PORT", "8123")
    monkeypatch.delenv("SHOWCTL_GUEST_SECRET", raising=False)
    rundown = os.path.join(os.path.dirname(__file__), "..", "..", "rundown", "rehearsal.yaml")
    assert main(["invite", "zhu-dingzhen", rundown]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("http://127.0.0.1:8123/guest/zhu-dingzhen?t=")
    secret = load_secret(tmp_path / "st", {})
    check_token(secret, last.split("?t=")[1], "zhu-dingzhen", __import__("time").time())
    with pytest.raises(SystemExit):
        main(["invite", "nobody", rundown])
