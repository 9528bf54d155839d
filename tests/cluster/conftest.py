"""A real three-member etcd cluster on loopback for the live tests: own data directories in
tmp, free ports, heartbeat 50 ms and election 500 ms (control/cluster/members.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from control.cluster.members import EtcdMembers


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[EtcdMembers]:
    with EtcdMembers(tmp_path / "etcd") as members:
        yield members
