"""A real OBS Studio for the OBS-link tests: Debian's obs-studio under our own Xvfb.

Each OBS gets its own HOME (config, scene collection, obs-websocket settings written before
start) and a free port, so tests never touch a user's OBS or each other's. Startup waits on
conditions (X display ready, port open, Identify accepted), each with a deadline; any failure
fails the test with OBS's own log, never a silent skip.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect as ws_connect

PASSWORD = "showctl-test-Pa55"
SCENES = ("Intro", "Studio", "Countdown", "Break")
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed; run `make setup` (DEBIAN_PACKAGES in Makefile)")
    return path


class ObsProcess:
    """One OBS Studio process with its own config home; can be killed and started again on
    the same port (the crash-and-restart case)."""

    def __init__(self, root: Path, display: str, *, port: int | None = None) -> None:
        self.root = root
        self.display = display
        self.port = port or free_port()
        self.password = PASSWORD
        self.scenes = SCENES
        self.home = root / "home"
        self.config = self.home / ".config" / "obs-studio"
        self.log_path = root / "obs-output.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._write_config()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _write_config(self) -> None:
        (self.config / "basic" / "scenes").mkdir(parents=True, exist_ok=True)
        (self.config / "global.ini").write_text(
            "[General]\nFirstRun=false\nLastVersion=486670338\n\n"
            "[Basic]\nSceneCollection=show\nSceneCollectionFile=show\n"
            "Profile=show\nProfileDir=show\n\n"
            "[OBSWebSocket]\nFirstLoad=false\nServerEnabled=true\n"
            f"ServerPort={self.port}\nAlertsEnabled=false\nAuthRequired=true\n"
            f"ServerPassword={self.password}\n"
        )
        ws_dir = self.config / "plugin_config" / "obs-websocket"
        ws_dir.mkdir(parents=True, exist_ok=True)
        (ws_dir / "config.json").write_text(json.dumps({
            "first_load": False, "server_enabled": True, "server_port": self.port,
            "alerts_enabled": False, "auth_required": True, "server_password": self.password,
        }))
        collection = {
            "name": "show",
            "current_scene": self.scenes[0],
            "current_program_scene": self.scenes[0],
            "scene_order": [{"name": n} for n in self.scenes],
            "groups": [],
            "transitions": [],
            "current_transition": "Fade",
            "transition_duration": 300,
            "sources": [
                {"name": n, "uuid": str(uuid.uuid4()), "id": "scene", "versioned_id": "scene",
                 "settings": {"id_counter": 0, "items": []}}
                for n in self.scenes
            ],
        }
        (self.config / "basic" / "scenes" / "show.json").write_text(json.dumps(collection))

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("XDG_", "DBUS_", "WAYLAND_", "QT_"))}
        runtime = self.root / "runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_RUNTIME_DIR=str(runtime),
            DISPLAY=self.display,
            QT_QPA_PLATFORM="xcb",
            LIBGL_ALWAYS_SOFTWARE="1",
            LANG="C.UTF-8",
        )
        return env

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start OBS and return once an Identify with the password succeeds."""
        assert self.proc is None or self.proc.poll() is not None, "OBS is already running"
        obs = _require("obs")
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== start #{self.starts} on port {self.port} =====\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            [obs, "--multi", "--minimize-to-tray"],
            cwd=self.root, env=self._env(), stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        self._wait_for_port(deadline)
        self._wait_for_identify(deadline)

    def _alive_or_fail(self, waiting_for: str) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            self.fail(f"OBS exited with {self.proc.returncode} while waiting for {waiting_for}")
        if "Listen failed" in self.log_tail(200):
            self.fail(f"obs-websocket could not listen on port {self.port}")

    def _wait_for_port(self, deadline: float) -> None:
        assert self.proc is not None
        while True:
            self._alive_or_fail("its websocket port")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.fail(f"port {self.port} not open after {START_TIMEOUT:g} s")
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.05)  # poll interval that also notices an exit

    def _wait_for_identify(self, deadline: float) -> None:
        """Hello → Identify → Identified by hand, independent of the code under test."""
        error: Exception | None = None
        while time.monotonic() < deadline:
            self._alive_or_fail("a successful Identify")
            try:
                with ws_connect(self.url, open_timeout=5, proxy=None) as ws:
                    hello = json.loads(ws.recv(timeout=5))["d"]["authentication"]
                    secret = base64.b64encode(
                        hashlib.sha256((self.password + hello["salt"]).encode()).digest())
                    auth = base64.b64encode(
                        hashlib.sha256(secret + hello["challenge"].encode()).digest()).decode()
                    ws.send(json.dumps({"op": 1, "d": {"rpcVersion": 1, "authentication": auth,
                                                       "eventSubscriptions": 0}}))
                    if json.loads(ws.recv(timeout=5))["op"] == 2:
                        return
            except Exception as exc:  # retried until the deadline
                error = exc
            assert self.proc is not None
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.1)
        self.fail(f"no successful Identify on port {self.port}: {error!r}")

    def kill(self) -> None:
        """SIGKILL: the crash case (clients see close 1006)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        """SIGINT (clients get ExitStarted, then close 1001); SIGKILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(ProcessLookupError):  # helpers left in OBS's group
            os.killpg(self.proc.pid, signal.SIGKILL)

    # --- diagnostics -----------------------------------------------------------------------

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no OBS output)"
        return "\n".join(text.splitlines()[-lines:])

    def fail(self, why: str) -> None:
        tail = self.log_tail()
        self.kill()
        pytest.fail(f"{why}\n----- OBS output ({self.log_path}) -----\n{tail}", pytrace=False)


@pytest.fixture(scope="session")
def x_display(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Xvfb; ``-displayfd`` makes it pick a free display and tell us when ready."""
    xvfb = _require("Xvfb")
    log_path = tmp_path_factory.mktemp("xvfb") / "xvfb.log"
    read_fd, write_fd = os.pipe()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1920x1080x24",
             "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    os.close(write_fd)
    number = b""
    deadline = time.monotonic() + 15
    try:
        while not number.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([read_fd], [], [], remaining)[0]:
                pytest.fail(f"Xvfb gave no display within 15 s:\n{log_path.read_text()}")
            chunk = os.read(read_fd, 16)
            if not chunk:
                pytest.fail(f"Xvfb exited ({proc.poll()}):\n{log_path.read_text()}")
            number += chunk
    finally:
        os.close(read_fd)
    try:
        yield f":{int(number)}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def obs(x_display: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObsProcess]:
    """A running OBS shared by the tests that do not stop it."""
    proc = ObsProcess(tmp_path_factory.mktemp("obs"), x_display)
    try:
        proc.start()
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def own_obs(x_display: str, tmp_path: Path) -> Iterator[ObsProcess]:
    """A configured but NOT started OBS, for tests that start, kill and restart it."""
    proc = ObsProcess(tmp_path, x_display)
    try:
        yield proc
    finally:
        proc.stop()
