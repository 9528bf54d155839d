"""Fixtures for the fuzz suites: the real controller on 127.0.0.1 (no OBS), one per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fuzz.support import Live, running


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with running(tmp_path_factory.mktemp("fuzz")) as controller:
        yield controller
