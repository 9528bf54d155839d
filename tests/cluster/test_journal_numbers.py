"""The leader's journal through etcd gives its sequence numbers back when nothing was written
(fenced, no lease): the runner's retry of the same records must leave no gap in etcd (a
follower refuses a gap and reads everything again)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from control.cluster.client import EtcdClient
from control.cluster.node import ClusterNode, Holder
from control.cluster.replica import Keys, Outcome, Pending, ReplicaError
from control.journal.records import JournalError, session_record
from control.journal.store import Journal
from control.wiring.cluster import ClusterPart, ReplicatedJournal

pytestmark = pytest.mark.unit


async def test_a_refused_write_leaves_no_gap(tmp_path: Path) -> None:
    client = EtcdClient(["http://127.0.0.1:9"])
    part = ClusterPart(client, ClusterNode(client, Keys(), Holder("main")), Keys())
    local = Journal.create(tmp_path / "j.jsonl", session_record("r.yaml", "", wall_ms=0))
    journal = ReplicatedJournal(local, part, asyncio.get_running_loop(), next_seq=2)
    sent: list[list[int]] = []
    answers: list[Outcome | Exception] = [ReplicaError("no lease"), Outcome.FENCED,
                                          Outcome.WRITTEN]

    def to_etcd(items: list[Pending]) -> Outcome:
        sent.append([i.seq for i in items])
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    journal._to_etcd = to_etcd  # type: ignore[method-assign]
    try:
        records = [{"type": "command", "wall_ms": 1, "command": {"kind": "take"}},
                   {"type": "command", "wall_ms": 2, "command": {"kind": "hold"}}]
        for _ in range(2):
            with pytest.raises(JournalError):
                journal.append_all(records)
        journal.append_all(records)
        assert sent == [[2, 3], [2, 3], [2, 3]]
        assert journal.outbox.next_seq == 4
    finally:
        local.close()
        await client.close()
