"""A standby pair's view (docs/redundancy.md): this controller's role in the election, its
lease renewals, how far its mirror of the journal is behind, and whether etcd answers.

Every role is exported, 1 for the current one and 0 for the others, so an alert can sum
one role over both controllers and see 0 when nobody holds it (`NoLeader`, `NoStandby`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

ROLES = ("follower", "candidate", "leader", "leader without etcd", "stepping down")


class ClusterCollector:
    """From `Sources.cluster`: {"role", "lease_renewals", "etcd_reachable",
    "standby_lag_seconds" (None: not a standby, or not known)}; nothing without a pair."""

    def __init__(self, source: Callable[[], Mapping[str, Any] | None] | None) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        data = self.source() if self.source is not None else None
        if not data:
            return
        role = GaugeMetricFamily("showctl_cluster_role", "1 for this controller's role in "
                                 "the standby pair's election, 0 for the others.",
                                 labels=["role"])
        for name in ROLES:
            role.add_metric([name], 1.0 if data.get("role") == name else 0.0)
        yield role
        yield CounterMetricFamily("showctl_cluster_lease_renewals", "Renewals of the "
                                  "leader's etcd lease that succeeded.",
                                  value=float(data.get("lease_renewals", 0)))
        yield GaugeMetricFamily("showctl_cluster_etcd_reachable", "1 while etcd answers "
                                "this controller (a quorum: linearizable reads succeed).",
                                value=1.0 if data.get("etcd_reachable") else 0.0)
        lag = data.get("standby_lag_seconds")
        if isinstance(lag, int | float):
            yield GaugeMetricFamily("showctl_cluster_standby_lag_seconds", "On the standby: "
                                    "how long its mirror of the journal has not been known "
                                    "complete (0 while it follows etcd's watch).",
                                    value=float(lag))
