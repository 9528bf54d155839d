"""STUN/TURN servers for the guests' peer connections, from config, for both ends.

aiortc uses Google's public STUN server when given none; a show's gateway must contact only
what its engineers configured (and tests nothing but loopback), so the gateway always passes
this list, empty by default. The guest page gets the same list (TURN credentials included:
a guest behind a strict NAT needs them; the page itself is behind the guest's invite token).

TURN credentials are either static (``SHOWCTL_TURN_USERNAME``/``_CREDENTIAL``) or, with a
shared secret (``SHOWCTL_TURN_SECRET``, coturn's ``use-auth-secret`` +
``static-auth-secret``), minted per guest and short-lived (the TURN REST scheme): username
``"<unix expiry>:<guest>"``, password ``base64(HMAC-SHA1(secret, username))``. coturn checks
them itself, so showctl and the relay share nothing but the secret, a leaked page's
credentials die at their expiry, and coturn's log names the guest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


@dataclass(frozen=True, slots=True)
class IceServer:
    url: str
    username: str | None = None
    credential: str | None = None

    def to_json(self) -> dict[str, Any]:
        """As the browser's RTCIceServer dictionary."""
        out: dict[str, Any] = {"urls": self.url}
        if self.username is not None:
            out["username"], out["credential"] = self.username, self.credential or ""
        return out

    def to_aiortc(self) -> Any:
        from aiortc import RTCIceServer
        return RTCIceServer(urls=self.url, username=self.username, credential=self.credential)


@dataclass(frozen=True, slots=True)
class TurnRest:
    """Short-lived TURN credentials from a secret shared with the relay (TURN REST)."""

    secret: str
    ttl_s: float = 12 * 3600  # a page opened in the afternoon still joins in the evening

    def credentials(self, name: str, now: float) -> tuple[str, str]:
        """(username, password) for ``name``, valid until ``now + ttl_s`` (unix time)."""
        username = f"{int(now + self.ttl_s)}:{name}"
        digest = hmac.new(self.secret.encode(), username.encode(), hashlib.sha1).digest()
        return username, base64.b64encode(digest).decode()


def is_turn(url: str) -> bool:
    return url.startswith(("turn:", "turns:"))


def minted(servers: Iterable[IceServer], turn: TurnRest | None, name: str,
           now: float) -> tuple[IceServer, ...]:
    """``servers`` with ``name``'s own fresh credentials on the TURN ones (unchanged without
    a secret: static credentials, or none)."""
    servers = tuple(servers)
    if turn is None:
        return servers
    username, password = turn.credentials(name, now)
    return tuple(replace(s, username=username, credential=password) if is_turn(s.url) else s
                 for s in servers)


def parse_ice_servers(text: str, username: str | None = None,
                      credential: str | None = None, *,
                      rest: bool = False) -> tuple[IceServer, ...]:
    """`stun:host:port,turn:host:port?transport=udp,...`; TURN servers get the username and
    credential (with ``rest``: none here, ``minted`` gives each guest theirs). Raises
    ValueError naming the entry that is not a STUN/TURN URL."""
    servers = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        if not entry.startswith(SCHEMES) or len(entry.split(":", 1)[1]) == 0:
            raise ValueError(f"{entry!r} is not a STUN/TURN URL (stun:HOST[:PORT] or "
                             "turn:HOST[:PORT][?transport=udp|tcp])")
        turn = is_turn(entry) and not rest
        if turn and not username:
            raise ValueError(f"{entry!r}: a TURN server needs SHOWCTL_TURN_SECRET (coturn's "
                             "static-auth-secret), or SHOWCTL_TURN_USERNAME and "
                             "SHOWCTL_TURN_CREDENTIAL")
        servers.append(IceServer(entry, username if turn else None,
                                 credential if turn else None))
    return tuple(servers)
