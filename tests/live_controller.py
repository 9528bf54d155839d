"""`showctl run` as its own process, and its API over HTTP: shared by the live test suites.

Waits are conditions with deadlines, never bare sleeps; everything on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helpers import wait_for
from rundowns import ROOT

from control.obs.launcher import free_port

_DIRECTOR = object()  # request(): "the director's token"
TOKEN_ENV = {"director": "SHOWCTL_DIRECTOR_TOKEN", "producer": "SHOWCTL_PRODUCER_TOKEN",
             "viewer": "SHOWCTL_VIEWER_TOKEN"}


class ControllerProcess:
    """`showctl run --no-terminal --start now RUNDOWN` against the OBS at `obs_url`."""

    def __init__(self, tmp: Path, rundown_text: str, *, obs_url: str, obs_password: str,
                 tokens: Mapping[str, str], name: str = "live.yaml") -> None:
        self.rundown = tmp / name
        self.rundown.write_text(rundown_text, "utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_dir = tmp / "state"
        self.log = tmp / "controller.log"
        self.token = tokens["director"]  # the default for requests
        self.env = {**os.environ, "SHOWCTL_OBS_URL": obs_url,
                    "SHOWCTL_OBS_PASSWORD": obs_password, "SHOWCTL_HTTP_HOST": "127.0.0.1",
                    "SHOWCTL_HTTP_PORT": str(self.port), "SHOWCTL_STATE_DIR": str(self.state_dir),
                    **{TOKEN_ENV[role]: token for role, token in tokens.items()}}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ControllerProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "control.cli", "run", "--no-terminal", "--start", "now",
                 str(self.rundown)], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        # its imports alone take 20 s and more on a loaded 2-core box (seen: console fixtures)
        wait_for(self._up, 60, "the controller's API")
        return self

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"controller exited:\n{self.log.read_text()}")
        try:
            return self.request("GET", "/api/state")[0] == 200
        except OSError:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def request(self, method: str, path: str, body: Any = None,
                token: Any = _DIRECTOR) -> tuple[int, dict[str, Any]]:
        """JSON in, (status, JSON) out; by default with the director's token, None: none."""
        token = self.token if token is _DIRECTOR else token
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def state(self) -> dict[str, Any]:
        status, body = self.request("GET", "/api/state")
        assert status == 200, body
        return body

    def on_air(self) -> str | None:
        model = self.state()
        return model["on_air"]["id"] if model["on_air"] else None

    def ready_to_take(self) -> None:
        """Past the minimum time between takes (500 ms), so a take is not a double press."""
        wait_for(lambda: time.time() * 1000 - self.state()["on_air"]["since_ms"] > 600, 5,
                 "the minimum time between takes")
