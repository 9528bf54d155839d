"""STUN/TURN servers for the guests' peer connections, from config, for both ends.

aiortc uses Google's public STUN server when given none; a show's gateway must contact only
what its engineers configured (and tests nothing but loopback), so the gateway always passes
this list, empty by default. The guest page gets the same list (TURN credentials included:
a guest behind a strict NAT needs them; the page itself is behind the guest's invite token).
"""

from __future__ import annotations

from dataclasses import dataclass
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


def parse_ice_servers(text: str, username: str | None = None,
                      credential: str | None = None) -> tuple[IceServer, ...]:
    """`stun:host:port,turn:host:port?transport=udp,...`; TURN servers get the username and
    credential. Raises ValueError naming the entry that is not a STUN/TURN URL."""
    servers = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        if not entry.startswith(SCHEMES) or len(entry.split(":", 1)[1]) == 0:
            raise ValueError(f"{entry!r} is not a STUN/TURN URL (stun:HOST[:PORT] or "
                             "turn:HOST[:PORT][?transport=udp|tcp])")
        turn = entry.startswith(("turn:", "turns:"))
        if turn and not username:
            raise ValueError(f"{entry!r}: a TURN server needs SHOWCTL_TURN_USERNAME and "
                             "SHOWCTL_TURN_CREDENTIAL")
        servers.append(IceServer(entry, username if turn else None,
                                 credential if turn else None))
    return tuple(servers)
