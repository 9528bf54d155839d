"""An access log without query strings: `?token=` (the websocket's credential), a guest's
invite key (`?t=`) and an overlay page's read key (`?key=`) stay out.

aiohttp's default format logs the request line, token and all. Wire it with
`web.AppRunner(app, access_log_class=AccessLogger)`; the time of each line is the log
handler's (control/logs.py).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .auth import ROLE
from .forwarded import client


class AccessLogger(AbstractAccessLogger):
    """`CLIENT METHOD PATH STATUS SECONDS [ROLE]`, the path without its query; the client's
    address as a trusted proxy gave it (forwarded.py), else the connection's; the role when
    the API's guard gave the request one."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        role = request.get(ROLE)
        self.logger.info("%s %s %s %d %.3fs%s", client(request).address, request.method,
                         request.path, response.status, time, f" {role}" if role else "")
