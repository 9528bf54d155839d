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
    """Janus's API on loopback, for signalling only: no test using it publishes media
    (in this namespace Janus would offer the machine's other addresses; media tests run in
    a namespace of their own, tests/janus/space.py)."""
    if not Path(JANUS).exists():
        pytest.skip("needs Debian's janus")
    with JanusServer(tmp_path / "janus", interface="127.0.0.1") as server:
        yield server
