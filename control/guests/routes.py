"""The guests' HTTP side: the guest page, its websocket, and WHIP (RFC 9725).

    GET    /guest/{guest}?t=TOKEN          the page (camera, microphone, Join)
    GET    /guest/{guest}/ws?t=TOKEN       {status, on_air} to the page; its getStats() back;
                                           {"type": "message", "text"} from the producer
    POST   /whip/{guest}                   SDP offer -> 201, SDP answer, Location
    DELETE /whip/{guest}/{session}         leave
    GET    /guest-assets/{file}            the page's script, style and two languages
    GET    /lib/{file}                     the library every page loads (control/pagelib.py)

Outside /api/: a guest holds an invite token (control.guests.invites), never a console role.
Token errors: 401 (missing, tampered, expired), 403 (another guest's invite).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from control import pagelib
from control.guests.gateway import Gateway, GatewayError
from control.guests.invites import InviteError, check_token

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
Roster = Callable[[], Mapping[str, Mapping[str, Any]]]  # guest id -> {name, name_zh, role}
Status = Callable[[str], Mapping[str, Any]]             # guest id -> {status, on_air}
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _text(status: int, reason: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=reason + "\n",
                        headers={**NO_STORE, **headers})


def _token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.query.get("t") or None


class GuestRoutes:
    def __init__(self, gateway: Gateway, secret: bytes, roster: Roster, status: Status,
                 clock: Callable[[], float] = time.time, poll_s: float = 0.5) -> None:
        self.gateway = gateway
        self.secret = secret
        self.roster = roster
        self.status = status
        self.clock = clock
        self.poll_s = poll_s
        self.sockets: set[web.WebSocketResponse] = set()
        self.pages: dict[str, set[web.WebSocketResponse]] = {}  # guest -> their open pages

    async def message(self, guest: str, text: str) -> int:
        """Show ``text`` on the guest's open pages ({"type": "message", "text"}); how many."""
        sent = 0
        for ws in list(self.pages.get(guest, ())):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_json({"type": "message", "text": text})
                sent += 1
        return sent

    def _admit(self, request: web.Request) -> str | web.Response:
        guest = request.match_info["guest"]
        try:
            check_token(self.secret, _token(request), guest, self.clock())
        except InviteError as e:
            extra = {"WWW-Authenticate": 'Bearer realm="showctl-guest"'} \
                if e.status == 401 else {}
            return _text(e.status, e.reason, **extra)
        if guest not in self.roster():
            return _text(404, f"{guest} is not in tonight's guest list")
        return guest

    async def page(self, request: web.Request) -> web.StreamResponse:
        guest = self._admit(request)
        if isinstance(guest, web.Response):
            return guest
        html = (STATIC / "guest.html").read_text("utf-8")
        info = dict(self.roster()[guest])
        boot = json.dumps({"guest": guest, "name": info.get("name"),
                           "name_zh": info.get("name_zh"), "role": info.get("role"),
                           "ice_servers": [s.to_json() for s in
                                           self.gateway.ice_servers_for(guest, self.clock())]})
        # JSON in a script element: "<" escaped so no text can close the element
        html = html.replace("/*BOOT*/null", boot.replace("<", "\\u003c"))
        return web.Response(text=html, content_type="text/html", headers={
            **NO_STORE, "Content-Security-Policy":
            "default-src 'self'; script-src 'self'; style-src 'self'; "
            "img-src 'self' data:; connect-src 'self'; media-src 'self' blob: mediastream:"})

    async def whip(self, request: web.Request) -> web.StreamResponse:
        guest = self._admit(request)
        if isinstance(guest, web.Response):
            return guest
        if request.content_type != "application/sdp":
            return _text(415, "send the SDP offer as Content-Type: application/sdp")
        try:
            offer = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            return _text(400, "the SDP offer is not UTF-8 text")
        try:
            session, answer = await asyncio.shield(
                self.gateway.join(guest, offer, address=request.remote))
        except GatewayError as e:
            extra = {"Retry-After": str(e.retry_after)} if e.retry_after else {}
            return _text(e.status, e.reason, **extra)
        return web.Response(status=201, text=answer, content_type="application/sdp",
                            headers={**NO_STORE, "Location": f"/whip/{guest}/{session}"})

    async def whip_delete(self, request: web.Request) -> web.StreamResponse:
        guest = self._admit(request)
        if isinstance(guest, web.Response):
            return guest
        if not await self.gateway.leave(guest, request.match_info["session"]):
            return _text(404, "no such session (it ended, or a newer join replaced it)")
        return web.Response(status=200, headers=NO_STORE)

    async def ws(self, request: web.Request) -> web.StreamResponse:
        guest = self._admit(request)
        if isinstance(guest, web.Response):
            return guest
        ws = web.WebSocketResponse(heartbeat=10, max_msg_size=16 * 1024)
        await ws.prepare(request)
        self.sockets.add(ws)
        pages = self.pages.setdefault(guest, set())
        pages.add(ws)
        self.gateway.pages(guest, len(pages))

        async def send_status() -> None:
            last: Any = None
            while not ws.closed:
                now = dict(self.status(guest))
                if now != last:
                    await ws.send_json(now)
                    last = now
                await asyncio.sleep(self.poll_s)

        sender = asyncio.create_task(send_status())
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError, RecursionError):  # not JSON, too deep
                    data = json.loads(msg.data)
                    if isinstance(data, dict) and isinstance(data.get("stats"), dict):
                        self.gateway.report(guest, data["stats"])
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await sender
            self.sockets.discard(ws)
            pages.discard(ws)
            # the last page gone while its media flowed: the browser died (or the tab
            # closed): the gateway slates the guest now, not when ICE gives up (~30 s)
            self.gateway.pages(guest, len(pages))
        return ws


def install(app: web.Application, gateway: Gateway, *, secret: bytes, roster: Roster,
            status: Status, clock: Callable[[], float] = time.time) -> GuestRoutes:
    """Register the guest routes on ``app`` (before it starts); close the peer connections
    and pages' sockets when it shuts down."""
    routes = GuestRoutes(gateway, secret, roster, status, clock)
    app.router.add_get("/guest/{guest}", routes.page, name="guest_page", allow_head=False)
    app.router.add_get("/guest/{guest}/ws", routes.ws, name="guest_ws", allow_head=False)
    app.router.add_post("/whip/{guest}", routes.whip, name="whip")
    app.router.add_delete("/whip/{guest}/{session}", routes.whip_delete, name="whip_session")
    app.router.add_static("/guest-assets", STATIC, name="guest_assets")
    pagelib.serve(app)

    async def close(app: web.Application) -> None:
        for ws in list(routes.sockets):
            await ws.close()
        await gateway.close()

    app.on_shutdown.append(close)
    return routes
