"""The mixer in the controller: its settings, on-demand start/stop, the Program Feed plan."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from control.config import ConfigError, load_settings
from control.guests.ondemand import OnDemand, needed
from control.obs.preflight import FEED_KIND, FEED_SOURCE, feed_settings, plan_feed


class FakeMixer:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.threads: set[str] = set()
        self.fail = fail

    def start(self) -> None:
        self.threads.add(threading.current_thread().name)
        self.calls.append("start")
        if self.fail:
            raise OSError("no encoder")

    def stop(self) -> None:
        self.threads.add(threading.current_thread().name)
        self.calls.append("stop")


def test_mixer_settings(tmp_path: Path) -> None:
    s = load_settings(None, {})
    assert (s.mixer_enabled, s.mixer_host, s.mixer_port) == (True, "127.0.0.1", 5004)
    assert (s.mixer_width, s.mixer_height, s.mixer_fps, s.mixer_stale_after_ms) == (
        1280, 720, 30, 1000)
    path = tmp_path / "c.yaml"
    path.write_text("mixer: {port: 6000, fps: 25, width: 1920, height: 1080, "
                    "stale_after: 1500ms, host: 127.0.0.2}\n")
    s = load_settings(path, {"SHOWCTL_MIXER_PORT": "7000", "SHOWCTL_MIXER_ENABLED": "false"})
    assert (s.mixer_port, s.mixer_fps, s.mixer_width, s.mixer_height) == (7000, 25, 1920, 1080)
    assert (s.mixer_enabled, s.mixer_stale_after_ms, s.mixer_host) == (False, 1500,
                                                                       "127.0.0.2")
    path.write_text("mixer: {fps: 0}\n")
    with pytest.raises(ConfigError, match=r"mixer\.fps"):
        load_settings(path, {})


def test_shipped_config_has_the_mixer() -> None:
    root = Path(__file__).resolve().parents[2]
    s = load_settings(root / "config" / "show.yaml", {})
    assert (s.mixer_enabled, s.mixer_port, s.mixer_stale_after_ms) == (True, 5004, 1000)


def test_needed() -> None:
    assert not needed((), {})
    assert needed(("ada",), {})
    assert needed((), {"ada": object()})


async def test_on_demand_follows_the_last_wish_off_the_loop() -> None:
    mixer = FakeMixer()
    demand = OnDemand(mixer)
    demand.want(False)
    await demand.settled()
    assert mixer.calls == [] and not demand.running  # nothing needed: nothing runs
    for wish in (True, False, True):  # a burst: the last wish wins
        demand.want(wish)
    await demand.settled()
    assert demand.running and mixer.calls[-1] == "start"
    assert threading.current_thread().name not in mixer.threads  # never on the loop
    demand.want(False)
    await demand.settled()
    assert not demand.running and mixer.calls[-1] == "stop"
    demand.want(True)
    await demand.settled()
    await demand.close()
    assert not demand.running and mixer.calls[-1] == "stop"


async def test_a_start_that_fails_is_reported_and_left_stopped() -> None:
    mixer = FakeMixer(fail=True)
    demand = OnDemand(mixer)
    demand.want(True)
    await asyncio.wait_for(demand.settled(), 5)
    assert not demand.running and "no encoder" in (demand.error or "")
    assert mixer.calls == ["start", "stop"]


def test_plan_feed_creates_once_then_adds_items() -> None:
    url = "udp://127.0.0.1:5004"
    steps = plan_feed({"A", "B", "C"}, {}, {"A": set(), "C": {FEED_SOURCE}}, ["A", "B", "C",
                                                                              "Gone"], url)
    assert [(s.kind, s.scene, s.request.request_type if s.request else None) for s in steps] == [
        ("source", "A", "CreateInput"), ("item", "B", "CreateSceneItem")]
    create = steps[0].request
    assert create is not None and create.request_data is not None
    assert create.request_data["inputKind"] == FEED_KIND
    assert create.request_data["inputSettings"] == feed_settings(url)
    assert feed_settings(url)["is_local_file"] is False
    assert feed_settings(url)["input_format"] == "mpegts"
    # the source exists elsewhere: only items; everything there: nothing
    steps = plan_feed({"A"}, {FEED_SOURCE: FEED_KIND}, {"A": set()}, ["A"], url)
    assert [(s.kind, s.scene) for s in steps] == [("item", "A")]
    assert plan_feed({"A"}, {FEED_SOURCE: FEED_KIND}, {"A": {FEED_SOURCE}}, ["A"], url) == ()
    # an input of another kind in the way: reported, nothing sent
    (step,) = plan_feed({"A"}, {FEED_SOURCE: "color_source_v3"}, {"A": set()}, ["A"], url)
    assert step.request is None and "not a media source" in step.missing
