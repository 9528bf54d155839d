"""The hand-written OpenAPI document is the app's routes, no more and no less."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from web.support import VIEWER, FakeController, call, make_app

from control.show.diagnostics import Diagnostic, RundownError
from control.web import openapi
from control.web.app import PERMISSIONS

DOC = openapi.document()
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def schema_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for `schema` whose `$ref`s point into the OpenAPI document."""
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(
        {**DOC, "$schema": "https://json-schema.org/draft/2020-12/schema"},
        default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": "urn:openapi" + schema["$ref"]} if "$ref" in schema
                                else schema, registry=registry)


def doc_endpoints() -> set[tuple[str, str]]:
    return {(m.upper(), path) for path, item in DOC["paths"].items() for m in item
            if m in METHODS}


def test_the_document_and_the_routes_match_exactly() -> None:
    app = make_app(FakeController())
    routes = {(r.method, r.resource.canonical) for r in app.router.routes()
              if r.resource is not None}
    assert routes == doc_endpoints()
    # and every API route has a role (the console's files are open: the login form is there)
    assert set(PERMISSIONS) == {r for r in routes if r[1].startswith("/api/")}
    assert routes - set(PERMISSIONS) == {("GET", "/"), ("GET", "/static/{path}")}
    for method, path in routes:  # open routes say so, and only those
        op = DOC["paths"][path][method.lower()]
        assert (op.get("security") == []) == (PERMISSIONS.get((method, path), "public")
                                               == "public"), path


async def test_it_is_served(client: TestClient) -> None:
    assert await call(client, "GET", "/api/openapi.json", token=VIEWER) == (200, DOC)


def test_it_is_openapi_3_1_with_bearer_security() -> None:
    assert DOC["openapi"] == "3.1.0"
    assert DOC["components"]["securitySchemes"]["bearer"] == {"type": "http",
                                                              "scheme": "bearer"}
    assert DOC["security"] == [{"bearer": []}, {"cookie": []}]
    assert DOC["components"]["securitySchemes"]["cookie"] == {
        "type": "apiKey", "in": "cookie", "name": "showctl_session",
        "description": "the console's session, from POST /api/login"}
    refs = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(DOC)
    for ref in refs:  # every reference resolves
        node: Any = DOC
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    for path, item in DOC["paths"].items():
        for op in item.values():
            if not path.startswith("/api/"):
                continue  # the console's files: 200 or 404
            needed = {"403", "500"} if op.get("security") == [] else {"401", "403", "500"}
            assert needed <= set(op["responses"]), path
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path


def request_schema(method: str, path: str) -> dict[str, Any]:
    op = DOC["paths"][path][method.lower()]
    return op["requestBody"]["content"]["application/json"]["schema"]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/take", {}), ("POST", "/api/hold", {"on": False}),
    ("POST", "/api/extend", {"seconds": -12.5}), ("POST", "/api/skip/{id}", {"skip": False}),
    ("POST", "/api/mode", {"mode": "live"}), ("POST", "/api/arm", {"armed": True}),
    ("POST", "/api/command", {"kind": "take", "segment_id": "x", "by": "me", "source": "osc"}),
    ("POST", "/api/command", {"kind": "extend", "ms": 5000}),
    ("POST", "/api/command", {"kind": "back"}),
    ("POST", "/api/command", {"kind": "note", "segment_id": "x", "text": "科" * 2000}),
    ("POST", "/api/notes/{id}", {"text": ""}), ("POST", "/api/stream", {"active": True}),
    ("POST", "/api/record", {"active": False}), ("POST", "/api/login", {"token": "t"}),
    ("POST", "/api/reload", {}), ("POST", "/api/logout", {}),
])
def test_good_bodies_fit_the_document(method: str, path: str, body: Any) -> None:
    schema_validator(request_schema(method, path)).validate(body)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/take", {"segment_id": "x"}), ("POST", "/api/hold", {"on": "yes"}),
    ("POST", "/api/extend", {"seconds": 4000}), ("POST", "/api/extend", {}),
    ("POST", "/api/mode", {"mode": "dress"}), ("POST", "/api/arm", {}),
    ("POST", "/api/command", {"kind": "launch"}), ("POST", "/api/command", {"kind": "next"}),
    ("POST", "/api/command", {"kind": "extend", "ms": 1.5}),
    ("POST", "/api/command", {"kind": "note", "segment_id": "x"}),
    ("POST", "/api/notes/{id}", {"text": "x" * 2001}), ("POST", "/api/notes/{id}", {}),
    ("POST", "/api/stream", {}), ("POST", "/api/record", {"active": "yes"}),
    ("POST", "/api/login", {}), ("POST", "/api/reload", {"file": "x"}),
])
def test_bad_bodies_do_not(method: str, path: str, body: Any) -> None:
    assert not schema_validator(request_schema(method, path)).is_valid(body)


async def test_errors_and_answers_fit_the_document(client: TestClient) -> None:
    error = schema_validator({"$ref": "#/components/schemas/Error"})
    applied = schema_validator({"$ref": "#/components/schemas/Applied"})
    for method, path, token in [("GET", "/api/state", None), ("POST", "/api/take", VIEWER),
                                ("POST", "/api/take/nope", None), ("GET", "/api/nope", None),
                                ("POST", "/api/extend", None)]:
        kwargs = {} if token is None else {"token": token}
        status, answer = await call(client, method, path, **kwargs)
        if status == 200:
            schema_validator({"$ref": "#/components/schemas/State"}).validate(answer)
        else:
            error.validate(answer)
    status, answer = await call(client, "POST", "/api/back")
    assert status == 200
    applied.validate(answer)


async def test_reload_login_and_whoami_answers_fit_the_document(client: TestClient,
                                                                fake: FakeController) -> None:
    status, answer = await call(client, "POST", "/api/reload")
    assert status == 200
    schema_validator({"$ref": "#/components/schemas/Reloaded"}).validate(answer)
    fake.reload_error = RundownError([Diagnostic("r.yaml", 1, 2, "error", "bad")])
    status, answer = await call(client, "POST", "/api/reload")
    assert status == 422
    schema_validator({"$ref": "#/components/schemas/InvalidRundownError"}).validate(answer)
    for method, path, kwargs in (("get", "/api/whoami", {"token": VIEWER}),
                                 ("post", "/api/login", {"token": None,
                                                         "body": {"token": VIEWER}})):
        status, answer = await call(client, method.upper(), path, **kwargs)
        assert status == 200
        pointer = path.replace("/", "~1")  # JSON pointer escaping
        schema_validator({"$ref": f"#/paths/{pointer}/{method}/responses/200/content/"
                                  "application~1json/schema"}).validate(answer)
        assert not schema_validator({"$ref": f"#/paths/{pointer}/{method}/responses/200/"
                                             "content/application~1json/schema"}
                                    ).is_valid({"role": "admin"})
