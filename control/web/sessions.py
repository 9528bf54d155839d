"""The console's cookie sessions: a random id in an HttpOnly cookie, its role on the server.

The cookie never holds a token: logging in with a token creates a session (256 random bits)
and the browser keeps only its id. The server keeps the sha256 of each id (so neither memory
dumps nor the sessions file hold a usable credential), the role, which token opened it (as
a hash: a rotated token ends its sessions) and when it expires.

With a `path`, sessions survive a controller restart: a crash mid-show must not log the
director out. The file is written atomically (temp file, fsync, rename) with mode 0600,
off the event loop.

With two controllers (docs/redundancy.md, "Pages and sessions") a session moves to the
other node by a resume ticket: `ResumeTickets.issue` signs the session's role and opener
with the secret the two share (HMAC-SHA256) for a few minutes; the other node checks the
signature, the expiry and that the opener is still one of its tokens, takes each ticket
once, and opens a session of its own (`Sessions.resume`) in its own HttpOnly cookie.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

COOKIE = "showctl_session"
TTL_S = 24 * 3600        # a show day: rehearsal, the show, the last cue
# sessions one token may hold (the oldest go first): a token's logins never end another
# token's sessions (1000 viewer logins once logged the director out); with three tokens,
# this bounds memory too
MAX_PER_TOKEN = 256
FILE_MODE = 0o600


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def token_id(token: str) -> str:
    """What a session remembers of the token that opened it."""
    return _digest("showctl-session-token\0" + token)


@dataclass(frozen=True, slots=True)
class Session:
    role: str
    token_id: str
    expires: float  # epoch seconds


class Sessions:
    """Session id → Session. `create` and `drop` persist (when there is a path)."""

    def __init__(self, path: Path | None = None, *, ttl_s: float = TTL_S,
                 max_per_token: int = MAX_PER_TOKEN,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.ttl_s = ttl_s
        self.max_per_token = max_per_token
        self._clock = clock
        self._by_digest: dict[str, Session] = {}
        self._saving = asyncio.Lock()
        if path is not None:
            self._load(path)

    def __len__(self) -> int:
        return len(self._by_digest)

    def lookup(self, session_id: str) -> Session | None:
        """The live session of `session_id`, or None (unknown or expired)."""
        if not session_id or len(session_id) > 200:
            return None
        session = self._by_digest.get(_digest(session_id))
        if session is None or session.expires <= self._clock():
            return None
        return session

    async def create(self, role: str, token: str) -> str:
        """A new session for `role`; returns its id (for the cookie, and nowhere else)."""
        return await self.resume(role, token_id(token))

    async def resume(self, role: str, opener: str) -> str:
        """A new session for `role` opened by the token whose `token_id` is `opener` (a
        resume ticket's: the token itself never travels)."""
        session_id = secrets.token_urlsafe(32)
        self._expire()
        mine = [d for d, s in self._by_digest.items() if s.token_id == opener]
        if len(mine) >= self.max_per_token:  # this token's oldest go first
            mine.sort(key=lambda d: self._by_digest[d].expires)
            for digest in mine[:len(mine) - self.max_per_token + 1]:
                del self._by_digest[digest]
        self._by_digest[_digest(session_id)] = Session(role, opener, self._clock() + self.ttl_s)
        await self._save()
        return session_id

    async def drop(self, session_id: str) -> None:
        if self._by_digest.pop(_digest(session_id), None) is not None:
            await self._save()

    def _expire(self) -> None:
        now = self._clock()
        for digest in [d for d, s in self._by_digest.items() if s.expires <= now]:
            del self._by_digest[digest]

    # -- the file -------------------------------------------------------------------------

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text("utf-8"))
            now = self._clock()
            for digest, item in data["sessions"].items():
                session = Session(str(item["role"]), str(item["token_id"]), float(item["expires"]))
                if session.expires > now:
                    self._by_digest[str(digest)] = session
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # sessions are a convenience: a damaged file means logging in again, nothing worse
            log.warning("%s: cannot read the console sessions (%s); everyone logs in again",
                        path, exc)
            self._by_digest.clear()

    async def _save(self) -> None:
        if self.path is None:
            return
        data = {"v": 1, "sessions": {d: {"role": s.role, "token_id": s.token_id,
                                         "expires": s.expires}
                                     for d, s in self._by_digest.items()}}
        async with self._saving:  # one write at a time, each a whole snapshot
            try:
                await asyncio.to_thread(_write_atomically, self.path,
                                        json.dumps(data).encode("utf-8"))
            except OSError as exc:
                log.warning("%s: cannot save the console sessions: %s (they last until the "
                            "controller stops)", self.path, exc)


TICKET_TTL_S = 300.0     # a page renews its ticket every minute; a lost one lives this long
_TICKET_CONTEXT = b"showctl-resume-ticket\0"


@dataclass(frozen=True, slots=True)
class Ticket:
    role: str
    token_id: str
    expires: float  # epoch seconds
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ResumeTickets:
    """Signed, short-lived, single-use tickets that carry a session to the other node.

    Sans-I/O: a secret and a clock. A ticket is `payload.signature`, the payload the JSON
    of a `Ticket`, the signature HMAC-SHA256 under the shared secret; it names the token
    that opened the session only by its `token_id`, so a rotated token ends it too."""

    def __init__(self, secret: str | bytes, *, ttl_s: float = TICKET_TTL_S,
                 clock: Callable[[], float] = time.time) -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(key) < 16:
            raise ValueError("the cluster secret is too short to sign sessions (16 bytes "
                             "at least)")
        self._key = hashlib.sha256(_TICKET_CONTEXT + key).digest()
        self.ttl_s = ttl_s
        self._clock = clock
        self._taken: dict[str, float] = {}  # nonce -> its ticket's expiry

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, session: Session) -> str:
        """A ticket for `session`, valid for `ttl_s` (never past the session's own end)."""
        expires = min(session.expires, self._clock() + self.ttl_s)
        claims = {"role": session.role, "tid": session.token_id, "exp": expires,
                  "n": secrets.token_urlsafe(16)}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._sign(payload)}"

    def take(self, ticket: str) -> Ticket | None:
        """The ticket's claims, once: None when the signature is wrong, it has expired, it
        was taken before, or it is malformed."""
        now = self._clock()
        for nonce in [n for n, exp in self._taken.items() if exp <= now]:
            del self._taken[nonce]
        if len(ticket) > 1000 or not ticket.isascii():
            return None
        payload, dot, signature = ticket.partition(".")
        if not dot or not hmac.compare_digest(self._sign(payload).encode(),
                                              signature.encode("ascii")):
            return None
        try:
            claims = json.loads(_unb64(payload))
            found = Ticket(str(claims["role"]), str(claims["tid"]), float(claims["exp"]),
                           str(claims["n"]))
        except (ValueError, KeyError, TypeError):
            return None
        if found.expires <= now or found.nonce in self._taken:
            return None
        self._taken[found.nonce] = found.expires
        return found


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
