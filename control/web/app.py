"""The control API: `create_app(controller, auth)` → an aiohttp Application.

Each route turns a request into one `control.show.commands` value with `by` = the caller's
role, hands it to the controller and answers with the read model after it. Everything that
can be wrong with a request is a 4xx JSON error before the controller sees anything; what
the show refuses is a 409 with the engine's own reason.
"""

from __future__ import annotations

import asyncio
import warnings
from dataclasses import replace
from typing import Any, cast, get_args

from aiohttp import web

from control.show.commands import (
    Arm,
    Back,
    BadCommand,
    Command,
    Extend,
    Hold,
    Panic,
    SetMode,
    SetNext,
    Skip,
    Take,
    from_json,
)
from control.show.engine import Refused
from control.show.state import Mode

from . import openapi
from .auth import ROLE, Auth, Endpoint, Role, guard
from .bodies import MAX_BODY, bad_field, boolean, choice, fields, number, read_json
from .controller import Controller
from .errors import ApiError, json_errors, json_ok
from .hub import StateHub

SOURCE_HEADER = "X-Showctl-Source"
SOURCES = ("api", "console", "osc")  # where a take came from: counted apart in metrics
MAX_EXTEND_S = 3600
MODES: tuple[Mode, ...] = get_args(Mode)

# Every route and the lowest role allowed on it: the one place to read who may do what.
# (The console issue gives producers notes and messages here, with takes staying director.)
ROUTES: tuple[tuple[str, str, str, Role], ...] = (
    ("GET", "/api/state", "state", "viewer"),
    ("GET", "/api/ws", "ws", "viewer"),
    ("GET", "/api/openapi.json", "openapi", "viewer"),
    ("POST", "/api/take", "take", "director"),
    ("POST", "/api/take/{id}", "take_segment", "director"),
    ("POST", "/api/next/{id}", "set_next", "director"),
    ("DELETE", "/api/next", "clear_next", "director"),
    ("POST", "/api/hold", "hold", "director"),
    ("POST", "/api/extend", "extend", "director"),
    ("POST", "/api/skip/{id}", "skip", "director"),
    ("POST", "/api/back", "back", "director"),
    ("POST", "/api/panic", "panic", "director"),
    ("POST", "/api/mode", "mode", "director"),
    ("POST", "/api/arm", "arm", "director"),
    ("POST", "/api/command", "command", "director"),
)
PERMISSIONS: dict[Endpoint, Role] = {(m, path): role for m, path, _, role in ROUTES}
QUERY_TOKEN: frozenset[Endpoint] = frozenset({("GET", "/api/ws")})


def create_app(controller: Controller, auth: Auth, *, hub: StateHub | None = None
               ) -> web.Application:
    """The API app; `app["hub"]` is the StateHub to publish every new read model into."""
    app = web.Application(client_max_size=MAX_BODY,
                          middlewares=[json_errors, guard(auth, PERMISSIONS, QUERY_TOKEN)])
    states = hub if hub is not None else StateHub()  # (not `hub or`: an empty hub is falsy)
    with warnings.catch_warnings():
        # the wiring's contract is the plain key "hub"; aiohttp would rather have an AppKey
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        app["hub"] = states
    api = _Api(controller, states)
    for method, path, name, _ in ROUTES:
        app.router.add_route(method, path, getattr(api, name), name=name)

    async def close_sockets(app: web.Application) -> None:
        await states.close()

    app.on_shutdown.append(close_sockets)
    return app


def _source(request: web.Request) -> str:
    source = request.headers.get(SOURCE_HEADER, "api").strip()
    if source not in SOURCES:
        raise ApiError(400, "bad_header", f"{SOURCE_HEADER} must be one of {', '.join(SOURCES)}")
    return source


