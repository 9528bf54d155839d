"""The ISO uploads' HTTP side, under the guest's own invite (control.guests.iso).

    POST /guest/{guest}/iso                     {"key", "segment"} -> 201 new | 200 resumed
    GET  /guest/{guest}/iso/{name}              the upload: next chunk, bytes, phase
    PUT  /guest/{guest}/iso/{name}/chunks/{n}   the chunk's bytes; header Showctl-Sha256 (hex)
    POST /guest/{guest}/iso/{name}/done         {"chunks", "duration_ms"} -> the file is whole

Each request carries the invite token and, once the link is bound, the browser's rejoin
secret (header Showctl-Rejoin): only the guest's own page in the guest's own browser reaches
their uploads (control.guests.routes.GuestRoutes.admit_bound). Answers are JSON; refusals
``{"error": reason}`` with 400 (malformed), 401/403 (the invite), 404 (no such upload or
segment), 408 (too slow), 409 (out of order, another checksum, incomplete), 413 (too big,
over the guest's quota), 429 (more chunks at once than one page sends). Disk work runs on
a thread: the loop never waits on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Collection
from typing import Any

from aiohttp import web

from control.bodies import BodyError, read_body

from .iso import SHA256, IsoError, IsoStore, Step, sha256_hex
from .routes import NO_STORE, GuestRoutes

log = logging.getLogger(__name__)

CHECKSUM = "Showctl-Sha256"
MAX_JSON = 4096
CHUNK_TIMEOUT_S = 120.0  # a throttled page on a slow link sends a chunk within this
MAX_READING = 2  # chunk bodies of one guest read at once (the page sends one at a time)
Segments = Callable[[], Collection[str]]


def _json(status: int, body: dict[str, Any], **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers={**NO_STORE, **headers})


def _refuse(e: IsoError) -> web.Response:
    extra = {"Connection": "close"} if e.status in (408, 413, 429) else {}
    return _json(e.status, {"error": e.reason}, **extra)


async def _body(request: web.Request, limit: int, timeout: float) -> bytes:
    """A chunk: at most ``limit`` bytes within ``timeout``: IsoError 413 / 408 / 400
    otherwise. Not control.bodies.read_body: a chunk is megabytes from a guest's uplink and
    gets longer than the app's limit for small bodies (http.max_body_time)."""
    if request.content_length is not None and request.content_length > limit:
        raise IsoError(413, f"the body is over {limit} bytes")
    buf = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for piece in request.content.iter_chunked(256 * 1024):
                buf += piece
                if len(buf) > limit:
                    raise IsoError(413, f"the body is over {limit} bytes")
    except TimeoutError:
        raise IsoError(408, f"the body did not arrive within {timeout:g} s") from None
    except (web.HTTPException, ConnectionError, ValueError) as e:
        raise IsoError(400, f"the body cannot be read: {e}") from None
    return bytes(buf)


