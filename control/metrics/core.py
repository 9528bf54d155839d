"""``Metrics``: the controller's own CollectorRegistry and what fills it.

Two kinds of metric live here:
- views of state other parts keep (the show's read model, OBS's cached status, guests):
  custom collectors that build their families on each scrape from ``Sources`` callables;
- things that happen (takes, take latencies, journal writes, event-loop lag, mixer frames):
  counters and histograms fed as they happen, or polled from the recent-sample lists that
  the runner and the OBS sync keep (see ``SampleFeed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import platform
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from .guests import GuestCollector
from .obs import ObsCollector
from .show import ShowCollector

log = logging.getLogger(__name__)

# Where a take came from (control.show.commands.Take.source and the engine's own):
# every one exported from the start at 0, so rate() works from the first take.
TAKE_SOURCES = ("director", "console", "api", "osc", "keys", "auto", "hard-start", "show-start")
OTHER_SOURCE = "other"  # anything else: the label stays bounded

TAKE_LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0)
JOURNAL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
LOOP_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
MIX_FRAME_BUCKETS = (0.005, 0.01, 0.0167, 0.02, 0.025, 0.0333, 0.04, 0.05, 0.1, 0.25)
LOOP_LAG_INTERVAL = 0.25  # seconds between the loop-lag probe's wake-ups


class Collector(Protocol):
    def collect(self) -> Iterable[Metric]: ...


@dataclass(frozen=True, slots=True)
class Sources:
    """What the wiring lends the metrics: each a cheap read of an in-memory cache, or None.

    - ``show``: the show part of the read model, ``control.show.view.show_view(state, now)``.
    - ``obs``: ``ObsStatus.to_json()`` (``connected``, ``streaming``, ``recording``,
      ``stats`` in base units, ``reconnects``...), optionally with ``connection_attempts``.
    - ``guests``: one mapping per roster guest that has a session: ``id``, ``connected``,
      ``rtt_seconds``, ``jitter_seconds``, ``loss_ratio``, ``received_bytes`` (cumulative),
      ``audio_peak_dbfs``, ``health`` (0..100, control.guests.health); a guest who leaves
      is simply not in the list any more.
    - ``mix``: the program mixer: ``fps``, ``audio_peak_dbfs``, ``feed_restarts`` ({reason:
      count}: OBS's program feed source restarted, control.obs.mediafeed). Compose times go
      into ``showctl_mix_frame_seconds`` through ``observe_mix_frame``.
    - ``take_latencies`` / ``journal_seconds``: the recent samples (seconds) that ObsSync
      and the Runner keep; new ones go into histograms (``SampleFeed``).
    - ``websocket_clients``: connected state-websocket clients, by role ({role: count}).
    - ``journal_ok``: False while journal writes fail (the records wait in memory).
    - ``screens``: the hosts' screens connected, by page ({"presenter": n, "prompter": n}).
    """

    show: Callable[[], Mapping[str, Any] | None] | None = None
    obs: Callable[[], Mapping[str, Any] | None] | None = None
    guests: Callable[[], Iterable[Mapping[str, Any]]] | None = None
    mix: Callable[[], Mapping[str, Any] | None] | None = None
    take_latencies: Callable[[], Sequence[float]] | None = None
    journal_seconds: Callable[[], Sequence[float]] | None = None
    websocket_clients: Callable[[], Mapping[str, int]] | None = None
    journal_ok: Callable[[], bool] | None = None
    screens: Callable[[], Mapping[str, int]] | None = None


class SampleFeed:
    """Turns a sliding window of recent samples (a bounded list another part keeps) into
    histogram observations, each sample once.

    The window only grows at its end and drops from its start, so the samples not seen yet
    are those after the longest overlap of the last window's end with the new one's start.
    Polled often enough (on every scrape and every loop-lag tick), nothing is missed; if more
    samples arrived than the window holds, the ones that fell out are lost, never counted twice.
    """

    def __init__(self, source: Callable[[], Sequence[float]], sink: Callable[[float], None]
                 ) -> None:
        self._source = source
        self._sink = sink
        self._last: list[float] = []

    def poll(self) -> int:
        """Observe the samples that are new since the last poll; returns how many."""
        window = list(self._source())
        fresh = window[_overlap(self._last, window):]
        for value in fresh:
            self._sink(float(value))
        self._last = window
        return len(fresh)


def _overlap(old: Sequence[float], new: Sequence[float]) -> int:
    """The largest k with old[-k:] == new[:k] (0 when none)."""
    for k in range(min(len(old), len(new)), 0, -1):
        if old[len(old) - k:] == new[:k]:
            return k
    return 0


class _Takes:
    """``showctl_takes_total{source}``: counted from the runner's events as they happen."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(TAKE_SOURCES, 0)

    def count(self, events: Iterable[Any]) -> None:
        for event in events:
            if getattr(event, "kind", None) != "take":
                continue
            source = getattr(event, "source", None)
            key = source if source in self.counts else OTHER_SOURCE
            self.counts[key] = self.counts.get(key, 0) + 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "showctl_takes_total", "Segments put on air, by where the take came from "
            "(console, api, osc, keys, director; auto, hard-start, show-start by the clock).",
            labels=["source"])
        for source, n in self.counts.items():
            family.add_metric([source], n)
        yield family


