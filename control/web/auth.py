"""Who may do what: bearer tokens and console sessions mapped to roles
(director > producer > viewer).

Tokens are compared in constant time against every configured token, so response timing
tells nothing about how much of a guess was right. An API with no token, or with one shorter
than MIN_TOKEN_LENGTH, is refused at construction: showctl never runs its control API open.
Wrong tokens back off per address (throttle.py): while an address is blocked its tokens are
answered 429 without being looked at.

Browsers log in once with a token (`POST /api/login`, or a `/?token=` link) and then carry a
session cookie (see sessions.py). A browser sends cookies by itself, also on requests another
site makes it send, so a cookie only counts on a state-changing request or a websocket
upgrade whose Origin (or, without one, Referer) is this server's own Host; SameSite=Strict
on the cookie is the second lock on that door. Bearer tokens need neither: browsers never
send them on their own.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Mapping
from typing import Literal, cast, get_args

from aiohttp import web
from yarl import URL

from .errors import ApiError, Handler, is_api
from .sessions import COOKIE, Sessions, token_id
from .throttle import Throttle

log = logging.getLogger(__name__)

Role = Literal["viewer", "producer", "director"]
ROLES: tuple[Role, ...] = get_args(Role)  # lowest first
# who may use a route: a role (and every higher one), or anyone ("public": login, logout)
Access = Literal["public", "viewer", "producer", "director"]
Via = Literal["bearer", "query", "cookie"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# 24 characters of a random token (secrets.token_urlsafe(24) gives 32) are about 128 bits:
# more than anyone can guess through a login throttled per address (throttle.py)
MIN_TOKEN_LENGTH = 24
MAKE_TOKEN = "python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"
_RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES)}


def at_least(role: Role, needed: Role) -> bool:
    """True when `role` may do what `needed` may (director ⊇ producer ⊇ viewer)."""
    return _RANK[role] >= _RANK[needed]


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header (scheme case-insensitive)."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def _bytes(text: str) -> bytes:
    # surrogatepass: header values may carry any code point; never raise on a client's input
    return text.encode("utf-8", "surrogatepass")


class Auth:
    """Token → role. Raises ValueError for no tokens, blank or reused tokens, unknown roles."""

    def __init__(self, tokens: Mapping[str, Role], sessions: Sessions | None = None, *,
                 throttle: Throttle | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not tokens:
            raise ValueError("no API token configured: set at least one of the director, "
                             "producer or viewer tokens (showctl never runs its API open)")
        for token, role in tokens.items():
            if role not in _RANK:
                raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
            if not token or token != token.strip() or any(c.isspace() for c in token):
                raise ValueError(f"the {role} token is blank or contains whitespace")
            if len(token) < MIN_TOKEN_LENGTH:
                raise ValueError(f"the {role} token is {len(token)} characters long; at least "
                                 f"{MIN_TOKEN_LENGTH} are needed (make one: {MAKE_TOKEN})")
        self._tokens: list[tuple[bytes, Role]] = [(_bytes(t), r) for t, r in tokens.items()]
        # which token may still back a session: a rotated token ends the sessions it opened
        self._token_ids: dict[str, Role] = {token_id(t): r for t, r in tokens.items()}
        self.sessions = sessions if sessions is not None else Sessions()
        self.throttle = throttle if throttle is not None else Throttle()
        self._clock = clock

    @classmethod
    def from_settings(cls, *, director: str | None = None, producer: str | None = None,
                      viewer: str | None = None, sessions: Sessions | None = None,
                      throttle: Throttle | None = None) -> Auth:
        """From settings where an unset role is empty; one token for two roles is an error."""
        settings: tuple[tuple[Role, str | None], ...] = (
            ("director", director), ("producer", producer), ("viewer", viewer))
        tokens: dict[str, Role] = {}
        for role, token in settings:
            if not token:
                continue
            if token in tokens:
                raise ValueError(f"the {role} and {tokens[token]} tokens are the same")
            tokens[token] = role
        return cls(tokens, sessions, throttle=throttle)

    def role_of(self, token: str) -> Role | None:
        """The role of `token`, comparing with every token (no early exit) in constant time."""
        given = _bytes(token)
        found: Role | None = None
        for known, role in self._tokens:
            if hmac.compare_digest(given, known):
                found = role
        return found

    def check_token(self, token: str, request: web.BaseRequest) -> Role | None:
        """`role_of`, throttled per address (throttle.py): raises ApiError 429 while the
        caller's address is blocked, without looking at the token; a wrong one counts."""
        now, address = self._clock(), request.remote
        wait = self.throttle.retry_after(address, now)
        if wait:
            raise too_many_tries(wait)
        role = self.role_of(token)
        if role is None:
            blocked = self.throttle.failed(address, now)
            if blocked:
                log.warning("wrong token from %s: its tokens are refused for %d s", address,
                            blocked)
        return role

    def session_role(self, session_id: str) -> Role | None:
        """The role of a console session, while the token that opened it is still valid."""
        session = self.sessions.lookup(session_id)
        if session is None or self._token_ids.get(session.token_id) != session.role:
            return None
        return cast(Role, session.role)

    def opener_valid(self, opener: str, role: str) -> bool:
        """Whether a session opened by the token of `token_id` `opener` as `role` may live
        (a resume ticket's: the token is still configured, for that role)."""
        return self._token_ids.get(opener) == role

    def identify(self, request: web.Request, *, query_token: bool = False
                 ) -> tuple[Role | None, Via | None]:
        """The role of the request's credential (None: 401) and which credential it was
        (None: there was none).

        The first credential present decides; a wrong one does not fall through to the next.
        Credentials, in order:
        - `Authorization: Bearer TOKEN`;
        - `?token=TOKEN` when `query_token` (the websocket, for tools);
        - the console's session cookie (checked against cross-site use by `guard`).
        """
        header = request.headers.get("Authorization")
        if header is not None:
            token = bearer_token(header)
            return (None if token is None else self.check_token(token, request)), "bearer"
        if query_token and "token" in request.query:
            return self.check_token(request.query["token"], request), "query"
        session_id = request.cookies.get(COOKIE)
        if session_id is not None:
            return self.session_role(session_id), "cookie"
        return None, None


