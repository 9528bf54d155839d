"""WebRTC tests run their body again inside a network namespace that has nothing but
loopback (`unshare -n`, as root), so no media packet can leave 127.0.0.1 whatever the ICE
agents offer (notes on this are in docs/guests.md). The outer test re-runs pytest on the
inner one there; the inner one skips itself outside."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import CHROMIUM

ROOT = Path(__file__).resolve().parents[1]


def rerun_inside(test_file: str, select: str, flag: str, *, timeout: float,
                 needs: tuple[str, ...] = (CHROMIUM,), passed: int | None = 1) -> str:
    """Run pytest on `test_file` + `select` (`::name`, or ` -k 'EXPR'`) inside a fresh
    loopback-only namespace, with `flag` set in its environment; assert it passed (`passed`
    tests exactly, or at least one when None). Skips when already inside, or without root,
    unshare or what `needs` names (commands on PATH, or absolute paths)."""
    if os.environ.get(flag):
        pytest.skip("already inside")
    missing = [n for n in ("unshare", *needs)
               if not (Path(n).exists() if n.startswith("/") else shutil.which(n))]
    if os.geteuid() != 0 or missing:
        pytest.skip(f"needs root and {', '.join(missing) or 'nothing else'}")
    cmd = (f"ip link set lo up; exec {sys.executable} -m pytest -q -p no:cacheprovider "
           f"{test_file}{select}")
    done = subprocess.run(["unshare", "-n", "sh", "-c", cmd], cwd=ROOT,
                          env={**os.environ, flag: "1"}, capture_output=True, text=True,
                          timeout=timeout)
    out = done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0, out
    assert (f"{passed} passed" in done.stdout) if passed else " passed" in done.stdout, out
    assert "failed" not in done.stdout, out
    return done.stdout


def only_inside(flag: str, outer: str) -> None:
    """Skip the inner test unless `rerun_inside` is running it."""
    if not os.environ.get(flag):
        pytest.skip(f"runs inside the loopback namespace ({outer})")
