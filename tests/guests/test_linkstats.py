"""Bytes and loss from aiortc's own stats, into the metrics the way the wiring lends them;
compose times into showctl_mix_frame_seconds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest
from guests.support import solid
from metrics.support import value

from control.guests.feed import FeedSettings, ProgramFeed
from control.guests.gateway import Gateway, HeldFrames, Session
from control.guests.layouts import Program
from control.guests.linkstats import LinkMeter, summarize
from control.guests.video import Canvas, Compositor
from control.metrics import Metrics, Sources


@dataclass
class Transport:
    bytesReceived: int
    type: str = "transport"


@dataclass
class Inbound:
    packetsReceived: int
    packetsLost: int
    type: str = "inbound-rtp"


def test_summarize_bytes_and_recent_loss():
    first = summarize([Transport(1000), Inbound(90, 0), Inbound(10, 0)])
    assert (first.received_bytes, first.packets_received, first.loss_ratio) == (1000, 100, None)
    second = summarize([Transport(5000), Inbound(170, 5), Inbound(25, 5)], first)
    assert second.loss_ratio == pytest.approx(10 / 105)  # since the last report only
    third = summarize([Transport(5000), Inbound(170, 5), Inbound(25, 5)], second)
    assert third.loss_ratio == second.loss_ratio  # nothing arrived: the last figure stays


def test_meter_keeps_bytes_across_rejoins():
    meter = LinkMeter()
    assert meter.metrics("ada") == {"received_bytes": None, "loss_ratio": None}
    meter.update("ada", [Transport(4000), Inbound(10, 0)])
    meter.ended("ada")
    meter.update("ada", [Transport(1000), Inbound(5, 0)])  # a new session starts at 0
    assert meter.metrics("ada")["received_bytes"] == 5000  # the counter never goes back


class StatsPC:
    def __init__(self) -> None:
        self.bytes = 0

    async def close(self) -> None:
        pass

    async def getStats(self) -> dict:
        self.bytes += 12_000
        lost = self.bytes // 12_000 - 1
        return {"t": Transport(self.bytes), "v": Inbound(100 * self.bytes // 12_000, lost)}


async def test_gateway_reads_its_sessions_stats_into_the_guest_metrics():
    gateway = Gateway(HeldFrames(), stats_every=0.05)
    gateway.sessions["ada"] = Session("ada", "s1", StatsPC())
    gateway.phases["ada"] = "connected"

    def guests() -> list[dict]:  # as control.wiring.guests' link_metrics lends them
        return [{**gateway.meter.metrics(g), "id": g,
                 "connected": gateway.phase(g) == "connected"} for g in gateway.sessions]

    metrics = Metrics(Sources(guests=guests))
    gateway._watch = asyncio.create_task(gateway._watchdog())
    try:
        for _ in range(200):
            text = metrics.render()
            if (value(text, "showctl_guest_received_bytes_total", guest="ada") or 0) >= 36_000:
                break
            await asyncio.sleep(0.02)
        assert value(text, "showctl_guest_received_bytes_total", guest="ada") >= 36_000
        ratio = value(text, "showctl_guest_loss_ratio", guest="ada")
        assert ratio is not None and 0 < ratio < 0.02  # 1 lost in ~100 each round
    finally:
        gateway.sessions.clear()
        await asyncio.wait_for(gateway._watch, 5)


class NullEncoder:
    def __init__(self, settings: FeedSettings) -> None:
        self.frames = 0

    def encode_video(self, frame, index: int) -> None:
        self.frames += 1

    def encode_audio(self, block, sample: int) -> None:
        pass

    def close(self) -> None:
        pass


async def test_compose_times_feed_the_mix_frame_histogram(tmp_path: Path):
    metrics = Metrics(Sources())
    output = ProgramFeed(FeedSettings(port=9, width=320, height=180, fps=30, audio=False),
                           Compositor(Canvas(320, 180)), encoder=NullEncoder)
    output.on_compose = metrics.observe_mix_frame
    output.program = Program(("red",), "solo")
    output.sources = {"red": HeldFrames().frames("red")}
    output.sources["red"].put(solid("red", 320, 180, captured=1e12))
    output.start()
    try:
        for _ in range(500):
            count = value(metrics.render(), "showctl_mix_frame_seconds_count") or 0
            if count >= 5:
                break
            await asyncio.sleep(0.02)
    finally:
        await asyncio.to_thread(output.stop)
    text = metrics.render()
    assert value(text, "showctl_mix_frame_seconds_count") >= 5
    assert 0 < value(text, "showctl_mix_frame_seconds_sum") < 5
