"""The API's routes as its own OpenAPI document lists them (`GET /api/openapi.json`): each
method and path, its path parameters with known good values, its JSON body's schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fuzz.support import GUEST, SEGMENTS, Live

METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as documented: /api/take/{id}
    params: tuple[tuple[str, tuple[str, ...]], ...]  # path parameter -> known good values
    schema: dict[str, Any] | None  # the JSON body's schema, $refs resolved


def _resolve(node: Any, doc: dict[str, Any], depth: int = 0) -> Any:
    if depth > 8:
        return {}
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            target: Any = doc
            for part in node["$ref"][2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            return _resolve(target, doc, depth + 1)
        return {k: _resolve(v, doc, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, doc, depth + 1) for v in node]
    return node


def _known(live: Live, path: str, name: str, schema: dict[str, Any]) -> tuple[str, ...]:
    if "enum" in schema:
        return tuple(str(v) for v in schema["enum"])
    if name == "id":
        return (GUEST,) if path.startswith("/api/guests/") else SEGMENTS
    if name == "template":
        return tuple(live.overlays.catalog.names())
    if name == "path":
        return ("main.js", "index.html", "console.css")
    return ()


def routes(live: Live) -> list[Route]:
    """Every documented (method, path) with its path parameters and body schema."""
    resp = live.request("GET", "/api/openapi.json")
    assert resp.status == 200
    doc = resp.json()
    out = []
    for path, item in sorted(doc["paths"].items()):
        for method, op in sorted(item.items()):
            if method not in METHODS:
                continue
            op = _resolve(op, doc)
            params = tuple((p["name"], _known(live, path, p["name"], p.get("schema") or {}))
                           for p in op.get("parameters", []) if p.get("in") == "path")
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json", {})
            schema = body.get("schema")
            out.append(Route(method.upper(), path, params,
                             _flatten(schema) if isinstance(schema, dict) else None))
    assert len(out) > 20, "the OpenAPI document lists fewer routes than expected"
    return out


def _flatten(schema: dict[str, Any]) -> dict[str, Any]:
    """A body schema with oneOf/anyOf: all their properties together (so each kind's fields
    get generated)."""
    variants = schema.get("oneOf") or schema.get("anyOf")
    if not variants:
        return schema
    props: dict[str, Any] = {}
    for v in variants:
        if isinstance(v, dict):
            for name, sub in (v.get("properties") or {}).items():
                if name == "kind" and "const" in sub:
                    props.setdefault("kind", {"enum": []})["enum"].append(sub["const"])
                else:
                    props.setdefault(name, sub)
    return {"type": "object", "properties": props}


def fill(route: Route, values: dict[str, str]) -> str:
    path = route.path
    for name, _ in route.params:
        path = path.replace("{" + name + "}", quote(values[name], safe="", errors="surrogatepass"))
    return path
