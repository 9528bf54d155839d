"""The director's word to the hosts survives a crash: messages, signals and read-backs are
journaled commands, and replay brings back the message on the screens, whether it was read,
and the signal."""

from __future__ import annotations

import json

from control.journal import JournalContents, replay, session_record, session_state, step_records
from control.journal.store import encode
from control.show import commands as C
from control.show.engine import apply

SHOW = """\
show:
  title: T
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
segments:
  - {id: a, title: A, duration: 5m, scene: SA}
  - {id: b, title: B, duration: 5m, scene: SB}
"""
T0 = 1_704_031_200_000  # 22:00 Beijing


def test_replay_restores_the_message_its_read_back_and_the_signal() -> None:
    session = session_record("t.yaml", SHOW, wall_ms=T0 - 60_000, armed=False)
    state = session_state(session)
    records: list[dict] = []
    for now, cmd in ((T0, C.Take(by="director")),
                     (T0 + 1000, C.Message("Wrap after this", by="director")),
                     (T0 + 2000, C.Signal("wrap", by="director")),
                     (T0 + 3000, C.ReadBack(1, by="presenter")),
                     (T0 + 4000, C.Message("Stretch, the clip is late", by="director"))):
        step = apply(state, cmd, now)
        records += step_records(step, now, cmd)
        state = step.state
    back = [json.loads(encode(r)) for r in [session, *records]]
    replayed = replay(JournalContents(back[0], tuple(back[1:])))
    assert replayed.warnings == ()
    assert replayed.state.message == state.message and replayed.state.message is not None
    assert (replayed.state.message.id, replayed.state.message.read_ms) == (2, None)
    assert replayed.state.messages_sent == 2
    assert replayed.state.signal == state.signal and state.signal is not None
    kinds = [r["event"]["kind"] for r in back if r["type"] == "event"]
    assert kinds == ["take", "message", "signal", "read", "message"]
