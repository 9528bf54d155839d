"""The Program Feed's low-delay settings (preflight) and the new guest/mixer settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from control.config import ConfigError, load_settings
from control.obs.preflight import (
    FEED_KIND,
    FEED_SOURCE,
    feed_settings,
    plan_feed,
    stale_feed_settings,
)

URL = "udp://127.0.0.1:5004"


def test_feed_settings_are_the_low_delay_ones_obs_29_has():
    s = feed_settings(URL)
    assert s["buffering_mb"] == 0 and s["is_local_file"] is False
    assert s["ffmpeg_options"] == "fflags=+nobuffer probesize=32 analyzeduration=0"
    assert s["restart_on_activate"] is True and s["reconnect_delay_sec"] == 1
    # closed off program: an open source buffers what the mixer sends meanwhile and plays
    # it late at the next take (tests/guests/test_obs_live.py)
    assert s["close_when_inactive"] is True
    # over SRT it stays open: closing it would close OBS's listener between takes
    srt = "srt://127.0.0.1:5004?mode=listener&transtype=live&latency=120000&passphrase=p"
    assert feed_settings(srt)["close_when_inactive"] is False


def test_an_older_feed_source_gets_the_settings():
    old = {"is_local_file": False, "input": URL, "input_format": "mpegts",
           "restart_on_activate": True, "close_when_inactive": False,
           "reconnect_delay_sec": 1, "hw_decode": False, "clear_on_media_end": False}
    assert stale_feed_settings(old, URL) == ["close_when_inactive", "buffering_mb",
                                             "ffmpeg_options"]
    assert stale_feed_settings(feed_settings(URL), URL) == []
    (step,) = plan_feed({"A"}, {FEED_SOURCE: FEED_KIND}, {"A": {FEED_SOURCE}}, ["A"], URL, old)
    assert step.request is not None and step.request.request_type == "SetInputSettings"
    assert step.request.request_data == {"inputName": FEED_SOURCE, "overlay": True,
                                         "inputSettings": feed_settings(URL)}
    assert "close_when_inactive, buffering_mb, ffmpeg_options" in step.missing
    assert plan_feed({"A"}, {FEED_SOURCE: FEED_KIND}, {"A": {FEED_SOURCE}}, ["A"], URL,
                     feed_settings(URL)) == ()


def test_guest_and_mixer_settings(tmp_path: Path):
    s = load_settings(None, {})
    assert (s.guest_joins_per_minute, s.guest_joins_per_address, s.guest_joins_per_guest,
            s.guest_media_gap_ms, s.mixer_keyframe_every_ms) == (30, 12, 8, 400, 250)
    path = tmp_path / "c.yaml"
    path.write_text("guests: {joins_per_address: 0, joins_per_guest: 3, media_gap: 300ms}\n"
                    "mixer: {keyframe_every: 1s}\n")
    s = load_settings(path, {"SHOWCTL_GUEST_JOINS_PER_GUEST": "5"})
    assert (s.guest_joins_per_address, s.guest_joins_per_guest, s.guest_media_gap_ms,
            s.mixer_keyframe_every_ms) == (0, 5, 300, 1000)
    s = load_settings(None, {"SHOWCTL_GUEST_MEDIA_GAP": "500ms",
                             "SHOWCTL_MIXER_KEYFRAME_EVERY": "500ms",
                             "SHOWCTL_GUEST_JOINS_PER_ADDRESS": "20"})
    assert (s.guest_media_gap_ms, s.mixer_keyframe_every_ms, s.guest_joins_per_address) == (
        500, 500, 20)
    path.write_text("guests: {joins_per_guest: -1}\n")
    with pytest.raises(ConfigError, match=r"guests\.joins_per_guest"):
        load_settings(path, {})


def test_shipped_config_has_them():
    root = Path(__file__).resolve().parents[2]
    s = load_settings(root / "config" / "show.yaml", {})
    assert (s.guest_joins_per_address, s.guest_joins_per_guest, s.guest_media_gap_ms,
            s.mixer_keyframe_every_ms) == (12, 8, 400, 250)
