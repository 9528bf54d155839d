"""Who may use a guest's invite: the link's generation, the browser it is bound to, and the
director's answer to another browser asking in.

Pure (no I/O, no clock of its own: ``now`` is passed in); ``BindingStore`` below keeps the
durable part in a file. Per guest:

- ``generation``: invite tokens carry it (control.guests.invites); revoking bumps it, so every
  older link of that guest is refused (401) and the others' links are untouched.
- a binding: the first join with a link returns a random rejoin secret; only its hash is
  kept. Later joins of that guest must present it (the same browser: the page keeps it).
- a claim: a join without the secret while bound is refused (409) and becomes the guest's
  one pending claim, shown to the director. ``allow`` lets that claim (its id) in once: its
  next join rebinds the guest to the new browser (the old browser's secret stops working).

    b = Bindings()
    b.decide("zhu", generation=0, secret=None, claim=None, now=t)  # ADMIT, binds=True
    secret = b.bind("zhu", t)                                      # once the join succeeded
    b.decide("zhu", 0, secret=None, claim=None, now=t)             # CLAIMED, claim=id
    b.answer("zhu", id, allow=True, now=t)                         # its next try: ADMIT
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLAIM_TTL_S = 300.0  # a claim (and the director's allow) lapses after this: ask again
MAX_REFUSED = 16   # refused claim ids remembered per guest (their browsers stop asking)
MAX_NOTE = 120       # characters of a claim's address / user agent kept for the console
STATE_FILE = "guest-invites.json"


class Verdict(enum.Enum):
    ADMIT = "admit"        # the bound browser, or the first join (binds), or an allowed claim
    REVOKED = "revoked"    # the token's generation is not the guest's current one (401)
    CLAIMED = "claimed"    # bound to another browser: the director is asked (409)
    DENIED = "denied"      # the director refused this browser's claim (403): it stops asking


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    secret: str | None = None  # ADMIT by the bound browser: its rejoin secret
    claim: str | None = None   # CLAIMED: the claim id the browser repeats on its next try
    binds: bool = False        # ADMIT: the join binds the guest to this browser (``bind``)
    allowed: bool = False      # ADMIT: it came in on the director's allow


@dataclass
class Claim:
    id: str
    at: float
    address: str = ""
    agent: str = ""
    allowed: bool = False

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "address": self.address, "agent": self.agent,
                "allowed": self.allowed}


@dataclass
class Seat:
    """One guest's invite state: generation, bound secret (its SHA-256), pending claim."""

    generation: int = 0
    secret_hash: str | None = None
    bound_at: float | None = None
    claim: Claim | None = None  # not persisted: a claim outlives no restart
    refused: list[str] = field(default_factory=list)  # the newest refused claim ids


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class Bindings:
    seats: dict[str, Seat] = field(default_factory=dict)

    def seat(self, guest: str) -> Seat:
        return self.seats.setdefault(guest, Seat())

    def generation(self, guest: str) -> int:
        return self.seats[guest].generation if guest in self.seats else 0

    def bound(self, guest: str) -> bool:
        return guest in self.seats and self.seats[guest].secret_hash is not None

    def holds(self, guest: str, secret: str | None) -> bool:
        """``secret`` is the guest's bound one (False when unbound or missing)."""
        seat = self.seats.get(guest)
        return (seat is not None and seat.secret_hash is not None and bool(secret)
                and hmac.compare_digest(seat.secret_hash, _hash(str(secret))))

    def pending(self, guest: str, now: float) -> Claim | None:
        """The guest's claim, if it has not lapsed."""
        seat = self.seats.get(guest)
        if seat is None or seat.claim is None:
            return None
        if now - seat.claim.at > CLAIM_TTL_S:
            seat.claim = None
            return None
        return seat.claim

    def decide(self, guest: str, generation: int, secret: str | None, claim: str | None,
               now: float, address: str = "", agent: str = "") -> Decision:
        """A join by ``guest`` with a token of ``generation``. ADMIT with ``binds``: call
        ``bind`` once the join succeeded (a refused offer binds nothing)."""
        seat = self.seat(guest)
        if generation != seat.generation:
            return Decision(Verdict.REVOKED)
        if seat.secret_hash is None:
            return Decision(Verdict.ADMIT, binds=True)
        if self.holds(guest, secret):
            return Decision(Verdict.ADMIT, secret=secret)
        if claim and claim in seat.refused:
            return Decision(Verdict.DENIED, claim=claim)
        pending = self.pending(guest, now)
        if pending is not None and claim and hmac.compare_digest(pending.id, claim):
            if pending.allowed:
                return Decision(Verdict.ADMIT, claim=pending.id, binds=True, allowed=True)
            return Decision(Verdict.CLAIMED, claim=pending.id)
        seat.claim = Claim(secrets.token_urlsafe(12), now, address[:MAX_NOTE], agent[:MAX_NOTE])
        return Decision(Verdict.CLAIMED, claim=seat.claim.id)

    def may_watch(self, guest: str, generation: int, secret: str | None) -> Verdict:
        """The guest page's socket (status, the producer's messages): the current generation,
        and the bound browser's secret once bound. Never binds, never claims."""
        if generation != self.generation(guest):
            return Verdict.REVOKED
        if self.bound(guest) and not self.holds(guest, secret):
            return Verdict.CLAIMED
        return Verdict.ADMIT

    def bind(self, guest: str, now: float) -> str:
        """Bind the guest to a new browser (its join succeeded): the new rejoin secret. Any
        other browser's secret, and the pending claim, are void."""
        seat = self.seat(guest)
        secret = secrets.token_urlsafe(24)
        seat.secret_hash, seat.bound_at, seat.claim = _hash(secret), now, None
        return secret

    def answer(self, guest: str, claim: str, allow: bool, now: float) -> bool:
        """The director's answer to the guest's pending claim ``claim`` (False: no such claim:
        it lapsed, was replaced by a newer one, or was answered)."""
        pending = self.pending(guest, now)
        if pending is None or not hmac.compare_digest(pending.id, claim):
            return False
        seat = self.seats[guest]
        if allow:
            pending.allowed, pending.at = True, now  # the browser has CLAIM_TTL_S to come in
        else:
            seat.claim = None
            seat.refused = [*seat.refused[-(MAX_REFUSED - 1):], pending.id]
        return True

    def release(self, guest: str) -> bool:
        """Unbind (same links): the next join binds anew. False when it was not bound."""
        seat = self.seat(guest)
        was = seat.secret_hash is not None
        seat.secret_hash = seat.bound_at = seat.claim = None
        return was

    def revoke(self, guest: str) -> int:
        """Every link of the guest stops working (and the binding goes): the new generation."""
        seat = self.seat(guest)
        seat.generation += 1
        seat.secret_hash = seat.bound_at = seat.claim = None
        return seat.generation

    # --- the durable part ----------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"guests": {g: {"generation": s.generation, "secret_sha256": s.secret_hash,
                               "bound_at": s.bound_at}
                           for g, s in sorted(self.seats.items())
                           if s.generation or s.secret_hash}}

    @classmethod
    def from_json(cls, data: Any) -> Bindings:
        """From ``to_json``'s shape; ValueError naming what is wrong."""
        guests = data.get("guests") if isinstance(data, dict) else None
        if not isinstance(guests, dict):
            raise ValueError("no \"guests\" object")
        out = cls()
        for guest, raw in guests.items():
            gen, digest = raw.get("generation"), raw.get("secret_sha256")
            if isinstance(gen, bool) or not isinstance(gen, int) or gen < 0 or not (
                    digest is None or isinstance(digest, str)):
                raise ValueError(f"guest {guest!r}: bad generation or secret_sha256")
            bound_at = raw.get("bound_at")
            out.seats[str(guest)] = Seat(gen, digest, bound_at if isinstance(
                bound_at, int | float) else None)
        return out


class BindingStore:
    """``Bindings`` kept in ``STATE_DIR/guest-invites.json`` (0600, replaced atomically on
    every change) so a controller restart keeps bindings and revocations; in memory only
    without a directory (tests)."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self.path = state_dir / STATE_FILE if state_dir is not None else None
        self.bindings = load(self.path) if self.path is not None else Bindings()

    def save(self) -> None:
        if self.path is not None:
            save(self.path, self.bindings)


def load(path: Path) -> Bindings:
    """The file's bindings (none when it does not exist); ValueError when it is damaged:
    starting with every link unbound would silently undo revocations."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return Bindings()
    try:
        return Bindings.from_json(json.loads(text))
    except (ValueError, AttributeError, TypeError) as e:
        raise ValueError(f"{path}: not a guest invite state file ({e}); fix or remove it "
                         "(removing it makes revoked links work again)") from None


def save(path: Path, bindings: Bindings) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(bindings.to_json(), f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
