"""The Host header check, against DNS rebinding.

A page on another site can make a browser on the gallery network resolve the attacker's
name to this controller's address, and then talk to it as the browser's own origin: the
cookie rule (auth.py) does not see it, since Origin and Host agree. The Host then names the
attacker's domain, so only known names are served. An address literal (`192.168.1.10`,
`[::1]`) cannot be rebound, so it is always accepted; names must be listed (`localhost` by
default; `*` accepts any, for a proxy that checks the name itself).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

from aiohttp import web
from yarl import URL

from .errors import Handler, error_response, is_api

log = logging.getLogger(__name__)

DEFAULT_HOSTS = ("localhost",)


def host_name(header: str | None) -> str | None:
    """The host of a Host header without its port, lower case (None: missing or bad)."""
    if not header:
        return None
    try:
        host = URL.build(scheme="http", authority=header.strip()).host
    except (ValueError, TypeError):
        return None
    return host.lower().rstrip(".") if host else None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class AllowedHosts:
    """Which Host headers are served (module docstring)."""

    def __init__(self, names: Iterable[str] = DEFAULT_HOSTS) -> None:
        cleaned = {n.strip().lower().rstrip(".") for n in names if n.strip()}
        self.any = "*" in cleaned
        self.names = frozenset(cleaned - {"*"})

    def allows(self, header: str | None) -> bool:
        if self.any:
            return True
        host = host_name(header)
        return host is not None and (host in self.names or _is_address(host))

    def middleware(self) -> Handler:
        @web.middleware
        async def check_host(request: web.Request, handler: Handler) -> web.StreamResponse:
            if self.allows(request.headers.get("Host")):
                return await handler(request)
            log.warning("refused %s %s for Host %r from %s (not in http.allowed_hosts)",
                        request.method, request.path, request.headers.get("Host"),
                        request.remote)
            reason = ("this server does not answer to that host name: add it to "
                      "http.allowed_hosts (SHOWCTL_ALLOWED_HOSTS) if it is really this server")
            if is_api(request):
                return error_response(400, "unknown_host", reason)
            return web.Response(status=400, text=reason + "\n")
        return check_host
