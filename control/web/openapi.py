"""The API's OpenAPI 3.1 document, written by hand so it reads as the API's manual.

A test checks that its paths and methods are exactly the app's routes. Schemas are JSON
Schema 2020-12 (OpenAPI 3.1), so tools and tests can validate bodies against them.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

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


def _errors(*statuses: int) -> dict[str, Any]:
    names = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
             409: "Refused", 413: "TooLarge", 500: "Internal"}
    return {str(s): {"$ref": _RESP + names[s]} for s in (401, 403, *statuses, 500)}


def _command(summary: str, description: str, *, body: Schema | None = None,
             segment: bool = False, take: bool = False) -> Schema:
    """A director's command route: answers with the read model after the command."""
    params = ([SEGMENT_ID] if segment else []) + ([SOURCE] if take else [])
    op: Schema = {
        "summary": summary,
        "description": description,
        "requestBody": body or _EMPTY,
        "responses": {"200": {"$ref": _RESP + "Applied"},
                      **_errors(400, *((404,) if segment else ()), 409, 413)},
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
        "TakeCommand": kind("take", {"segment_id": seg, "source": ignored}),
        "NextCommand": kind("next", {"segment_id": seg}, ("segment_id",)),
        "HoldCommand": kind("hold", {"on": {"type": "boolean"}}),
        "ExtendCommand": kind("extend", {"ms": {"type": "integer", "minimum": -3_600_000,
                                                "maximum": 3_600_000}}, ("ms",)),
        "SkipCommand": kind("skip", {"segment_id": seg, "skip": {"type": "boolean"}}),
        "BackCommand": kind("back"),
        "PanicCommand": kind("panic"),
        "ModeCommand": kind("mode", {"mode": {"enum": ["rehearsal", "live"]}}, ("mode",)),
        "ArmCommand": kind("arm", {"armed": {"type": "boolean"}}),
    }


def document() -> dict[str, Any]:
    commands = _command_schemas()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "showctl control API",
            "version": "1",
            "description": (
                "Run the live show from its rundown. Every route needs "
                "`Authorization: Bearer TOKEN`; roles are director > producer > viewer. "
                "Commands answer with the read model after them; errors are "
                "`{\"error\": code, \"reason\": text}`."),
        },
        "security": [{"bearer": []}],
        "paths": {
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
                    "1001 on server shutdown."),
                "parameters": [TOKEN_QUERY],
                "security": [{"bearer": []}, {"token": []}],
                "responses": {"101": {"description": "switching to the websocket"},
                              **_errors()},
            }},
            "/api/take": {"post": _command(
                "Take next", "Put the next segment on air now; with nothing left, end the show.",
                take=True)},
            "/api/take/{id}": {"post": _command(
                "Take a segment", "Put this segment on air now.", segment=True, take=True)},
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
            },
            "schemas": {
                "State": {"type": "object", "required": ["segments"], "properties": {
                    "segments": {"type": "array", "items": {
                        "type": "object", "required": ["id"],
                        "properties": {"id": {"type": "string"}}}}}},
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
                    ("Forbidden", "the token's role may not do this"),
                    ("NotFound", "no such segment (or route)"),
                    ("Refused", "the show cannot do this now; `reason` says why"),
                    ("TooLarge", "the body is over 64 KiB"),
                    ("Internal", "a bug; `reason` has an id that is also in the log"),
                )},
            },
        },
    }


def _error(description: str) -> Schema:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": _OBJ + "Error"}}}}