class _Controller:
    """The controller itself: websocket clients, its journal, build info."""

    def __init__(self, clients: Callable[[], Mapping[str, int]] | None, version: str,
                 journal_ok: Callable[[], bool] | None = None,
                 screens: Callable[[], Mapping[str, int]] | None = None) -> None:
        self._clients = clients
        self._version = version
        self._journal_ok = journal_ok
        self._screens = screens

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("showctl_build_info", "The running showctl: always 1; the "
                                 "version and Python in labels.", labels=["version", "python"])
        info.add_metric([self._version, platform.python_version()], 1)
        yield info
        if self._clients is not None:
            clients = GaugeMetricFamily("showctl_websocket_clients", "Browsers and tools "
                                        "connected to the state websocket, by role.",
                                        labels=["role"])
            for role, count in sorted(self._clients().items()):
                clients.add_metric([role], count)
            yield clients
        if self._screens is not None:
            screens = GaugeMetricFamily("showctl_stage_screens", "The hosts' screens "
                                        "connected (presenter, prompter): a screen on the "
                                        "studio floor that went dark shows here first.",
                                        labels=["screen"])
            for screen, count in sorted(self._screens().items()):
                screens.add_metric([screen], count)
            yield screens
        if self._journal_ok is not None:
            yield GaugeMetricFamily("showctl_journal_ok", "1 while the journal is written; 0 "
                                    "when writes fail (disk full, I/O error): the show goes "
                                    "on, the records wait in memory.",
                                    value=1 if self._journal_ok() else 0)


class _Guarded:
    """Runs a collector so that its failure costs only its own families, never the scrape."""

    def __init__(self, name: str, collector: Collector, errors: dict[str, int]) -> None:
        self.name = name
        self._collector = collector
        self._errors = errors
        errors.setdefault(name, 0)

    def collect(self) -> Iterator[Metric]:
        try:
            families = list(self._collector.collect())
        except Exception:
            self._errors[self.name] += 1
            log.exception("metrics: the %s collector failed; its metrics are left out", self.name)
            return iter(())
        return iter(families)


class _Errors:
    def __init__(self, errors: dict[str, int]) -> None:
        self._errors = errors

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("showctl_metrics_collect_errors_total",
                                     "Scrapes in which a collector failed (its metrics were "
                                     "left out of that scrape).", labels=["collector"])
        for name, n in self._errors.items():
            family.add_metric([name], n)
        yield family


def package_version() -> str:
    try:
        return metadata.version("showctl")
    except metadata.PackageNotFoundError:
        return "unknown"


