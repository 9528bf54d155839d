"""When the program feed's media source in OBS is restarted (pure decisions; the loop
against a stand-in client). The real OBS: tests/guests/test_obs_live.py."""

from __future__ import annotations

import asyncio
from typing import Any

from control.obs.mediafeed import RESTART, FeedWatch, watch_feed

PLAYING, STOPPED = "OBS_MEDIA_STATE_PLAYING", "OBS_MEDIA_STATE_STOPPED"


def test_nothing_while_the_mixer_is_off_then_one_restart_when_it_starts():
    w = FeedWatch(stall_after=3)
    assert w.observe(False, STOPPED, None, 0.0) is None  # nothing to play: leave it
    assert w.observe(True, PLAYING, 0, 1.0) == "start"
    assert w.observe(True, PLAYING, 0, 2.0) is None  # given stall_after to show progress
    assert w.observe(True, PLAYING, 500, 3.0) is None
    assert w.observe(True, PLAYING, 1500, 4.5) is None
    assert w.restarts == {"start": 1, "stopped": 0, "stalled": 0}


def test_stopped_is_restarted_and_a_still_cursor_is_a_stall():
    w = FeedWatch(stall_after=3)
    w.observe(True, PLAYING, 0, 0.0)
    w.observe(True, PLAYING, 800, 1.0)
    assert w.observe(True, PLAYING, 1800, 4.0) is None
    assert w.observe(True, PLAYING, 1800, 6.9) is None
    assert w.observe(True, PLAYING, 1800, 7.0) == "stalled"  # 3 s without progress
    assert w.observe(True, PLAYING, 300, 8.0) is None  # playing again
    assert w.observe(True, STOPPED, None, 11.0) == "stopped"
    assert w.restarts == {"start": 1, "stopped": 1, "stalled": 1}


def test_restarts_without_progress_back_off_and_progress_resets():
    w = FeedWatch(stall_after=1, backoff=2, max_backoff=8)
    w.observe(True, STOPPED, None, 0.0)  # start
    times = [t / 10 for t in range(1, 400)]
    restarts = [t for t in times if w.observe(True, STOPPED, None, t) is not None]
    gaps = [round(b - a, 1) for a, b in zip([0.0, *restarts], restarts, strict=False)]
    assert gaps[:5] == [1.0, 3.0, 5.0, 9.0, 9.0]  # 1 s, then +2, +4, +8 (capped)
    w.observe(True, PLAYING, 700, 40.0)  # progress: back to the first step
    assert w.observe(True, STOPPED, None, 40.1) is None
    assert w.observe(True, STOPPED, None, 41.0) is None  # still inside the last hold
    assert w.observe(True, STOPPED, None, 49.0) == "stopped"


class FakeClient:
    def __init__(self) -> None:
        self.connected = True
        self.state = PLAYING
        self.cursor = 0
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.listeners: list[Any] = []

    def add_event_listener(self, callback):
        self.listeners.append(callback)
        return lambda: self.listeners.remove(callback)

    async def call(self, request: str, data: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((request, data))
        if request == "GetMediaInputStatus":
            self.cursor += 100 if self.state == PLAYING else 0
            return {"mediaState": self.state, "mediaCursor": self.cursor}
        if data.get("mediaAction") == RESTART:
            self.state = PLAYING
        return {}


async def test_the_loop_restarts_a_stopped_source_and_counts_it():
    client = FakeClient()
    watch = FeedWatch(stall_after=0.2)
    task = asyncio.create_task(watch_feed(client, "Program Feed", lambda: True, watch=watch,
                                          every=0.02))
    try:
        async def until(check):
            for _ in range(500):
                if check():
                    return
                await asyncio.sleep(0.01)
            raise AssertionError("timed out")

        await until(lambda: watch.restarts["start"] == 1)
        client.state = STOPPED
        for listener in client.listeners:  # OBS says so at once
            listener(type("E", (), {"event_type": "MediaInputPlaybackEnded",
                                    "data": {"inputName": "Program Feed"}})())
        await until(lambda: watch.restarts["stopped"] == 1)
        assert client.state == PLAYING
        restarts = [d for r, d in client.calls if r == "TriggerMediaInputAction"]
        assert restarts == [{"inputName": "Program Feed", "mediaAction": RESTART}] * 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert client.listeners == []


def test_restarts_are_a_counter_by_reason():
    from metrics.support import value

    from control.metrics import Metrics, Sources

    watch = FeedWatch(stall_after=1)
    watch.observe(True, PLAYING, 0, 0.0)
    watch.observe(True, STOPPED, None, 2.0)
    metrics = Metrics(Sources(mix=lambda: {"fps": 30.0, "feed_restarts": watch.restarts}))
    text = metrics.render()
    assert value(text, "showctl_feed_restarts_total", reason="start") == 1
    assert value(text, "showctl_feed_restarts_total", reason="stopped") == 1
    assert value(text, "showctl_feed_restarts_total", reason="stalled") == 0
