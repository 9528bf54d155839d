"""The Grafana provisioning and dashboard: valid, on the provisioned datasource, and reading
only metrics the controller exports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import yaml
from metrics.support import (
    ALERTS,
    DASHBOARDS,
    DATASOURCES,
    exported_names,
    promql_metric_names,
    read,
)

PROVIDERS = DASHBOARDS.parent / "provisioning" / "dashboards"


def dashboards() -> list[tuple[str, dict[str, Any]]]:
    found = [(p.name, json.loads(read(p))) for p in sorted(DASHBOARDS.glob("*.json"))]
    assert found, "no dashboard"
    return found


def datasource_uids() -> set[str]:
    uids = set()
    for path in DATASOURCES.glob("*.yml"):
        for ds in yaml.safe_load(read(path))["datasources"]:
            assert ds["type"] == "prometheus" and ds["url"].startswith("http://prometheus:")
            uids.add(ds["uid"])
    return uids


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in items:
        yield panel
        yield from panels(panel.get("panels") or [])


def test_the_dashboard_provider_points_where_compose_mounts_the_dashboards():
    [provider] = yaml.safe_load(read(PROVIDERS / "showctl.yml"))["providers"]
    assert provider["type"] == "file"
    compose = yaml.safe_load(read(DASHBOARDS.parents[2] / "docker-compose.yml"))
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./config/grafana/dashboards:{provider['options']['path']}:ro" in mounts


def test_dashboards_are_valid_and_use_the_provisioned_datasource():
    uids = datasource_uids()
    assert uids == {"showctl-prometheus"}
    seen_uids = set()
    for name, board in dashboards():
        assert board["uid"] and board["title"] and board["schemaVersion"] >= 30, name
        ids = [p["id"] for p in panels(board["panels"])]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        for panel in panels(board["panels"]):
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] in uids, (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                seen_uids.add(target["datasource"]["uid"])
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, (name, panel["title"])
        for annotation in board["annotations"]["list"]:
            if annotation.get("builtIn"):
                continue
            seen_uids.add(annotation["datasource"]["uid"])
    assert seen_uids <= uids


def test_every_expression_reads_only_metrics_the_controller_exports():
    known = exported_names() | {"up"}
    for name, board in dashboards():
        exprs = [(p["title"], t["expr"]) for p in panels(board["panels"])
                 for t in p.get("targets", [])]
        exprs += [(a["name"], a["expr"]) for a in board["annotations"]["list"] if "expr" in a]
        assert exprs
        for title, expr in exprs:
            names = promql_metric_names(expr)
            assert names, f"{name}/{title}: no metric in {expr!r}"
            assert names <= known, f"{name}/{title}: {names - known} not exported ({expr})"


def test_the_rows_and_panels_an_engineer_needs():
    _, board = dashboards()[0]
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows == ["Show", "OBS", "Guests", "Controller"]
    exprs = " ".join(t["expr"] for p in panels(board["panels"]) for t in p.get("targets", []))
    for needed in ("showctl_show_on_air", "showctl_segment_info",
                   "showctl_segment_over_under_seconds",
                   "showctl_show_midnight_countdown_seconds", "showctl_obs_active_fps",
                   "showctl_obs_render_lagged_frames_total",
                   "showctl_obs_encoder_skipped_frames_total",
                   "showctl_obs_stream_congestion_ratio",
                   "rate(showctl_obs_stream_sent_bytes_total", "showctl_guest_rtt_seconds",
                   "showctl_guest_loss_ratio", "showctl_guest_jitter_seconds",
                   "showctl_event_loop_lag_seconds_bucket", "showctl_websocket_clients",
                   "showctl_journal_write_seconds_bucket"):
        assert needed in exprs, needed
    takes = [a for a in board["annotations"]["list"] if "showctl_takes_total" in a.get("expr", "")]
    assert takes and takes[0]["enable"]


def test_dashboard_thresholds_agree_with_the_alerts():
    """The red lines on the panels are the alerts' thresholds."""
    _, board = dashboards()[0]
    by_title = {p["title"]: p for p in panels(board["panels"])}
    alerts = read(ALERTS)
    for title, threshold in (("Render lag", 0.01), ("Encoder skips", 0.005),
                             ("Network drops", 0.01), ("Congestion", 0.5),
                             ("Guest RTT", 0.3), ("Guest packet loss", 0.05),
                             ("Guest jitter", 0.03)):
        steps = by_title[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [s["value"] for s in steps if s["color"] == "red"] == [threshold], title
        assert f"> {threshold}" in alerts, title
