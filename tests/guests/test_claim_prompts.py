"""The director's prompt for a browser asking in leaves the consoles when its claim lapses,
without waiting for some other change to push the read model (control/wiring/guests.py)."""

from __future__ import annotations

import asyncio
import time

from helpers import until

from control.guests.bindings import CLAIM_TTL_S, Bindings, Verdict
from control.wiring.guests import ClaimPrompts


async def test_a_lapsed_claim_is_pushed_once_when_it_lapses() -> None:
    b = Bindings()
    b.decide("zhu", 0, None, None, time.monotonic())
    b.bind("zhu", time.monotonic())
    offset = CLAIM_TTL_S - 0.3  # the claims are made "almost lapsed": the test's clock runs ahead
    clock = lambda: time.monotonic() + offset  # noqa: E731
    pushes: list[bool] = []  # whether a claim was pending at each push

    def pending() -> list:
        return [c for c in [b.pending("zhu", clock())] if c is not None]

    prompts = ClaimPrompts(lambda: pushes.append(bool(pending())), pending, clock)
    claim = b.decide("zhu", 0, None, None, time.monotonic()).claim  # another browser asks
    assert claim is not None and b.pending("zhu", clock()) is not None
    for _ in range(3):  # it asks again and again: one lapse is scheduled, not three
        assert b.decide("zhu", 0, None, claim, time.monotonic()).verdict is Verdict.CLAIMED
        prompts.changed()
    assert pushes == [True, True, True]
    await until(lambda: len(pushes) == 4, 10, "the push at the claim's lapse")
    assert pushes[-1] is False  # the prompt is gone from the model it pushed
    await asyncio.sleep(0)  # (no further push is due: the handle was spent)
    assert len(pushes) == 4
    prompts.close()
