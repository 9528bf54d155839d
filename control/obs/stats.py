"""OBS performance and output counters in base units, from GetStats / GetStreamStatus.

OBS reports CPU in percent, memory in MB and render time in ms; the controller's metrics
use ratios, bytes and seconds (docs/architecture.md, "Metrics"), so the conversion happens
once, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ObsStats:
    active_fps: float
    cpu_ratio: float
    memory_bytes: int
    frame_render_seconds: float
    render_lagged_frames: int
    render_total_frames: int
    encoder_skipped_frames: int
    encoder_total_frames: int
    stream_dropped_frames: int
    stream_total_frames: int
    stream_congestion_ratio: float
    stream_sent_bytes: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def stats_from(stats: Mapping[str, Any], stream: Mapping[str, Any]) -> ObsStats:
    """GetStats and GetStreamStatus answers → ``ObsStats`` (missing numbers read as 0)."""

    def num(d: Mapping[str, Any], key: str) -> float:
        value = d.get(key)
        return float(value) if isinstance(value, int | float) else 0.0

    return ObsStats(
        active_fps=num(stats, "activeFps"),
        cpu_ratio=num(stats, "cpuUsage") / 100.0,
        memory_bytes=round(num(stats, "memoryUsage") * MB),
        frame_render_seconds=num(stats, "averageFrameRenderTime") / 1000.0,
        render_lagged_frames=int(num(stats, "renderSkippedFrames")),
        render_total_frames=int(num(stats, "renderTotalFrames")),
        encoder_skipped_frames=int(num(stats, "outputSkippedFrames")),
        encoder_total_frames=int(num(stats, "outputTotalFrames")),
        stream_dropped_frames=int(num(stream, "outputSkippedFrames")),
        stream_total_frames=int(num(stream, "outputTotalFrames")),
        stream_congestion_ratio=num(stream, "outputCongestion"),
        stream_sent_bytes=int(num(stream, "outputBytes")),
    )
