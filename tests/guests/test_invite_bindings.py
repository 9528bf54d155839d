"""The pure invite bindings (control.guests.bindings): the first join binds, the bound
browser rejoins, another browser claims and waits for the director, revoking bumps the
generation of one guest only; the state file keeps bindings and revocations (0600)."""

from __future__ import annotations

import os
import stat

import pytest

from control.guests.bindings import (
    CLAIM_TTL_S,
    Bindings,
    BindingStore,
    Verdict,
    load,
)
from control.guests.invites import InviteError, check_token, make_token


def bound(b: Bindings, guest: str = "zhu", now: float = 0.0) -> str:
    d = b.decide(guest, 0, None, None, now)
    assert d.verdict is Verdict.ADMIT and d.binds
    return b.bind(guest, now)


def test_the_first_join_binds_and_the_same_browser_rejoins():
    b = Bindings()
    assert not b.bound("zhu")
    secret = bound(b)
    assert b.bound("zhu") and b.holds("zhu", secret)
    again = b.decide("zhu", 0, secret, None, 10)
    assert again.verdict is Verdict.ADMIT and not again.binds and again.secret == secret


@pytest.mark.parametrize("secret", [None, "", "guessed", "x" * 1000])
def test_another_browser_is_claimed_not_admitted(secret):
    b = Bindings()
    bound(b)
    d = b.decide("zhu", 0, secret, None, 5, address="10.0.0.9", agent="Firefox")
    assert d.verdict is Verdict.CLAIMED and d.claim
    claim = b.pending("zhu", 5)
    assert claim is not None and claim.id == d.claim and claim.address == "10.0.0.9"
    # the same browser asking again keeps its claim; a stranger's claim replaces it
    assert b.decide("zhu", 0, None, d.claim, 6).claim == d.claim
    newer = b.decide("zhu", 0, None, None, 7)
    assert newer.claim != d.claim and b.pending("zhu", 7).id == newer.claim


def test_the_directors_allow_lets_that_claim_in_once_and_voids_the_old_browser():
    b = Bindings()
    old = bound(b)
    claim = b.decide("zhu", 0, None, None, 1).claim
    assert not b.answer("zhu", "not-the-claim", True, 2)
    assert b.answer("zhu", claim, True, 2)
    assert b.decide("zhu", 0, None, None, 3).verdict is Verdict.CLAIMED  # not any browser
    claim = b.pending("zhu", 3).id  # (a stranger's claim replaced the allowed one)
    assert b.answer("zhu", claim, True, 3)
    d = b.decide("zhu", 0, None, claim, 4)
    assert d.verdict is Verdict.ADMIT and d.binds and d.allowed
    new = b.bind("zhu", 4)
    assert b.holds("zhu", new) and not b.holds("zhu", old)
    assert b.pending("zhu", 4) is None
    assert b.decide("zhu", 0, None, claim, 5).verdict is Verdict.CLAIMED  # used up


def test_refusing_drops_the_claim_and_claims_lapse():
    b = Bindings()
    bound(b)
    claim = b.decide("zhu", 0, None, None, 0).claim
    assert b.answer("zhu", claim, False, 1) and b.pending("zhu", 1) is None
    assert not b.answer("zhu", claim, True, 1)
    assert b.decide("zhu", 0, None, claim, 2).verdict is Verdict.DENIED  # it stops asking
    assert b.pending("zhu", 2) is None
    claim = b.decide("zhu", 0, None, None, 10).claim
    assert b.pending("zhu", 10 + CLAIM_TTL_S) is not None
    assert b.pending("zhu", 10 + CLAIM_TTL_S + 1) is None
    assert not b.answer("zhu", claim, True, 10 + CLAIM_TTL_S + 1)


