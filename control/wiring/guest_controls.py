"""The console's guest controls: the API routes under /api/guests/ (the app's guard checks them).

Part of the wiring: it bridges the web layer and the guests adapter, which must not import
each other (tests/test_architecture.py).

    POST /api/guests/{id}/level      {"gain_db": number, "muted": bool}  producer+ -> mixer
    POST /api/guests/{id}/av-offset  {"av_offset_ms": -500..500}         producer+ -> mixer
    POST /api/guests/{id}/message    {"text"}                            producer+ -> guest page
    POST /api/guests/{id}/invite                                         director  -> {"url"}
    POST /api/guests/{id}/revoke     every link of the guest stops       director
    POST /api/guests/{id}/release    unbind the link from its browser     director
    POST /api/guests/{id}/claim      {"claim", "allow": bool}            director
    POST /api/guests/{id}/switch-device {"kind": camera|microphone}     director  -> guest page
    GET  /api/guests/{id}/thumbnail.jpg                                  viewer+   -> JPEG

Invites (control.guests.bindings): only the director mints, revokes, releases, and answers
another browser asking to use a bound link; each is logged with who and from where.

Registered through create_app's extra routes (`extra_routes=api_routes()`,
`openapi_paths=OPENAPI_PATHS`): same guard, same JSON errors as the rest of /api/. Each guest's
level and A/V offset are kept here (`levels`, `offsets`) so the read model shows them even
before a mixer is running, and a mixer made later can be given them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, cast
from zoneinfo import ZoneInfo

from aiohttp import web

from control.config import Settings
from control.guests.avsync import MAX_OFFSET_MS
from control.guests.bindings import BindingStore
from control.guests.invites import invite_link, make_token
from control.guests.routes import DEVICE_KINDS
from control.guests.thumbnails import Pictures, Thumbnails
from control.show.localtime import iso
from control.show.readmodel import InviteView
from control.web.auth import ROLE, VIA
from control.web.bodies import bad_field, boolean, fields, number, read_json
from control.web.errors import ApiError, json_ok

from .listeners import public_base_url

log = logging.getLogger(__name__)

API_ROLE = "producer"  # the director and producers
INVITE_ROLE = "director"  # who may let someone in: minting, revoking, releasing, allowing
LEVEL_PATH = "/api/guests/{id}/level"
MESSAGE_PATH = "/api/guests/{id}/message"
INVITE_PATH = "/api/guests/{id}/invite"
REVOKE_PATH = "/api/guests/{id}/revoke"
RELEASE_PATH = "/api/guests/{id}/release"
CLAIM_PATH = "/api/guests/{id}/claim"
SWITCH_PATH = "/api/guests/{id}/switch-device"
AV_OFFSET_PATH = "/api/guests/{id}/av-offset"
THUMBNAIL_PATH = "/api/guests/{id}/thumbnail.jpg"
THUMBNAIL_ROLE = "viewer"  # whoever sees the console sees who is connected
MAX_GAIN_DB = 24.0  # +-: the mixer's gain range as the console offers it
MAX_MESSAGE = 500

Roster = Callable[[], Mapping[str, Mapping[str, Any]]]  # guest id -> {name, name_zh, role}
Deliver = Callable[[str, str], Awaitable[int]]           # (guest, text) -> pages reached
Revoke = Callable[[str], Awaitable[int]]                 # guest -> the new generation
Send = Callable[[str, dict[str, Any]], Awaitable[int]]   # (guest, payload) -> pages reached


def api_routes(role: str = API_ROLE) -> tuple[tuple[str, str, str], ...]:
    """The guests' API routes with the lowest role for each (create_app's extra_routes)."""
    return (("POST", LEVEL_PATH, role), ("POST", MESSAGE_PATH, role),
            ("POST", INVITE_PATH, INVITE_ROLE), ("POST", REVOKE_PATH, INVITE_ROLE),
            ("POST", RELEASE_PATH, INVITE_ROLE), ("POST", CLAIM_PATH, INVITE_ROLE),
            ("POST", SWITCH_PATH, INVITE_ROLE),
            ("POST", AV_OFFSET_PATH, role), ("GET", THUMBNAIL_PATH, THUMBNAIL_ROLE))


def who(request: web.Request) -> str:
    """`the director (bearer) from 10.0.0.5`: for the log lines of who let whom in."""
    via = request.get(VIA)
    return (f"the {request.get(ROLE, '?')}{f' ({via})' if via else ''} from "
            f"{request.remote}")


def check_av_offsets(offsets: Mapping[str, Any]) -> dict[str, int]:
    """Configured A/V offsets (guest -> ms) as whole ms; ValueError naming a bad one."""
    out = {}
    for guest, ms in offsets.items():
        if isinstance(ms, bool) or not isinstance(ms, int | float) or not (
                -MAX_OFFSET_MS <= ms <= MAX_OFFSET_MS):
            raise ValueError(f"A/V offset of {guest}: {ms!r} is not a number of ms in "
                             f"-{MAX_OFFSET_MS}..{MAX_OFFSET_MS}")
        out[str(guest)] = round(ms)
    return out


class GuestApi:
    def __init__(self, *, roster: Roster, deliver: Deliver, secret: bytes, ttl_s: float,
                 mixer: Callable[[], Any], on_change: Callable[[], None],
                 pictures: Pictures | None = None, av_offsets: Mapping[str, int] | None = None,
                 clock: Callable[[], float] = time.time,
                 link_base: Callable[[web.Request], str] | None = None,
                 invites: BindingStore | None = None, revoke: Revoke | None = None,
                 send: Send | None = None) -> None:
        self.roster = roster
        self.deliver = deliver
        self.send = send  # structured messages to the guest's page (the switch request)
        self.secret = secret
        self.invites = invites or BindingStore()  # the guest routes' store (shared)
        self.revoker = revoke  # the guest routes' revoke: also closes pages and the join
        self.ttl_s = ttl_s
        self.mixer = mixer          # the ProgramMixer once wired (None until then)
        self.on_change = on_change  # publish the read model
        self.clock = clock
        # the base of invite links (listeners.public_base_url): the host the console
        # reached us by, in its client's scheme, unless the settings say otherwise
        self.link_base = link_base or partial(public_base_url, Settings())
        self.levels: dict[str, dict[str, Any]] = {}
        self.offsets: dict[str, int] = check_av_offsets(av_offsets or {})
        self.thumbnails = Thumbnails(pictures or (lambda _guest: None))
        mixer_now = self.mixer()
        if mixer_now is not None:  # the configured offsets, before any guest connects
            for guest, ms in self.offsets.items():
                mixer_now.set_av_offset(guest, ms)

    def level(self, guest: str) -> dict[str, Any]:
        return dict(self.levels.get(guest) or {"gain_db": 0.0, "muted": False})

    def av_offset(self, guest: str) -> int:
        """The guest's A/V offset in ms (+: their sound is delayed, -: their picture)."""
        return self.offsets.get(guest, 0)

    def _guest(self, request: web.Request) -> str:
        guest = request.match_info["id"]
        if guest not in self.roster():
            raise ApiError(404, "unknown_guest", f"no guest {guest!r} in the rundown")
        return guest

    async def set_level(self, request: web.Request) -> web.Response:
        guest = self._guest(request)
        body = fields(await read_json(request), "gain_db", "muted")
        if not body:
            raise bad_field("gain_db", "give gain_db (a number of dB) and/or muted (true or false)")
        old = self.level(guest)
        gain = float(number(body, "gain_db", MAX_GAIN_DB)) if "gain_db" in body else old["gain_db"]
        muted = boolean(body, "muted", default=old["muted"])
        self.levels[guest] = {"gain_db": round(gain, 2), "muted": muted}
        mixer = self.mixer()
        if mixer is not None:
            mixer.set_level(guest, gain_db=gain, muted=muted)
        log.info("guest %s level %+.1f dB%s (by the %s)", guest, gain, ", muted" if muted else "",
                 request.get(ROLE, "?"))
        self.on_change()
        return json_ok({"ok": True, "level": self.level(guest)})

    async def set_av_offset(self, request: web.Request) -> web.Response:
        guest = self._guest(request)
        body = fields(await read_json(request), "av_offset_ms")
        offset = round(number(body, "av_offset_ms", MAX_OFFSET_MS))
        self.offsets[guest] = offset
        mixer = self.mixer()
        if mixer is not None:
            mixer.set_av_offset(guest, offset)
        log.info("guest %s A/V offset %+d ms (by the %s)", guest, offset,
                 request.get(ROLE, "?"))
        self.on_change()
        return json_ok({"ok": True, "av_offset_ms": offset})

    async def thumbnail(self, request: web.Request) -> web.Response:
        guest = self._guest(request)
        data = await self.thumbnails.get(guest)
        if data is None:
            raise ApiError(404, "no_picture", f"no picture of {guest!r} yet (not connected, "
                           "or no video received)")
        return web.Response(body=data, content_type="image/jpeg",
                            headers={"Cache-Control": "no-store"})

    async def message(self, request: web.Request) -> web.Response:
        guest = self._guest(request)
        body = fields(await read_json(request), "text")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_field("text", "is required (the message, as text)")
        if len(text) > MAX_MESSAGE:
            raise bad_field("text", f"is {len(text)} characters long; at most {MAX_MESSAGE}")
        delivered = await self.deliver(guest, text)
        return json_ok({"ok": True, "delivered": delivered})

    async def invite(self, request: web.Request) -> web.Response:
        guest = self._guest(request)
        fields(await read_json(request))
        expires = int(self.clock() + self.ttl_s)
        generation = self.invites.bindings.generation(guest)
        token = make_token(self.secret, guest, expires, generation)
        log.info("guest %s: invite link made (generation %d, valid %d s) by %s", guest,
                 generation, self.ttl_s, who(request))
        return json_ok({"url": invite_link(self.link_base(request), guest, token),
                        "expires_ms": expires * 1000, "generation": generation})

    async def revoke(self, request: web.Request) -> web.Response:
        guest = self._guest(request)
        fields(await read_json(request))
        if self.revoker is not None:
            generation = await self.revoker(guest)
        else:
            generation = self.invites.bindings.revoke(guest)
            self.invites.save()
        log.info("guest %s: every invite link revoked (now generation %d) by %s", guest,
                 generation, who(request))
        self.on_change()
        return json_ok({"ok": True, "generation": generation})

    async def release(self, request: web.Request) -> web.Response:
        guest = self._guest(request)
        fields(await read_json(request))
        was = self.invites.bindings.release(guest)
        self.invites.save()
        log.info("guest %s: the link released from its browser%s by %s", guest,
                 "" if was else " (it was not bound)", who(request))
        self.on_change()
        return json_ok({"ok": True, "was_bound": was})

    async def claim(self, request: web.Request) -> web.Response:
        guest = self._guest(request)
        body = fields(await read_json(request), "claim", "allow")
        claim = body.get("claim")
        if not isinstance(claim, str) or not claim:
            raise bad_field("claim", "is required (the claim id the read model shows)")
        allow = boolean(body, "allow")  # required: true lets that browser in, false refuses
        pending = self.invites.bindings.pending(guest, self.clock())
        if not self.invites.bindings.answer(guest, claim, allow, self.clock()):
            raise ApiError(409, "no_claim", f"no such request to join as {guest!r} (it was "
                           "answered, timed out or replaced by a newer one)")
        log.info("guest %s: the browser at %s %s to replace the bound one by %s", guest,
                 pending.address if pending else "?", "allowed" if allow else "refused",
                 who(request))
        self.on_change()
        return json_ok({"ok": True, "allowed": allow})

    async def switch_device(self, request: web.Request) -> web.Response:
        """Ask the guest's page to offer another camera or microphone; the guest decides."""
        guest = self._guest(request)
        body = fields(await read_json(request), "kind")
        kind = body.get("kind")
        if kind not in DEVICE_KINDS:
            raise bad_field("kind", f"is one of {', '.join(DEVICE_KINDS)}")
        if self.send is None:
            raise ApiError(409, "no_pages", "guest pages are not served by this controller")
        delivered = await self.send(guest, {"type": "switch-device", "kind": kind})
        log.info("guest %s: asked to switch %s (%d page%s) by %s", guest, kind, delivered,
                 "" if delivered == 1 else "s", who(request))
        return json_ok({"ok": True, "delivered": delivered})

    def invite_view(self, guest: str, tz: ZoneInfo) -> InviteView:
        """The read model's `guests[*].invite`: generation, bound, the pending claim."""
        bindings = self.invites.bindings
        pending = bindings.pending(guest, self.clock())
        claim = None
        if pending is not None:
            at_ms = round(pending.at * 1000)
            claim = {**pending.view(), "at": iso(at_ms, tz), "at_ms": at_ms}
        return cast(InviteView, {"generation": bindings.generation(guest),
                                 "bound": bindings.bound(guest), "claim": claim})


