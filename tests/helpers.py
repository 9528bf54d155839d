"""What many tests need once: waiting on a condition with a bound, a journal in memory, and
Debian's Chromium.

- ``wait_for`` (blocking) and ``until`` (awaitable) poll a condition until it holds or a
  deadline passes; never a bare sleep standing in for an event, and never an unbounded wait.
- ``MemoryJournal`` is the runner's journal (``control.runner.JournalWriter``) kept in a list:
  for tests of the runner, not of the disk (tests/journal has those).
- ``example_count`` caps a property test's examples in the inner loop (``make test-fast``
  loads the Hypothesis profile "fast"); CI runs the counts the tests ask for.
- ``launch_chromium`` starts Debian's /usr/bin/chromium through Playwright (never
  ``playwright install``) with one set of flags, from the sync or the async API.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hypothesis import settings

CHROMIUM = "/usr/bin/chromium"
# Headless on a shared, loaded machine: no GPU, nothing phoning home, and no throttling of
# background tabs or timers (a test page is never "visible", and must keep its frame rate).
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
                 "--disable-backgrounding-occluded-windows")
# A guest's browser: a synthetic camera and microphone, granted without a prompt, and ICE
# candidates on loopback allowed (WebRTC tests stay on 127.0.0.1).
MEDIA_ARGS = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--allow-loopback-in-peer-connection")


# The inner loop's Hypothesis profile (`pytest --hypothesis-profile=fast`, make test-fast).
FAST_EXAMPLES = 20
settings.register_profile("fast", max_examples=FAST_EXAMPLES, deadline=None)


def fast() -> bool:
    """Whether this run is the inner loop's (the "fast" Hypothesis profile is loaded)."""
    return settings.default is settings.get_profile("fast")


def example_count(wanted: int) -> int:
    """How many examples a property test tries: `wanted`, or FAST_EXAMPLES in the inner loop.
    (A test's own @settings beat any profile, so the count has to be asked for here.)"""
    return min(wanted, FAST_EXAMPLES) if fast() else wanted


def _timed_out(timeout: float, what: str, last: Any) -> AssertionError:
    return AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "the condition",
             *, interval: float = 0.02) -> Any:
    """Poll `predicate` in this thread until it returns something true, and return that;
    fail after `timeout` seconds, saying what was awaited and the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise _timed_out(timeout, what, last)
        time.sleep(interval)


async def until(predicate: Callable[[], Any | Awaitable[Any]], timeout: float = 5.0,
                what: str = "the condition", *, interval: float = 0.005) -> Any:
    """Poll `predicate` (plain or async) on the event loop until it returns something true,
    and return that. The deadline bounds the whole wait, a probe that hangs included."""
    last: Any = None
    try:
        async with asyncio.timeout(timeout) as bound:
            while True:
                last = predicate()
                if inspect.isawaitable(last):
                    last = await last
                if last:
                    return last
                await asyncio.sleep(interval)
    except TimeoutError:
        if not bound.expired():
            raise  # the probe's own timeout, not ours: let it say what it was
        raise _timed_out(timeout, what, last) from None


class MemoryJournal:
    """The runner's journal in memory: every record appended, in order, instantly."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def append_all(self, records: list[dict[str, Any]]) -> float:
        """Keep the records; the write took no time (the seconds the real one reports)."""
        self.records.extend(records)
        return 0.0


def launch_chromium(playwright: Any, *, media: bool = False, args: Sequence[str] = (),
                    **options: Any) -> Any:
    """``playwright.chromium.launch`` on Debian's Chromium with the suite's flags (plus
    MEDIA_ARGS for a guest's browser, plus `args`). With the sync API it returns the Browser,
    with the async API an awaitable of it."""
    flags = [*CHROMIUM_ARGS, *(MEDIA_ARGS if media else ()), *args]
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags,
                                      **options)