def test_revoking_one_guest_leaves_the_others():
    b = Bindings()
    zhu, gou = bound(b, "zhu"), bound(b, "gou")
    assert b.revoke("zhu") == 1
    assert b.decide("zhu", 0, zhu, None, 1).verdict is Verdict.REVOKED
    assert b.may_watch("zhu", 0, zhu) is Verdict.REVOKED
    assert not b.bound("zhu") and b.decide("zhu", 1, None, None, 1).binds  # new link: fresh
    assert b.decide("gou", 0, gou, None, 1).verdict is Verdict.ADMIT
    assert b.may_watch("gou", 0, gou) is Verdict.ADMIT
    assert b.may_watch("gou", 0, None) is Verdict.CLAIMED
    assert b.may_watch("nobody-yet", 0, None) is Verdict.ADMIT


def test_release_unbinds_the_same_links():
    b = Bindings()
    secret = bound(b)
    assert b.release("zhu") and not b.release("zhu")
    assert b.generation("zhu") == 0 and not b.holds("zhu", secret)
    assert b.decide("zhu", 0, None, None, 1).binds


def test_tokens_carry_the_generation():
    key = b"k"
    assert check_token(key, make_token(key, "zhu", 100), "zhu", 0) == 0
    assert check_token(key, make_token(key, "zhu", 100, generation=3), "zhu", 0) == 3
    with pytest.raises(ValueError):
        make_token(key, "zhu", 100, generation=-1)
    # a token from before generations (guest "\n" expires) is generation 0
    import base64
    import hashlib
    import hmac
    payload = b"zhu\n100"
    mac = hmac.new(key, b"showctl-guest-invite\n" + payload, hashlib.sha256).digest()
    old = ".".join(base64.urlsafe_b64encode(x).rstrip(b"=").decode() for x in (payload, mac))
    assert check_token(key, old, "zhu", 0) == 0
    with pytest.raises(InviteError):  # the generation cannot be edited
        check_token(key, old.replace(old.split(".")[0], base64.urlsafe_b64encode(
            b"zhu\n100\n0").rstrip(b"=").decode()), "zhu", 0)


def test_the_store_keeps_bindings_and_revocations_across_a_restart(tmp_path):
    store = BindingStore(tmp_path)
    secret = bound(store.bindings, "zhu")
    store.bindings.revoke("gou")
    store.bindings.decide("zhu", 0, None, None, 1)  # a claim: not kept
    store.save()
    path = tmp_path / "guest-invites.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secret not in path.read_text()  # only its hash
    again = BindingStore(tmp_path).bindings
    assert again.holds("zhu", secret) and again.generation("gou") == 1
    assert again.pending("zhu", 1) is None
    assert [p.name for p in tmp_path.iterdir()] == ["guest-invites.json"]  # no temp left


@pytest.mark.parametrize("text", ["", "[]", '{"guests": 1}',
                                  '{"guests": {"zhu": {"generation": -1}}}',
                                  '{"guests": {"zhu": {"generation": true}}}',
                                  '{"guests": {"zhu": 1}}'])
def test_a_damaged_state_file_is_refused_with_its_name(tmp_path, text):
    path = tmp_path / "guest-invites.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"guest-invites\.json"):
        load(path)


def test_the_cli_mints_at_the_current_generation(tmp_path, capsys, monkeypatch):
    from control.cli import main
    from control.guests.invites import load_secret

    monkeypatch.setenv("SHOWCTL_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("SHOWCTL_GUEST_SECRET", raising=False)
    store = BindingStore(tmp_path)
    store.bindings.revoke("zhu-dingzhen")
    store.bindings.revoke("zhu-dingzhen")
    store.save()
    assert main(["invite", "zhu-dingzhen"]) == 0
    link = capsys.readouterr().out.strip().splitlines()[-1]
    assert check_token(load_secret(tmp_path, {}), link.split("?t=")[1], "zhu-dingzhen", 0) == 2
    (tmp_path / "guest-invites.json").write_text("{")
    with pytest.raises(SystemExit, match=r"guest-invites\.json"):
        main(["invite", "zhu-dingzhen"])
