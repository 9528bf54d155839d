"""Where the show is reached: the console's listener (API, console, graphics, guests) and,
when `door.port` is set, the guests-only door (the guest page, its socket, WHIP and the
files they load; everything else is 404 there). HTTPS on both when a certificate is
configured, renewed without a restart (control/web/tls.py). Behind a TLS proxy, the
forwarded scheme and address come from trusted proxies only (control/web/forwarded.py).

`public_base_url` is the one place an address for guests is made: invite links from the
console and from `showctl invite`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from aiohttp import web
from yarl import URL

from control import pagelib
from control.bodies import BODY_TIMEOUT, MAX_BODY
from control.config import Settings
from control.guests.isoroutes import ROUTE_NAMES as ISO_ROUTES
from control.networks import parse_networks
from control.overlays import base_url
from control.overlays.urls import WILDCARD_HOSTS
from control.web import forwarded, serverheader
from control.web.door import door_app
from control.web.hosts import AllowedHosts
from control.web.tls import Certificates, TlsFiles

# what the door serves, by route name (control/guests/routes.py, control/pagelib.py)
DOOR_ROUTES = ("guest_page", "guest_ws", "whip", "whip_session", "guest_assets",
               pagelib.ROUTE_NAME, *ISO_ROUTES)


def make_certificates(settings: Settings) -> Certificates | None:
    """The listeners' TLS, or None for plain HTTP. Raises TlsError (a clear message) when
    the files cannot be used: the show does not start half secure."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    return Certificates(TlsFiles(settings.tls_cert_file, settings.tls_key_file))


def trust_proxies(app: web.Application, settings: Settings) -> None:
    """The forwarded client first on `app`; HSTS on answers over HTTPS."""
    forwarded.install(app, parse_networks(settings.trusted_proxies),
                      settings.hsts_max_age_ms // 1000)


def make_door(app: web.Application, settings: Settings) -> web.Application | None:
    """The guests-only door on `app`'s guest routes, or None when `door.port` is not set."""
    if settings.door_port is None:
        return None
    door = door_app(app, DOOR_ROUTES, client_max_size=MAX_BODY)
    # the main app's Host check (DNS rebinding), Server header and body timeout, not its
    # guard: at the door everything but the guests' routes is 404, never 401
    names = [*settings.allowed_hosts.split(","), settings.door_host]
    if settings.guest_public_url:
        names.append(URL(settings.guest_public_url).host or "")
    door.middlewares.append(AllowedHosts(names).middleware())
    serverheader.install(door)
    door[BODY_TIMEOUT] = settings.max_body_seconds
    trust_proxies(door, settings)
    return door


def scheme(settings: Settings) -> str:
    return "https" if settings.tls_cert_file is not None else "http"


def public_base_url(settings: Settings, request: web.BaseRequest | None = None) -> str:
    """The base of every link a guest opens, `SCHEME://HOST[:PORT]`: the configured
    `guests.public_url`; else the door (on the host name the console reached us by, when
    the door listens on every address); else the address the console reached us by, in the
    scheme its client used (HTTPS behind a trusted proxy included); else the console's
    listener."""
    if settings.guest_public_url:
        return settings.guest_public_url
    tls = scheme(settings)
    if request is None:
        if settings.door_port is not None:
            return base_url(settings.door_host, settings.door_port, scheme=tls)
        return base_url(settings.http_host, settings.http_port, scheme=tls)
    host = request.headers.get("Host") or request.host
    if settings.door_port is None:
        return f"{forwarded.client(request).scheme.value}://{host}"
    name = settings.door_host
    if name.strip() in WILDCARD_HOSTS:
        name = URL.build(scheme="http", authority=host).host or name
    return base_url(name, settings.door_port, scheme=tls)


@dataclass
class Listeners:
    """The sites, not yet listening: `start()` once the show can answer."""
    main: web.TCPSite
    door: web.TCPSite | None = None
    certificates: Certificates | None = None
    _watch: asyncio.Task[None] | None = field(default=None, repr=False)
    _door_open: bool = field(default=False, repr=False)

    async def start(self) -> None:
        await self.main.start()
        if self.door is not None:
            await self.door.start()
            self._door_open = True
        if self.certificates is not None:
            self._watch = asyncio.create_task(self.certificates.run(), name="tls-watch")

    async def close_door(self) -> None:
        """No new connections at the door, no more certificate checks (before the app
        shuts down)."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self.door is not None and self._door_open:
            self._door_open = False
            await self.door.stop()
