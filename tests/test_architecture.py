"""The house rules that keep the code where a reader expects it (docs/architecture.md):
the core (control/show) is pure and imports no adapter; adapters stand side by side and never
import each other; tests do not shadow the repository's own folders.

Imports are read from the source (every `import` and `from ... import`, in functions too,
relative ones resolved to the absolute module they name), so a rule cannot be dodged by
writing `from ..obs import client` instead of `from control.obs import client`.
"""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import pytest
from rundowns import ROOT

CONTROL = ROOT / "control"
CORE = "control.show"
# the pure core: no I/O, no clock, no event loop, no network
FORBIDDEN_IN_CORE = {"asyncio", "aiohttp", "websockets", "socket", "time", "os", "subprocess",
                     "threading", "pathlib", "io", "shutil", "tempfile", "select", "signal"}
# Packages of control/ that are not adapters. The wiring puts the parts together (like
# control/wiring/ and the other modules at the top of control/) and may import anything; the
# drill orchestrates everything too. Shared plumbing (a package or a module: the websocket
# peer under every hub, the pages' common serving) is used by adapters and imports none of
# them. Every other package is an adapter: from control it sees only the core, itself and
# the shared plumbing.
WIRING = {"wiring", "drill"}
SHARED = {"fanout", "pagelib", "networks", "bodies"}


def module_name(path: Path) -> str:
    """control/obs/sync.py -> control.obs.sync; control/obs/__init__.py -> control.obs."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute module a `from` import names: `from ..obs import x` in control.web.app is
    control.obs; `from . import y` in control/show/__init__.py is control.show."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not is_package:
        base.pop()  # a module's dots count from its package
    if level - 1 > len(base) - 1:
        raise ImportError(f"{importer}: relative import beyond the top package")
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports_in(source: str, importer: str, is_package: bool = False) -> set[str]:
    """Every module `source` (module `importer`) imports, absolute. `from PKG import NAME` adds
    PKG.NAME too (NAME may be a submodule: `from .. import obs`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = resolve(importer, is_package, node.level, node.module)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def imports(path: Path) -> set[str]:
    return imports_in(path.read_text("utf-8"), module_name(path), path.name == "__init__.py")


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def packages() -> list[str]:
    return sorted(p.name for p in CONTROL.iterdir() if (p / "__init__.py").exists())


def adapters() -> list[str]:
    return [p for p in packages() if p not in {"show", *WIRING, *SHARED}]


def control_imports(name: str) -> list[tuple[Path, set[str]]]:
    """Each module of control/NAME (a package, or NAME.py) with what it imports from control."""
    paths = [CONTROL / f"{name}.py"] if (CONTROL / f"{name}.py").exists() else []
    paths += sorted((CONTROL / name).rglob("*.py")) if (CONTROL / name).is_dir() else []
    return [(path, {m for m in imports(path) if within(m, "control") and m != "control"})
            for path in paths]


# --- the reader itself ----------------------------------------------------------------------

def test_relative_imports_are_resolved_to_the_module_they_name() -> None:
    assert resolve("control.web.app", False, 2, "obs") == "control.obs"
    assert resolve("control.web.app", False, 1, "hub") == "control.web.hub"
    assert resolve("control.web", True, 1, "hub") == "control.web.hub"
    assert resolve("control.web", True, 2, None) == "control"
    assert resolve("control.show.plan", False, 1, None) == "control.show"
    with pytest.raises(ImportError):
        resolve("control.cli", False, 3, "x")


def test_every_form_of_import_is_seen() -> None:
    source = ("import asyncio\nfrom ..obs import client\nfrom .. import guests as g\n"
              "def late():\n    from ..metrics.core import Metrics\n    import control.osc\n")
    assert {"asyncio", "control.obs", "control.obs.client", "control.guests",
            "control.metrics.core", "control.osc"} <= imports_in(source, "control.web.app")
    assert imports_in("from . import commands", "control.show", is_package=True) == {
        "control.show", "control.show.commands"}


# --- the rules ------------------------------------------------------------------------------

def test_the_core_is_pure() -> None:
    for path in sorted((CONTROL / "show").rglob("*.py")):
        found = imports(path)
        bad = {m for m in found if m.split(".")[0] in FORBIDDEN_IN_CORE}
        bad |= {m for m in found if within(m, "control") and not within(m, CORE)
                and m != "control"}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}: control/show stays pure"
        text = path.read_text("utf-8")
        for clock in ("datetime.now(", "time.time(", "time.monotonic(", "date.today(", "open("):
            assert clock not in text, f"{path.name} reads the clock or a file: {clock}"


def test_adapters_see_only_the_core_and_the_shared_plumbing() -> None:
    """No adapter imports another, nor the wiring (control/wiring/, runner, config, ...)."""
    names = adapters()
    assert {"obs", "web", "overlays", "guests", "metrics", "osc", "journal", "janus"} <= set(names)
    found = []
    for name in names:
        allowed = [CORE, f"control.{name}", *(f"control.{s}" for s in SHARED)]
        for path, seen in control_imports(name):
            bad = sorted(m for m in seen if not any(within(m, a) for a in allowed))
            if bad:
                found.append(f"{path.relative_to(ROOT)} imports {', '.join(bad)}")
    assert not found, "adapters stand side by side (docs/architecture.md):\n" + "\n".join(found)


def test_shared_plumbing_imports_no_adapter_and_no_wiring() -> None:
    found = []
    for name in sorted(SHARED):
        allowed = [CORE, f"control.{name}"]
        for path, seen in control_imports(name):
            bad = sorted(m for m in seen if not any(within(m, a) for a in allowed))
            if bad:
                found.append(f"{path.relative_to(ROOT)} imports {', '.join(bad)}")
    assert not found, "\n".join(found)


def test_no_test_package_shadows_a_repository_folder_or_an_installed_package() -> None:
    """Each folder under tests/ is a top-level package (pyproject: pythonpath = ["tests"]);
    one named like a folder of the repository (`overlays`) or an installed package's module
    makes `import NAME` mean two things."""
    tests = ROOT / "tests"
    packages = {p.name for p in tests.iterdir() if p.is_dir() and any(p.glob("*.py"))}
    taken = {p.name for p in ROOT.iterdir() if p.is_dir() and p.name != "tests"}
    taken |= set(importlib.metadata.packages_distributions())
    assert packages & taken == set()


def test_no_peer_connection_reaches_a_default_stun_server() -> None:
    """An aiortc peer connection made without a configuration asks Google's public STUN server
    for a reflexive address: the product uses only configured servers, and tests and
    benchmarks stay on loopback, so every one is built with an explicit configuration."""
    found = [f"{path.relative_to(ROOT)}:{n}"
             for folder in ("control", "tests", "bench")
             for path in sorted((ROOT / folder).rglob("*.py"))
             for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
             if "RTCPeerConnection" + "()" in line]
    assert found == []
