"""Reading an untrusted request body whole: within a size limit and a time limit.

Shared plumbing (no adapter imports): the API, the graphics routes and the guests' WHIP door
all read bodies from the network, and a client that trickles one (slow loris) holds a handler
and its buffers. One reader, one rule: `read_body` returns the whole body or raises
`BodyError` with the status each caller answers in its own format (the API as JSON, WHIP as
plain text). The wiring sets the time limit per app (`BODY_TIMEOUT`, from
`http.max_body_time`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # commands, cue data and SDP offers are small; more is a mistake or attack
BODY_TIMEOUT: web.AppKey[float] = web.AppKey("body_timeout", float)
DEFAULT_BODY_TIMEOUT_S = 10.0


class BodyError(Exception):
    """A body that cannot be had: too slow (408), too big (413), broken or cut off (400)."""

    def __init__(self, status: int, code: str, reason: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason
        self.headers = dict(headers or {})


async def read_body(request: web.BaseRequest, limit: int = MAX_BODY) -> bytes:
    """The whole body within the app's BODY_TIMEOUT and `limit` bytes. A client that hangs
    up mid-body or breaks the framing is logged in one quiet line (nobody is left to read the
    answer, and it is no fault of the server's)."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyError(413, "too_large", f"the request body is over {limit} bytes")
    timeout = request.config_dict.get(BODY_TIMEOUT, DEFAULT_BODY_TIMEOUT_S)
    try:
        async with asyncio.timeout(timeout):
            return await _read(request, limit)
    except TimeoutError:
        log.info("%s %s from %s: the body took over %g s; refused", request.method,
                 request.path, request.remote, timeout)
        raise BodyError(408, "body_timeout", f"the request body did not arrive within "
                        f"{timeout:g} s", {"Connection": "close"}) from None
    except web.HTTPRequestEntityTooLarge:  # the app's client_max_size, if lower
        raise BodyError(413, "too_large", f"the request body is over {limit} bytes") from None
    except (web.RequestPayloadError, ConnectionError, HttpProcessingError) as e:
        # a broken Content-Encoding or chunked framing, or the client gone mid-body
        why = getattr(e.__cause__, "message", None) or getattr(e, "message", None) or e
        log.info("%s %s from %s: the body cannot be read: %s", request.method, request.path,
                 request.remote, why)
        raise BodyError(400, "bad_body", f"the request body cannot be read: {why}") from None


async def _read(request: web.BaseRequest, limit: int) -> bytes:
    # read(n) returns what has arrived so far, not n bytes: read to the end (or past the
    # limit), or a body that comes in several packets would be parsed cut short
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(limit + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise BodyError(413, "too_large", f"the request body is over {limit} bytes")
    return b"".join(chunks)