def install(app: web.Application, api: GuestApi) -> GuestApi:
    """Register the handlers; the app's guard must already list `api_routes()`."""
    permissions: Mapping[tuple[str, str], str] = app.get("permissions") or {}
    unguarded = [f"{m} {p}" for m, p, _ in api_routes() if (m, p) not in permissions]
    if unguarded:
        raise ValueError(f"the app does not guard {', '.join(unguarded)}: make it with "
                         "create_app(..., extra_routes=control.wiring.guest_controls.api_routes())")
    app.router.add_route("POST", LEVEL_PATH, api.set_level, name="guest_level")
    app.router.add_route("POST", MESSAGE_PATH, api.message, name="guest_message")
    app.router.add_route("POST", INVITE_PATH, api.invite, name="guest_invite")
    app.router.add_route("POST", REVOKE_PATH, api.revoke, name="guest_revoke")
    app.router.add_route("POST", RELEASE_PATH, api.release, name="guest_release")
    app.router.add_route("POST", CLAIM_PATH, api.claim, name="guest_claim")
    app.router.add_route("POST", SWITCH_PATH, api.switch_device, name="guest_switch_device")
    app.router.add_route("POST", AV_OFFSET_PATH, api.set_av_offset, name="guest_av_offset")
    app.router.add_route("GET", THUMBNAIL_PATH, api.thumbnail, name="guest_thumbnail")
    return api


