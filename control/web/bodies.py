"""Reading untrusted request bodies: JSON objects with known fields of known types.

Every way a body can be wrong ends in an ApiError naming where (line/column) or which field,
so a person at the console, or whoever writes an OSC bridge, can fix it without a debugger.
"""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

from control import bodies
from control.show.commands import json_type

from .errors import ApiError

MAX_BODY = bodies.MAX_BODY  # the app's client_max_size too


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_json(request: web.Request) -> Any:
    """The body as JSON; an empty body is `{}` (so `POST /api/back` needs no body)."""
    raw = await read_body(request)
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(400, "bad_json", f"the body is not UTF-8 (byte {e.start})") from None
    try:
        body = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise ApiError(400, "bad_json",
                       f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise ApiError(400, "bad_json", "the JSON is nested too deeply") from None
    except ValueError as e:  # NaN/Infinity, integers of more than 4300 digits
        raise ApiError(400, "bad_json", f"malformed JSON: {e}") from None
    _unicode(body)
    return body


async def read_body(request: web.BaseRequest) -> bytes:
    """The whole body (control/bodies.py: size and time limits), or an ApiError."""
    try:
        return await bodies.read_body(request)
    except bodies.BodyError as e:
        raise ApiError(e.status, e.code, e.reason, e.headers or None) from None


def _encodes(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    except RecursionError:
        raise ApiError(400, "bad_json", "the JSON is nested too deeply") from None
    return True


def _unicode(body: Any) -> None:
    """JSON may escape a lone surrogate (`"\\udc80"`): not Unicode text, so it could be
    neither journaled nor sent to a console (UTF-8). Refused, naming the field."""
    if _encodes(body):
        return
    where = "a text in the body"
    if isinstance(body, dict):
        where = next((f"field {k!r}" for k, v in body.items()
                      if not (_encodes(k) and _encodes(v))), where)
    raise ApiError(400, "bad_field", f"{where} is not valid Unicode: it has a lone surrogate "
                   "(an escape such as \\udc80 without its pair)")


def bad_field(field: str, reason: str) -> ApiError:
    return ApiError(400, "bad_field", f"field {field!r} {reason}")


def fields(body: Any, *allowed: str) -> dict[str, Any]:
    """`body` as an object with no fields but `allowed`."""
    if not isinstance(body, dict):
        raise ApiError(400, "bad_body", f"the body must be a JSON object, not {json_type(body)}")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        known = ", ".join(allowed) if allowed else "none"
        raise ApiError(400, "bad_field", f"unknown field(s) {', '.join(map(repr, unknown))}; "
                       f"known: {known}")
    return body


def boolean(body: dict[str, Any], name: str, default: bool | None = None) -> bool:
    """A true/false field; `default` None makes it required."""
    if name not in body:
        if default is None:
            raise bad_field(name, "is required (true or false)")
        return default
    value = body[name]
    if not isinstance(value, bool):
        raise bad_field(name, f"must be true or false, not {json_type(value)}")
    return value


def number(body: dict[str, Any], name: str, limit: float) -> float | int:
    """A required finite number with |value| <= limit."""
    if name not in body:
        raise bad_field(name, "is required (a number)")
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_field(name, f"must be a number, not {json_type(value)}")
    if not (isinstance(value, int) or math.isfinite(value)) or abs(value) > limit:
        raise bad_field(name, f"must be between -{limit:g} and {limit:g}")
    return value


def choice(body: dict[str, Any], name: str, options: tuple[str, ...]) -> str:
    """A required string, one of `options`."""
    if name not in body:
        raise bad_field(name, f"is required (one of {', '.join(options)})")
    value = body[name]
    if not isinstance(value, str) or value not in options:
        raise bad_field(name, f"must be one of {', '.join(options)}")
    return value
