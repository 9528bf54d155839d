"""The HTTP side: one aiohttp app for the API, the console and the adapters' routes, behind
one guard (control/web/auth.py), and the server it runs on."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from control.bodies import BODY_TIMEOUT
from control.config import Settings
from control.metrics import Metrics
from control.metrics import install as install_metrics
from control.metrics.http import TokenCheck
from control.metrics.looplag import LoopLagProbe
from control.metrics.looplag import install_debug as install_looplag
from control.overlays import OPENAPI_PATHS as OVERLAY_API_DOC
from control.overlays import api_routes as overlay_api_routes
from control.web.accesslog import AccessLogger
from control.web.app import create_app
from control.web.auth import Auth
from control.web.clusterview import ClusterView
from control.web.errors import ApiError
from control.web.hosts import AllowedHosts
from control.web.hub import StateHub
from control.web.port import ShowPort
from control.web.sessions import Sessions
from control.web.throttle import Throttle

from .guest_controls import OPENAPI_PATHS as GUEST_API_DOC
from .guest_controls import api_routes as guest_api_routes
from .iso import OPENAPI_PATHS as ISO_API_DOC
from .iso import api_routes as iso_api_routes
from .listeners import Listeners, make_certificates, make_door, trust_proxies

# a connection with no complete request this long is closed: idle keep-alives, and slow-loris
# clients trickling their headers (aiohttp counts from the connection's start)
HTTP_IDLE_TIMEOUT_S = 15.0


def make_auth(settings: Settings) -> Auth:
    """Tokens to roles; console sessions outlive a restart (a crash mid-show must not log
    the director out)."""
    return Auth.from_settings(director=settings.director_token,
                              producer=settings.producer_token, viewer=settings.viewer_token,
                              sessions=Sessions(settings.state_dir / "console-sessions.json"),
                              throttle=Throttle(settings.login_failures_per_address))


def make_app(show: ShowPort, auth: Auth, hub: StateHub, metrics: Metrics,
             settings: Settings, *, cluster: ClusterView | None = None) -> web.Application:
    """The API and console, with the graphics' and guests' API routes in the same guard's
    table; GET /metrics, GET /healthz and the on-demand loop-lag probe (/debug/looplag).
    `cluster`: the pair's view (control/web/clusterview.py), None on one machine."""
    app = create_app(show, auth, hub=hub,
                     extra_routes=(*overlay_api_routes(), *guest_api_routes(),
                                   *iso_api_routes()),
                     openapi_paths={**OVERLAY_API_DOC, **GUEST_API_DOC, **ISO_API_DOC},
                     allowed_hosts=AllowedHosts([*settings.allowed_hosts.split(","),
                                                 settings.http_host]),
                     cluster=cluster,
                     cluster_secret=settings.cluster_secret if cluster is not None else None)
    app[BODY_TIMEOUT] = settings.max_body_seconds

    token_ok = metrics_token_check(auth)
    install_metrics(app, metrics, token_ok=token_ok, public=settings.metrics_public)
    install_looplag(app, LoopLagProbe(), token_ok=token_ok)
    trust_proxies(app, settings)  # first middleware: the client's scheme and address
    return app


def metrics_token_check(auth: Auth) -> TokenCheck:
    """/metrics' and /debug/looplag's token check: any role (read only), throttled per
    address like every token (429 while the address is blocked, its token never looked at)."""
    def token_ok(token: str, request: web.Request) -> bool:
        try:
            return auth.check_token(token, request) is not None
        except ApiError as e:
            raise web.HTTPTooManyRequests(text=f"{e.reason}\n", headers=e.headers) from None
    return token_ok


@contextlib.asynccontextmanager
async def http_server(app: web.Application, settings: Settings) -> AsyncIterator[Listeners]:
    """The app set up (its startup hooks run) and its listeners, not yet listening:
    `await listeners.start()` once the show can answer: the console's, HTTPS when a
    certificate is configured, and the guests-only door when `door.port` is set (control/
    wiring/listeners.py). Raises TlsError for a certificate that cannot be used. Cleaned
    up on exit: the door stops taking connections, then the app shuts down (closing every
    guest socket, the door's too), then the door."""
    certificates = make_certificates(settings)
    context = certificates.context if certificates is not None else None
    door = make_door(app, settings)
    runner = web.AppRunner(app, access_log_class=AccessLogger,
                           keepalive_timeout=HTTP_IDLE_TIMEOUT_S)
    await runner.setup()
    door_runner = None
    if door is not None:
        door_runner = web.AppRunner(door, access_log_class=AccessLogger,
                                    keepalive_timeout=HTTP_IDLE_TIMEOUT_S)
        await door_runner.setup()
    listeners = Listeners(
        web.TCPSite(runner, settings.http_host, settings.http_port, ssl_context=context),
        None if door_runner is None else web.TCPSite(
            door_runner, settings.door_host, settings.door_port, ssl_context=context),
        certificates)
    try:
        yield listeners
    finally:
        await listeners.close_door()
        await runner.cleanup()
        if door_runner is not None:
            await door_runner.cleanup()
