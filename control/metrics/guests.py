"""Remote guests and the program mix, from what the guest gateway and mixer report.

The only guest label is the roster id from the rundown (bounded), never a peer id, SSRC or
address. The families are built from the current list on every scrape, so a guest who
leaves disappears from the next scrape: no stale series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

PEAK_FLOOR_DBFS = -120.0  # digital silence (-inf dBFS) and anything quieter read as this
MIX_SOURCE = "mix"

GUEST_GAUGES = (
    ("showctl_guest_rtt_seconds", "rtt_seconds", "Round-trip time to the guest (RTCP)."),
    ("showctl_guest_jitter_seconds", "jitter_seconds", "Interarrival jitter of the guest's "
     "media."),
    ("showctl_guest_loss_ratio", "loss_ratio", "Fraction of the guest's packets lost "
     "recently, 0 to 1."),
    ("showctl_guest_health", "health", "The guest's health figure, 0 (lost) to 100 "
     "(good): the worst of loss, RTT, jitter, dropped frames, the browser's quality limit "
     "and battery (docs/guests.md#guest-health); under 45 is poor."),
)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def peak_dbfs(value: Any) -> float | None:
    number = _num(value)
    if number is None or number != number:  # None or NaN: not known
        return None
    return max(PEAK_FLOOR_DBFS, number)


class GuestCollector:
    def __init__(self, guests: Callable[[], Iterable[Mapping[str, Any]]] | None,
                 mix: Callable[[], Mapping[str, Any] | None] | None) -> None:
        self._guests = guests
        self._mix = mix

    def lend(self, guests: Callable[[], Iterable[Mapping[str, Any]]] | None,
             mix: Callable[[], Mapping[str, Any] | None] | None) -> None:
        """The guests' and the mixer's reads, when they exist after the metrics do."""
        self._guests = guests
        self._mix = mix

    def collect(self) -> Iterator[Metric]:
        peaks = GaugeMetricFamily("showctl_audio_peak_dbfs", "Recent audio peak in dBFS, by "
                                  f"source (a guest's roster id, or {MIX_SOURCE!r} for the "
                                  f"program); {PEAK_FLOOR_DBFS:g} means silence.",
                                  labels=["source"])
        if self._guests is not None:
            guests = [g for g in self._guests() if g.get("id")]
            connected = GaugeMetricFamily("showctl_guest_connected", "1 while the guest's "
                                          "media session is connected.", labels=["guest"])
            received = CounterMetricFamily("showctl_guest_received_bytes",
                                           "Media bytes received from the guest (rate × 8: "
                                           "the guest's bitrate).", labels=["guest"])
            gauges = [(GaugeMetricFamily(name, doc, labels=["guest"]), key)
                      for name, key, doc in GUEST_GAUGES]
            for guest in guests:
                gid = str(guest["id"])
                connected.add_metric([gid], 1 if guest.get("connected") else 0)
                for family, key in gauges:
                    value = _num(guest.get(key))
                    if value is not None:
                        family.add_metric([gid], value)
                value = _num(guest.get("received_bytes"))
                if value is not None:
                    received.add_metric([gid], value)
                peak = peak_dbfs(guest.get("audio_peak_dbfs"))
                if peak is not None:
                    peaks.add_metric([gid], peak)
            yield connected
            yield from (family for family, _ in gauges)
            yield received
        if self._mix is not None:
            mix = self._mix() or {}
            fps = _num(mix.get("fps"))
            if fps is not None:
                yield GaugeMetricFamily("showctl_mix_fps", "Frames per second the program "
                                        "mixer composes.", value=fps)
            peak = peak_dbfs(mix.get("audio_peak_dbfs"))
            if peak is not None:
                peaks.add_metric([MIX_SOURCE], peak)
            yield from _feed_link(mix)
            restarts = mix.get("feed_restarts")
            if isinstance(restarts, Mapping):
                family = CounterMetricFamily(
                    "showctl_feed_restarts", "Times the controller restarted OBS's program "
                    "feed media source, by reason: start (the mixer began sending), stopped "
                    "(stopped, ended or in error), stalled (its cursor stood still).",
                    labels=["reason"])
                for reason, n in sorted(restarts.items()):
                    value = _num(n)
                    if value is not None:
                        family.add_metric([str(reason)], value)
                yield family
        if self._guests is not None or self._mix is not None:
            yield peaks


FEED_LINKS = ("stopped", "connecting", "sending")


def _feed_link(mix: Mapping[str, Any]) -> Iterator[Metric]:
    """The program feed's connection to OBS (over SRT it can be down while the mixer runs:
    `connecting`), and how often it was (re)made or broke."""
    link = mix.get("feed_link")
    if link not in FEED_LINKS:
        return
    state = GaugeMetricFamily("showctl_feed_link", "The program feed's link to OBS: 1 on its "
                              "state (stopped, connecting: no stream open, sending).",
                              labels=["state"])
    for name in FEED_LINKS:
        state.add_metric([name], 1 if name == link else 0)
    yield state
    for key, name, text in (("feed_connects", "showctl_feed_connects",
                             "Times the program feed opened a stream to OBS."),
                            ("feed_link_errors", "showctl_feed_link_errors",
                             "Times opening or writing the program feed's stream failed.")):
        value = _num(mix.get(key))
        if value is not None:
            yield CounterMetricFamily(name, text, value=value)
