"""A private Janus for the tests and the drill: Debian's `janus` binary with a config folder
of its own (only the VideoRoom plugin and the HTTP transport loaded), a free API port, an RTP
port range of its own, never the system's janus.service.

Blocking API (a subprocess; Janus answers its HTTP API 0.1-1 s after start): from asyncio
code use `await asyncio.to_thread(...)`.

    with JanusServer(tmp, interface="10.99.0.1") as janus:
        JanusClient(janus.url) ...
        janus.kill(); janus.start()     # the same port and config: a restart mid-show

Janus never offers 127.0.0.1 as an ICE candidate: `interface` is the address it offers (in
tests an address of the test's own network namespace, docs/scaling.md#janus). Given
127.0.0.1 it offers every other address of the machine instead: fine for signalling-only
tests, never for media.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

LIBDIR = Path("/usr/lib/x86_64-linux-gnu/janus")
START_TIMEOUT = 20.0
PLUGIN = "libjanus_videoroom.so"
TRANSPORT = "libjanus_http.so"


class JanusLaunchError(RuntimeError):
    """Janus could not be started or did not answer; the message ends with its log."""


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1 (Janus binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_udp_range(size: int) -> tuple[int, int]:
    """`size` consecutive UDP ports, the first of them free right now (a hint, not a lock:
    Janus skips ports it cannot bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        first = int(s.getsockname()[1])
    first = min(first, 65535 - size)
    return first, first + size - 1


def others(folder: Path, keep: str) -> str:
    """Every library in `folder` but `keep`, comma separated (Janus's `disable` lists)."""
    if not folder.is_dir():
        return ""
    return ",".join(sorted(p.name for p in folder.glob("*.so") if p.name != keep))


def answers(url: str, timeout: float = 0.5) -> bool:
    """Janus's `GET /janus/info` names the VideoRoom plugin (it is up and loaded)."""
    try:
        with urllib.request.urlopen(url + "/info", timeout=timeout) as resp:
            info = json.loads(resp.read())
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and "janus.plugin.videoroom" in info.get("plugins", {})


class JanusServer:
    """One Janus under `root` (its config folder and log), API on 127.0.0.1:`port`."""

    def __init__(self, root: Path, *, interface: str, admin_key: str = "showctl-test",
                 rtp_ports: int = 200, session_timeout: int = 60,
                 binary: str | None = None) -> None:
        self.root = Path(root)
        self.interface = interface
        self.admin_key = admin_key
        self.session_timeout = session_timeout  # s Janus keeps a session without a word
        self.port = free_port()
        self.rtp_range = free_udp_range(rtp_ports)
        self.binary = binary or shutil.which("janus") or "/usr/bin/janus"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/janus"

    @property
    def log_path(self) -> Path:
        return self.root / "janus.log"

    def write_config(self) -> None:
        conf = self.root / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        low, high = self.rtp_range
        (conf / "janus.jcfg").write_text(f"""general: {{
  configs_folder = "{conf}"
  plugins_folder = "{LIBDIR / 'plugins'}"
  transports_folder = "{LIBDIR / 'transports'}"
  events_folder = "{LIBDIR / 'events'}"
  loggers_folder = "{LIBDIR / 'loggers'}"
  debug_level = 4
  interface = "{self.interface}"
  session_timeout = {self.session_timeout}
}}
media: {{ rtp_port_range = "{low}-{high}" }}
nat: {{ ice_enforce_list = "{self.interface}" }}
plugins: {{ disable = "{others(LIBDIR / 'plugins', PLUGIN)}" }}
transports: {{ disable = "{others(LIBDIR / 'transports', TRANSPORT)}" }}
events: {{ broadcast = false disable = "{others(LIBDIR / 'events', '')}" }}
loggers: {{ disable = "{others(LIBDIR / 'loggers', '')}" }}
""")
        (conf / "janus.transport.http.jcfg").write_text(f"""general: {{
  json = "plain"
  base_path = "/janus"
  http = true
  port = {self.port}
  ip = "127.0.0.1"
  https = false
}}
admin: {{ admin_http = false }}
""")
        (conf / "janus.plugin.videoroom.jcfg").write_text(f"""general: {{
  admin_key = "{self.admin_key}"
  lock_rtp_forward = true
}}
""")

    def start(self, timeout: float = START_TIMEOUT) -> JanusServer:
        """Start (or restart, on the same port and config) and wait until it answers."""
        if not Path(self.binary).exists():
            raise JanusLaunchError("janus not found: install it with `apt-get install janus`")
        self.write_config()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-F", str(self.root / "conf"), "-o", "-L", str(self.log_path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not answers(self.url):
            if self.proc.poll() is not None:
                raise JanusLaunchError(f"janus exited ({self.proc.returncode})" + self._tail())
            if time.monotonic() > deadline:
                raise JanusLaunchError(f"janus did not answer in {timeout} s" + self._tail())
            time.sleep(0.05)
        return self

    def _tail(self) -> str:
        with contextlib.suppress(OSError):
            return "\n----- janus log -----\n" + "\n".join(
                self.log_path.read_text("utf-8", "replace").splitlines()[-20:])
        return ""

    def kill(self) -> None:
        """SIGKILL (a crash: no goodbye to its sessions); `start()` brings it back."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def close(self) -> None:
        self.kill()

    def __enter__(self) -> JanusServer:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()
