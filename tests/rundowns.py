"""Helpers for the pure-core tests: rundowns from text, diagnostics as tuples."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from control.show.diagnostics import Diagnostic, RundownError
from control.show.loader import Loaded, load_rundown
from control.show.model import Rundown

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "rundown" / "nye-of-science-2023.yaml"
REHEARSAL = ROOT / "rundown" / "rehearsal.yaml"

HEADER = """\
show:
  title: T
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  end: 2024-01-01 00:30:00
  safe_scene: Slate
guests:
  zhu:
    name: Zhu
segments:
"""


def load(text: str) -> Loaded:
    return load_rundown(textwrap.dedent(text), "t.yaml")


def rundown(segments_yaml: str) -> Rundown:
    """A rundown with the standard header (show at 22:00 Beijing) and these segments."""
    return load(HEADER + textwrap.dedent(segments_yaml)).rundown


def diagnostics(text: str) -> list[Diagnostic]:
    """All diagnostics of a text expected to fail."""
    with pytest.raises(RundownError) as info:
        load(text)
    return list(info.value.diagnostics)


def errors(text: str) -> list[tuple[int, int, str]]:
    return [(d.line, d.col, d.message) for d in diagnostics(text) if d.severity == "error"]


def warnings(text: str) -> list[tuple[int, int, str]]:
    return [(d.line, d.col, d.message) for d in load(text).warnings]


def guest_show(title: str, guests: tuple[str, ...] = ("ada",), *, outro: bool = False) -> str:
    """The live guest tests' show (YAML): a studio intro that holds, then a talk with the
    first guest on the Guests scene, and a studio outro when asked. Each guest is named
    after its id, capitalised."""
    roster = "".join(f"  {g}:\n    name: {g.capitalize()}\n" for g in guests)
    return (f"show:\n  title: {title}\n  timezone: Asia/Shanghai\n  start: 2023-12-31 22:00:00\n"
            f"  safe_scene: Slate\nguests:\n{roster}segments:\n"
            "  - {id: intro, title: Intro, duration: 10m, scene: Studio, then: hold}\n"
            f"  - {{id: talk, title: Talk, duration: 10m, scene: Guests, guests: [{guests[0]}]}}\n"
            + ("  - {id: outro, title: Outro, duration: 10m, scene: Studio, then: hold}\n"
               if outro else ""))
