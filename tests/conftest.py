"""Every test gets one kind, as a marker, so the inner loop can run the fast ones alone:

- ``browser``: drives Debian's Chromium (Playwright, or the binary itself);
- ``live``: a real OBS (and its Xvfb), the controller or the drill in a process of its own
  (or the controller's whole wiring in a thread), Prometheus, or a re-run inside a network
  namespace;
- ``unit``: the rest: in this process, loopback only (``make test-fast``: ``pytest -m unit``).

The kind is read from what a test uses: its fixtures, and what its module imports from the
suite's live parts (tests/helpers.py, live_controller.py, netns.py, control.obs.launcher,
control.drill). A test marked by hand keeps its own marker; a module whose live part cannot
be seen that way is named in LIVE_MODULES.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import helpers
import live_controller
import netns
import pytest
from hypothesis import settings

from control.drill import Drill
from control.obs.launcher import ObsLauncher, Xvfb

KINDS = ("unit", "live", "browser")  # registered, with what each means, in pyproject.toml
TESTS = Path(__file__).resolve().parent

# Fixtures that start a real part: OBS (and its X server), the controller as a process or
# its whole wiring in a thread (the fuzz suites' `live`), Prometheus; and those that start
# Chromium.
LIVE_FIXTURES = frozenset({"obs", "own_obs", "x_display", "empty_obs", "controller", "live",
                           "prometheus"})
BROWSER_FIXTURES = frozenset({"browser", "playwright"})
# What a module imports that starts a real part when used.
LIVE_NAMES = (ObsLauncher, Xvfb, Drill, live_controller.ControllerProcess, netns.rerun_inside)
BROWSER_NAMES = (helpers.launch_chromium, helpers.CHROMIUM)
# Modules that start a live part in a way the rules above do not see.
LIVE_MODULES = {
    "test_terminal.py": "`showctl run` in a pseudo-terminal",
    "test_demo.py": "`showctl demo`: its own OBS and controller",
    "drill/test_drill_guests.py": "scripts/drill with OBS and guests' browsers",
}


def _uses(module: ModuleType | None, names: tuple[object, ...]) -> bool:
    if module is None:
        return False
    found = vars(module).values()
    return any(value is name or (isinstance(value, str) and value == name)
               for value in found for name in names)


def _imports_playwright(module: ModuleType | None) -> bool:
    return module is not None and any(
        (getattr(value, "__module__", None) and str(value.__module__).startswith("playwright"))
        or getattr(value, "__name__", "").startswith("playwright")
        for value in vars(module).values())


def kinds_of(item: pytest.Item) -> set[str]:
    """The kinds a test is (browser and live may both hold; unit only alone)."""
    fixtures = set(getattr(item, "fixturenames", ()))
    module = getattr(item, "module", None)
    found = set()
    if fixtures & BROWSER_FIXTURES or _uses(module, BROWSER_NAMES) or _imports_playwright(module):
        found.add("browser")
    relative = item.path.relative_to(TESTS).as_posix() if item.path.is_relative_to(TESTS) else ""
    if fixtures & LIVE_FIXTURES or _uses(module, LIVE_NAMES) or relative in LIVE_MODULES:
        found.add("live")
    return found or {"unit"}


def _fewer_examples(item: pytest.Item) -> None:
    """In the inner loop, cap a property test's examples (helpers.example_count). A test's
    own @settings beat any profile and Hypothesis has no public way to lower them afterwards:
    this sets the slot @given reads when the test runs (left alone if a release renames it).
    (Property tests that build their settings inside their body keep their counts.)"""
    test = getattr(item, "obj", None)
    own = getattr(test, "_hypothesis_internal_use_settings", None)
    if isinstance(own, settings) and own.max_examples > helpers.example_count(own.max_examples):
        test._hypothesis_internal_use_settings = settings(  # type: ignore[union-attr]
            own, max_examples=helpers.example_count(own.max_examples))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        _fewer_examples(item)
        if any(item.get_closest_marker(kind) for kind in KINDS):
            continue  # marked by hand
        for kind in sorted(kinds_of(item)):
            item.add_marker(kind)