class _Api:
    """The route handlers, over one controller."""

    def __init__(self, controller: Controller, hub: StateHub) -> None:
        self.controller = controller
        self.hub = hub

    async def _run(self, request: web.Request, cmd: Command) -> web.Response:
        cmd = replace(cmd, by=request[ROLE])
        try:
            # shielded: a client hanging up must not cancel a take halfway through
            await asyncio.shield(self.controller.command(cmd))
        except Refused as e:
            raise ApiError(409, "refused", str(e) or "the show refused the command") from None
        return json_ok({"ok": True, "state": self.controller.read_model()})

    def _known(self, segment_id: str) -> str:
        segments = self.controller.read_model().get("segments") or []
        if segment_id not in {s.get("id") for s in segments}:
            raise ApiError(404, "unknown_segment", f"no segment {segment_id!r} in the rundown")
        return segment_id

    async def _segment(self, request: web.Request, *names: str) -> tuple[str, dict[str, Any]]:
        body = fields(await read_json(request), *names)
        return self._known(request.match_info["id"]), body

    async def state(self, request: web.Request) -> web.Response:
        return json_ok(self.controller.read_model())

    async def openapi(self, request: web.Request) -> web.Response:
        return json_ok(openapi.document())

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.hub.serve(request, self.controller.read_model())

    async def take(self, request: web.Request) -> web.Response:
        fields(await read_json(request))
        return await self._run(request, Take(source=_source(request)))

    async def take_segment(self, request: web.Request) -> web.Response:
        segment_id, _ = await self._segment(request)
        return await self._run(request, Take(segment_id, source=_source(request)))

    async def set_next(self, request: web.Request) -> web.Response:
        segment_id, _ = await self._segment(request)
        return await self._run(request, SetNext(segment_id))

    async def clear_next(self, request: web.Request) -> web.Response:
        fields(await read_json(request))
        return await self._run(request, SetNext(None))

    async def hold(self, request: web.Request) -> web.Response:
        body = fields(await read_json(request), "on")
        return await self._run(request, Hold(on=boolean(body, "on", default=True)))

    async def extend(self, request: web.Request) -> web.Response:
        body = fields(await read_json(request), "seconds")
        seconds = number(body, "seconds", MAX_EXTEND_S)
        return await self._run(request, Extend(ms=round(seconds * 1000)))

    async def skip(self, request: web.Request) -> web.Response:
        segment_id, body = await self._segment(request, "skip")
        return await self._run(request, Skip(segment_id, skip=boolean(body, "skip", default=True)))

    async def back(self, request: web.Request) -> web.Response:
        fields(await read_json(request))
        return await self._run(request, Back())

    async def panic(self, request: web.Request) -> web.Response:
        fields(await read_json(request))
        return await self._run(request, Panic())

    async def mode(self, request: web.Request) -> web.Response:
        body = fields(await read_json(request), "mode")
        mode = cast(Mode, choice(body, "mode", MODES))
        return await self._run(request, SetMode(mode))

    async def arm(self, request: web.Request) -> web.Response:
        body = fields(await read_json(request), "armed")
        return await self._run(request, Arm(armed=boolean(body, "armed")))

    async def command(self, request: web.Request) -> web.Response:
        """Any command in the journal's `to_json` form; `by` and `source` are ours to set."""
        body = await read_json(request)
        if isinstance(body, dict):
            ours = {"by", "source"} if body.get("kind") == "take" else {"by"}
            body = {k: v for k, v in body.items() if k not in ours}
        try:
            cmd = from_json(body)
        except BadCommand as e:
            raise ApiError(400, "bad_command", str(e)) from None
        if isinstance(cmd, Take):
            cmd = replace(cmd, source=_source(request))
        if isinstance(cmd, Extend) and abs(cmd.ms) > MAX_EXTEND_S * 1000:
            raise bad_field("ms", f"must be between -{MAX_EXTEND_S * 1000} and "
                            f"{MAX_EXTEND_S * 1000}")
        segment_id = getattr(cmd, "segment_id", None)
        if segment_id is not None:
            self._known(segment_id)
        return await self._run(request, cmd)