async def _object(request: web.Request) -> dict[str, Any]:
    try:
        raw = await read_body(request, MAX_JSON)
    except BodyError as e:
        raise IsoError(e.status, e.reason) from None
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise IsoError(400, "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise IsoError(400, "the body must be a JSON object")
    return data


class IsoRoutes:
    def __init__(self, pages: GuestRoutes, store: IsoStore, segments: Segments,
                 clock: Callable[[], float] = time.time) -> None:
        self.pages = pages
        self.store = store
        self.segments = segments
        self.clock = clock
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}  # one request per upload
        self._reading: dict[str, int] = {}  # guest -> chunk bodies being read (memory bound)

    def _lock(self, guest: str, name: str) -> asyncio.Lock:
        return self._locks.setdefault((guest, name), asyncio.Lock())

    async def open(self, request: web.Request) -> web.StreamResponse:
        guest = self.pages.admit_bound(request)
        if isinstance(guest, web.Response):
            return guest
        try:
            body = await _object(request)
            segment = body.get("segment")
            if segment not in self.segments():
                raise IsoError(404, f"no segment {segment!r} in the rundown")
            upload, new = self.store.ledger.open(guest, segment, body.get("key"), self.clock())
            if new:
                await asyncio.to_thread(self.store.save, upload)
                log.info("guest %s: ISO recording %s opened", guest, upload.name)
        except IsoError as e:
            return _refuse(e)
        except OSError as e:  # (kept in the ledger: the first chunk writes the manifest)
            log.warning("guest %s: ISO manifest not written: %s", guest, e)
            return _json(507, {"error": f"the server could not keep the recording: {e.strerror}"})
        return _json(201 if new else 200, upload.view())

    async def status(self, request: web.Request) -> web.StreamResponse:
        guest = self.pages.admit_bound(request)
        if isinstance(guest, web.Response):
            return guest
        try:
            return _json(200, self.store.ledger.find(guest, request.match_info["name"]).view())
        except IsoError as e:
            return _refuse(e)

    async def chunk(self, request: web.Request) -> web.StreamResponse:
        guest = self.pages.admit_bound(request)
        if isinstance(guest, web.Response):
            return guest
        try:
            upload = self.store.ledger.find(guest, request.match_info["name"])
            text = request.match_info["n"]
            if not text.isdigit() or len(text) > 9:
                raise IsoError(400, "the chunk number must be a whole number")
            n, sha = int(text), request.headers.get(CHECKSUM, "").strip().lower()
            if not SHA256.fullmatch(sha):
                raise IsoError(400, f"header {CHECKSUM}: the chunk's SHA-256, 64 hex digits")
            data = await self._read_chunk(request, guest)
            if await asyncio.to_thread(sha256_hex, data) != sha:  # (16 MiB: ~40 ms of CPU)
                raise IsoError(400, f"chunk {n}: the bytes do not match {CHECKSUM}: send it "
                               "again")
            async with self._lock(guest, upload.name):
                if self.store.ledger.check_chunk(upload, n, sha, len(data)) is Step.APPEND:
                    await asyncio.to_thread(self.store.append, upload, data, sha)
        except IsoError as e:
            return _refuse(e)
        except OSError as e:  # a full disk: the page tries again later
            log.warning("guest %s: ISO chunk not written: %s", guest, e)
            return _json(507, {"error": f"the server could not write the chunk: {e.strerror}"})
        return _json(200, upload.view())

    async def _read_chunk(self, request: web.Request, guest: str) -> bytes:
        """The chunk's body; at most MAX_READING of one guest's at a time (429 beyond: each
        is held in memory until written)."""
        if self._reading.get(guest, 0) >= MAX_READING:
            raise IsoError(429, "one chunk at a time: wait for the answer to the last one")
        self._reading[guest] = self._reading.get(guest, 0) + 1
        try:
            return await _body(request, self.store.ledger.limits.max_chunk_bytes,
                               CHUNK_TIMEOUT_S)
        finally:
            self._reading[guest] -= 1

    async def done(self, request: web.Request) -> web.StreamResponse:
        guest = self.pages.admit_bound(request)
        if isinstance(guest, web.Response):
            return guest
        try:
            upload = self.store.ledger.find(guest, request.match_info["name"])
            body = await _object(request)
            chunks, duration = body.get("chunks"), body.get("duration_ms")
            if not isinstance(chunks, int) or isinstance(chunks, bool) or chunks < 0:
                raise IsoError(400, "chunks must be the number of chunks sent")
            if duration is not None and (not isinstance(duration, int | float)
                                         or isinstance(duration, bool)
                                         or not 0 <= duration < 86_400_000):
                raise IsoError(400, "duration_ms must be the recording's length in ms")
            async with self._lock(guest, upload.name):
                was = upload.phase
                await asyncio.to_thread(self.store.complete, upload, chunks, duration,
                                        self.clock())
            if upload.phase is not was:
                log.info("guest %s: ISO recording %s complete (%d bytes, %s ms)", guest,
                         upload.name, upload.size, duration)
        except IsoError as e:
            return _refuse(e)
        except OSError as e:
            log.warning("guest %s: ISO recording not completed: %s", guest, e)
            return _json(507, {"error": f"the server could not complete the file: {e.strerror}"})
        return _json(200, upload.view())


ROUTE_NAMES = ("guest_iso", "guest_iso_upload", "guest_iso_chunk", "guest_iso_done")


def install(app: web.Application, pages: GuestRoutes, store: IsoStore,
            segments: Segments) -> IsoRoutes:
    """Register the ISO routes (names: ROUTE_NAMES, for the guests' door)."""
    routes = IsoRoutes(pages, store, segments, pages.clock)
    app.router.add_post("/guest/{guest}/iso", routes.open, name="guest_iso")
    app.router.add_get("/guest/{guest}/iso/{name}", routes.status, name="guest_iso_upload",
                       allow_head=False)
    app.router.add_put("/guest/{guest}/iso/{name}/chunks/{n}", routes.chunk,
                       name="guest_iso_chunk")
    app.router.add_post("/guest/{guest}/iso/{name}/done", routes.done, name="guest_iso_done")
    return routes
