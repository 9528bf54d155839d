"""The house rules that keep the code where a reader expects it (docs/architecture.md,
"What may import what")."""

from __future__ import annotations

import ast
from pathlib import Path

from rundowns import ROOT

CORE = ROOT / "control" / "show"
# the pure core: no I/O, no clock, no event loop, no network
FORBIDDEN_IN_CORE = {"asyncio", "aiohttp", "websockets", "socket", "time", "os", "subprocess",
                     "threading", "pathlib", "control.obs", "control.web", "control.guests"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_core_is_pure():
    for path in sorted(CORE.glob("*.py")):
        bad = {m for m in _imports(path) if m.split(".")[0] in FORBIDDEN_IN_CORE
               or any(m.startswith(f) for f in FORBIDDEN_IN_CORE if "." in f)}
        assert not bad, f"{path.name} imports {bad}: control/show must stay pure"
        text = path.read_text("utf-8")
        for clock in ("datetime.now(", "time.time(", "time.monotonic(", "date.today(", "open("):
            assert clock not in text, f"{path.name} reads the clock or a file: {clock}"


def test_adapters_do_not_import_each_other():
    # the drill orchestrates everything, like the wiring: it is not an adapter; fanout is a
    # library the websocket adapters share, and it imports nothing of the show's
    adapters = [p.name for p in (ROOT / "control").iterdir()
                if p.is_dir() and p.name not in ("show", "wiring", "drill", "fanout", "__pycache__")]
    for path in (ROOT / "control" / "fanout").rglob("*.py"):
        assert not {m for m in _imports(path) if m.startswith("control")}, path
    for name in adapters:
        others = {f"control.{o}" for o in adapters if o != name}
        for path in (ROOT / "control" / name).rglob("*.py"):
            bad = {m for m in _imports(path) if any(m.startswith(o) for o in others)}
            assert not bad, f"{path} imports {bad}: adapters stand side by side (docs/architecture.md)"


def test_no_peer_connection_reaches_a_default_stun_server():
    """An aiortc peer connection made without a configuration asks Google's public STUN server
    for a reflexive address: the product uses only configured servers, and tests and
    benchmarks stay on loopback, so every one is built with an explicit configuration."""
    found = [f"{path.relative_to(ROOT)}:{n}"
             for folder in ("control", "tests", "bench")
             for path in sorted((ROOT / folder).rglob("*.py"))
             for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
             if "RTCPeerConnection" + "()" in line]
    assert found == []
