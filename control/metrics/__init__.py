"""The engineers' view: a read-only Prometheus view of the show, OBS, guests and controller.

This adapter imports no other adapter. The wiring (``control.wiring``) hands it plain callables
that read what the other parts already keep in memory (``Sources``); a scrape only reads
those caches and never talks to OBS or a guest.

    metrics = Metrics(Sources(show=..., obs=..., websocket_clients=hub.by_role))
    runner.listen(metrics.on_change)          # takes, by source
    install(app, metrics, authorize=...)      # GET /metrics, GET /healthz, loop-lag task

Metric names follow docs/architecture.md ("Metrics"): ``showctl_`` prefix, base units,
``_total`` on counters.
"""

from __future__ import annotations

from .core import TAKE_SOURCES, Metrics, Sources
from .http import install

__all__ = ["TAKE_SOURCES", "Metrics", "Sources", "install"]
