"""Prometheus metrics over what the other parts already keep in memory (a scrape never waits
on OBS or a guest)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from control.metrics import Metrics, Sources
from control.runner import Change, Runner
from control.show.view import show_view
from control.web.hub import StateHub

from .obs import ObsLink


def make_metrics(runner: Runner, obs: ObsLink, hub: StateHub,
                 screens: Callable[[], Mapping[str, int]] | None = None) -> Metrics:
    """The sources of every metric but the guests' (the guests part lends those).
    `screens`: the hosts' screens by page (the stage part, made after the metrics)."""
    return Metrics(Sources(
        show=lambda: show_view(runner.state, runner.now()),
        obs=lambda: {**obs.sync.status().to_json(),
                     "connection_attempts": obs.client.connection_attempts},
        take_latencies=lambda: obs.sync.take_latencies,
        journal_seconds=lambda: runner.journal_seconds,
        websocket_clients=hub.by_role,
        journal_ok=lambda: runner.journal_error is None,
        screens=screens))


def count(metrics: Metrics) -> Callable[[Change], None]:
    """The runner's listener for the metrics that count steps (takes, by source)."""
    return lambda change: metrics.on_change(change.state, change.events, change.now)
