"""A token short enough to guess is refused at start, with a message that says what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from control.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("var", ["SHOWCTL_DIRECTOR_TOKEN", "SHOWCTL_PRODUCER_TOKEN",
                                 "SHOWCTL_VIEWER_TOKEN"])
def test_a_short_token_in_the_environment_is_refused(var: str) -> None:
    with pytest.raises(ConfigError, match=rf"{var}: the token is 23 characters long; at least "
                       r"24 are needed \(make one: python3 -c"):
        load_settings(None, env={var: "x" * 23})
    assert load_settings(None, env={var: "x" * 24}) is not None


def test_a_short_token_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "director").write_text("short-token\n", "utf-8")
    config = tmp_path / "show.yaml"
    config.write_text(f"auth:\n  director_token_file: {tmp_path / 'director'}\n", "utf-8")
    with pytest.raises(ConfigError, match=r"auth\.director_token_file: the token is 11 "):
        load_settings(config, env={})


def test_showctl_run_refuses_to_start_with_a_short_token(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHOWCTL_DIRECTOR_TOKEN": "abc123",
           "SHOWCTL_STATE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "control.cli", "run", "--no-terminal",
                           str(ROOT / "rundown" / "rehearsal.yaml")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SHOWCTL_DIRECTOR_TOKEN: the token is 6 characters long; at least 24" in done.stderr
    assert "Traceback" not in done.stderr
