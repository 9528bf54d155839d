"""What every benchmark shares: percentiles, summaries, the machine it ran on, writing results."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def pct(values: Sequence[float], q: float) -> float:
    """The q-quantile (nearest rank) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: Sequence[float], digits: int | None = None) -> dict[str, Any]:
    """n, median, p95, p99, min, max (milliseconds in, milliseconds out); {"n": 0} if empty."""
    if not values:
        return {"n": 0}
    out = {"median_ms": statistics.median(values), "p95_ms": pct(values, .95),
           "p99_ms": pct(values, .99), "min_ms": min(values), "max_ms": max(values)}
    if digits is not None:
        out = {k: round(v, digits) for k, v in out.items()}
    return {"n": len(values), **out}


def ratio(ours: float | None, theirs: float | None) -> float | None:
    """ours / theirs, or None when either is missing or the baseline is zero."""
    if ours is None or not theirs:
        return None
    return ours / theirs


def _version(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line.strip() for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    return lines[-1] if cmd[0] == "obs" and lines else (lines[0] if lines else None)


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return found.group(1).strip() if found else (platform.processor() or "unknown")


def _memory_bytes() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    found = re.search(r"^MemTotal:\s*(\d+) kB", text, re.M)
    return int(found.group(1)) * 1024 if found else None


def machine() -> dict[str, Any]:
    """The machine as of now: CPU, cores, memory, kernel, Python and the real parts' versions.
    The load average is taken here; call ``load_average()`` again at the end."""
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "kernel": platform.release(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "obs": _version(["obs", "--version"]),
        "chromium": _version(["chromium", "--version"]),
        "ffmpeg": _version(["ffmpeg", "-version"]),
        "load_average_start": load_average(),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def write_result(name: str, result: dict[str, Any], out: Path | None = None) -> Path:
    """bench/results/NAME.json (or ``out``), pretty-printed; also printed on stdout."""
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, "utf-8")
    print(text, end="")
    return path


async def wait_on_air(http: aiohttp.ClientSession, state_url: str,
                      timeout: float = 60) -> dict[str, Any]:
    """Poll a starting controller's GET /api/state until a segment is on air; its model."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                async with http.get(state_url) as r:
                    if r.status == 200:
                        model = await r.json()
                        if model["on_air"]:
                            return model
            except aiohttp.ClientError:
                pass  # not listening yet
            await asyncio.sleep(0.1)


def collecting_ws(sockets: set[web.WebSocketResponse]
                  ) -> Callable[[web.Request], Awaitable[web.WebSocketResponse]]:
    """A baseline server's websocket route: keeps each open socket in `sockets`."""
    async def ws(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        sockets.add(sock)
        async for _ in sock:
            pass
        sockets.discard(sock)
        return sock
    return ws
