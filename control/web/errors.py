"""Every failure under /api/ is JSON `{"error": code, "reason": text}`: never an HTML page.

Clients (the console, OSC bridges, scripts) branch on `error` and show `reason` to a person.
An unexpected exception becomes a 500 with a short id that is also in the log, so a director
can quote it and an engineer can find the traceback; the process and the show go on.
"""

from __future__ import annotations

import errno
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

MAX_REASON = 500  # a reason quotes client input; keep responses and logs bounded

dumps = partial(json.dumps, ensure_ascii=False)  # Chinese titles stay readable

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """A request the API answers with a 4xx: `code` for programs, `reason` for people."""

    def __init__(self, status: int, code: str, reason: str,
                 headers: Mapping[str, str] | None = None,
                 extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})  # more fields for the body (e.g. a rundown's errors)


def error_response(status: int, code: str, reason: str,
                   headers: Mapping[str, str] | None = None,
                   extra: Mapping[str, Any] | None = None) -> web.Response:
    if len(reason) > MAX_REASON:
        reason = reason[:MAX_REASON] + "…"
    # a reason may quote a client's JSON, which can hold lone surrogates that UTF-8 cannot
    reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")
    return web.json_response({**(extra or {}), "error": code, "reason": reason},
                             status=status, headers=headers, dumps=dumps)


def is_api(request: web.Request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn ApiError, aiohttp's HTTP errors and crashes under /api/ into JSON responses."""
    if not is_api(request):
        try:
            return await handler(request)
        except OSError as e:  # aiohttp's static routes stat a name too long for the disk
            if e.errno != errno.ENAMETOOLONG:
                raise
            raise web.HTTPNotFound(text="no such file\n") from None
    try:
        return await handler(request)
    except ApiError as e:
        return error_response(e.status, e.code, e.reason, e.headers, e.extra)
    except web.HTTPException as e:
        if e.status < 400:
            raise  # redirects and the like are answers, not errors
        # aiohttp's own (routing): our codes and words, and the Allow header kept
        if e.status == 404:
            return error_response(404, "not_found", f"no API route {request.path}")
        if e.status == 405:
            allow = e.headers.get("Allow", "")
            return error_response(405, "method_not_allowed", f"{request.method} is not "
                                  f"allowed here; allowed: {allow}", {"Allow": allow})
        return error_response(e.status, "http_error", e.reason)
    except Exception:
        incident = secrets.token_hex(4)
        log.exception("internal error %s on %s %s", incident, request.method, request.path)
        return error_response(500, "internal", f"internal error {incident}; the show goes on, "
                              "tell an engineer this id")


def json_ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)
