"""A real Janus (Debian's, VideoRoom + HTTP only) for the live tests: its own config folder
in tmp, a free API port, its own RTP port range (control/janus/server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from janus.space import JANUS

from control.janus.server import JanusServer


@pytest.fixture
def janus_server(tmp_path: Path) -> Iterator[JanusServer]:
    """Janus on loopback (signalling only: it offers no ICE candidate there)."""
    if not Path(JANUS).exists():
        pytest.skip("needs Debian's janus")
    with JanusServer(tmp_path / "janus", interface="127.0.0.1") as server:
        yield server
