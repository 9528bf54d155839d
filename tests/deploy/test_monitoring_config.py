"""The shipped Prometheus and Alertmanager configs, checked by their own tools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from rundowns import ROOT

PROMETHEUS = ROOT / "config" / "prometheus"
ALERTMANAGER = ROOT / "config" / "alertmanager" / "alertmanager.yml"


def test_promtool_check_config(tmp_path: Path):
    """As shipped, with only the token's path (a Compose secret) pointed at a test file."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: install Debian's prometheus package (make deps)"
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text("utf-8"))
    assert config["global"]["scrape_interval"] == "5s"
    token = tmp_path / "viewer_token"
    token.write_text("test\n", "utf-8")
    for job in config["scrape_configs"]:
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(token)
    config["rule_files"] = [str(PROMETHEUS / f) for f in config["rule_files"]]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_amtool_check_config():
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool not installed (Debian: prometheus-alertmanager)")
    result = subprocess.run([amtool, "check-config", str(ALERTMANAGER)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_inhibitions_name_real_alerts():
    config = yaml.safe_load(ALERTMANAGER.read_text("utf-8"))
    alerts = {r["alert"] for g in yaml.safe_load(
        (PROMETHEUS / "alerts.yml").read_text("utf-8"))["groups"] for r in g["rules"]
        if "alert" in r}
    import re
    for rule in config["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            name = re.fullmatch(r'alertname=~?"([^"]+)"', matcher)
            if name:
                assert set(name.group(1).split("|")) <= alerts, matcher
