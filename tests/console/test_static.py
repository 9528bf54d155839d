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
