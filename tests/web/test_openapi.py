"""The hand-written OpenAPI document is the app's routes, no more and no less: create_app's
own, and with the adapters' API routes (the overlays) when the app is made with them."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from web.support import TOKENS, VIEWER, FakeShow, call, make_app

from control.overlays import OPENAPI_PATHS, OverlayHub, api_routes, install
from control.show.diagnostics import Diagnostic, RundownError
from control.web import openapi
from control.web.app import PERMISSIONS, create_app
from control.web.auth import Auth

DOC = openapi.document()
FULL = openapi.document(OPENAPI_PATHS)  # with the overlays' API, as the controller serves it
OVERLAY_API = {("GET", "/api/overlays"), ("POST", "/api/overlays/{template}/{verb}")}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def schema_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for `schema` whose `$ref`s point into the OpenAPI document."""
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(
        {**FULL, "$schema": "https://json-schema.org/draft/2020-12/schema"},
        default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": "urn:openapi" + schema["$ref"]} if "$ref" in schema
                                else schema, registry=registry)


def doc_endpoints(doc: dict[str, Any] = DOC) -> set[tuple[str, str]]:
    return {(m.upper(), path) for path, item in doc["paths"].items() for m in item
            if m in METHODS}


def app_routes(app: Any) -> set[tuple[str, str]]:
    return {(r.method, r.resource.canonical) for r in app.router.routes()
            if r.resource is not None}


def test_the_document_and_the_routes_match_exactly() -> None:
    app = make_app(FakeShow())
    routes = app_routes(app)
    assert routes == doc_endpoints()
    assert dict(app["permissions"]) == PERMISSIONS
    # and every API route has a role (the console's files are open: the login form is there)
    assert set(PERMISSIONS) == {r for r in routes if r[1].startswith("/api/")}
    assert routes - set(PERMISSIONS) == {("GET", "/"), ("GET", "/static/{path}"),
                                         ("GET", "/lib/{name}")}
    for method, path in routes:  # open routes say so, and only those
        op = DOC["paths"][path][method.lower()]
        assert (op.get("security") == []) == (PERMISSIONS.get((method, path), "public")
                                               == "public"), path


def overlay_app() -> Any:
    """The app as the controller makes it: the overlays' API in the guard's table and the
    document, their handlers (and pages) installed."""
    app = create_app(FakeShow(), Auth.from_settings(**TOKENS),  # type: ignore[arg-type]
                     extra_routes=api_routes(), openapi_paths=OPENAPI_PATHS)
    install(app, OverlayHub(), authorize=lambda request, role: None, read_key=lambda: "k")
    return app


def test_with_the_overlays_every_api_route_is_documented_and_guarded() -> None:
    app = overlay_app()
    routes = app_routes(app)
    api = {r for r in routes if r[1].startswith("/api/")}
    assert api == {e for e in doc_endpoints(FULL) if e[1].startswith("/api/")}
    assert set(app["permissions"]) == api  # the guard's one table has every API route
    assert api - set(PERMISSIONS) == OVERLAY_API
    assert {app["permissions"][e] for e in OVERLAY_API} == {"producer"}
    # besides the API: the console's files (documented) and the overlay pages (not the API)
    assert routes - doc_endpoints(FULL) == {
        (m, path) for m in ("GET", "HEAD")
        for path in ("/overlays/ws", "/overlays/lib", "/overlays/{name}")}
    for method, path in OVERLAY_API:
        op = FULL["paths"][path][method.lower()]
        assert "security" not in op  # the document's default: a token or the session


async def test_it_is_served(client: TestClient) -> None:
    assert await call(client, "GET", "/api/openapi.json", token=VIEWER) == (200, DOC)
    async with TestClient(TestServer(overlay_app(), host="127.0.0.1")) as full:
        assert await call(full, "GET", "/api/openapi.json", token=VIEWER) == (200, FULL)


@pytest.mark.parametrize(("extra", "paths", "error"), [
    ([("GET", "/overlays/x", "viewer")], None, "under /api/"),
    ([("POST", "/api/take", "viewer")], None, "already a route"),
    ([("GET", "/api/x", "admin")], None, "unknown role"),
    ([("GET", "/api/x", "viewer")], {"/api/y": {"get": {}}}, "no more and no less"),
    ([("GET", "/api/x", "viewer")], {}, "no more and no less"),
])
def test_extra_routes_are_checked(extra: Any, paths: Any, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        create_app(FakeShow(), Auth.from_settings(**TOKENS),  # type: ignore[arg-type]
                   extra_routes=extra, openapi_paths=paths)


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

    walk(FULL)
    for ref in refs:  # every reference resolves (the overlays' too)
        node: Any = FULL
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    for path, item in FULL["paths"].items():
        for op in item.values():
            if not path.startswith("/api/"):
                continue  # the console's files: 200 or 404
            needed = {"403", "500"} if op.get("security") == [] else {"401", "403", "500"}
            assert needed <= set(op["responses"]), path
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path


def request_schema(method: str, path: str) -> dict[str, Any]:
    op = FULL["paths"][path][method.lower()]
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
    ("POST", "/api/overlays/{template}/{verb}", {"data": {"name": "朱定真"}, "bus": "preview"}),
    ("POST", "/api/overlays/{template}/{verb}", {}),
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
    ("POST", "/api/overlays/{template}/{verb}", {"bus": "air"}),
    ("POST", "/api/overlays/{template}/{verb}", {"data": "Zhu"}),
    ("POST", "/api/overlays/{template}/{verb}", {"data": {}, "colour": "red"}),
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
                                                                fake: FakeShow) -> None:
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
