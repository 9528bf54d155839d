"""The drill's own parts without OBS: reading instants from the read model (the number when
there, the ISO text when not), the table of faults, the command line refusing what it
cannot run, the report's markdown, and a package with no import circle."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest
from rundowns import ROOT

from control.drill.cli import main
from control.drill.faults import FAULTS, GUEST_FAULTS, SHOW_FAULTS, Fault
from control.drill.readmodel import instant_ms, segment_span
from control.drill.report import guest_lines, markdown
from control.drill.result import Verdict

ISO = "2023-12-31T23:59:30+08:00"
MS = 1704038370000  # the same instant


def test_an_instant_is_read_from_its_ms_field_first_and_from_its_iso_text_otherwise():
    assert instant_ms({"start": ISO}, "start") == MS
    assert instant_ms({"start": ISO, "start_ms": MS + 7}, "start") == MS + 7  # the number wins
    assert instant_ms({"start": ISO, "start_ms": None}, "start") == MS  # null: not there
    with pytest.raises(KeyError):
        instant_ms({}, "start")
    with pytest.raises(ValueError):  # a segment already over has null expected times
        instant_ms({"start": None, "start_ms": None}, "start")


def test_a_held_segment_lasts_until_the_next_hard_start_in_either_form():
    state = {"hard_starts": [{"target_ms": MS + 60_000}, {"target_ms": MS + 120_000}]}
    seg = {"expected_start": ISO, "expected_end_ms": MS + 10_000, "expected_end": "x",
           "then": "hold"}
    assert segment_span(state, seg) == (MS, MS + 60_000)
    assert segment_span(state, {**seg, "then": "next"}) == (MS, MS + 10_000)
    # over (or skipped): no expected times, no span (the old drill crashed here under load)
    assert segment_span(state, {"expected_start": None, "expected_end": None}) is None


def test_every_fault_is_a_class_in_the_table_under_its_own_name():
    assert SHOW_FAULTS == ("obs-kill", "obs-freeze", "double-take", "viewer-take", "bad-reload",
                           "flood", "door-probe", "tls-renew", "controller-kill")
    assert GUEST_FAULTS == ("guest-kill", "guest-lossy")
    for name, cls in FAULTS.items():
        assert issubclass(cls, Fault) and cls.name == name
        assert cls.needs_guests == (name in GUEST_FAULTS)


@pytest.mark.parametrize(("argv", "message"), [
    (["x.yaml", "--faults", "obs-kill,meteor"], "unknown fault(s) ['meteor']"),
    (["x.yaml", "--faults", "guest-kill"], "guest-kill need(s) --guests N"),
    (["x.yaml", "--guests", "-1"], "--guests must be 0 or more"),
    (["x.yaml", "--guests", "1", "--faults", "tls-renew,guest-kill"], "not drilled with --guests"),
])
def test_the_command_line_refuses_what_it_cannot_run(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_the_markdown_report_says_each_verdict():
    report = {"rundown": "r.yaml", "speed": 10, "show_s": 390, "wall_s": 61, "ok": False,
              "machine": {"load": [7.0, 5, 3], "cpus": 2},
              "faults": [{"name": "viewer-take", "show_s": 60.2, "wall_s": 9.1,
                          "recovery_s": 0.0, "checks": {"403": True}, "detail": {}}],
              "final_hard_start": {"segment": "midnight", "scene": "Party",
                                   "error_wall_ms": -3.5, "error_show_ms": -35,
                                   "frame_ms": 40, "within_one_frame": True,
                                   "journal_take_at_target": True},
              "asrun": {"entries": 7, "takes": 6, "seen_on_air_but_not_journaled": [],
                        "segments_unaccounted": [], "duplicated": []},
              "verdicts": {"fault viewer-take": True, "no as-run entry duplicated": False}}
    md = markdown(report)
    assert md.startswith("# Show-day drill: r.yaml at x10\n")
    assert f"**{Verdict.FAIL}**" in md and "load 7.0 on 2 CPUs" in md
    assert "| viewer-take | +60 s | 9.1 s | 0.00 s | ok: 403 |" in md
    assert "-3.5 ms (wall)" in md and "**within one frame**" in md
    assert md.endswith("- PASS: fault viewer-take\n- FAIL: no as-run entry duplicated\n")
    assert "## Guests" not in md


def _local_imports(path: Path, package: Path) -> set[Path]:
    """The modules of the drill package that `path` imports (relative imports resolved)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = path.parent
        for _ in range(node.level - 1):
            base = base.parent
        target = base.joinpath(*(node.module or "").split(".")) if node.module else base
        names = [target / a.name for a in node.names] if not node.module else [target]
        for t in names:
            for candidate in (t.with_suffix(".py"), t / "__init__.py"):
                if candidate.exists() and package in candidate.parents:
                    found.add(candidate)
    return found


def test_the_drill_package_has_no_import_circle():
    """Imports inside functions and under TYPE_CHECKING count too: a circle hidden there is
    still a circle for the reader."""
    package = ROOT / "control" / "drill"
    graph = {p: _local_imports(p, package) for p in package.rglob("*.py")}

    def visit(node: Path, trail: tuple[Path, ...]) -> None:
        assert node not in trail, " -> ".join(p.name for p in (*trail, node))
        for nxt in graph[node]:
            visit(nxt, (*trail, node))
    for start in graph:
        visit(start, ())


def test_scripts_drill_without_the_venv_says_so_and_runs_nothing(tmp_path: Path):
    """Not the system python3 instead (it lacks the packages, or has other versions)."""
    (tmp_path / "scripts").mkdir()
    script = shutil.copy(ROOT / "scripts" / "drill", tmp_path / "scripts" / "drill")
    done = subprocess.run([script, "x.yaml"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stdout == ""
    assert f"no {tmp_path}/.venv/bin/python: run 'make setup' first" in done.stderr


def test_the_report_names_the_pauses_in_a_lossy_guest_s_media():
    detail = {"guest": "grace", "loss": 0.05, "jitter_ms": 30.0, "window_s": 6.2,
              "relay_dropped": 41, "relay_dropped_pct": 5.28, "relay_dropped_video": 3,
              "loss_reported_after_s": 2.76, "max_loss_pct_reported": 4.69,
              "packets_lost_reported": 2, "statuses_on_air": {"on-air": 22, "disconnected": 1},
              "show_advanced_s": 31.0, "clean_again_after_s": 0.64}
    (line,) = guest_lines([{"name": "guest-lossy", "detail": {**detail,
                                                              "media_paused_s": [0.45]}}])[3:]
    assert "{'on-air': 22, 'disconnected': 1} (its media paused at the relay: 0.45 s);" in line
    (line,) = guest_lines([{"name": "guest-lossy", "detail": detail}])[3:]
    assert "paused" not in line
