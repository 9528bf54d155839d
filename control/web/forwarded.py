"""Who the client is and how it reached us: the one place that decides a request's scheme
and address.

Behind a TLS proxy (Caddy, nginx) every connection comes from the proxy over plain HTTP;
the proxy says in `Forwarded` (RFC 7239) or `X-Forwarded-For` / `X-Forwarded-Proto` who
the client was and whether it spoke HTTPS. Anyone can send those headers, so they are
believed only on a connection from an address in the trusted-proxy setting
(`http.trusted_proxies`), and only as far as trusted proxies wrote them: the address list is
read from the right (the nearest proxy's entry last), and the first address that is not a
trusted proxy is the client's. Whatever a client put further left is ignored. The Host
header is not rewritten: the proxy must pass it through (docs/deploy.md).

`middleware(trusted)` works this out once per request (`resolve`, pure), keeps it on the
request (`client(request)` reads it) and hands the rest of the app a clone whose
`request.secure`, `request.scheme` and `request.remote` are the client's: the cookies'
Secure flag, HSTS, invite links, the login throttle and the guests' join limits all follow.
The access log sees the request as it arrived, and reads `client(request)`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web

from control.networks import Network

from .errors import Handler


class Scheme(StrEnum):
    HTTP = "http"
    HTTPS = "https"


@dataclass(frozen=True, slots=True)
class Client:
    """The client as the app should see it."""
    address: str | None   # the client's IP address (the proxy's, if it did not say)
    scheme: Scheme        # what the client spoke to us or to our proxy
    proxied: bool = False  # the connection came from a trusted proxy

    @property
    def https(self) -> bool:
        return self.scheme is Scheme.HTTPS


@dataclass(frozen=True, slots=True)
class Hop:
    """One proxy's entry: the address it saw and the scheme it was spoken to in."""
    address: str | None
    proto: str | None = None


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from a header's node: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `::1`."""
    if not text:
        return None
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: str | None, trusted: Sequence[Network]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in net for net in trusted)


def resolve(peer: str | None, secure: bool, hops: Sequence[Hop],
            trusted: Sequence[Network]) -> Client:
    """The client of a connection from `peer` (TLS or not) that carried `hops` (client side
    first). Pure: the rule in one function."""
    own = Client(peer, Scheme.HTTPS if secure else Scheme.HTTP)
    if not trusted or not is_trusted(peer, trusted) or not hops:
        return own
    chosen = hops[0]
    for hop in reversed(hops):  # the nearest proxy's entry first
        chosen = hop
        if not is_trusted(hop.address, trusted):
            break
    ip = _ip(chosen.address)
    proto = (chosen.proto or hops[-1].proto or "").strip().strip('"').lower()
    scheme = Scheme(proto) if proto in ("http", "https") else own.scheme
    return Client(str(ip) if ip is not None else peer, scheme, proxied=True)


def hops_of(headers: Mapping[str, str], forwarded: Iterable[Mapping[str, str]]) -> list[Hop]:
    """The proxies' entries: `Forwarded` (as aiohttp parsed it) if there is one, else
    `X-Forwarded-For` with `X-Forwarded-Proto` (its last value: the nearest proxy's)."""
    entries = [Hop(f.get("for"), f.get("proto")) for f in forwarded]
    if entries:
        return entries
    chain = [a.strip() for a in headers.get("X-Forwarded-For", "").split(",") if a.strip()]
    protos = [p.strip() for p in headers.get("X-Forwarded-Proto", "").split(",") if p.strip()]
    proto = protos[-1] if protos else None
    if not chain:
        return [Hop(None, proto)] if proto else []
    return [Hop(a) for a in chain[:-1]] + [Hop(chain[-1], proto)]


CLIENT: web.RequestKey[Client] = web.RequestKey("client", Client)


def client(request: web.BaseRequest) -> Client:
    """The request's client: as the middleware resolved it, or (an app without it) the
    connection's own peer and scheme."""
    found = request.get(CLIENT)
    return found if found is not None else _connection(request)


def _connection(request: web.BaseRequest) -> Client:
    """The peer and scheme of the connection itself, whatever its headers say."""
    secure = request.transport is not None and \
        request.transport.get_extra_info("sslcontext") is not None
    return Client(request.remote, Scheme.HTTPS if secure else Scheme.HTTP)


def middleware(trusted: Sequence[Network]) -> Handler:
    """Resolve the client once; the rest of the app sees it as `request.secure` and
    `request.remote`. Put it first, before every middleware that reads either."""
    trusted = tuple(trusted)

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        own = _connection(request)
        hops = hops_of(request.headers, request.forwarded) if trusted else []
        found = resolve(own.address, own.https, hops, trusted)
        request[CLIENT] = found  # (on the request as it arrived: the access log reads it)
        if found.proxied:
            request = request.clone(scheme=found.scheme.value,
                                    remote=found.address or own.address or "")
        return await handler(request)

    return forwarded


def install(app: web.Application, trusted: Sequence[Network], hsts_max_age_s: int) -> None:
    """The middleware first on `app` (before the app starts), and HSTS on every answer to a
    client that spoke HTTPS (`max-age` 0: none)."""
    app.middlewares.insert(0, middleware(trusted))
    if hsts_max_age_s <= 0:
        return
    value = f"max-age={int(hsts_max_age_s)}"

    async def strict_transport(request: web.BaseRequest, response: web.StreamResponse) -> None:
        if client(request).https:
            response.headers.setdefault("Strict-Transport-Security", value)

    app.on_response_prepare.append(strict_transport)
