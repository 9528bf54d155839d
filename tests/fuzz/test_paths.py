"""Path traversal against every route that serves files: the console's /static/, the overlays'
/overlays/lib/ and /overlays/{template}, the guest page's /guest-assets/ and /guest/{id}.
Dot-segments raw, percent-encoded (once and twice), with backslashes, overlong UTF-8 and
full-width dots, absolute paths, NUL, and random mixes of them.

The rule: never a 500, and whatever is served (a 200) is a file of one of those folders,
byte for byte; nothing outside them (the repository, /etc/passwd, the controller's state
directory with its secrets and journal) ever comes back."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from fuzz.support import GUEST, Live, fuzz
from hypothesis import example, given
from hypothesis import strategies as st
from rundowns import ROOT

# each route that serves files, its folder, and how deep that folder is below the repository
SERVED = {
    "/static/": (ROOT / "control" / "web" / "static", 3),
    "/overlays/lib/": (ROOT / "overlays" / "lib", 2),
    "/overlays/": (ROOT / "overlays", 1),
    "/guest-assets/": (ROOT / "control" / "guests" / "static", 3),
    f"/guest/{GUEST}/": (ROOT / "control" / "guests" / "static", 3),
}
DOTS = ["..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%252e%252e", "%c0%ae%c0%ae", "%uff0e%uff0e",
        quote("．．"), "..;", "...", "....", "..%00", "..%20"]
SEPARATORS = ["/", "%2f", "%2F", "\\", "%5c", "%5C", "%252f", "%c0%af", "//", "/./"]
ABSOLUTE = ["/etc/passwd", "%2fetc%2fpasswd", "//etc/passwd", "file:///etc/passwd",
            "C:\\Windows\\win.ini", "C:%5cWindows%5cwin.ini", "\\\\server\\share", "~/.ssh/id_rsa",
            "%00", "index.html%00.js", "main.js%00", "guest.js%00.png", "%2e", ".", "./",
            ".git/config", "%2egit/config", ".hidden", "lib/../graphic.js", "lib%2f..%2f..%2fREADME.md",
            "countdown.js/..", "countdown.schema.json%2f..%2f..%2fpyproject.toml"]


@pytest.fixture(scope="module")
def allowed() -> set[bytes]:
    """Every file the served folders hold (what a 200 may carry)."""
    return {p.read_bytes() for root, _ in SERVED.values() for p in root.rglob("*")
            if p.is_file()}


@pytest.fixture(scope="module")
def secrets(live: Live) -> dict[str, bytes]:
    """Files outside the folders that must never come back (the state directory's too)."""
    files = [ROOT / "pyproject.toml", ROOT / "README.md", ROOT / "control" / "cli.py",
             ROOT / "control" / "web" / "app.py", ROOT / "control" / "guests" / "gateway.py",
             ROOT / "overlays" / "countdown.html", Path("/etc/passwd")]
    state = live.settings.state_dir
    files += [p for p in state.rglob("*") if p.is_file()] + [live.rundown]
    return {str(p): p.read_bytes() for p in files if p.is_file()}


def check(live: Live, path: str, allowed: set[bytes], secrets: dict[str, bytes]) -> int:
    resp = live.request("GET", path, token=None)
    assert resp.status < 500, (path, resp.status, resp.body[:200])
    if resp.status == 200:
        leaked = [name for name, body in secrets.items() if body == resp.body
                  and body not in allowed]
        assert not leaked, f"GET {path} served {leaked}"
        assert resp.body in allowed, f"GET {path} served something that is not a served file"
    assert b"root:x:0:0" not in resp.body, path
    return resp.status


def _traversals(prefix: str, depth: int) -> list[str]:
    targets = ["pyproject.toml", "control/cli.py", "etc/passwd"]
    out = []
    for dots in DOTS:
        for sep in SEPARATORS:
            for target in targets:
                up = depth + (12 if target == "etc/passwd" else 0)
                out.append(prefix + (dots + sep) * up + target.replace("/", sep))
    out += [prefix + a for a in ABSOLUTE]
    return out


@pytest.mark.parametrize("prefix", sorted(SERVED))
def test_known_traversals(live: Live, allowed: set[bytes], secrets: dict[str, bytes],
                          prefix: str) -> None:
    for path in _traversals(prefix, SERVED[prefix][1]):
        check(live, path, allowed, secrets)
    # and the folder's own files are served (the test would pass on a server of 404s)
    if not prefix.startswith("/guest/"):
        name = sorted(p.name for p in SERVED[prefix][0].iterdir() if p.is_file()
                      and (prefix != "/overlays/" or p.suffix == ".js"))[0]
        assert check(live, prefix + name, allowed, secrets) == 200, prefix + name


def test_raw_bytes_in_the_path(live: Live, allowed: set[bytes], secrets: dict[str, bytes]) -> None:
    """What a URL library would never send: NUL, backslashes and raw non-ASCII on the wire."""
    for prefix in SERVED:
        for tail in [b"main.js\x00", b"..\\..\\..\\pyproject.toml", b"\xc0\xae\xc0\xae/x",
                     b"\xff\xfe", b"a\tb", b"..\x00/..\x00/etc/passwd"]:
            raw = (b"GET " + prefix.encode() + tail + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   b"Connection: close\r\n\r\n")
            try:
                resp = live.send(raw)
            except ConnectionError:
                continue  # the server hung up on a request line it cannot parse: fine
            assert resp.status < 500, (prefix, tail, resp.status)
            assert resp.status != 200 or resp.body in allowed, (prefix, tail)
            assert b"root:x:0:0" not in resp.body
    assert live.request("GET", "/api/whoami").status == 200


pieces = st.sampled_from([*DOTS, "", ".", "pyproject.toml", "etc", "passwd", "control",
                          "app.py", "static", "lib", "overlays", "main.js", "graphic.js",
                          "guest.js", "state", "guest-secret", "%00", "%2f", "%5c", "~", "*",
                          "index.html", "%ff", "%", "%%", "%2"])


@st.composite
def random_paths(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(sorted(SERVED)))
    parts = draw(st.lists(pieces, min_size=1, max_size=12))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(parts), max_size=len(parts)))
    return prefix + "".join(p + s for p, s in zip(parts, seps, strict=True))[:-1]


def test_random_mixes(live: Live, allowed: set[bytes], secrets: dict[str, bytes]) -> None:
    @fuzz(200)
    @given(path=random_paths())
    @example(path="/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml")
    @example(path="/overlays/..%2f..%2fpyproject.toml")
    def run(path: str) -> None:
        check(live, path, allowed, secrets)

    run()
    assert live.request("GET", "/api/whoami").status == 200
