"""The show-day drill's short form, as CI runs it: seven minutes of show at x10 (about a
minute of wall time) against a real OBS, with OBS killed and restarted, the controller
killed and restarted, a double take, a viewer's take, a malformed reload and a flood of
hostile websockets, the guests' door probed for control routes, all on HTTPS with the
certificate renewed mid-show. Asserts the
report's verdicts, so a regression in any recovery path fails here with the report attached.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from rundowns import ROOT

from control.drill import Drill

SHORT = ROOT / "tests" / "drill" / "short.yaml"
FAULTS = ("obs-kill", "double-take", "viewer-take", "bad-reload", "flood", "door-probe",
          "tls-renew", "controller-kill")

pytestmark = pytest.mark.skipif(shutil.which("obs") is None or shutil.which("Xvfb") is None,
                                reason="needs obs-studio and xvfb (make deps)")


@pytest.mark.timeout(240)
def test_the_short_drill_passes_every_verdict(tmp_path: Path):
    drill = Drill(SHORT, speed=10, out=tmp_path, faults=FAULTS)
    report = asyncio.run(drill.run())
    saved = json.loads((tmp_path / "drill.json").read_text())
    assert saved["verdicts"] == report["verdicts"]
    assert (tmp_path / "drill.md").read_text().startswith("# Show-day drill")
    # timings are the report's figures, not this test's assertions (a loaded CI machine
    # makes them noise; bench/ and the drill run by hand are where they are judged)
    timed = {"final hard start within one frame"}
    failed = [name for name, ok in report["verdicts"].items() if not ok and name not in timed]
    assert not failed, (tmp_path / "drill.md").read_text() + json.dumps(
        report["faults"], indent=1)
    assert [f["name"] for f in report["faults"]] == list(FAULTS)
    final = report["final_hard_start"]
    assert final["journal_take_at_target"]  # the controller took it on its target, exactly
    assert isinstance(final["error_wall_ms"], float)  # and OBS landed on it (measured)
    assert report["asrun"]["entries"] == 7  # every segment aired or skipped, once
    double = next(f for f in report["faults"] if f["name"] == "double-take")
    assert double["detail"]["statuses"] == [200, 409]
    flood = next(f for f in report["faults"] if f["name"] == "flood")
    assert flood["detail"]["attack"]["sent"] > 0 and flood["ok"], flood
    renew = next(f for f in report["faults"] if f["name"] == "tls-renew")
    assert renew["detail"]["served_after"] == renew["detail"]["renewed"] != \
        renew["detail"]["before"], renew
