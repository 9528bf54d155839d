"""The API's OpenAPI 3.1 document, written by hand so it reads as the API's manual.

A test checks that its paths and methods are exactly the app's routes, the adapters' included
(create_app's `openapi_paths`: the overlays document theirs next to their handlers). Schemas
are JSON Schema 2020-12 (OpenAPI 3.1), so tools and tests can validate bodies against them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Schema = dict[str, Any]
METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"})

_OBJ = "#/components/schemas/"
_RESP = "#/components/responses/"

SEGMENT_ID: Schema = {"name": "id", "in": "path", "required": True,
                      "description": "a segment id of the rundown (`segments[*].id`)",
                      "schema": {"type": "string"}}
SOURCE: Schema = {"name": "X-Showctl-Source", "in": "header", "required": False,
                  "description": "where a take came from, for metrics (default `api`)",
                  "schema": {"enum": ["api", "console", "osc"]}}
TOKEN_QUERY: Schema = {"name": "token", "in": "query", "required": False,
                       "description": "the bearer token, for browsers that cannot set headers "
                                      "on a websocket", "schema": {"type": "string"}}


def _body(schema: Schema, *, required: bool) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _obj(properties: Schema, required: tuple[str, ...] = ()) -> Schema:
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False}


_EMPTY = _body(_obj({}), required=False)
_EXPECT = {"type": "string", "maxLength": 200,
           "description": "the segment the presser sees on air (\"\" for none): if another "
                          "take landed first, this one is refused (409), so a double press "
                          "or two directors take once"}
_TAKE = _body(_obj({"expect": _EXPECT}), required=False)


_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
          409: "Refused", 413: "TooLarge", 422: "InvalidRundown", 500: "Internal",
          502: "OutputFailed"}


def _errors(*statuses: int, public: bool = False) -> dict[str, Any]:
    first = (403,) if public else (401, 403)
    return {str(s): {"$ref": _RESP + _NAMES[s]} for s in (*first, *statuses, 500)}


def _json(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _command(summary: str, description: str, *, body: Schema | None = None,
             segment: bool = False, take: bool = False, extra: tuple[int, ...] = (409,)
             ) -> Schema:
    """A command route: answers with the read model after the command."""
    params = ([SEGMENT_ID] if segment else []) + ([SOURCE] if take else [])
    op: Schema = {
        "summary": summary,
        "description": description,
        "requestBody": body or _EMPTY,
        "responses": {"200": {"$ref": _RESP + "Applied"},
                      **_errors(400, *((404,) if segment else ()), *extra, 413)},
    }
    if params:
        op["parameters"] = params
    return op


def _command_schemas() -> dict[str, Schema]:
    """One schema per command kind, in `control.show.commands.to_json` form."""
    ignored = {"description": "ignored: the server sets it"}
    seg = {"type": ["string", "null"], "maxLength": 200}

    def kind(name: str, props: Schema | None = None, required: tuple[str, ...] = ()) -> Schema:
        return _obj({"kind": {"const": name}, "by": ignored, **(props or {})},
                     ("kind", *required))

    return {
        "TakeCommand": kind("take", {"segment_id": seg, "source": ignored, "expect": _EXPECT}),
        "NextCommand": kind("next", {"segment_id": seg}, ("segment_id",)),
        "HoldCommand": kind("hold", {"on": {"type": "boolean"}}),
        "ExtendCommand": kind("extend", {"ms": {"type": "integer", "minimum": -3_600_000,
                                                "maximum": 3_600_000}}, ("ms",)),
        "SkipCommand": kind("skip", {"segment_id": seg, "skip": {"type": "boolean"}}),
        "BackCommand": kind("back"),
        "PanicCommand": kind("panic"),
        "ModeCommand": kind("mode", {"mode": {"enum": ["rehearsal", "live"]}}, ("mode",)),
        "ArmCommand": kind("arm", {"armed": {"type": "boolean"}}),
        "NoteCommand": kind("note", {"segment_id": {"type": "string", "maxLength": 200},
                                     "text": {"type": "string", "maxLength": 2000}},
                            ("segment_id", "text")),
        "MessageCommand": kind("message", {"text": {"type": "string", "maxLength": 280,
                                                    "description": "to the presenter "
                                                    "screens; blank clears (docs/stage.md)"}},
                               ("text",)),
        "SignalCommand": kind("signal", {"cue": {"enum": ["wrap", "stretch", None]}}),
        "ReadCommand": kind("read", {"message_id": {"type": "integer"}}, ("message_id",)),
    }


def document(extra_paths: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The document; `extra_paths`: the adapters' routes (create_app's `openapi_paths`),
    whose operations may use this document's components (`#/components/...`)."""
    doc = _document()
    for path, item in (extra_paths or {}).items():
        if path in doc["paths"]:
            raise ValueError(f"{path} is already in the OpenAPI document")
        doc["paths"][path] = dict(item)
    return doc


