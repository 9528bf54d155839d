"""The console's files as they are served: plain files, no build step, text never as HTML."""

from __future__ import annotations

import re

from rundowns import ROOT

STATIC = ROOT / "control" / "web" / "static"
LIB = ROOT / "control" / "lib"


def test_the_files_are_flat_and_plain():
    # served as /static/{name}; the files the browser gets are these files
    names = sorted(p.name for p in STATIC.iterdir())
    assert {"index.html", "main.js", "console.css", "i18n.en.json", "i18n.zh.json"} <= set(names)
    assert all((STATIC / n).is_file() for n in names)
    for path in STATIC.glob("*.js"):
        for target in re.findall(r"""^import .* from "([^"]+)";""", path.read_text("utf-8"), re.M):
            # the console's own files, or the library every page shares (/lib/)
            if target.startswith("/lib/"):
                assert (LIB / target.removeprefix("/lib/")).is_file(), (path.name, target)
            else:
                assert target.startswith("./") and (STATIC / target[2:]).is_file(), (path.name, target)


def test_server_text_is_only_ever_inserted_as_text():
    html_sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|"
                            r"createContextualFragment|\beval\(|new Function")
    for path in [*STATIC.glob("*.js"), *LIB.glob("*.js")]:
        assert not html_sinks.search(path.read_text("utf-8")), path.name
    page = (STATIC / "index.html").read_text("utf-8")
    assert re.findall(r"<script[^>]*>", page) == ['<script type="module" src="/static/main.js">']


async def test_the_shared_library_is_served_once_by_name_without_a_credential():
    """/lib/ (control/pagelib.py): every page's one socket client and clock, open to all,
    files by name only; the console, the overlays and the guests may each ask for it."""
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from control import pagelib

    app = web.Application()
    pagelib.serve(app)
    pagelib.serve(app)  # a second adapter on the same port: a no-op
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for name in ("socket.js", "clock.js", "patch.js", "i18n.js"):
            r = await client.get(f"/lib/{name}")
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/javascript")
            assert r.headers["Cache-Control"] == "no-cache"
        for bad in ("/lib/nope.js", "/lib/..%2fpagelib.py", "/lib/", "/lib/%2e%2e"):
            assert (await client.get(bad)).status == 404, bad


def test_one_websocket_client_for_every_page():
    pages = [*STATIC.glob("*.js"), ROOT / "overlays" / "lib" / "graphic.js",
             ROOT / "control" / "guests" / "static" / "guest.js"]
    for path in pages:
        assert "new WebSocket(" not in path.read_text("utf-8"), path
    assert "new WebSocket(" in (LIB / "socket.js").read_text("utf-8")
