"""A real Prometheus scraping a real controller (`showctl run` as its own process) driving a
real headless OBS: the show, OBS's stats and a take read back through Prometheus's HTTP
API, the alert rules evaluated on that data, and the real scrape checked by promtool.

Everything listens on 127.0.0.1 only; every wait is a condition with a timeout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import wait_for
from metrics.support import ALERTS, RUNDOWN, tool, value
from rundowns import ROOT

from control.obs.launcher import ObsLauncher, free_port, scenes_for
from control.show.loader import load_rundown

DIRECTOR, VIEWER = "live-metrics-director-0123", "live-metrics-viewer-012345"


@pytest.fixture(scope="module")
def obs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObsLauncher]:
    scenes = scenes_for(load_rundown(RUNDOWN, "metrics.yaml").rundown)
    launcher = ObsLauncher(tmp_path_factory.mktemp("obs"), scenes=scenes)
    launcher.start()
    try:
        yield launcher
    finally:
        launcher.close()


class Controller:
    """`showctl run --no-terminal --start now` in its own process."""

    def __init__(self, tmp: Path, obs: ObsLauncher) -> None:
        self.rundown = tmp / "metrics.yaml"
        self.rundown.write_text(RUNDOWN, "utf-8")
        self.port = free_port()
        self.log = tmp / "controller.log"
        self.env = {**os.environ, "SHOWCTL_OBS_URL": obs.url,
                    "SHOWCTL_OBS_PASSWORD": obs.password, "SHOWCTL_HTTP_HOST": "127.0.0.1",
                    "SHOWCTL_HTTP_PORT": str(self.port), "SHOWCTL_DIRECTOR_TOKEN": DIRECTOR,
                    "SHOWCTL_VIEWER_TOKEN": VIEWER, "SHOWCTL_STATE_DIR": str(tmp / "state")}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "control.cli", "run", "--no-terminal", "--start", "now",
                 str(self.rundown)], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        wait_for(self._healthy, 20, "the controller's /healthz")

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"controller exited:\n{self.log.read_text()}")
        try:
            return self.request("GET", "/healthz", token=None)[0] == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body: Any = None, token: str | None = VIEWER,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                     method=method, headers=headers or {})
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Prometheus:
    """/usr/bin/prometheus with its own storage, on a free 127.0.0.1 port, scraping the
    controller every second with the viewer token from a credentials file."""

    def __init__(self, tmp: Path, controller: Controller) -> None:
        token = tmp / "viewer_token"
        token.write_text(VIEWER + "\n", "utf-8")
        token.chmod(0o600)
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "900ms",
                       "evaluation_interval": "1s"},
            "rule_files": [str(ALERTS)],
            "scrape_configs": [{
                "job_name": "showctl", "metrics_path": "/metrics",
                "authorization": {"type": "Bearer", "credentials_file": str(token)},
                "static_configs": [{"targets": [f"127.0.0.1:{controller.port}"]}]}],
        }
        path = tmp / "prometheus.yml"
        path.write_text(yaml.safe_dump(config), "utf-8")
        self.port = free_port()
        self.log = tmp / "prometheus.log"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [tool("prometheus"), f"--config.file={path}",
                 f"--storage.tsdb.path={tmp / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 "--log.level=warn"],
                stdout=log, stderr=log, cwd=tmp)
        wait_for(self._ready, 30, "Prometheus to be ready")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited:\n{self.log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return self.api("query", query=expr)["result"]

    def scalar(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory, obs: ObsLauncher) -> Iterator[Controller]:
    ctl = Controller(tmp_path_factory.mktemp("controller"), obs)
    try:
        yield ctl
    finally:
        ctl.stop()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory,
               controller: Controller) -> Iterator[Prometheus]:
    prom = Prometheus(tmp_path_factory.mktemp("prometheus"), controller)
    try:
        yield prom
    finally:
        prom.stop()


def test_prometheus_reads_the_show_and_obs_back(prometheus: Prometheus):
    wait_for(lambda: prometheus.scalar('up{job="showctl"}') == 1, 20,
             "the controller's target to be up")
    wait_for(lambda: prometheus.scalar("showctl_show_on_air") == 1, 20, "the show on air")
    wait_for(lambda: prometheus.query("showctl_obs_up == 1"), 20, "showctl_obs_up == 1")
    [segment] = prometheus.query("showctl_segment_info")
    assert segment["metric"]["segment"] == "intro" and segment["metric"]["title"] == "Intro"
    assert prometheus.scalar('showctl_takes_total{source="show-start"}') == 1
    # OBS's own stats, from the sync's 1 s poll of a real OBS
    wait_for(lambda: (prometheus.scalar("showctl_obs_active_fps") or 0) > 0, 20,
             "OBS's fps through Prometheus")
    wait_for(lambda: (prometheus.scalar("rate(showctl_obs_render_frames_total[5s])") or 0) > 0,
             20, "OBS's rendered-frame counter rising")
    assert prometheus.scalar("showctl_hard_start_countdown_seconds") > 0
    [target] = [t for t in prometheus.api("targets")["activeTargets"]
                if t["labels"]["job"] == "showctl"]
    assert target["health"] == "up" and not target["lastError"]


def test_a_take_through_the_api_reaches_prometheus(prometheus: Prometheus,
                                                   controller: Controller):
    wait_for(lambda: prometheus.scalar("showctl_show_on_air") == 1, 20, "the show on air")
    status, body = controller.request("POST", "/api/take", {}, token=DIRECTOR,
                                      headers={"X-Showctl-Source": "console"})
    if status == 409:  # too soon after the show-start take (double-press guard): once more
        wait_for(lambda: controller.request("POST", "/api/take", {}, token=DIRECTOR,
                                            headers={"X-Showctl-Source": "console"})[0] == 200,
                 5, "the take to be accepted")
    else:
        assert status == 200, body
    wait_for(lambda: prometheus.scalar('showctl_takes_total{source="console"}') == 1, 20,
             "the console take counted in Prometheus")
    wait_for(lambda: prometheus.query('showctl_segment_info{segment="talk"}'), 20,
             "the new segment through Prometheus")
    # the take's latency, measured by the OBS sync on a real OBS (Cut)
    count = wait_for(lambda: prometheus.scalar("showctl_take_latency_seconds_count"), 20,
                     "a take latency sample")
    assert count >= 1
    assert 0 < prometheus.scalar(
        "showctl_take_latency_seconds_sum / showctl_take_latency_seconds_count") < 1


def test_the_alert_rules_evaluate_on_real_data(prometheus: Prometheus):
    def evaluated() -> list[dict[str, Any]]:
        rules = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
        if rules and all(not r["lastEvaluation"].startswith("0001") for r in rules):
            return rules
        return []

    rules = wait_for(evaluated, 20, "every rule evaluated once")
    broken = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert not broken
    wait_for(lambda: prometheus.query("showctl_obs_up == 1"), 20, "OBS connected")
    firing = {a["labels"]["alertname"] for a in prometheus.api("alerts")["alerts"]
              if a["state"] == "firing"}
    assert not firing & {"ControllerDown", "ObsDisconnected"}


def test_a_real_scrape_passes_promtool_and_needs_the_token(controller: Controller):
    wait_for(lambda: value(controller.request("GET", "/metrics")[1], "showctl_obs_up") == 1,
             20, "OBS connected")
    # OBS's figures come with the first stats poll after the connection, not with it
    wait_for(lambda: (value(controller.request("GET", "/metrics")[1],
                            "showctl_obs_memory_bytes") or 0) > 0, 20, "OBS's stats")
    status, text = controller.request("GET", "/metrics")
    assert status == 200
    result = subprocess.run([tool("promtool"), "check", "metrics"], input=text,
                            capture_output=True, timeout=30)
    assert result.returncode == 0, (result.stdout + result.stderr).decode()
    assert controller.request("GET", "/metrics", token=None)[0] == 401
    assert controller.request("GET", "/metrics", token="wrong")[0] == 401
    assert controller.request("GET", "/healthz", token=None) == (200, b"ok\n")