def _document() -> dict[str, Any]:
    commands = _command_schemas()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "showctl control API",
            "version": "1",
            "description": (
                "Run the live show from its rundown. Every /api/ route but login and logout "
                "needs `Authorization: Bearer TOKEN` or the console's session cookie "
                "`showctl_session` (from `POST /api/login`); roles are director > producer > "
                "viewer. With the cookie, POSTs and the websocket upgrade must come from "
                "this server's own pages (Origin = Host), else 403 `cross_site`. "
                "Commands answer with the read model after them; errors are "
                "`{\"error\": code, \"reason\": text}`."),
        },
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": {
            "/": {"get": {
                "summary": "The director's console",
                "description": (
                    "index.html, open without a credential (the login form is there). With "
                    "`?token=TOKEN`: logs in (sets the session cookie when the token is "
                    "valid) and redirects (303) to `/`, or to `/?login=failed`, so the token "
                    "leaves the address bar."),
                "security": [],
                "parameters": [{"name": "token", "in": "query", "required": False,
                                "description": "log in once with this token",
                                "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "the console", "content": {"text/html": {}}},
                    "303": {"description": "logged in (or not): go to `/`", "headers": {
                        "Set-Cookie": {"description": "the session cookie, when the token "
                                       "is valid", "schema": {"type": "string"}}}},
                    "404": {"description": "the console is not installed"},
                },
            }},
            "/static/{path}": {"get": {
                "summary": "The console's files",
                "description": "Files under control/web/static (`Cache-Control: no-cache`); "
                               "no directory listings; anything outside is a 404.",
                "security": [],
                "parameters": [{"name": "path", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the file"},
                              "404": {"description": "no such file"}},
            }},
            "/lib/{name}": {"get": {
                "summary": "The library every page loads",
                "description": "control/lib: the websocket client, the server clock, JSON "
                               "Patch, the two languages (`Cache-Control: no-cache`).",
                "security": [],
                "parameters": [{"name": "name", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the file"},
                              "404": {"description": "no such file"}},
            }},
            "/api/login": {"post": {
                "summary": "Log in (console)",
                "description": (
                    "Trade a token for a session: sets the HttpOnly, SameSite=Strict cookie "
                    "`showctl_session` (a random id; the server keeps its role). A foreign "
                    "Origin is refused (403)."),
                "security": [],
                "requestBody": _body(_obj({"token": {"type": "string", "minLength": 1}},
                                          ("token",)), required=True),
                "responses": {
                    "200": {**_json("logged in", _obj({"role": {"$ref": _OBJ + "Role"}},
                                                      ("role",))),
                            "headers": {"Set-Cookie": {"description": "the session cookie",
                                                       "schema": {"type": "string"}}}},
                    "401": {"$ref": _RESP + "Unauthorized"},
                    **_errors(400, 413, public=True)},
            }},
            "/api/logout": {"post": {
                "summary": "Log out (console)",
                "description": "Ends the session of the cookie (if any) and clears the cookie.",
                "security": [],
                "requestBody": _EMPTY,
                "responses": {"200": _json("logged out", _obj({"ok": {"const": True}},
                                                              ("ok",))),
                              **_errors(400, 413, public=True)},
            }},
            "/api/whoami": {"get": {
                "summary": "The caller's role",
                "responses": {"200": _json("the role of this token or session",
                                           _obj({"role": {"$ref": _OBJ + "Role"}}, ("role",))),
                              **_errors()},
            }},
            "/api/notes/{id}": {"post": _command(
                "Producer's note", "Set the producer's note on a segment for the director "
                "(`segments[*].producer_note`); empty text clears it. Producer or director.",
                segment=True,
                body=_body(_obj({"text": {"type": "string", "maxLength": 2000}}, ("text",)),
                           required=True))},
            "/api/reload": {"post": {
                "summary": "Reload the rundown",
                "description": (
                    "Read the rundown file the show was started with again and swap it in "
                    "(journaled). The segment on air stays on air with its elapsed time; "
                    "the answer and `show.last_reload` say what changed. An invalid file "
                    "changes nothing (422, every error as FILE:LINE:COL); a file without the "
                    "segment on air is refused (409): take another segment first."),
                "requestBody": _EMPTY,
                "responses": {"200": _json("reloaded", {"$ref": _OBJ + "Reloaded"}),
                              **_errors(400, 409, 413, 422)},
            }},
            "/api/stream": {"post": _command(
                "Stream", "Start (active: true) or stop streaming in OBS; answers once OBS "
                "confirms it (`obs.streaming`), 502 with OBS's reason if it does not.",
                body=_body(_obj({"active": {"type": "boolean"}}, ("active",)), required=True),
                extra=(502,))},
            "/api/record": {"post": _command(
                "Record", "Start (active: true) or stop recording in OBS; answers once OBS "
                "confirms it (`obs.recording`), 502 with OBS's reason if it does not.",
                body=_body(_obj({"active": {"type": "boolean"}}, ("active",)), required=True),
                extra=(502,))},
            "/api/state": {"get": {
                "summary": "The read model",
                "description": "The one read model that the console, tests and tools share.",
                "responses": {"200": {"description": "the read model", "content": {
                    "application/json": {"schema": {"$ref": _OBJ + "State"}}}},
                    **_errors()},
            }},
            "/api/openapi.json": {"get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {
                    "application/json": {"schema": {"type": "object"}}}}, **_errors()},
            }},
            "/api/ws": {"get": {
                "summary": "State websocket",
                "description": (
                    "Upgrade to a websocket. The server sends `{\"type\": \"state\", "
                    "\"state\": ...}` on connect and on every change (a slow client gets only "
                    "the latest), `{\"type\": \"pong\"}` for `{\"type\": \"ping\"}` and "
                    "`{\"type\": \"error\", \"reason\": ...}` for anything else. Closes with "
                    "1001 on server shutdown. Browsers use the session cookie (the upgrade "
                    "must then come from this server's page: Origin = Host)."),
                "parameters": [TOKEN_QUERY],
                "security": [{"bearer": []}, {"token": []}, {"cookie": []}],
                "responses": {"101": {"description": "switching to the websocket"},
                              **_errors()},
            }},
            "/api/take": {"post": _command(
                "Take next", "Put the next segment on air now; with nothing left, end the show.",
                take=True, body=_TAKE)},
            "/api/take/{id}": {"post": _command(
                "Take a segment", "Put this segment on air now.", segment=True, take=True,
                body=_TAKE)},
            "/api/next/{id}": {"post": _command(
                "Set next", "Choose what the next take puts on air.", segment=True)},
            "/api/next": {"delete": _command(
                "Clear next", "Back to the running order for the next take.")},
            "/api/hold": {"post": _command(
                "Hold", "Stop (on: false resumes) the on-air segment's auto-advance.",
                body=_body(_obj({"on": {"type": "boolean", "default": True}}), required=False))},
            "/api/extend": {"post": _command(
                "Extend", "Give the on-air segment more time (negative: less).",
                body=_body(_obj({"seconds": {"type": "number", "minimum": -3600,
                                             "maximum": 3600}}, ("seconds",)), required=True))},
            "/api/skip/{id}": {"post": _command(
                "Skip", "Drop a segment from the running order (skip: false restores it).",
                segment=True,
                body=_body(_obj({"skip": {"type": "boolean", "default": True}}),
                           required=False))},
            "/api/back": {"post": _command(
                "Back", "Set next to the segment before the one on air.")},
            "/api/panic": {"post": _command(
                "Panic", "Cut program to the safe scene at once; the next take leaves panic.")},
            "/api/mode": {"post": _command(
                "Mode", "Switch between rehearsal and live.",
                body=_body(_obj({"mode": {"enum": ["rehearsal", "live"]}}, ("mode",)),
                           required=True))},
            "/api/arm": {"post": _command(
                "Arm", "Arm or disarm hard starts and the automatic show start.",
                body=_body(_obj({"armed": {"type": "boolean"}}, ("armed",)), required=True))},
            "/api/command": {"post": _command(
                "Any command", "A command as the journal writes it; `by` and `source` are "
                "set by the server.", take=True,
                body=_body({"$ref": _OBJ + "Command"}, required=True))},
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "token": {"type": "apiKey", "in": "query", "name": "token",
                          "description": "only on /api/ws"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "showctl_session",
                           "description": "the console's session, from POST /api/login"},
            },
            "schemas": {
                "State": {"type": "object", "required": ["segments"], "properties": {
                    "segments": {"type": "array", "items": {
                        "type": "object", "required": ["id"],
                        "properties": {"id": {"type": "string"},
                                       "notes": {"type": ["string", "null"]},
                                       "producer_note": {"type": ["string", "null"]}}}},
                    "show": {"type": "object", "properties": {
                        "last_reload": {"oneOf": [{"type": "null"}, {
                            "type": "object", "required": ["at", "at_ms", "changes"],
                            "properties": {"at": {"type": "string"},
                                           "at_ms": {"type": "integer"},
                                           "changes": {"$ref": _OBJ + "Changes"}}}]}}}}},
                "Role": {"enum": ["viewer", "producer", "director"]},
                "Changes": {
                    "type": "object",
                    "required": ["added", "removed", "retimed", "changed"],
                    "properties": {
                        "added": {"type": "array", "items": {"type": "string"}},
                        "removed": {"type": "array", "items": {"type": "string"}},
                        "retimed": {"type": "array", "items": _obj(
                            {"id": {"type": "string"}, "from_s": {"type": "number"},
                             "to_s": {"type": "number"}}, ("id", "from_s", "to_s"))},
                        "changed": {"type": "array", "items": {"type": "string"},
                                    "description": "same id, other scene/title/items/..."},
                        "moved": {"type": "array", "items": {"type": "string"}},
                        "show": {"type": "array", "items": {"type": "string"},
                                 "description": "header fields that changed"},
                        "guests": {"type": "boolean",
                                   "description": "the guest roster changed"}}},
                "Reloaded": _obj({"ok": {"const": True}, "changes": {"$ref": _OBJ + "Changes"},
                                  "warnings": {"type": "array", "items": {"type": "string"}},
                                  "state": {"$ref": _OBJ + "State"}},
                                 ("ok", "changes", "state")),
                "InvalidRundownError": _obj({
                    "error": {"const": "invalid_rundown"}, "reason": {"type": "string"},
                    "errors": {"type": "array", "items": {"type": "string"},
                               "description": "FILE:LINE:COL: error: MESSAGE"}},
                    ("error", "reason", "errors")),
                "Applied": _obj({"ok": {"const": True}, "state": {"$ref": _OBJ + "State"}},
                                ("ok", "state")),
                "Error": _obj({"error": {"type": "string"}, "reason": {"type": "string"}},
                              ("error", "reason")),
                "Command": {"oneOf": [{"$ref": _OBJ + name} for name in commands],
                            "discriminator": {"propertyName": "kind", "mapping": {
                                s["properties"]["kind"]["const"]: _OBJ + name
                                for name, s in commands.items()}}},
                **commands,
            },
            "responses": {
                "Applied": {"description": "applied; the read model after it", "content": {
                    "application/json": {"schema": {"$ref": _OBJ + "Applied"}}}},
                **{name: _error(text) for name, text in (
                    ("BadRequest", "malformed JSON (with line and column), a wrong or "
                                   "unknown field (named), or a bad X-Showctl-Source"),
                    ("Unauthorized", "no token, or not a valid one"),
                    ("Forbidden", "the role may not do this (`forbidden`), or a cookie (or "
                                  "login) from another site's page (`cross_site`)"),
                    ("NotFound", "no such segment (or route)"),
                    ("Refused", "the show cannot do this now; `reason` says why"),
                    ("TooLarge", "the body is over 64 KiB"),
                    ("Internal", "a bug; `reason` has an id that is also in the log"),
                    ("OutputFailed", "OBS did not start or stop the output; `reason` says "
                                     "why (`output_failed`)"),
                )},
                "InvalidRundown": _json("the rundown file is not valid; nothing changed",
                                        {"$ref": _OBJ + "InvalidRundownError"}),
            },
        },
    }


def _error(description: str) -> Schema:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": _OBJ + "Error"}}}}
