"""The metrics adapter on fake sources: names, units, values, and `promtool check metrics`."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
from metrics.support import Fakes, exported_names, samples, series_names, tool, value
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from control.metrics import TAKE_SOURCES, Metrics, Sources
from control.metrics.core import SampleFeed
from control.metrics.show import midnight_countdown
from control.show.engine import Event

SPEC_NAMES = {  # the names the issue asks for, all of which the controller must export
    "showctl_show_on_air", "showctl_show_mode_info", "showctl_segment_info",
    "showctl_segment_over_under_seconds", "showctl_show_offset_seconds",
    "showctl_hard_start_countdown_seconds", "showctl_hard_start_projected_shortfall_seconds",
    "showctl_takes_total", "showctl_take_latency_seconds_bucket", "showctl_show_armed",
    "showctl_obs_up", "showctl_obs_active_fps", "showctl_obs_cpu_ratio",
    "showctl_obs_memory_bytes", "showctl_obs_frame_render_seconds",
    "showctl_obs_render_lagged_frames_total", "showctl_obs_render_frames_total",
    "showctl_obs_encoder_skipped_frames_total", "showctl_obs_encoder_frames_total",
    "showctl_obs_stream_active", "showctl_obs_stream_dropped_frames_total",
    "showctl_obs_stream_frames_total", "showctl_obs_stream_congestion_ratio",
    "showctl_obs_stream_sent_bytes_total", "showctl_obs_record_active",
    "showctl_obs_reconnects_total", "showctl_guest_connected", "showctl_guest_rtt_seconds",
    "showctl_guest_jitter_seconds", "showctl_guest_loss_ratio", "showctl_guest_health",
    "showctl_guest_received_bytes_total", "showctl_mix_fps", "showctl_mix_frame_seconds_bucket",
    "showctl_audio_peak_dbfs", "showctl_event_loop_lag_seconds_bucket",
    "showctl_websocket_clients", "showctl_journal_write_seconds_bucket", "showctl_build_info",
    "showctl_stage_screens",
}


def test_a_full_scrape_passes_promtool_check_metrics():
    text = Fakes().metrics().render()
    result = subprocess.run([tool("promtool"), "check", "metrics"], input=text,
                            capture_output=True, timeout=30)
    assert result.returncode == 0, (result.stdout + result.stderr).decode()
    assert not (result.stdout + result.stderr).strip(), "promtool has lint remarks"


def test_every_asked_for_metric_is_exported_with_prefix_help_and_units():
    metrics = Fakes().metrics()
    text = metrics.render().decode()
    assert series_names(text) >= SPEC_NAMES, SPEC_NAMES - series_names(text)
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("showctl_"), family.name
        assert family.documentation.strip(), f"{family.name} has no help text"
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples)
        for bad in ("_ms", "_milliseconds", "_percent", "_mb", "_kbps"):
            assert not family.name.endswith(bad), family.name


def test_the_registry_is_the_controllers_own_not_the_global_one():
    metrics = Fakes().metrics()
    assert metrics.registry is not REGISTRY
    assert not any(m.name.startswith("showctl_") for m in REGISTRY.collect())
    Fakes().metrics()  # a second one (tests, restarts) does not clash with the first


def test_show_metrics_follow_the_read_model():
    fakes = Fakes()
    text = fakes.metrics().render()
    assert value(text, "showctl_show_on_air") == 1
    assert value(text, "showctl_show_armed") == 1
    assert value(text, "showctl_show_mode_info", mode="rehearsal") == 1
    assert value(text, "showctl_show_mode_info", mode="live") is None
    assert value(text, "showctl_segment_info", segment="intro", title="Intro") == 1
    assert value(text, "showctl_segment_remaining_seconds", segment="intro") == 90
    assert value(text, "showctl_segment_elapsed_seconds", segment="intro") == 30
    assert value(text, "showctl_segment_over_under_seconds", segment="intro") == 0
    # 23:50:30 → the countdown's hard start at 23:59:50, midnight at 00:00
    assert value(text, "showctl_hard_start_countdown_seconds", segment="countdown") == 560
    assert value(text, "showctl_hard_start_projected_shortfall_seconds",
                 segment="countdown") is not None
    assert value(text, "showctl_show_midnight_countdown_seconds") == 570
    assert value(text, "showctl_show_offset_seconds") == 0


def test_before_the_show_nothing_is_on_air_and_segment_series_are_absent():
    fakes = Fakes()
    fakes.now = fakes.state.rundown.show.start_ms - 60_000
    from control.show.state import initial_state
    fakes.state = initial_state(fakes.state.rundown)
    text = Fakes.metrics(fakes).render()
    assert value(text, "showctl_show_on_air") == 0
    assert not any(name == "showctl_segment_info" for name, _ in samples(text))


def test_midnight_countdown_uses_the_show_clock_and_zone():
    # 2023-12-31 23:59:00 Beijing = 15:59:00 UTC
    at = 1704038340_000
    assert midnight_countdown(at, 0, "Asia/Shanghai") == 60
    # a rehearsal shifted two hours later: 01:59 real time is 23:59 on the show's clock
    assert midnight_countdown(at + 7_200_000, 7_200_000, "Asia/Shanghai") == 60
    assert midnight_countdown(at, 0, "UTC") == 8 * 3600 + 60


def test_takes_are_counted_by_source_and_every_source_starts_at_zero():
    fakes = Fakes()
    metrics = fakes.metrics()  # the show-start take of the fake show
    events = (Event("take", 1, "talk", "console"), Event("take", 2, "outro", "osc"),
              Event("skip", 3, "x", "console"), Event("take", 4, "x", "carrier-pigeon"),
              Event("take", 5, "countdown", "hard-start"))
    metrics.on_change(None, events, 5)
    text = metrics.render()
    got = {dict(labels)["source"]: v for (name, labels), v in samples(text).items()
           if name == "showctl_takes_total"}
    assert set(TAKE_SOURCES) <= set(got)
    assert got["show-start"] == 1 and got["console"] == 1 and got["osc"] == 1
    assert got["hard-start"] == 1 and got["other"] == 1 and got["api"] == 0


def test_obs_counters_and_gauges_in_base_units_while_connected():
    text = Fakes().metrics().render().decode()
    assert value(text, "showctl_obs_up") == 1
    assert value(text, "showctl_obs_memory_bytes") == 300 * 1024 * 1024
    assert value(text, "showctl_obs_frame_render_seconds") == pytest.approx(0.0042)
    assert value(text, "showctl_obs_render_lagged_frames_total") == 4
    assert value(text, "showctl_obs_stream_sent_bytes_total") == 750_000_000
    assert value(text, "showctl_obs_reconnects_total") == 1
    assert value(text, "showctl_obs_connection_attempts_total") == 3
    assert value(text, "showctl_obs_stream_active") == 1
    assert value(text, "showctl_obs_record_active") == 0
    assert value(text, "showctl_obs_manual_override") == 0
    assert "# TYPE showctl_obs_render_frames_total counter" in text
    assert "# TYPE showctl_obs_stream_sent_bytes_total counter" in text


def test_obs_disconnected_exports_up_zero_and_no_stale_stats():
    fakes = Fakes()
    fakes.obs = {**fakes.obs, "connected": False}
    text = fakes.metrics().render()
    assert value(text, "showctl_obs_up") == 0
    assert value(text, "showctl_obs_reconnects_total") == 1
    names = series_names(text)
    assert "showctl_obs_active_fps" not in names
    assert "showctl_obs_stream_active" not in names


def test_a_scrape_never_calls_obs_only_the_cached_status():
    calls = []
    metrics = Metrics(Sources(obs=lambda: calls.append(1) or {"connected": True}))
    metrics.render()
    metrics.render()
    assert calls == [1, 1]  # one read of the cache per scrape; no stats → no stats families


def test_guest_series_go_away_when_a_guest_leaves_and_labels_are_roster_ids():
    fakes = Fakes()
    metrics = fakes.metrics()
    text = metrics.render()
    assert value(text, "showctl_guest_connected", guest="zhu") == 1
    assert value(text, "showctl_guest_connected", guest="song") == 0
    assert value(text, "showctl_guest_rtt_seconds", guest="zhu") == 0.08
    assert value(text, "showctl_guest_health", guest="zhu") == 97
    assert value(text, "showctl_guest_received_bytes_total", guest="zhu") == 1_000_000
    assert value(text, "showctl_audio_peak_dbfs", source="zhu") == -14
    assert value(text, "showctl_audio_peak_dbfs", source="mix") == -9.5
    assert value(text, "showctl_mix_fps") == 30
    for (name, labels), _ in samples(text).items():
        if name.startswith("showctl_guest_"):
            assert dict(labels).keys() == {"guest"}, (name, labels)
    fakes.guests = [g for g in fakes.guests if g["id"] != "zhu"]
    text = metrics.render()
    assert not [k for k in samples(text) if ("guest", "zhu") in k[1] or ("source", "zhu") in k[1]]
    assert value(text, "showctl_guest_connected", guest="song") == 0


def test_the_program_feeds_link_to_obs_is_one_state_at_a_time():
    """Over SRT the feed can be down while the mixer runs: the state says which, the
    counters how often it was made and broke (ProgramFeedNotReachingObs reads the state)."""
    fakes = Fakes()
    metrics = fakes.metrics()
    assert fakes.mix is not None
    fakes.mix |= {"feed_link": "connecting", "feed_connects": 3, "feed_link_errors": 2}
    text = metrics.render()
    assert [value(text, "showctl_feed_link", state=s)
            for s in ("stopped", "connecting", "sending")] == [0, 1, 0]
    assert value(text, "showctl_feed_connects_total") == 3
    assert value(text, "showctl_feed_link_errors_total") == 2
    fakes.mix["feed_link"] = "sending"
    assert value(metrics.render(), "showctl_feed_link", state="sending") == 1
    fakes.mix["feed_link"] = "nonsense"  # an unknown state exports nothing, not a lie
    assert b"showctl_feed_link{" not in metrics.render()


def test_silence_reads_as_the_floor_and_unknown_peaks_are_left_out():
    fakes = Fakes()
    fakes.mix = {"fps": 25.0, "audio_peak_dbfs": float("-inf")}
    fakes.guests = [{"id": "zhu", "connected": True, "audio_peak_dbfs": float("nan")}]
    text = fakes.metrics().render()
    assert value(text, "showctl_audio_peak_dbfs", source="mix") == -120
    assert value(text, "showctl_audio_peak_dbfs", source="zhu") is None


def test_histograms_take_each_new_sample_once():
    fakes = Fakes()
    metrics = fakes.metrics()
    text = metrics.render()
    assert value(text, "showctl_take_latency_seconds_count") == 2
    assert value(text, "showctl_journal_write_seconds_count") == 1
    assert value(text, "showctl_mix_frame_seconds_count") == 1
    text = metrics.render()  # nothing new
    assert value(text, "showctl_take_latency_seconds_count") == 2
    fakes.latencies = [*fakes.latencies, 0.05]
    fakes.journal = [*fakes.journal, 0.002, 0.003]
    text = metrics.render()
    assert value(text, "showctl_take_latency_seconds_count") == 3
    assert value(text, "showctl_take_latency_seconds_sum") == pytest.approx(0.135)
    assert value(text, "showctl_journal_write_seconds_count") == 3


def test_sample_feed_follows_a_sliding_window():
    seen: list[float] = []
    window: list[float] = []
    feed = SampleFeed(lambda: window, seen.append)
    for i in range(1, 31):  # a window of 20, like ObsSync's, polled every 3 samples
        window = [*window[-19:], float(i)]
        if i % 3 == 0:
            feed.poll()
    assert seen == [float(i) for i in range(1, 31)]
    window = [float(i) for i in range(100, 120)]  # more than a window arrived: no overlap
    assert feed.poll() == 20 and seen[-1] == 119.0
    assert feed.poll() == 0


def test_a_failing_source_costs_only_its_own_metrics():
    def broken() -> dict:
        raise RuntimeError("boom")

    metrics = Metrics(Sources(show=broken, obs=lambda: {"connected": True},
                              websocket_clients=lambda: {"director": 1, "viewer": 3},
                              screens=lambda: {"presenter": 2, "prompter": 0}))
    text = metrics.render()
    assert value(text, "showctl_obs_up") == 1
    assert value(text, "showctl_websocket_clients", role="viewer") == 3
    assert value(text, "showctl_websocket_clients", role="director") == 1
    assert value(text, "showctl_stage_screens", screen="presenter") == 2
    assert value(text, "showctl_stage_screens", screen="prompter") == 0
    assert value(text, "showctl_metrics_collect_errors_total", collector="show") == 1
    assert "showctl_show_on_air" not in series_names(text)


def test_build_info_carries_the_version():
    text = Fakes().metrics().render()
    [(labels, v)] = [(dict(k[1]), v) for k, v in samples(text).items()
                     if k[0] == "showctl_build_info"]
    assert labels["version"] == "9.9.9" and v == 1


async def test_the_loop_lag_probe_sees_a_blocked_loop():
    metrics = Metrics(Sources(), loop_lag_interval=0.02)
    await metrics.start()
    try:
        async def count() -> float:
            while (n := value(metrics.render(), "showctl_event_loop_lag_seconds_count")) < 1:
                await asyncio.sleep(0.01)
            return n

        await asyncio.wait_for(count(), 5)
        time.sleep(0.4)  # the fault under test: something blocks the loop for 400 ms

        async def lagged() -> None:
            while True:
                text = metrics.render()
                slow = value(text, "showctl_event_loop_lag_seconds_count") - value(
                    text, "showctl_event_loop_lag_seconds_bucket", le="0.25")
                if slow >= 1:
                    return
                await asyncio.sleep(0.01)

        await asyncio.wait_for(lagged(), 5)
    finally:
        await metrics.stop()
    assert metrics._task is None


def test_exported_names_cover_every_family():
    names = exported_names()
    assert "showctl_take_latency_seconds_bucket" in names
    assert "showctl_process_cpu_seconds_total" in names