_GUEST = {"name": "id", "in": "path", "required": True,
          "description": "a guest id of the rundown (`guests[*].id`)", "schema": {"type": "string"}}
_ERR = {str(s): {"$ref": f"#/components/responses/{n}"}
        for s, n in ((400, "BadRequest"), (401, "Unauthorized"), (403, "Forbidden"),
                     (404, "NotFound"), (500, "Internal"))}


def _post(summary: str, description: str, body: dict[str, Any] | None,
          answer: dict[str, Any], conflict: bool = False) -> dict[str, Any]:
    errors = {**_ERR, "409": {"$ref": "#/components/responses/Refused"}} if conflict else _ERR
    op: dict[str, Any] = {"summary": summary, "description": description,
                          "parameters": [_GUEST],
                          "responses": {"200": {"description": "done", "content": {
                              "application/json": {"schema": answer}}}, **errors}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return {"post": op}


OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    LEVEL_PATH: _post(
        "Guests: volume and mute",
        "The guest's gain in the program mix (dB) and mute. Director or producer. The read "
        "model shows it as `guests[*].level`.",
        {"type": "object", "additionalProperties": False, "properties": {
            "gain_db": {"type": "number", "minimum": -MAX_GAIN_DB, "maximum": MAX_GAIN_DB},
            "muted": {"type": "boolean"}}},
        {"type": "object", "properties": {"ok": {"type": "boolean"}, "level": {
            "type": "object", "properties": {"gain_db": {"type": "number"},
                                             "muted": {"type": "boolean"}}}}}),
    MESSAGE_PATH: _post(
        "Guests: a message to the guest's page",
        "Shown on the guest's page (its websocket: `{\"type\": \"message\", \"text\"}`). "
        "`delivered`: how many open pages of that guest got it (0: the page is not open). "
        "Director or producer.",
        {"type": "object", "additionalProperties": False, "required": ["text"],
         "properties": {"text": {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE}}},
        {"type": "object", "properties": {"ok": {"type": "boolean"},
                                          "delivered": {"type": "integer", "minimum": 0}}}),
    INVITE_PATH: _post(
        "Guests: the guest's invite link",
        "A new signed, expiring link to the guest page (`guests.invite_ttl`), on the host the "
        "console reached, of the guest's current generation (a browser already bound to "
        "that guest stays bound: `release` or `revoke` first to hand the link to another). "
        "Director only; logged with who.",
        None,
        {"type": "object", "required": ["url"], "properties": {
            "url": {"type": "string"}, "expires_ms": {"type": "integer"},
            "generation": {"type": "integer", "minimum": 0}}}),
    REVOKE_PATH: _post(
        "Guests: revoke the guest's invite links",
        "Every link of this guest stops working (401 on the guest page); its open pages are "
        "told and closed and its join ends. Other guests' links are untouched. Make a new "
        "link with `invite`. Director only; logged with who.",
        None,
        {"type": "object", "properties": {"ok": {"type": "boolean"},
                                          "generation": {"type": "integer"}}}),
    RELEASE_PATH: _post(
        "Guests: release the link from its browser",
        "The same links work; the next join binds the link to whichever browser makes it "
        "(for a WHIP publisher that cannot keep the rejoin secret, or a guest who changed "
        "computers). Director only; logged with who.",
        None,
        {"type": "object", "properties": {"ok": {"type": "boolean"},
                                          "was_bound": {"type": "boolean"}}}),
    CLAIM_PATH: _post(
        "Guests: answer another browser asking to use the guest's link",
        "A join from a browser without the link's rejoin secret is refused (409) and shown "
        "as `guests[*].invite.claim`. `allow: true` lets that browser in on its next try "
        "(it replaces the guest, on air too); `false` drops the request. 409 `no_claim`: "
        "answered, timed out or replaced. Director only; logged with who.",
        {"type": "object", "additionalProperties": False, "required": ["claim", "allow"],
         "properties": {"claim": {"type": "string"}, "allow": {"type": "boolean"}}},
        {"type": "object", "properties": {"ok": {"type": "boolean"},
                                          "allowed": {"type": "boolean"}}},
        conflict=True),
    SWITCH_PATH: _post(
        "Guests: ask the guest to switch camera or microphone",
        "The guest's page (its websocket: `{\"type\": \"switch-device\", \"kind\"}`) "
        "shows a prompt listing its devices; if the guest accepts, the new device replaces "
        "the old on the same connection (no rejoin). `delivered`: how many open pages got "
        "the request (0: the page is not open). The guest's answer is logged. Director "
        "only; logged with who.",
        {"type": "object", "additionalProperties": False, "required": ["kind"],
         "properties": {"kind": {"type": "string", "enum": list(DEVICE_KINDS)}}},
        {"type": "object", "properties": {"ok": {"type": "boolean"},
                                          "delivered": {"type": "integer", "minimum": 0}}}),
    AV_OFFSET_PATH: _post(
        "Guests: A/V offset (lip sync)",
        "Delays the guest's sound (positive ms) or picture (negative ms) so they match in "
        "the program; kept for the guest's next connection, starts from `guests.av_offsets` "
        "in the config. Director or producer. The read model shows it as "
        "`guests[*].av_offset_ms`.",
        {"type": "object", "additionalProperties": False, "required": ["av_offset_ms"],
         "properties": {"av_offset_ms": {"type": "number", "minimum": -MAX_OFFSET_MS,
                                         "maximum": MAX_OFFSET_MS}}},
        {"type": "object", "properties": {"ok": {"type": "boolean"},
                                          "av_offset_ms": {"type": "integer"}}}),
    THUMBNAIL_PATH: {"get": {
        "summary": "Guests: a live thumbnail",
        "description": "The guest's newest picture as a JPEG of at most 160x90 (aspect "
        "kept), made at most once a second per guest however many consoles ask; add a "
        "changing query parameter to refresh it. 404 `no_picture` while there is none. Any "
        "role.",
        "parameters": [_GUEST],
        "responses": {"200": {"description": "the picture", "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
            **{k: v for k, v in _ERR.items() if k != "400"}}}},
}
