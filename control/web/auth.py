"""Who may do what: bearer tokens mapped to roles (director > producer > viewer).

Tokens are compared in constant time against every configured token, so response timing
tells nothing about how much of a guess was right. An API with no token is refused at
construction: showctl never runs its control API open.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Literal, get_args

from aiohttp import web

from .errors import ApiError, Handler, is_api

Role = Literal["viewer", "producer", "director"]
ROLES: tuple[Role, ...] = get_args(Role)  # lowest first
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

    def __init__(self, tokens: Mapping[str, Role]) -> None:
        if not tokens:
            raise ValueError("no API token configured: set at least one of the director, "
                             "producer or viewer tokens (showctl never runs its API open)")
        for token, role in tokens.items():
            if role not in _RANK:
                raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
            if not token or token != token.strip() or any(c.isspace() for c in token):
                raise ValueError(f"the {role} token is blank or contains whitespace")
        self._tokens: list[tuple[bytes, Role]] = [(_bytes(t), r) for t, r in tokens.items()]

    @classmethod
    def from_settings(cls, *, director: str | None = None, producer: str | None = None,
                      viewer: str | None = None) -> Auth:
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
        return cls(tokens)

    def role_of(self, token: str) -> Role | None:
        """The role of `token`, comparing with every token (no early exit) in constant time."""
        given = _bytes(token)
        found: Role | None = None
        for known, role in self._tokens:
            if hmac.compare_digest(given, known):
                found = role
        return found

    def identify(self, request: web.Request, *, query_token: bool = False) -> Role | None:
        """The role of the request's credential, or None (then: 401).

        The first credential present decides; a wrong one does not fall through to the next.
        Credentials, in order:
        - `Authorization: Bearer TOKEN`;
        - `?token=TOKEN` when `query_token` (the websocket: browsers cannot set its headers);
        - seam: the console's cookie session goes here (and with it an Origin/CSRF check,
          which bearer tokens do not need because browsers never send them on their own).
        """
        header = request.headers.get("Authorization")
        if header is not None:
            token = bearer_token(header)
            return None if token is None else self.role_of(token)
        if query_token and "token" in request.query:
            return self.role_of(request.query["token"])
        return None


Endpoint = tuple[str, str]  # (method, path as routed, e.g. "/api/take/{id}")
ROLE: web.RequestKey[str] = web.RequestKey("role", str)  # the caller's role, once checked


def guard(auth: Auth, permissions: Mapping[Endpoint, Role],
          query_token: frozenset[Endpoint] = frozenset()) -> Handler:
    """Middleware: nothing under /api/ runs without a valid credential and a high enough role.

    Identity comes first (401 even for unknown routes: no probing without a token), then the
    route's entry in `permissions` (403). A route missing from the table is refused: new
    routes are closed until someone decides who may use them.
    """
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_api(request):
            return await handler(request)
        route = request.match_info.route
        endpoint = (route.method, route.resource.canonical) if route.resource else None
        role = auth.identify(request, query_token=endpoint in query_token)
        if role is None:
            raise _unauthorized(request, endpoint in query_token)
        if endpoint is not None:  # None: no such route; the handler answers 404/405
            needed = permissions.get(endpoint)
            if needed is None:
                raise ApiError(403, "forbidden", f"{route.method} {endpoint[1]} is open to no role")
            if not at_least(role, needed):
                raise ApiError(403, "forbidden", f"{route.method} {endpoint[1]} needs the "
                               f"{needed} role; this token is {role}")
        request[ROLE] = role
        return await handler(request)

    return middleware


def _unauthorized(request: web.Request, query_token: bool) -> ApiError:
    challenge = 'Bearer realm="showctl"'
    if "Authorization" in request.headers or (query_token and "token" in request.query):
        return ApiError(401, "unauthorized", "the token is not valid",
                        {"WWW-Authenticate": challenge + ', error="invalid_token"'})
    reason = "a token is required: Authorization: Bearer TOKEN"
    if "token" in request.query:
        reason = "a token in the URL is only accepted on /api/ws; " + reason
    return ApiError(401, "unauthorized", reason, {"WWW-Authenticate": challenge})
