"""The alert rules: promtool checks and unit tests, conventions, and the runbook behind them."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import yaml
from metrics.support import (
    ALERTS,
    ALERTS_TEST,
    PROMETHEUS_DIR,
    RUNBOOK,
    exported_names,
    promql_metric_names,
    read,
    tool,
)

SEVERITIES = {"critical", "warning", "info"}


def rules() -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(read(ALERTS))["groups"] for r in g["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [r for r in rules() if "alert" in r]


def recorded() -> set[str]:
    return {r["record"] for r in rules() if "record" in r}


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration))


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub makes for the headings (and explicit <a id>/<a name>)."""
    anchors = set(re.findall(r'<a (?:id|name)="([^"]+)"', markdown))
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=60)


def test_promtool_check_rules():
    result = run(tool("promtool"), "check", "rules", ALERTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_test_rules():
    result = run(tool("promtool"), "test", "rules", ALERTS_TEST.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_alerts_asked_for_are_there():
    names = {a["alert"] for a in alerts()}
    assert {"ControllerDown", "ObsDisconnected", "StreamDownWhileOnAir", "ObsRenderLag",
            "ObsEncoderOverloaded", "StreamDroppingFrames", "StreamCongested",
            "StreamBitrateLow", "ProgramAudioSilent", "GuestLinkBad", "SegmentOverrunning",
            "HardStartProjectedLate"} <= names
    assert len(names) == len(alerts()), "an alert name is used twice"


@pytest.mark.parametrize("alert", alerts(), ids=lambda a: a["alert"])
def test_each_alert_has_for_severity_summary_and_a_runbook_section(alert: dict[str, Any]):
    assert 10 <= seconds(alert["for"]) <= 60, f"for: {alert.get('for')} (a show is short)"
    assert alert["labels"]["severity"] in SEVERITIES
    assert alert["annotations"]["summary"].strip()
    url = alert["annotations"]["runbook_url"]
    assert url.startswith("docs/runbook.md#"), url
    anchor = url.split("#", 1)[1]
    assert anchor in github_anchors(read(RUNBOOK)), f"docs/runbook.md has no #{anchor}"


@pytest.mark.parametrize("alert", alerts(), ids=lambda a: a["alert"])
def test_each_alert_reads_only_metrics_that_exist(alert: dict[str, Any]):
    known = exported_names() | recorded() | {"up"}
    unknown = promql_metric_names(alert["expr"]) - known
    assert not unknown, f"{alert['alert']} reads {unknown}, which nothing exports"


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    cases = [c for t in yaml.safe_load(read(ALERTS_TEST))["tests"]
             for c in t["alert_rule_test"]]
    for alert in alerts():
        mine = [c for c in cases if c["alertname"] == alert["alert"]]
        assert any(c.get("exp_alerts") for c in mine), f"{alert['alert']}: no firing case"
        assert any(not c.get("exp_alerts") for c in mine), f"{alert['alert']}: no quiet case"


def test_the_runbook_has_a_section_per_alert_and_no_orphans():
    sections = {h.strip() for h in re.findall(r"^## (\S+)\s*$", read(RUNBOOK), flags=re.M)}
    assert sections == {a["alert"] for a in alerts()}


def test_promql_name_parser():
    assert promql_metric_names(
        'histogram_quantile(0.99, sum by (le) (rate(x_bucket{a="b(c)"}[$__rate_interval])))'
    ) == {"x_bucket"}
    assert promql_metric_names("8 * rate(a_total[30s]) < on() group_left() (0.5 * b:c) "
                               "and on(instance, job) d == 1e6") == {"a_total", "b:c", "d"}
    assert promql_metric_names('label_replace(x > 0.3, "p", "rtt", "", "") or y') == {"x", "y"}
