"""The show's metrics, from the one read model (``control.show.view.show_view``).

Built on each scrape from the model the console also shows, so the dashboards and the
console never disagree. Per-segment labels come from the rundown (bounded): the on-air
segment and the next hard start only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, time, timedelta
from typing import Any

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from control.show.localtime import to_local, zone

MODES = ("rehearsal", "live")


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _gauge(name: str, doc: str, value: Any) -> Iterator[Metric]:
    number = _num(value)
    if number is not None:
        yield GaugeMetricFamily(name, doc, value=number)


def midnight_countdown(now_ms: int, shift_ms: int, timezone: str) -> float:
    """Seconds to the next midnight of the show's clock (the rehearsal shift applied)."""
    tz = zone(timezone)
    show_now = now_ms - shift_ms
    local = to_local(show_now, tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=tz)
    return midnight.timestamp() - show_now / 1000


class ShowCollector:
    def __init__(self, model: Callable[[], Mapping[str, Any] | None] | None) -> None:
        self._model = model

    def collect(self) -> Iterator[Metric]:
        model = self._model() if self._model is not None else None
        if not model:
            return
        yield from _show(model.get("show") or {}, model.get("on_air"))
        yield from _on_air(model)
        yield from _hard_start(model)


def _show(show: Mapping[str, Any], on_air: object) -> Iterator[Metric]:
    """The show as a whole: flags, mode, offsets, the midnight countdown."""
    yield GaugeMetricFamily("showctl_show_on_air", "1 while a segment is on air (the show "
                            "has started and not ended).", value=1 if on_air else 0)
    yield GaugeMetricFamily("showctl_show_armed", "1 while hard starts (and the show's "
                            "start) are taken automatically at their time.",
                            value=1 if show.get("armed") else 0)
    yield GaugeMetricFamily("showctl_show_panic", "1 while panic holds the program on the "
                            "safe scene.", value=1 if show.get("panic") else 0)
    yield GaugeMetricFamily("showctl_show_held", "1 while the on-air segment is held (no "
                            "auto-advance).", value=1 if show.get("held") else 0)
    mode = GaugeMetricFamily("showctl_show_mode_info", "The show's mode (rehearsal or "
                             "live): 1 on the current one.", labels=["mode"])
    if show.get("mode"):
        mode.add_metric([str(show["mode"])], 1)
    yield mode
    yield from _gauge("showctl_show_offset_seconds", "How far behind schedule the show "
                      "runs now (+ late, - early).", show.get("offset_s"))
    yield from _gauge("showctl_show_over_under_seconds", "Projected end minus planned end "
                      "of the show (+ late).", show.get("over_under_s"))
    now_ms = _num(show.get("now_ms"))
    if now_ms is not None and show.get("timezone"):
        shift_ms = round((_num(show.get("shift_s")) or 0.0) * 1000)
        yield GaugeMetricFamily(
            "showctl_show_midnight_countdown_seconds", "Seconds to the next midnight on "
            "the show's clock (its timezone; the rehearsal shift applied).",
            value=midnight_countdown(int(now_ms), shift_ms, str(show["timezone"])))


def _on_air(model: Mapping[str, Any]) -> Iterator[Metric]:
    """The segment on air (families always present, empty when nothing is on air)."""
    on_air = model.get("on_air")
    info = GaugeMetricFamily("showctl_segment_info", "The segment on air: always 1; its "
                             "id and title in labels.", labels=["segment", "title"])
    over = GaugeMetricFamily("showctl_segment_over_under_seconds", "On-air segment: "
                             "expected minus planned duration (+ running long).",
                             labels=["segment"])
    remaining = GaugeMetricFamily("showctl_segment_remaining_seconds", "On-air segment: "
                                  "seconds to its planned end (negative: overrunning).",
                                  labels=["segment"])
    elapsed = GaugeMetricFamily("showctl_segment_elapsed_seconds", "On-air segment: "
                                "seconds since it went on air.", labels=["segment"])
    if on_air:
        seg_id = str(on_air.get("id"))
        info.add_metric([seg_id, str(on_air.get("title") or "")], 1)
        row = next((s for s in model.get("segments") or () if s.get("id") == seg_id), {})
        for family, value in ((over, row.get("over_under_s")),
                              (remaining, on_air.get("remaining_s")),
                              (elapsed, on_air.get("elapsed_s"))):
            number = _num(value)
            if number is not None:
                family.add_metric([seg_id], number)
    yield from (info, over, remaining, elapsed)


def _hard_start(model: Mapping[str, Any]) -> Iterator[Metric]:
    """The next hard start: its countdown and the projected shortfall."""
    countdown = GaugeMetricFamily("showctl_hard_start_countdown_seconds", "Seconds to the "
                                  "next hard start's target time.", labels=["segment"])
    shortfall = GaugeMetricFamily("showctl_hard_start_projected_shortfall_seconds",
                                  "Next hard start: content that will be cut (+) or must "
                                  "be filled (-) to meet it, as projected now.",
                                  labels=["segment"])
    for hard in (model.get("hard_starts") or ())[:1]:
        seg_id = str(hard.get("id"))
        for family, value in ((countdown, hard.get("countdown_s")),
                              (shortfall, hard.get("shortfall_s"))):
            number = _num(value)
            if number is not None:
                family.add_metric([seg_id], number)
    yield from (countdown, shortfall)
