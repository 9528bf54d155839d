"""Template field schemas: the data each graphic accepts, checked before anything airs.

Each template in overlays/ declares its fields in `<template>.schema.json`, a JSON Schema
(draft 2020-12) restricted to the keywords below, so the controller needs no schema library
at run time and a template cannot declare a rule it would silently not enforce (an unknown
keyword is an error when the catalog loads). `x-showctl.steps` is the template's step count
(OGraf `stepCount`) for `next`.

A field with `"format": "date-time"` is an absolute instant with a UTC offset
(`2024-01-01T00:00:00+08:00`); cue data from a rehearsal's shifted rundown is moved with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
KEYWORDS = frozenset({
    "$schema", "$id", "title", "description", "type", "properties", "required",
    "additionalProperties", "maxLength", "minLength", "pattern", "format", "items",
    "maxItems", "minItems", "enum", "minimum", "maximum", "default", "examples", "x-showctl",
})
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list, tuple), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),),
}
MAX_ERRORS = 20


# the RFC 3339 shape, which the pages' Date.parse reads; Python's fromisoformat alone also
# takes ISO 8601's other forms (20240101T000000+0800, week dates): NaN on a page
_INSTANT_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
                         r"(Z|[+-]\d{2}:\d{2})", re.ASCII)


def parse_instant(text: str) -> datetime | None:
    """An RFC 3339 date-time with a UTC offset (2024-01-01T00:00:00+08:00), or None."""
    if not _INSTANT_RE.fullmatch(text):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _is_type(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(kind, ()))


def _where(path: str) -> str:
    return path or "data"


def validate(schema: Mapping[str, Any], value: Any, path: str = "",
             *, partial: bool = False) -> list[str]:
    """Every way `value` breaks `schema`, as `field: reason` lines (empty: it fits).
    `partial`: the top level may leave out required fields (an `update` merges into data)."""
    errors: list[str] = []
    kind = schema.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        if not any(_is_type(value, k) for k in kinds):
            got = "text" if isinstance(value, str) else type(value).__name__
            if value is None:
                got = "null"
            return [f"{_where(path)}: must be {' or '.join(kinds)}, not {got}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{_where(path)}: must be one of "
                      f"{', '.join(json.dumps(v, ensure_ascii=False) for v in schema['enum'])}")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{_where(path)}: is {len(value)} characters long; "
                          f"at most {schema['maxLength']}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{_where(path)}: must be at least {schema['minLength']} "
                          "character(s) long" if schema["minLength"] > 1
                          else f"{_where(path)}: must not be empty")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{_where(path)}: {_pattern_reason(schema)}")
        if schema.get("format") == "date-time" and parse_instant(value) is None:
            errors.append(f"{_where(path)}: must be a date and time with a UTC offset, "
                          "e.g. 2024-01-01T00:00:00+08:00")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{_where(path)}: must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{_where(path)}: must be at most {schema['maximum']}")
    if isinstance(value, list | tuple):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{_where(path)}: has {len(value)} items; at most {schema['maxItems']}")
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{_where(path)}: needs at least {schema['minItems']} item(s)")
        items = schema.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                errors.extend(validate(items, item, f"{path}[{i}]"))
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        if not partial:
            for name in schema.get("required") or ():
                if name not in value:
                    errors.append(f"{_join(path, name)}: is required")
        for name, item in value.items():
            if name in props:
                errors.extend(validate(props[name], item, _join(path, str(name))))
            elif schema.get("additionalProperties") is False:
                known = ", ".join(props) or "none"
                errors.append(f"{_join(path, str(name))}: unknown field (fields: {known})")
    return errors[:MAX_ERRORS]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _pattern_reason(schema: Mapping[str, Any]) -> str:
    hint = (schema.get("x-showctl") or {}).get("pattern_hint")
    return str(hint) if hint else f"does not match {schema['pattern']}"


def check_schema(schema: Any, path: str = "") -> list[str]:
    """Keywords outside the subset this module enforces (a template must not rely on them)."""
    if not isinstance(schema, Mapping):
        return [f"{path or 'schema'}: must be an object"]
    errors = [f"{path or 'schema'}: unsupported keyword {key!r}"
              for key in schema if key not in KEYWORDS]
    for name, sub in (schema.get("properties") or {}).items():
        errors.extend(check_schema(sub, f"{path}.properties.{name}"))
    if isinstance(schema.get("items"), Mapping):
        errors.extend(check_schema(schema["items"], f"{path}.items"))
    for key in ("maxLength", "maxItems"):
        if key in schema and not isinstance(schema[key], int):
            errors.append(f"{path or 'schema'}: {key} must be an integer")
    if schema.get("type") == "string" and "maxLength" not in schema and "enum" not in schema \
            and schema.get("format") != "date-time":
        errors.append(f"{path or 'schema'}: a text field needs a maxLength")
    if "pattern" in schema:
        try:
            re.compile(schema["pattern"])
        except re.error as exc:
            errors.append(f"{path or 'schema'}: bad pattern: {exc}")
    return errors


def shift_instants(schema: Mapping[str, Any], data: Mapping[str, Any],
                   shift_ms: int) -> dict[str, Any]:
    """`data` with every top-level date-time field moved by `shift_ms` (a rehearsal's shift),
    written back with its own UTC offset. Fields that do not parse are left as they are."""
    out = dict(data)
    if not shift_ms:
        return out
    for name, sub in (schema.get("properties") or {}).items():
        value = out.get(name)
        if isinstance(sub, Mapping) and sub.get("format") == "date-time" \
                and isinstance(value, str):
            instant = parse_instant(value)
            if instant is not None:
                out[name] = (instant + timedelta(milliseconds=shift_ms)).isoformat(
                    timespec="milliseconds")
    return out


def default_directory() -> Path:
    """overlays/ of the source tree, or of the directory showctl runs in (an installed
    package, e.g. the container image's /srv/showctl)."""
    tree = Path(__file__).resolve().parents[2] / "overlays"
    return tree if tree.is_dir() else Path.cwd() / "overlays"


class Catalog:
    """The templates of one directory: `<name>.html` with its `<name>.schema.json`.
    Raises ValueError naming the file when a schema is broken (caught at start, not on air)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = (directory or default_directory()).resolve()
        self._schemas: dict[str, dict[str, Any]] = {}
        if not self.directory.is_dir():
            return
        for page in sorted(self.directory.glob("*.html")):
            name = page.stem
            if not NAME_RE.match(name):
                continue
            path = self.directory / f"{name}.schema.json"
            if not path.exists():
                raise ValueError(f"{page}: no {path.name} next to it (every template "
                                 "declares its fields)")
            try:
                schema = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise ValueError(f"{path}: not valid JSON: {exc}") from None
            problems = check_schema(schema)
            if problems:
                raise ValueError(f"{path}: {problems[0]}")
            self._schemas[name] = schema

    def names(self) -> list[str]:
        return sorted(self._schemas)

    def __contains__(self, name: object) -> bool:
        return name in self._schemas

    def schema(self, name: str) -> dict[str, Any]:
        return self._schemas[name]

    def steps(self, name: str) -> int:
        return int((self._schemas[name].get("x-showctl") or {}).get("steps", 1))

    def page(self, name: str) -> Path:
        return self.directory / f"{name}.html"

    def check(self, name: str, data: Any, *, partial: bool = False) -> list[str]:
        if name not in self._schemas:
            known = ", ".join(self.names()) or "none"
            return [f"no overlay template {name!r} (templates: {known})"]
        if not isinstance(data, Mapping):
            return ["data: must be an object of fields"]
        return validate(self._schemas[name], dict(data), partial=partial)

    def shift(self, name: str, data: Mapping[str, Any], shift_ms: int) -> dict[str, Any]:
        if name not in self._schemas:
            return dict(data)
        return shift_instants(self._schemas[name], data, shift_ms)


@cache
def default_catalog() -> Catalog:
    """The templates of overlays/, read once."""
    return Catalog()
