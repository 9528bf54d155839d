"""A private etcd cluster on loopback, for the tests and the drill: Debian's `etcd` binary,
each member with its own data directory and free ports, never the system's etcd.service.

Heartbeat 50 ms and election 500 ms (docs/redundancy.md#timing): a member lost costs about
half a second of writes, and the minimum lease TTL is 1 s.

Blocking API (subprocesses; a cluster is healthy 0.3-3 s after start): from asyncio code use
`await asyncio.to_thread(...)`.

    with EtcdMembers(tmp) as etcd:
        EtcdClient(etcd.endpoints) ...
        etcd.kill(0)
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

HEARTBEAT_MS = 50
ELECTION_MS = 500
START_TIMEOUT = 30.0


class EtcdLaunchError(RuntimeError):
    """etcd could not be started or did not become healthy; the message ends with its log."""


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1 (etcd binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(endpoint: str, timeout: float = 0.5) -> bool:
    """A member's /health: true only while the cluster has a leader it can reach."""
    try:
        with urllib.request.urlopen(endpoint + "/health", timeout=timeout) as resp:
            return json.loads(resp.read()).get("health") == "true"
    except (OSError, ValueError, AttributeError):
        return False


class EtcdMembers:
    """`size` etcd members forming one new cluster under `root`."""

    def __init__(self, root: Path, size: int = 3, *, token: str = "showctl-test") -> None:
        self.root = Path(root)
        self.names = [f"m{i + 1}" for i in range(size)]
        self.client_ports = [free_port() for _ in self.names]
        self.peer_ports = [free_port() for _ in self.names]
        self.token = token
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * size

    @property
    def endpoints(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.client_ports]

    def _peer_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.peer_ports[i]}"

    def _command(self, i: int) -> list[str]:
        binary = shutil.which("etcd")
        if binary is None:
            raise EtcdLaunchError("etcd not found: install it with `apt-get install etcd-server`")
        cluster = ",".join(f"{n}={self._peer_url(j)}" for j, n in enumerate(self.names))
        return [binary, "--name", self.names[i], "--data-dir", str(self.root / self.names[i]),
                "--listen-client-urls", self.endpoints[i],
                "--advertise-client-urls", self.endpoints[i],
                "--listen-peer-urls", self._peer_url(i),
                "--initial-advertise-peer-urls", self._peer_url(i),
                "--initial-cluster", cluster, "--initial-cluster-token", self.token,
                "--initial-cluster-state", "new",
                "--heartbeat-interval", str(HEARTBEAT_MS),
                "--election-timeout", str(ELECTION_MS),
                "--logger", "zap", "--log-outputs", str(self.log_path(i))]

    def log_path(self, i: int) -> Path:
        return self.root / f"{self.names[i]}.log"

    def start_member(self, i: int) -> None:
        """Start (or restart, on its data directory) member `i`."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.procs[i] = subprocess.Popen(self._command(i), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)

    def start(self, timeout: float = START_TIMEOUT) -> EtcdMembers:
        for i in range(len(self.names)):
            self.start_member(i)
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = START_TIMEOUT,
                     members: list[int] | None = None) -> None:
        """Until every running member (or those named) says healthy."""
        deadline = time.monotonic() + timeout
        wanted = members if members is not None else [
            i for i, proc in enumerate(self.procs) if proc is not None]
        while not all(healthy(self.endpoints[i]) for i in wanted):
            for i in wanted:
                proc = self.procs[i]
                if proc is not None and proc.poll() is not None:
                    raise EtcdLaunchError(f"etcd {self.names[i]} exited ({proc.returncode})"
                                          + self._tail(i))
            if time.monotonic() > deadline:
                raise EtcdLaunchError(f"etcd not healthy after {timeout} s" + self._tail(0))
            time.sleep(0.05)

    def _tail(self, i: int) -> str:
        with contextlib.suppress(OSError):
            return "\n----- etcd log -----\n" + "\n".join(
                self.log_path(i).read_text("utf-8", "replace").splitlines()[-15:])
        return ""

    def leader_index(self) -> int:
        """Which member is etcd's raft leader now (asked of the running members)."""
        for i, endpoint in enumerate(self.endpoints):
            if self.procs[i] is None:
                continue
            with contextlib.suppress(OSError, ValueError, KeyError):
                request = urllib.request.Request(endpoint + "/v3/maintenance/status",
                                                 data=b"{}", method="POST")
                with urllib.request.urlopen(request, timeout=1.0) as resp:
                    status = json.loads(resp.read())
                if status["leader"] == status["header"]["member_id"]:
                    return i
        raise EtcdLaunchError("no member says it leads")

    def kill(self, i: int) -> None:
        """SIGKILL member `i` (its data stays: `start_member(i)` brings it back)."""
        proc = self.procs[i]
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        self.procs[i] = None

    def close(self) -> None:
        for i in range(len(self.names)):
            self.kill(i)
        for name in self.names:  # about 123 MB each (the WAL preallocates)
            shutil.rmtree(self.root / name, ignore_errors=True)

    def __enter__(self) -> EtcdMembers:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()
