"""The `Server` header names the product, not its versions.

aiohttp answers `Server: Python/3.11 aiohttp/3.x` by default: a scanner learns which known
bugs to try without sending one. Every answer (files, API, websockets, errors) says
`showctl` instead.
"""

from __future__ import annotations

from aiohttp import web

SERVER = "showctl"


async def _name_only(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER


def install(app: web.Application) -> None:
    """Set on every response `app` prepares (its own routes and the adapters')."""
    app.on_response_prepare.append(_name_only)
