"""OBS's metrics, from the status the OBS sync caches (``ObsStatus.to_json()``).

One polling task in the sync refreshes the stats about once a second; a scrape reads that
cache and never talks to OBS. OBS's frame and byte counts are cumulative since its outputs
started, so they are exported as counters (a restart of OBS is a counter reset, which
``rate()`` handles). While OBS is not connected only ``showctl_obs_up 0`` and the reconnect
counters are exported: the last stats would be stale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

# (metric name, ObsStats field, help): gauges, then counters
GAUGES = (
    ("showctl_obs_active_fps", "active_fps", "Frames per second OBS is rendering."),
    ("showctl_obs_cpu_ratio", "cpu_ratio", "CPU used by OBS (1 = one core)."),
    ("showctl_obs_memory_bytes", "memory_bytes", "Memory used by OBS."),
    ("showctl_obs_frame_render_seconds", "frame_render_seconds",
     "Average time OBS takes to render a frame."),
    ("showctl_obs_stream_congestion_ratio", "stream_congestion_ratio",
     "Stream output congestion, 0 (none) to 1."),
)
COUNTERS = (
    ("showctl_obs_render_lagged_frames_total", "render_lagged_frames",
     "Frames OBS skipped rendering because rendering lagged."),
    ("showctl_obs_render_frames_total", "render_total_frames", "Frames OBS rendered."),
    ("showctl_obs_encoder_skipped_frames_total", "encoder_skipped_frames",
     "Frames the encoder skipped (encoder overloaded)."),
    ("showctl_obs_encoder_frames_total", "encoder_total_frames", "Frames given to the encoder."),
    ("showctl_obs_stream_dropped_frames_total", "stream_dropped_frames",
     "Stream frames dropped because of the network."),
    ("showctl_obs_stream_frames_total", "stream_total_frames", "Stream frames sent."),
    ("showctl_obs_stream_sent_bytes_total", "stream_sent_bytes", "Bytes the stream has sent."),
)


def _flag(value: Any) -> float | None:
    return None if value is None else (1.0 if value else 0.0)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class ObsCollector:
    def __init__(self, status: Callable[[], Mapping[str, Any] | None] | None) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        if self._status is None:
            return
        status = self._status() or {}
        up = bool(status.get("connected"))
        yield GaugeMetricFamily("showctl_obs_up", "1 while the controller has an identified "
                                "obs-websocket session with OBS.", value=1 if up else 0)
        yield CounterMetricFamily("showctl_obs_reconnects_total", "Times the controller "
                                  "connected to OBS again after losing it.",
                                  value=_num(status.get("reconnects")) or 0.0)
        attempts = _num(status.get("connection_attempts"))
        if attempts is not None:
            yield CounterMetricFamily("showctl_obs_connection_attempts_total",
                                      "Sockets the controller opened to OBS (a fast rise: a "
                                      "retry storm).", value=attempts)
        if not up:
            return
        for name, value, doc in (
                ("showctl_obs_stream_active", _flag(status.get("streaming")),
                 "1 while OBS is streaming."),
                ("showctl_obs_record_active", _flag(status.get("recording")),
                 "1 while OBS is recording."),
                ("showctl_obs_in_sync", _flag(status.get("in_sync")),
                 "1 while OBS shows what the show wants (program scene, items, preview)."),
                ("showctl_obs_manual_override", 1.0 if status.get("manual_override") else 0.0,
                 "1 while an operator's manual cut in OBS stands.")):
            if value is not None:
                yield GaugeMetricFamily(name, doc, value=value)
        stats = status.get("stats")
        if not isinstance(stats, Mapping):
            return
        for name, key, doc in GAUGES:
            value = _num(stats.get(key))
            if value is not None:
                yield GaugeMetricFamily(name, doc, value=value)
        for name, key, doc in COUNTERS:
            value = _num(stats.get(key))
            if value is not None:
                yield CounterMetricFamily(name, doc, value=value)
