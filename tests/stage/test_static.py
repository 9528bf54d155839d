"""The hosts' pages as served: plain ES modules importing only their own files and /lib/,
text never inserted as HTML, one websocket client, both languages complete."""

from __future__ import annotations

import json
import re

from rundowns import ROOT

STATIC = ROOT / "control" / "stage" / "static"
LIB = ROOT / "control" / "lib"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_imports_are_their_own_files_or_the_shared_library() -> None:
    for path in STATIC.glob("*.js"):
        for target in re.findall(r"""^import [^;]* from "([^"]+)";""", path.read_text("utf-8"),
                                 re.M | re.S):
            if target.startswith("/lib/"):
                assert (LIB / target.removeprefix("/lib/")).is_file(), (path.name, target)
            else:
                assert target.startswith("/stage/static/"), (path.name, target)
                assert (STATIC / target.removeprefix("/stage/static/")).is_file()


def test_no_html_sinks_and_one_websocket_client() -> None:
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|"
                       r"new Function")
    for path in STATIC.glob("*.js"):
        text = path.read_text("utf-8")
        assert not sinks.search(text), path.name
        assert "new WebSocket(" not in text, path.name
    for page in ("presenter.html", "prompter.html"):
        scripts = re.findall(r"<script[^>]*>", (STATIC / page).read_text("utf-8"))
        assert scripts == [f'<script type="module" src="/stage/static/{page[:-5]}.js">']


def test_both_languages_have_every_key_the_pages_use() -> None:
    en = json.loads((STATIC / "i18n.en.json").read_text("utf-8"))
    zh = json.loads((STATIC / "i18n.zh.json").read_text("utf-8"))
    assert set(en) == set(zh)
    for key in en:
        assert set(PLACEHOLDER.findall(en[key])) == set(PLACEHOLDER.findall(zh[key])), key
    used = {f"tally.{s}" for s in ("on-air", "rehearsal", "panic", "standby", "ended")}
    used |= {f"flex.{k}" for k in ("stretch", "cut", "on-time")}
    used |= {f"signal.{c}" for c in ("wrap", "stretch")}
    for path in [*STATIC.glob("*.js"), *STATIC.glob("*.html")]:
        text = path.read_text("utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([\w.\-]+)["']""", text))
        used |= set(re.findall(r'data-i18n(?:-placeholder|-title)?="([\w.\-]+)"', text))
    assert sorted(used - set(en)) == []
