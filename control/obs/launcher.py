"""A private, headless OBS Studio for ``showctl demo`` and the tests.

One implementation for both, so the demo runs exactly what CI tested. Each OBS gets its own
config home (global.ini, obs-websocket settings, profile and an optional scene collection
written before start), its own free port and password, and, unless given a display, its own
Xvfb. It never touches a user's OBS, and two of them never touch each other.

Startup waits on conditions (X display ready, port open, Identify accepted), each under one
deadline; any failure raises ``ObsLaunchError`` carrying OBS's own output.

Blocking API (subprocesses, a few seconds to start): from asyncio code use
``await asyncio.to_thread(launcher.start)``.

    with ObsLauncher(tmp, scenes=scenes_for(rundown)) as obs:
        async with ObsClient(obs.url, obs.password) as client: ...
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import time
import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from control.obs.protocol import auth_string
from control.show.model import Rundown

INSTALL_HINT = "install it with `apt-get install obs-studio xvfb`"
START_TIMEOUT = 30.0
CANVAS = (1280, 720)  # small canvas: software rendering on a 2-core CI machine
LAST_VERSION = 486670338  # 29.0.2 in global.ini: no "what's new" / first-run dialogs


class ObsLaunchError(RuntimeError):
    """OBS (or its Xvfb) could not be started; the message ends with OBS's output."""

    def __init__(self, message: str, log: str = "") -> None:
        self.log = log
        detail = f"\n----- OBS output -----\n{log}" if log else ""
        super().__init__(message + detail)


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1 (OBS binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scenes_for(rundown: Rundown) -> dict[str, list[str]]:
    """Every scene the rundown names (segment scenes, safe_scene) with the items its
    segments show or hide, in rundown order: the collection a demo OBS needs."""
    scenes: dict[str, list[str]] = {}
    for seg in rundown.segments:
        items = scenes.setdefault(seg.scene, [])
        for name in (*seg.show_items, *seg.hide_items):
            if name not in items:
                items.append(name)
    if rundown.show.safe_scene:
        scenes.setdefault(rundown.show.safe_scene, [])
    return scenes


def _which(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise ObsLaunchError(f"{binary} is not installed; {INSTALL_HINT}")
    return path


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class Xvfb:
    """A private X server. ``-displayfd`` makes Xvfb pick a free display number and write it
    once it accepts clients, so there is no guessing of numbers and no sleep."""

    def __init__(self, log_path: Path, *, screen: str = "1920x1080x24") -> None:
        self.log_path = log_path
        self.screen = screen
        self.display: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> str:
        if self.display is not None:
            return self.display
        xvfb = _which("Xvfb")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        read_fd, write_fd = os.pipe()
        try:
            with self.log_path.open("wb") as log:
                self._proc = subprocess.Popen(
                    [xvfb, "-displayfd", str(write_fd), "-screen", "0", self.screen,
                     "-nolisten", "tcp", "-noreset"],
                    pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )
        finally:
            os.close(write_fd)
        number = b""
        deadline = time.monotonic() + timeout
        try:
            while not number.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([read_fd], [], [], remaining)[0]:
                    self.stop()
                    raise ObsLaunchError(f"Xvfb gave no display within {timeout:g} s",
                                         self._log())
                chunk = os.read(read_fd, 16)
                if not chunk:
                    code = self._proc.wait()
                    raise ObsLaunchError(f"Xvfb exited with {code}", self._log())
                number += chunk
        finally:
            os.close(read_fd)
        self.display = f":{int(number)}"
        return self.display

    def stop(self) -> None:
        proc, self._proc, self.display = self._proc, None, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.wait()

    def _log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""


class ObsLauncher:
    """One OBS Studio process with its own config home, port and password. It can be killed
    and started again on the same port and home (the crash-and-restart case)."""

    def __init__(
        self,
        root: Path | str,
        *,
        port: int | None = None,
        password: str | None = None,
        scenes: Mapping[str, Sequence[str]] | None = None,
        display: str | None = None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.password = password or secrets.token_urlsafe(18)
        self.scenes: dict[str, list[str]] = {k: list(v) for k, v in (scenes or {}).items()}
        self.start_timeout = start_timeout
        self.home = self.root / "home"
        self.config = self.home / ".config" / "obs-studio"
        self.log_path = self.root / "obs-output.log"
        self.recordings = self.root / "recordings"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._display = display
        self._xvfb: Xvfb | None = None if display else Xvfb(self.root / "xvfb.log")
        self._write_config()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # --- config ------------------------------------------------------------------------------

    def _write_config(self) -> None:
        """global.ini for obs-websocket 5.1 (OBS 29) and config.json for 5.5+: both, so any
        OBS version starts with our port and password and no first-run wizard."""
        collection = "showctl" if self.scenes else "show"
        (self.config / "basic" / "scenes").mkdir(parents=True, exist_ok=True)
        (self.config / "global.ini").write_text(
            f"[General]\nFirstRun=false\nLastVersion={LAST_VERSION}\n\n"
            f"[Basic]\nSceneCollection={collection}\nSceneCollectionFile={collection}\n"
            "Profile=showctl\nProfileDir=showctl\nConfigOnNewProfile=false\n\n"
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
        self._write_profile()
        if self.scenes:
            path = self.config / "basic" / "scenes" / f"{collection}.json"
            path.write_text(json.dumps(scene_collection(collection, self.scenes)))

    def _write_profile(self) -> None:
        """A 720p30 canvas; recordings into our root; a stream target that refuses at once
        (a closed local port), so a StartStream can never reach anything real."""
        profile = self.config / "basic" / "profiles" / "showctl"
        profile.mkdir(parents=True, exist_ok=True)
        self.recordings.mkdir(exist_ok=True)
        width, height = CANVAS
        (profile / "basic.ini").write_text(
            "[General]\nName=showctl\n\n"
            f"[Video]\nBaseCX={width}\nBaseCY={height}\nOutputCX={width}\nOutputCY={height}\n"
            "FPSType=0\nFPSCommon=30\n\n"
            "[Output]\nMode=Simple\nReconnect=false\n\n"
            f"[SimpleOutput]\nFilePath={self.recordings}\nRecFormat=mkv\nRecQuality=Stream\n"
            "StreamEncoder=x264\nRecEncoder=x264\nPreset=ultrafast\nVBitrate=1000\n"
        )
        (profile / "service.json").write_text(json.dumps({
            "type": "rtmp_custom",
            "settings": {"server": f"rtmp://127.0.0.1:{_closed_port()}/live", "key": "showctl"},
        }))

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("XDG_", "DBUS_", "WAYLAND_", "QT_"))}
        runtime = self.root / "runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        assert self._display is not None
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_RUNTIME_DIR=str(runtime),
            DISPLAY=self._display,
            QT_QPA_PLATFORM="xcb",
            LIBGL_ALWAYS_SOFTWARE="1",
            LANG="C.UTF-8",
        )
        return env

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float | None = None) -> ObsLauncher:
        """Start OBS (and our Xvfb) and return once an Identify with the password succeeds."""
        if self.running:
            raise RuntimeError("OBS is already running")
        obs = _which("obs")
        timeout = self.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if self._xvfb is not None:
            self._display = self._xvfb.start(timeout=min(15.0, timeout))
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.starts} on port {self.port} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [obs, "--multi", "--minimize-to-tray"],
                cwd=self.root, env=self._env(), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            self._wait_for_port(deadline, timeout)
            self._wait_for_identify(deadline)
        except BaseException:
            self.kill()
            raise
        return self

    def restart(self, timeout: float | None = None) -> ObsLauncher:
        """Stop (if running) and start again: same port, password, home and display."""
        self.stop()
        return self.start(timeout)

    def kill(self) -> None:
        """SIGKILL, the crash case (clients see close 1006). Xvfb stays for a restart."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            _kill_group(proc)
            proc.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        """SIGINT (clients get ExitStarted, then close 1001); SIGKILL if it hangs."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()
        if proc is not None:
            _kill_group(proc)  # helpers OBS left in its process group

    def close(self) -> None:
        """Stop OBS and our own Xvfb (a shared display is left to its owner)."""
        self.stop()
        if self._xvfb is not None:
            self._xvfb.stop()

    def __enter__(self) -> ObsLauncher:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- waiting -----------------------------------------------------------------------------

    def _check_alive(self, waiting_for: str) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            self._fail(f"OBS exited with {self.proc.returncode} while waiting for {waiting_for}")
        if "Listen failed" in self.log_text(200):
            self._fail(f"obs-websocket could not listen on port {self.port}")

    def _wait_for_port(self, deadline: float, timeout: float) -> None:
        assert self.proc is not None
        while True:
            self._check_alive("its websocket port")
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.5):
                return
            if time.monotonic() > deadline:
                self._fail(f"OBS did not open port {self.port} within {timeout:g} s")
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.05)  # the poll interval also notices an exit

    def _wait_for_identify(self, deadline: float) -> None:
        """Hello → Identify → Identified: the port alone opens before OBS accepts requests."""
        error: Exception | None = None
        while time.monotonic() < deadline:
            self._check_alive("a successful Identify")
            try:
                self._identify_once()
                return
            except Exception as exc:  # retried until the deadline
                error = exc
            assert self.proc is not None
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.1)
        self._fail(f"no successful Identify on port {self.port}: {error!r}")

    def _identify_once(self) -> None:
        with ws_connect(self.url, open_timeout=5, proxy=None,
                        subprotocols=[Subprotocol("obswebsocket.json")]) as ws:
            hello = json.loads(ws.recv(timeout=5))["d"]
            auth = hello["authentication"]
            identify = {"rpcVersion": 1, "eventSubscriptions": 0,
                        "authentication": auth_string(self.password, auth["salt"],
                                                      auth["challenge"])}
            ws.send(json.dumps({"op": 1, "d": identify}))
            reply = json.loads(ws.recv(timeout=5))
            if reply.get("op") != 2:
                raise ObsLaunchError(f"unexpected answer to Identify: {reply!r}")

    # --- diagnostics -----------------------------------------------------------------------

    def log_text(self, lines: int | None = None) -> str:
        """OBS's stdout/stderr of every start (the last ``lines`` lines if given)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no OBS output)"
        return text if lines is None else "\n".join(text.splitlines()[-lines:])

    def _fail(self, why: str) -> None:
        tail = self.log_text(80)
        self.kill()
        raise ObsLaunchError(f"{why} (log: {self.log_path})", tail)


def _closed_port() -> int:
    """A port nothing listens on: taken and released at once (races are harmless here, a
    listener appearing there would just be a stream target that OBS cannot speak to)."""
    return free_port()


# --- the scene collection ------------------------------------------------------------------

def scene_collection(name: str, scenes: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """An OBS 29 scene collection: per scene a colour background and a title (so every
    scene's picture differs), then each named item as a visible text source with its name.
    An item named like a scene is that scene, nested."""
    sources: list[dict[str, Any]] = []
    uuids: dict[str, str] = {}

    def source(name: str, kind: str, settings: dict[str, Any]) -> str:
        if name not in uuids:
            uuids[name] = str(uuid.uuid4())
            sources.append({"name": name, "uuid": uuids[name], "id": kind,
                            "versioned_id": kind, "settings": settings,
                            "enabled": True, "muted": False, "volume": 1.0})
        return name

    width, height = CANVAS
    for scene in scenes:  # scenes first, so nested scenes resolve to the scene
        uuids[scene] = str(uuid.uuid4())
    scene_sources = []
    for scene, items in scenes.items():
        placed = [
            (source(f"{scene} · background", "color_source_v3",
                    {"color": _colour(scene), "width": width, "height": height}), 0, 0),
            (source(f"{scene} · title", "text_ft2_source_v2", _text(scene, 72)), 40, 30),
        ]
        for i, item in enumerate(_unique(items)):
            if item not in scenes:
                source(item, "text_ft2_source_v2", _text(item, 48))
            placed.append((item, 60, 150 + 70 * i))
        scene_sources.append({
            "name": scene, "uuid": uuids[scene], "id": "scene", "versioned_id": "scene",
            "enabled": True,
            "settings": {"id_counter": len(placed), "custom_size": False,
                         "items": [_item(n, uuids[n], i + 1, x, y)
                                   for i, (n, x, y) in enumerate(placed)]},
        })
    first = next(iter(scenes))
    return {
        "name": name,
        "current_scene": first,
        "current_program_scene": first,
        "scene_order": [{"name": n} for n in scenes],
        "groups": [],
        "transitions": [],
        "current_transition": "Fade",
        "transition_duration": 300,
        "sources": scene_sources + sources,
    }


def _item(name: str, source_uuid: str, item_id: int, x: int, y: int) -> dict[str, Any]:
    # OBS reads missing numbers as 0: a scale of 0 would make the item invisible.
    return {"name": name, "source_uuid": source_uuid, "id": item_id, "visible": True,
            "locked": False, "rot": 0.0, "pos": {"x": x, "y": y}, "scale": {"x": 1.0, "y": 1.0},
            "align": 5, "bounds_type": 0, "bounds_align": 0, "bounds": {"x": 0.0, "y": 0.0},
            "crop_left": 0, "crop_top": 0, "crop_right": 0, "crop_bottom": 0}


def _text(text: str, size: int) -> dict[str, Any]:
    return {"text": text, "font": {"face": "DejaVu Sans", "size": size, "style": "Book",
                                   "flags": 0},
            "color1": 0xFFFFFFFF, "color2": 0xFFFFFFFF, "outline": True}


def _colour(name: str) -> int:
    """A dark, stable colour per scene name (OBS stores 0xAABBGGRR)."""
    h = zlib.crc32(name.encode())
    r, g, b = 40 + h % 120, 40 + (h >> 8) % 120, 40 + (h >> 16) % 120
    return 0xFF000000 | b << 16 | g << 8 | r


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
