"""``GET /metrics`` and ``GET /healthz`` on the controller's own aiohttp app.

``/metrics`` wants a token like the API does (any role; Prometheus sends the viewer token
with ``authorization: credentials_file``), unless the settings make it public. ``/healthz``
is open and answers only ``ok``: it says the controller's HTTP server runs, nothing more.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from .core import Metrics

METRICS_PATH = "/metrics"
HEALTH_PATH = "/healthz"
CHALLENGE = 'Bearer realm="showctl"'
# the classic text format, which every Prometheus and promtool reads
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def bearer(request: web.Request) -> str | None:
    """The token of ``Authorization: Bearer TOKEN`` (scheme case-insensitive), or None."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


TokenCheck = Callable[[str, web.Request], bool]


def install(app: web.Application, metrics: Metrics, *,
            token_ok: TokenCheck, public: bool = False) -> None:
    """Add the two routes and run the loop-lag probe while the app runs.

    ``token_ok(token, request)`` says whether a bearer token is valid (any role will do:
    metrics are read-only); it may raise an aiohttp HTTP error (429 for an address that
    tried too many wrong tokens: the wiring's throttle). With ``public`` a scrape needs
    none (only on a trusted network).
    """

    def allowed(request: web.Request) -> bool:
        token = bearer(request)
        return public or (token is not None and token_ok(token, request))

    async def scrape(request: web.Request) -> web.Response:
        if not allowed(request):
            return web.Response(
                status=401, text="a token is required: Authorization: Bearer TOKEN\n",
                headers={"WWW-Authenticate": CHALLENGE})
        return web.Response(body=metrics.render(),
                            headers={"Content-Type": CONTENT_TYPE,
                                     "Cache-Control": "no-store"})

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n", headers={"Cache-Control": "no-store"})

    async def start(app: web.Application) -> None:
        await metrics.start()

    async def stop(app: web.Application) -> None:
        await metrics.stop()

    app.router.add_get(METRICS_PATH, scrape, name="metrics")
    app.router.add_get(HEALTH_PATH, healthz, name="healthz")
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
