"""The OBS send gate of a standby pair (control/wiring/obs.py): reads pass, anything that
changes OBS only while the node drives, asked at the instant of sending, each one logged."""

from __future__ import annotations

import json
import logging

import pytest

from control.wiring.obs import SEND_MARK, send_gate

pytestmark = pytest.mark.unit


class Node:
    def __init__(self) -> None:
        self.left = 0.0
        self.lease = 0

    def drives_for(self) -> float:
        return self.left


def test_reads_pass_writes_need_the_lease_and_every_write_is_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    node = Node()
    gate = send_gate(node, "backup")
    caplog.set_level(logging.INFO, "showctl.obs.sends")
    assert gate(("GetCurrentProgramScene", "GetSceneList"))
    assert not gate(("SetCurrentProgramScene",))
    assert not gate(("GetSceneList", "SetSceneItemEnabled"))  # a batch with one write
    node.left, node.lease = 0.5, 7
    assert gate(("SetCurrentProgramScene",))  # asked each time, never a cached answer
    node.left = 0.0
    assert not gate(("SetCurrentProgramScene",))
    sent = [json.loads(r.getMessage().split(SEND_MARK, 1)[1]) for r in caplog.records
            if SEND_MARK in r.getMessage()]
    assert len(sent) == 1
    assert sent[0]["node"] == "backup" and sent[0]["lease"] == 7
    assert sent[0]["types"] == ["SetCurrentProgramScene"]
    assert 0.4 < sent[0]["until"] - sent[0]["t"] <= 0.5
    assert sum("obs-refused" in r.getMessage() for r in caplog.records) == 3
