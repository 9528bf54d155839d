"""`showctl demo`: one command, a private OBS, the show on air."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rundowns import REHEARSAL, ROOT

from control.obs.launcher import free_port


def test_demo_starts_its_own_obs_and_puts_the_show_on_air(tmp_path: Path):
    port = free_port()
    token = "demo-token-for-the-test-0123"
    env = {**os.environ, "SHOWCTL_HTTP_PORT": str(port), "SHOWCTL_DIRECTOR_TOKEN": token,
           "TMPDIR": str(tmp_path)}
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "control.cli", "demo", "--no-terminal",
                                 str(REHEARSAL)], cwd=ROOT, env=env, stdout=out, stderr=out,
                                start_new_session=True)
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/state",
                                 headers={"Authorization": f"Bearer {token}"})
    model = None
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    model = json.loads(resp.read())
                if model["on_air"] and model["obs"]["program_scene"] == "Studio Wide":
                    break
            except OSError:
                pass
            time.sleep(0.1)
        assert model is not None, log.read_text()
        assert model["on_air"]["id"] == "opening"
        assert model["obs"]["program_scene"] == "Studio Wide", model["obs"]
        assert "director token" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, log.read_text()
    assert _processes_using(tmp_path) == [], "the demo left its OBS or Xvfb running"


def _processes_using(folder: Path) -> list[str]:
    """Processes whose environment points into `folder` (the demo's OBS and Xvfb)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if str(folder).encode() in (proc / "environ").read_bytes():
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found
