"""The controller in a terminal: starts without OBS, shows the state, takes on the space bar."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rundowns import ROOT

from control.obs.launcher import free_port
from control.terminal import signed_span, status_line

RUNDOWN = """\
show:
  title: Terminal test
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
segments:
  - {id: first, title: First, duration: 10m, scene: A}
  - {id: second, title: Second, duration: 10m, scene: B}
"""


class Screen:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.text = ""

    def wait_for(self, pattern: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text)
            if match:
                return match.group(0)
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    self.text += os.read(self.fd, 65536).decode("utf-8", "replace")
                except OSError:
                    break
        raise AssertionError(f"{pattern!r} never appeared; screen:\n{self.text[-2000:]}")


def test_terminal_status_and_space_to_take(tmp_path: Path):
    rundown = tmp_path / "t.yaml"
    rundown.write_text(RUNDOWN, "utf-8")
    env = {**os.environ, "SHOWCTL_OBS_URL": f"ws://127.0.0.1:{free_port()}",  # no OBS there
           "SHOWCTL_HTTP_PORT": str(free_port()), "SHOWCTL_DIRECTOR_TOKEN": "t" * 24,
           "SHOWCTL_STATE_DIR": str(tmp_path / "state"), "TERM": "xterm"}
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "control.cli", "run", "--start", "now",
                             str(rundown)], cwd=ROOT, env=env, stdin=child, stdout=child,
                            stderr=child, start_new_session=True)
    os.close(child)
    screen = Screen(main)
    try:
        screen.wait_for(r"ON AIR first .* NEXT second .* OBS DOWN .*clock shifted")
        screen.wait_for(r"space take")
        time.sleep(0.6)  # the minimum time between takes: an auto start just happened
        os.write(main, b" ")
        screen.wait_for(r"ON AIR second")
        os.write(main, b"p")
        screen.wait_for(r"press p again within 2 s to PANIC")
        os.write(main, b"q")
        proc.wait(15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(main)


def test_status_line_reads_at_a_glance():
    model = {
        "show": {"panic": False, "ended": False, "mode": "live", "armed": False, "shift_s": 0,
                 "held": False},
        "on_air": {"id": "weather", "remaining_s": -12.0},
        "next": {"id": "plants"},
        "hard_starts": [{"id": "countdown", "countdown_s": 3723.0, "shortfall_s": 90.0}],
        "obs": {"connected": True, "program_scene": "Remote Guest"},
    }
    assert status_line(model) == ("ON AIR weather -0:00:12 left | NEXT plants | countdown in "
                                  "1:02:03 (cut 90s) | OBS up Remote Guest | live, DISARMED")


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "+0:00"),
    (59.4, "+0:59"),
    (59.5, "+1:00"),             # half a second up, like the console's Math.round
    (3723, "+1:02:03"),
    (-3723, "-1:02:03"),
    (86_400, "+1 d 0:00"),
    (86_400 + 305, "+1 d 5:05"),
    (92_245_709, "+1067 d 15:48:29"),  # a rehearsal of the 2023 show, run in 2026
    (-2 * 86_400 - 4 * 3600, "-2 d 4:00:00"),
])
def test_signed_span_splits_days_off_as_the_console_does(seconds: float, text: str):
    assert signed_span(seconds) == text


def test_status_line_says_a_rehearsal_shift_in_days_and_time():
    model = {
        "show": {"panic": False, "ended": False, "mode": "rehearsal", "armed": True,
                 "shift_s": 92_245_709.0, "held": False},
        "on_air": None, "next": {"id": "opening"}, "hard_starts": [],
        "obs": {"connected": False},
    }
    assert status_line(model) == ("not started | NEXT opening | OBS DOWN | "
                                  "rehearsal, clock shifted +1067 d 15:48:29")
