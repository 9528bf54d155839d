"""The pair's metrics (control/metrics/cluster.py): every role exported (1 for this one's),
renewals, etcd reachability, the standby's lag; nothing at all without a pair."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from control.metrics import Metrics, Sources

pytestmark = pytest.mark.unit


def scrape(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(metrics.render().decode())
            for s in f.samples if s.name.startswith("showctl_cluster")}


def test_a_standby_exports_its_role_lag_and_etcd() -> None:
    data: dict[str, Any] = {"role": "follower", "lease_renewals": 0, "etcd_reachable": True,
                            "standby_lag_seconds": 0.0}
    metrics = Metrics(Sources(cluster=lambda: data), version="1")
    got = scrape(metrics)
    assert got[("showctl_cluster_role", (("role", "follower"),))] == 1
    assert got[("showctl_cluster_role", (("role", "leader"),))] == 0
    assert sum(v for (n, _), v in got.items() if n == "showctl_cluster_role") == 1
    assert got[("showctl_cluster_etcd_reachable", ())] == 1
    assert got[("showctl_cluster_standby_lag_seconds", ())] == 0
    data.update(role="leader", lease_renewals=7, etcd_reachable=False,
                standby_lag_seconds=None)
    got = scrape(metrics)
    assert got[("showctl_cluster_role", (("role", "leader"),))] == 1
    assert got[("showctl_cluster_lease_renewals_total", ())] == 7
    assert got[("showctl_cluster_etcd_reachable", ())] == 0
    assert ("showctl_cluster_standby_lag_seconds", ()) not in got


def test_one_machine_exports_no_cluster_series() -> None:
    assert scrape(Metrics(Sources(), version="1")) == {}
    metrics = Metrics(Sources(), version="1")
    metrics.lend_cluster(lambda: {"role": "leader"})
    assert scrape(metrics)[("showctl_cluster_role", (("role", "leader"),))] == 1
