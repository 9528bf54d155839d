"""The console's guest controls: the API routes under /api/guests/ (the app's guard checks them).

Part of the wiring: it bridges the web layer and the guests adapter, which must not import
each other (tests/test_architecture.py).

    POST /api/guests/{id}/level      {"gain_db": number, "muted": bool}  producer+ -> mixer
    POST /api/guests/{id}/av-offset  {"av_offset_ms": -500..500}         producer+ -> mixer
    POST /api/guests/{id}/message    {"text"}                            producer+ -> guest page
    POST /api/guests/{id}/invite                                         producer+ -> {"url"}
    GET  /api/guests/{id}/thumbnail.jpg                                  viewer+   -> JPEG

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
from typing import Any

from aiohttp import web

from control.config import Settings
from control.guests.avsync import MAX_OFFSET_MS
from control.guests.invites import invite_link, make_token
from control.guests.thumbnails import Pictures, Thumbnails
from control.web.auth import ROLE
from control.web.bodies import bad_field, boolean, fields, number, read_json
from control.web.errors import ApiError, json_ok

from .listeners import public_base_url

log = logging.getLogger(__name__)

API_ROLE = "producer"  # the director and producers
LEVEL_PATH = "/api/guests/{id}/level"
MESSAGE_PATH = "/api/guests/{id}/message"
INVITE_PATH = "/api/guests/{id}/invite"
AV_OFFSET_PATH = "/api/guests/{id}/av-offset"
THUMBNAIL_PATH = "/api/guests/{id}/thumbnail.jpg"
THUMBNAIL_ROLE = "viewer"  # whoever sees the console sees who is connected
MAX_GAIN_DB = 24.0  # +-: the mixer's gain range as the console offers it
MAX_MESSAGE = 500

Roster = Callable[[], Mapping[str, Mapping[str, Any]]]  # guest id -> {name, name_zh, role}
Deliver = Callable[[str, str], Awaitable[int]]           # (guest, text) -> pages reached


def api_routes(role: str = API_ROLE) -> tuple[tuple[str, str, str], ...]:
    """The guests' API routes with the lowest role for each (create_app's extra_routes)."""
    return (("POST", LEVEL_PATH, role), ("POST", MESSAGE_PATH, role),
            ("POST", INVITE_PATH, role), ("POST", AV_OFFSET_PATH, role),
            ("GET", THUMBNAIL_PATH, THUMBNAIL_ROLE))


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
                 link_base: Callable[[web.Request], str] | None = None) -> None:
        self.roster = roster
        self.deliver = deliver
        self.secret = secret
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
        token = make_token(self.secret, guest, int(self.clock() + self.ttl_s))
        return json_ok({"url": invite_link(self.link_base(request), guest, token)})


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
    app.router.add_route("POST", AV_OFFSET_PATH, api.set_av_offset, name="guest_av_offset")
    app.router.add_route("GET", THUMBNAIL_PATH, api.thumbnail, name="guest_thumbnail")
    return api


_GUEST = {"name": "id", "in": "path", "required": True,
          "description": "a guest id of the rundown (`guests[*].id`)", "schema": {"type": "string"}}
_ERR = {str(s): {"$ref": f"#/components/responses/{n}"}
        for s, n in ((400, "BadRequest"), (401, "Unauthorized"), (403, "Forbidden"),
                     (404, "NotFound"), (500, "Internal"))}


def _post(summary: str, description: str, body: dict[str, Any] | None,
          answer: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "description": description,
                          "parameters": [_GUEST],
                          "responses": {"200": {"description": "done", "content": {
                              "application/json": {"schema": answer}}}, **_ERR}}
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
        "console reached. Director or producer.",
        None,
        {"type": "object", "required": ["url"], "properties": {"url": {"type": "string"}}}),
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
