"""`showctl preflight` and `showctl asrun` as an engineer and a producer run them."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rundowns import REHEARSAL, ROOT

from control.obs.launcher import ObsLauncher
from control.overlays import derive_read_key


def showctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "control.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def empty_obs(tmp_path: Path):
    launcher = ObsLauncher(tmp_path / "obs", scenes={"Studio Wide": []})
    launcher.start()
    try:
        yield launcher
    finally:
        launcher.close()


def test_preflight_reports_what_is_missing_then_provisions_it(empty_obs: ObsLauncher):
    env = {"SHOWCTL_OBS_URL": empty_obs.url, "SHOWCTL_OBS_PASSWORD": empty_obs.password}
    out = showctl("preflight", str(REHEARSAL), env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Remote Guest" in out.stdout and "rehearsal.yaml:" in out.stdout
    assert "Logo Bug" in out.stdout
    out = showctl("preflight", "--provision", str(REHEARSAL), env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    out = showctl("preflight", str(REHEARSAL), env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    # Debian's OBS has no browser source: said once, with the URLs to load by hand (the
    # controller's pages with the read key of its settings), and not a failure
    key = derive_read_key("cli-director-token-0123456")
    out = showctl("preflight", "--provision", "--overlays-base", "http://10.1.2.3:8080",
                  str(REHEARSAL), env={**env, "SHOWCTL_DIRECTOR_TOKEN": "cli-director-token-0123456"})
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("this OBS has no browser source (Debian's build)") == 1
    assert f"http://10.1.2.3:8080/overlays/lower-third?key={key}" in out.stdout
    assert out.stdout.splitlines()[-1].endswith("(1 warning)")


def test_preflight_without_obs_says_so(tmp_path: Path):
    out = showctl("preflight", "--timeout", "1", str(REHEARSAL),
                  env={"SHOWCTL_OBS_URL": "ws://127.0.0.1:9"})
    assert out.returncode != 0 and "cannot reach OBS" in out.stderr


def test_asrun_csv_from_a_journal(tmp_path: Path):
    from control.journal import Journal, session_record, session_state, step_records
    from control.show import commands as C
    from control.show.engine import advance, apply

    text = REHEARSAL.read_text("utf-8")
    session = session_record(str(REHEARSAL), text)
    state = session_state(session)
    t0 = state.rundown.show.start_ms
    path = tmp_path / "rehearsal.journal.jsonl"
    journal = Journal.create(path, session)
    step = advance(state, t0)
    journal.append_all(step_records(step, t0))
    # opening auto-advances to weather at 1m; the director takes clip 30 s into weather
    step2 = apply(step.state, C.Take(by="director"), t0 + 90_000)
    journal.append_all(step_records(step2, t0 + 90_000, C.Take(by="director")))
    journal.close()
    out = showctl("asrun", str(path), "--csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["id"] for r in rows][:3] == ["opening", "weather", "clip"]
    assert rows[0]["status"] == "aired" and float(rows[0]["over_under_s"]) == 0
    assert float(rows[1]["actual_duration_s"]) == 30 and float(rows[1]["over_under_s"]) == -150
    assert rows[2]["taken_by"] == "director" and rows[2]["status"] == "on air"
    assert rows[3]["status"] == "not reached"
    table = showctl("asrun", str(path))
    assert table.returncode == 0 and "opening" in table.stdout
