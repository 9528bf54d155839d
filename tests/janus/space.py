"""Media tests with Janus run their body again inside a network namespace of their own:
loopback plus one veth pair (both ends here) with an address of the test's own (STUDIO), because Janus
never offers 127.0.0.1 as an ICE candidate and aioice does not either. Janus (its
`general.interface`), the guests' aiortc and the forwarders' receivers all live in that one
namespace, so no packet can leave it (tests/netns.py is the loopback-only form)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STUDIO = "10.99.0.1"
JANUS = "/usr/bin/janus"


def rerun_in_studio(test_file: str, select: str, flag: str, *, timeout: float,
                    passed: int = 1) -> str:
    """Run pytest on `test_file` + `select` inside a fresh namespace holding only loopback
    and a dummy interface at STUDIO, with `flag` set; assert `passed` tests passed. Skips
    when already inside, or without root, unshare, ip or janus."""
    if os.environ.get(flag):
        pytest.skip("already inside")
    missing = [n for n in ("unshare", "ip") if not shutil.which(n)]
    missing += [] if Path(JANUS).exists() else [JANUS]
    if os.geteuid() != 0 or missing:
        pytest.skip(f"needs root and {', '.join(missing) or 'nothing else'}")
    cmd = (f"ip link set lo up && ip link add studio0 type veth peer name studio1 && "
           f"ip addr add {STUDIO}/24 dev studio0 && ip link set studio1 up && "
           f"ip link set studio0 up && "
           f"exec {sys.executable} -m pytest -q -p no:cacheprovider {test_file}{select}")
    done = subprocess.run(["unshare", "-n", "sh", "-c", cmd], cwd=ROOT,
                          env={**os.environ, flag: "1"}, capture_output=True, text=True,
                          timeout=timeout)
    out = done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0, out
    assert f"{passed} passed" in done.stdout, out
    assert "failed" not in done.stdout, out
    return done.stdout


def only_in_studio(flag: str, outer: str) -> None:
    """Skip the inner test unless `rerun_in_studio` is running it."""
    if not os.environ.get(flag):
        pytest.skip(f"runs inside the studio namespace ({outer})")
