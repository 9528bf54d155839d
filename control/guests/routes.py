"""The guests' HTTP side: the guest page, its websocket, and WHIP (RFC 9725).

    GET    /guest/{guest}?t=TOKEN          the page (camera, microphone, Join)
    GET    /guest/{guest}/ws?t=TOKEN       {status, on_air} to the page; its getStats() back;
                                           {"type": "message", "text"} from the producer
    POST   /whip/{guest}                   SDP offer -> 201, SDP answer, Location
    DELETE /whip/{guest}/{session}         leave
    GET    /guest-assets/{file}            the page's script, style and two languages
    GET    /lib/{file}                     the library every page loads (control/pagelib.py)

Outside /api/: a guest holds an invite token (control.guests.invites), never a console role.
Token errors: 401 (missing, tampered, expired, revoked), 403 (another guest's invite).

The first join binds the guest's link to that browser (control.guests.bindings): its 201
carries ``Showctl-Rejoin: SECRET``; later joins send it back (header ``Showctl-Rejoin``; the
page's socket ``?r=SECRET``). Without it, a join is refused with 409 and ``Showctl-Claim: ID``
(the director is asked in the console); repeating the join with ``Showctl-Claim: ID`` comes in
once the director allowed it.
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
from control.bodies import BodyError, read_body
from control.guests.bindings import BindingStore, Decision, Verdict
from control.guests.gateway import Gateway, GatewayError
from control.guests.health import ReportError
from control.guests.invites import InviteError, check_token
from control.guests.ratelimit import JoinLimiter

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
Roster = Callable[[], Mapping[str, Mapping[str, Any]]]  # guest id -> {name, name_zh, role}
Status = Callable[[str], Mapping[str, Any]]             # guest id -> {status, on_air}
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
CLAIMS_PER_ADDRESS = 6  # new requests to replace a bound guest, per address and minute
REJOIN = "Showctl-Rejoin"  # the rejoin secret: in the first join's 201, in every later join
CLAIM = "Showctl-Claim"    # a refused browser's claim id: in the 409, in its next tries
REVOKED = "this invite link was revoked: ask the producer for a new link"
IN_USE = ("this invite link is in use in another browser: the director has been asked to "
          "let this browser in; try again in a moment (send the Showctl-Claim header back)")
# the page's refusals in the guest's other language too (a plain-text page, no script)
ZH = {"revoked": "此邀请链接已被撤销：请向制片人索取新链接。",
      "expired": "此邀请链接已过期：请向制片人索取新链接。",
      "another guest": "此邀请链接属于另一位嘉宾。",
      "guest list": "此嘉宾不在今晚的嘉宾名单中。"}
ZH_ANY = "此邀请链接无效：请向制片人索取新链接。"
DENIED = "the director did not let this browser in: this invite link is in use elsewhere"
DEVICE_KINDS = ("camera", "microphone")  # what the director may ask a guest to switch
DEVICE_OUTCOMES = ("accepted", "declined", "failed")
WS_IN_USE = "this invite link is in use in another browser: join to ask the director"


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
                 clock: Callable[[], float] = time.time, poll_s: float = 0.5,
                 store: BindingStore | None = None) -> None:
        self.gateway = gateway
        self.secret = secret
        self.store = store or BindingStore()  # in memory unless given a state directory
        # new claims from one address: a flood must not keep the director's prompt changing
        # (per address only: counting them per guest would let a stranger lock the guest out)
        self.claims = JoinLimiter(total=0, per_address=CLAIMS_PER_ADDRESS, per_guest=0)
        self.on_claim: Callable[[], None] | None = None
        """Called when a browser asks in (a new claim): the console shows the prompt."""
        self.roster = roster
        self.status = status
        self.clock = clock
        self.poll_s = poll_s
        self.sockets: set[web.WebSocketResponse] = set()
        self.pages: dict[str, set[web.WebSocketResponse]] = {}  # guest -> their open pages
        self.page_secret: dict[web.WebSocketResponse, str | None] = {}
        self.device_answers: dict[str, dict[str, Any]] = {}  # guest -> their last answer

    async def message(self, guest: str, text: str) -> int:
        """Show ``text`` on the guest's open pages ({"type": "message", "text"}) of the
        browser the link is bound to; how many."""
        return await self.send(guest, {"type": "message", "text": text})

    async def send(self, guest: str, payload: dict[str, Any]) -> int:
        """``payload`` to the guest's open pages of the browser the link is bound to (never
        another guest's); how many."""
        sent = 0
        bindings = self.store.bindings
        for ws in list(self.pages.get(guest, ())):
            if bindings.bound(guest) and not bindings.holds(guest, self.page_secret.get(ws)):
                continue  # a page opened before the link was bound, in another browser
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_json(payload)
                sent += 1
        return sent

    def device_answer(self, guest: str, answer: Mapping[str, Any]) -> None:
        """The guest's answer to the director's request to switch a device (logged, kept as
        ``device_answers[guest]``); anything else is dropped."""
        kind, outcome = answer.get("kind"), answer.get("outcome")
        if kind not in DEVICE_KINDS or outcome not in DEVICE_OUTCOMES:
            return
        detail = answer.get("detail")
        detail = detail[:120] if isinstance(detail, str) else ""
        self.device_answers[guest] = {"kind": kind, "outcome": outcome, "detail": detail,
                                      "at": self.clock()}
        log.info("guest %s %s switching %s%s", guest, outcome, kind,
                 f" ({detail!r})" if detail else "")

    def _admit(self, request: web.Request) -> tuple[str, int] | web.Response:
        """(guest, the token's generation), or the refusal (401, 403, 404)."""
        guest = request.match_info["guest"]
        try:
            generation = check_token(self.secret, _token(request), guest, self.clock())
            if generation != self.store.bindings.generation(guest):
                raise InviteError(401, REVOKED)
        except InviteError as e:
            extra = {"WWW-Authenticate": 'Bearer realm="showctl-guest"'} \
                if e.status == 401 else {}
            return _text(e.status, e.reason, **extra)
        if guest not in self.roster():
            return _text(404, f"{guest} is not in tonight's guest list")
        return guest, generation

    def admit_bound(self, request: web.Request) -> str | web.Response:
        """The guest of a request from their page in the browser their link is bound to
        (its ``Showctl-Rejoin`` header), or the refusal: the page's requests beside WHIP."""
        admitted = self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        guest, generation = admitted
        secret = request.headers.get(REJOIN) or None
        if self.store.bindings.may_watch(guest, generation, secret) is not Verdict.ADMIT:
            return _text(409, WS_IN_USE)
        return guest

    async def close_pages(self, guest: str, reason: str, keep: str | None = None) -> int:
        """Tell the guest's open pages ``{"type": "refused", "reason"}`` (revoked | replaced)
        and close them; with ``keep`` (the new binding's secret), only pages of the browser
        it replaced (pages opened before any binding stay, but get no messages); how many."""
        closed = 0
        for ws in list(self.pages.get(guest, ())):
            held = self.page_secret.get(ws)
            if keep is not None and (held is None or held == keep):
                continue
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_json({"type": "refused", "reason": reason})
            await ws.close(code=4001, message=reason.encode())
            closed += 1
        return closed

    async def revoke(self, guest: str) -> int:
        """Every link of ``guest`` stops working: its pages closed, its join ended; the
        new generation (new links carry it)."""
        generation = self.store.bindings.revoke(guest)
        self.store.save()
        await self.close_pages(guest, "revoked")
        session = self.gateway.sessions.get(guest)
        if session is not None:
            await self.gateway.leave(guest, session.id)
        return generation

    def _new_claim(self, guest: str, secret: str | None, claim: str | None) -> bool:
        """This join would ask the director anew (bound elsewhere, no pending claim of its)."""
        bindings = self.store.bindings
        pending = bindings.pending(guest, self.clock())
        return (bindings.bound(guest) and not bindings.holds(guest, secret)
                and not (claim and pending is not None and pending.id == claim))

    def _decide(self, request: web.Request, guest: str, generation: int
                ) -> Decision | web.Response:
        secret, claim = request.headers.get(REJOIN), request.headers.get(CLAIM)
        if generation == self.store.bindings.generation(guest) and \
                self._new_claim(guest, secret, claim):
            refused = self.claims.admit(guest, request.remote, self.gateway.clock())
            if refused is not None:
                return _text(429, refused.reason.replace("joins", "requests to join"),
                             **{"Retry-After": str(refused.retry_after)})
        decision = self.store.bindings.decide(
            guest, generation, secret, claim, self.clock(), address=request.remote or "",
            agent=request.headers.get("User-Agent", ""))
        if decision.verdict is Verdict.CLAIMED:
            log.info("guest %s: a join from %s refused: the link is bound to another browser "
                     "(claim %s, the director is asked)", guest, request.remote, decision.claim)
            if self.on_claim is not None:
                self.on_claim()
        return decision

    async def _bind(self, guest: str, decision: Decision, address: str | None) -> str | None:
        """After a join that succeeded: the rejoin secret to send (None: unchanged)."""
        if not decision.binds:
            return None
        secret = self.store.bindings.bind(guest, self.clock())
        self.store.save()
        log.info("guest %s: the link is bound to the browser at %s (%s)", guest, address,
                 "let in by the director" if decision.allowed else "its first join")
        await self.close_pages(guest, "replaced", keep=secret)  # (the others' pages)
        if self.on_claim is not None and decision.allowed:
            self.on_claim()  # the prompt goes
        return secret

    async def page(self, request: web.Request) -> web.StreamResponse:
        admitted = self._admit(request)
        if isinstance(admitted, web.Response):
            english = admitted.text or ""
            chinese = next((zh for key, zh in ZH.items() if key in english), ZH_ANY)
            admitted.text = f"{english}{chinese}\n"
            return admitted
        guest = admitted[0]
        html = (STATIC / "guest.html").read_text("utf-8")
        info = dict(self.roster()[guest])
        boot = json.dumps({"guest": guest, "name": info.get("name"),
                           "name_zh": info.get("name_zh"), "role": info.get("role"),
                           "bound": self.store.bindings.bound(guest),
                           "ice_servers": [s.to_json() for s in
                                           self.gateway.ice_servers_for(guest, self.clock())]})
        # JSON in a script element: "<" escaped so no text can close the element
        html = html.replace("/*BOOT*/null", boot.replace("<", "\\u003c"))
        return web.Response(text=html, content_type="text/html", headers={
            **NO_STORE, "Content-Security-Policy":
            "default-src 'self'; script-src 'self'; style-src 'self'; "
            "img-src 'self' data:; connect-src 'self'; media-src 'self' blob: mediastream:"})

    async def whip(self, request: web.Request) -> web.StreamResponse:
        admitted = self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        guest, generation = admitted
        if request.content_type != "application/sdp":
            return _text(415, "send the SDP offer as Content-Type: application/sdp")
        decision = self._decide(request, guest, generation)
        if isinstance(decision, web.Response):
            return decision
        if decision.verdict is Verdict.DENIED:
            return _text(403, DENIED)
        if decision.verdict is not Verdict.ADMIT:
            return _text(409, IN_USE, **{CLAIM: decision.claim or ""})
        try:
            offer = (await read_body(request)).decode("utf-8")
        except BodyError as e:  # too slow, too big, cut off (control/bodies.py)
            return _text(e.status, e.reason, **e.headers)
        except UnicodeDecodeError:
            return _text(400, "the SDP offer is not UTF-8 text")
        try:
            session, answer = await asyncio.shield(
                self.gateway.join(guest, offer, address=request.remote))
        except GatewayError as e:
            extra = {"Retry-After": str(e.retry_after)} if e.retry_after else {}
            return _text(e.status, e.reason, **extra)
        secret = await self._bind(guest, decision, request.remote) or decision.secret or ""
        return web.Response(status=201, text=answer, content_type="application/sdp",
                            headers={**NO_STORE, "Location": f"/whip/{guest}/{session}",
                                     REJOIN: secret})

    async def whip_delete(self, request: web.Request) -> web.StreamResponse:
        admitted = self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        guest = admitted[0]
        if not await self.gateway.leave(guest, request.match_info["session"]):
            return _text(404, "no such session (it ended, or a newer join replaced it)")
        return web.Response(status=200, headers=NO_STORE)

    async def ws(self, request: web.Request) -> web.StreamResponse:
        admitted = self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        guest, generation = admitted
        secret = request.query.get("r") or None
        if self.store.bindings.may_watch(guest, generation, secret) is not Verdict.ADMIT:
            return _text(409, WS_IN_USE)
        ws = web.WebSocketResponse(heartbeat=10, max_msg_size=16 * 1024)
        await ws.prepare(request)
        self.sockets.add(ws)
        self.page_secret[ws] = secret
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
                    if isinstance(data, dict) and isinstance(data.get("device"), dict):
                        self.device_answer(guest, data["device"])
                    elif isinstance(data, dict) and "stats" in data:
                        try:
                            self.gateway.report(guest, data["stats"])
                        except ReportError as e:  # said back to the page; the socket stays
                            with contextlib.suppress(ConnectionError):
                                await ws.send_json({"type": "error", "error": str(e)})
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await sender
            self.sockets.discard(ws)
            self.page_secret.pop(ws, None)
            pages.discard(ws)
            # the last page gone while its media flowed: the browser died (or the tab
            # closed): the gateway slates the guest now, not when ICE gives up (~30 s)
            self.gateway.pages(guest, len(pages))
        return ws


def install(app: web.Application, gateway: Gateway, *, secret: bytes, roster: Roster,
            status: Status, clock: Callable[[], float] = time.time,
            store: BindingStore | None = None) -> GuestRoutes:
    """Register the guest routes on ``app`` (before it starts); close the peer connections
    and pages' sockets when it shuts down."""
    routes = GuestRoutes(gateway, secret, roster, status, clock, store=store)
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
