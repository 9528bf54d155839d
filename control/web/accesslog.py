"""An access log without query strings: `?token=` (the websocket's credential) stays out.

aiohttp's default format logs the request line, token and all. Wire it with
`web.AppRunner(app, access_log_class=AccessLogger)`.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .forwarded import client


class AccessLogger(AbstractAccessLogger):
    """`CLIENT METHOD PATH STATUS SECONDS`, the path without its query; the client's
    address as a trusted proxy gave it (forwarded.py), else the connection's."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %d %.3fs", client(request).address, request.method,
                         request.path, response.status, time)