class Metrics:
    """The controller's metrics, in a registry of their own (never the global one)."""

    def __init__(self, sources: Sources, *, version: str | None = None,
                 loop_lag_interval: float = LOOP_LAG_INTERVAL) -> None:
        self.sources = sources
        self.loop_lag_interval = loop_lag_interval
        self.registry = CollectorRegistry(auto_describe=False)
        self._errors: dict[str, int] = {}
        self._takes = _Takes()
        self._guest_collector = GuestCollector(sources.guests, sources.mix)
        guarded: list[tuple[str, Collector]] = [
            ("show", ShowCollector(sources.show)),
            ("obs", ObsCollector(sources.obs)),
            ("guests", self._guest_collector),
            ("takes", self._takes),
            ("controller", _Controller(sources.websocket_clients,
                                       version or package_version(), sources.journal_ok,
                                       sources.screens)),
        ]
        for name, collector in guarded:
            self.registry.register(_Guarded(name, collector, self._errors))  # type: ignore[arg-type]
        self.registry.register(_Errors(self._errors))  # type: ignore[arg-type]
        ProcessCollector(namespace="showctl", registry=self.registry)

        self.take_latency = Histogram(
            "showctl_take_latency_seconds", "Take latency: the take's batch sent to OBS until "
            "OBS reports the new program scene (Cut takes).",
            buckets=TAKE_LATENCY_BUCKETS, registry=self.registry)
        self.journal_write = Histogram(
            "showctl_journal_write_seconds", "Journal appends (write + fsync), each one.",
            buckets=JOURNAL_BUCKETS, registry=self.registry)
        self.loop_lag = Histogram(
            "showctl_event_loop_lag_seconds", "How late the asyncio event loop woke a "
            f"{loop_lag_interval:g} s sleep.", buckets=LOOP_LAG_BUCKETS, registry=self.registry)
        self.mix_frame = Histogram(
            "showctl_mix_frame_seconds", "Time the program mixer took to compose one frame.",
            buckets=MIX_FRAME_BUCKETS, registry=self.registry)
        self._feeds = [SampleFeed(src, sink) for src, sink in (
            (sources.take_latencies, self.take_latency.observe),
            (sources.journal_seconds, self.journal_write.observe)) if src is not None]
        self._task: asyncio.Task[None] | None = None

    # --- fed as things happen ------------------------------------------------------------------

    def on_change(self, state: Any, events: tuple[Any, ...], now: int) -> None:
        """A Runner listener: counts takes by source. Never raises into the runner."""
        try:
            self._takes.count(events)
        except Exception:
            log.exception("metrics: counting takes failed")

    def lend_guests(self, guests: Callable[[], Iterable[Mapping[str, Any]]] | None,
                    mix: Callable[[], Mapping[str, Any] | None] | None) -> None:
        """Set ``Sources.guests`` and ``Sources.mix`` after construction (the wiring makes
        the gateway and the mixer after the metrics)."""
        self.sources = replace(self.sources, guests=guests, mix=mix)
        self._guest_collector.lend(guests, mix)

    def observe_mix_frame(self, seconds: float) -> None:
        """For the program mixer (any thread): one composed frame took ``seconds``."""
        self.mix_frame.observe(seconds)

    def poll(self) -> None:
        """Move new take-latency and journal samples into their histograms."""
        for feed in self._feeds:
            try:
                feed.poll()
            except Exception:
                log.exception("metrics: reading samples failed")

    # --- scraping -------------------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text exposition (0.0.4) of everything, as of now."""
        self.poll()
        return generate_latest(self.registry)

    # --- the loop-lag probe ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._probe(), name="metrics-loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _probe(self) -> None:
        """Sleep a fixed interval, again and again; how late each wake-up comes is the lag
        (anything blocking the loop shows here first)."""
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.loop_lag_interval)
            self.loop_lag.observe(max(0.0, loop.time() - before - self.loop_lag_interval))
            self.poll()
