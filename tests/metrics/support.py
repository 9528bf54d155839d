"""Helpers for the metrics tests: fake sources with every family filled, PromQL names, waits."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from rundowns import ROOT

from control.metrics import Metrics, Sources
from control.show.engine import advance
from control.show.loader import load_rundown
from control.show.state import ShowState, initial_state
from control.show.view import show_view

PROMETHEUS_DIR = ROOT / "config" / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST = PROMETHEUS_DIR / "alerts_test.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"
DASHBOARDS = ROOT / "config" / "grafana" / "dashboards"
DATASOURCES = ROOT / "config" / "grafana" / "provisioning" / "datasources"

RUNDOWN = """\
show:
  title: Metrics test
  timezone: Asia/Shanghai
  start: 2023-12-31 23:50:00
  safe_scene: Slate
segments:
  - {id: intro, title: Intro, duration: 2m, scene: Studio Wide}
  - {id: talk, title: 科学 Talk, duration: 5m, scene: Studio Interview, flex: 1m..8m}
  - {id: countdown, title: Countdown, at: "23:59:50", duration: 1m, scene: Countdown}
  - {id: outro, title: Outro, duration: 5m, scene: Credits}
"""


def tool(name: str) -> str:
    """A Debian tool the tests need (package `prometheus`, from the Makefile)."""
    path = shutil.which(name)
    assert path, f"{name} not found: install Debian's prometheus package (make deps)"
    return path


def show_at(offset_s: float = 30.0) -> tuple[ShowState, int, tuple[Any, ...]]:
    """The test rundown, started by the clock, `offset_s` into the show."""
    rundown = load_rundown(RUNDOWN, "metrics.yaml").rundown
    now = rundown.show.start_ms + round(offset_s * 1000)
    step = advance(initial_state(rundown), now)
    return step.state, now, step.events


OBS_UP: dict[str, Any] = {
    "connected": True, "streaming": True, "recording": False, "in_sync": True,
    "manual_override": None, "reconnects": 1, "connection_attempts": 3,
    "stats": {"active_fps": 30.0, "cpu_ratio": 0.25, "memory_bytes": 300 * 1024 * 1024,
              "frame_render_seconds": 0.0042, "render_lagged_frames": 4,
              "render_total_frames": 9000, "encoder_skipped_frames": 2,
              "encoder_total_frames": 8990, "stream_dropped_frames": 1,
              "stream_total_frames": 8000, "stream_congestion_ratio": 0.05,
              "stream_sent_bytes": 750_000_000},
}
GUESTS: list[dict[str, Any]] = [
    {"id": "zhu", "connected": True, "rtt_seconds": 0.08, "jitter_seconds": 0.004,
     "loss_ratio": 0.001, "received_bytes": 1_000_000, "audio_peak_dbfs": -14.0,
     "health": 97},
    {"id": "song", "connected": False},
]
MIX: dict[str, Any] = {"fps": 30.0, "audio_peak_dbfs": -9.5, "feed_link": "sending",
                       "feed_connects": 1, "feed_link_errors": 0}


class Fakes:
    """Mutable fake sources: change a field, scrape again."""

    def __init__(self) -> None:
        state, now, events = show_at()
        self.state, self.now, self.events = state, now, events
        self.obs: dict[str, Any] = dict(OBS_UP)
        self.guests: list[dict[str, Any]] = [dict(g) for g in GUESTS]
        self.mix: dict[str, Any] | None = dict(MIX)
        self.latencies: list[float] = [0.041, 0.044]
        self.journal: list[float] = [0.0012]
        self.clients = {"director": 1, "viewer": 1}
        self.journal_ok = True
        self.screens = {"presenter": 1, "prompter": 1}

    def sources(self) -> Sources:
        return Sources(show=lambda: show_view(self.state, self.now), obs=lambda: self.obs,
                       guests=lambda: self.guests, mix=lambda: self.mix,
                       take_latencies=lambda: self.latencies,
                       journal_seconds=lambda: self.journal,
                       websocket_clients=lambda: self.clients,
                       journal_ok=lambda: self.journal_ok,
                       screens=lambda: self.screens)

    def metrics(self) -> Metrics:
        metrics = Metrics(self.sources(), version="9.9.9")
        metrics.on_change(self.state, self.events, self.now)
        metrics.observe_mix_frame(0.012)
        return metrics


def samples(text: str | bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """{(sample name, labels): value} of an exposition."""
    if isinstance(text, bytes):
        text = text.decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(text: str | bytes, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


def series_names(text: str | bytes) -> set[str]:
    return {name for name, _ in samples(text)}


def exported_names() -> set[str]:
    """Every series name the controller can export (all sources filled)."""
    return series_names(Fakes().metrics().render())


# --- PromQL: which metric names an expression reads ---------------------------------------------

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "Inf", "NaN"}


def promql_metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (not functions, keywords, labels or durations)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"'(?:[^'\\]|\\.)*'", "''", e)
    e = re.sub(r"\{[^}]*\}", "", e)                                   # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                                  # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        name = match.group(0)
        if name in KEYWORDS or e[match.end():].lstrip().startswith("("):
            continue
        names.add(name)
    return names


def read(path: Path) -> str:
    return path.read_text("utf-8")