def too_many_tries(wait_s: int) -> ApiError:
    return ApiError(429, "too_many_tries", f"too many wrong tokens from this address: try "
                    f"again in {wait_s} s", {"Retry-After": str(wait_s)})


def same_origin(request: web.BaseRequest) -> bool:
    """Whether the request comes from a page of this server: its Origin (or, when a browser
    sends none, its Referer) names the host and port of the Host header."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    host = request.headers.get("Host")
    if not source or not host or source == "null":
        return False
    try:
        origin = URL(source)
        if origin.scheme not in ("http", "https") or not origin.host:
            return False
        served = URL.build(scheme=origin.scheme, authority=host)
    except (ValueError, TypeError):
        return False
    return (origin.host.lower(), origin.port) == ((served.host or "").lower(), served.port)


def cross_site(request: web.BaseRequest) -> ApiError:
    log.warning("refused a cross-site %s %s from %s (Origin %r)", request.method, request.path,
                request.remote, request.headers.get("Origin"))
    return ApiError(403, "cross_site", "cross-site request refused: with a session cookie, "
                    "requests that change something must come from this server's own pages "
                    "(the Origin header must match the Host)")


def _is_upgrade(request: web.BaseRequest) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


Endpoint = tuple[str, str]  # (method, path as routed, e.g. "/api/take/{id}")
ROLE: web.RequestKey[str] = web.RequestKey("role", str)  # the caller's role, once checked
VIA: web.RequestKey[str] = web.RequestKey("via", str)    # bearer, query or cookie


def admit(auth: Auth, request: web.Request, *, query_token: bool = False) -> tuple[Role, Via]:
    """The one rule for a caller's credential (the guard's, and `authorizer`'s for routes
    outside the guard's table): the role and the credential it came by.

    Raises ApiError: 401 without a valid credential; 403 `cross_site` for a session cookie on
    a state-changing request or a websocket upgrade that does not come from this server's
    own pages (a browser sends cookies by itself, also when another site makes it)."""
    role, via = auth.identify(request, query_token=query_token)
    if role is None or via is None:
        raise _unauthorized(request, via, query_token)
    if via == "cookie" and (request.method not in SAFE_METHODS or _is_upgrade(request)
                            ) and not same_origin(request):
        raise cross_site(request)
    return role, via


Authorize = Callable[[web.Request, str], str | None]


def authorizer(auth: Auth) -> Authorize:
    """`authorize(request, min_role) -> role | None` by the guard's own rule (`admit`), for
    routes that check a role themselves (the overlay pages and their websocket): the
    wiring hands it to the adapter, which knows nothing of tokens, sessions or origins."""
    def authorize(request: web.Request, min_role: str) -> str | None:
        try:
            role, _ = admit(auth, request)
        except ApiError:
            return None
        return role if at_least(role, cast(Role, min_role)) else None
    return authorize


def guard(auth: Auth, permissions: Mapping[Endpoint, Access],
          query_token: frozenset[Endpoint] = frozenset()) -> Handler:
    """Middleware: nothing under /api/ runs without a valid credential and a high enough role.

    Public routes (login, logout) need no credential, but refuse a foreign Origin. Otherwise
    identity comes first (401 even for unknown routes: no probing without a token), then a
    cookie's origin (403 cross_site), then the route's entry in `permissions` (403). A route
    missing from the table is refused: new routes are closed until someone decides who may
    use them.
    """
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_api(request):
            return await handler(request)
        route = request.match_info.route
        endpoint = (route.method, route.resource.canonical) if route.resource else None
        needed = permissions.get(endpoint) if endpoint is not None else None
        if needed == "public":
            if "Origin" in request.headers and not same_origin(request):
                raise cross_site(request)
            return await handler(request)
        role, via = admit(auth, request, query_token=endpoint in query_token)
        request[ROLE] = role  # (before the route's check: the audit log names who was refused)
        request[VIA] = via
        if endpoint is not None:  # None: no such route; the handler answers 404/405
            if needed is None:
                raise ApiError(403, "forbidden", f"{route.method} {endpoint[1]} is open to no role")
            if not at_least(role, needed):
                raise ApiError(403, "forbidden", f"{route.method} {endpoint[1]} needs the "
                               f"{needed} role; this {_what(via)} is {role}")
        return await handler(request)

    return middleware


def _what(via: Via | None) -> str:
    return "session" if via == "cookie" else "token"


def clear_cookie_header() -> str:
    return f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"


def _unauthorized(request: web.Request, via: Via | None, query_token: bool) -> ApiError:
    challenge = 'Bearer realm="showctl"'
    if via == "cookie":
        return ApiError(401, "unauthorized", "the session has ended (logged out, expired or "
                        "its token was changed): log in again",
                        {"WWW-Authenticate": challenge, "Set-Cookie": clear_cookie_header()})
    if via is not None:
        return ApiError(401, "unauthorized", "the token is not valid",
                        {"WWW-Authenticate": challenge + ', error="invalid_token"'})
    reason = "a token is required: Authorization: Bearer TOKEN (or log in: POST /api/login)"
    if "token" in request.query:
        reason = "a token in the URL is only accepted on /api/ws; " + reason
    return ApiError(401, "unauthorized", reason, {"WWW-Authenticate": challenge})
