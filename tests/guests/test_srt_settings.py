"""The SRT program feed's settings: config checks, OBS's listener URL, the mixer's side."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from control.config import ConfigError, load_settings
from control.guests.feed import FeedSettings, Transport
from control.guests.srt import LinkError, _sockaddr
from control.obs.mediafeed import FeedWatch
from control.obs.preflight import (
    FEED_KIND,
    FEED_SOURCE,
    feed_input_url,
    feed_settings,
    plan_feed,
    redact_url,
)
from control.show.model import Rundown
from control.wiring.guests import make_mixer

pytestmark = pytest.mark.unit

PHRASE = "Fq3-9xk_wT2mZ.v~a1"


def test_obs_listens_with_the_passphrase_and_the_latency_in_microseconds() -> None:
    url = feed_input_url("srt", "10.0.0.5", 5004, passphrase=PHRASE, latency_ms=250)
    assert url == ("srt://10.0.0.5:5004?mode=listener&transtype=live&latency=250000"
                   f"&pbkeylen=16&passphrase={PHRASE}")
    assert feed_input_url("udp", "127.0.0.1", 5004) == "udp://127.0.0.1:5004"
    with pytest.raises(ValueError):
        feed_input_url("srt", "10.0.0.5", 5004)
    settings = feed_settings(url)
    assert settings["input"] == url and settings["input_format"] == "mpegts"
    assert settings["is_local_file"] is False


def test_the_passphrase_never_shows_in_findings() -> None:
    url = feed_input_url("srt", "10.0.0.5", 5004, passphrase=PHRASE)
    assert PHRASE not in redact_url(url) and "passphrase=***" in redact_url(url)
    (create,) = plan_feed({"Guests"}, {}, {"Guests": set()}, ["Guests"], url)
    assert create.request is not None
    assert create.request.request_data["inputSettings"]["input"] == url  # OBS needs it
    assert PHRASE not in create.missing and PHRASE not in create.done
    # an OBS source with another passphrase (or the old UDP URL) gets the new settings
    (update,) = plan_feed({"Guests"}, {FEED_SOURCE: FEED_KIND}, {"Guests": {FEED_SOURCE}},
                          ["Guests"], url, feed_settings("udp://10.0.0.5:5004"))
    assert update.request is not None and "input" in update.missing
    assert PHRASE not in update.missing + update.done


def test_srt_settings_from_the_environment_and_a_file(tmp_path: Path) -> None:
    s = load_settings(None, {})
    assert (s.mixer_transport, s.mixer_srt_passphrase, s.mixer_srt_latency_ms) == (
        "udp", None, 120)
    secret = tmp_path / "srt_passphrase"
    secret.write_text(PHRASE + "\n")
    config = tmp_path / "c.yaml"
    config.write_text(f"mixer: {{transport: srt, host: 10.0.0.5, srt_latency: 300ms, "
                      f"srt_passphrase_file: {secret}}}\n")
    s = load_settings(config, {})
    assert (s.mixer_transport, s.mixer_host, s.mixer_srt_passphrase,
            s.mixer_srt_latency_ms) == ("srt", "10.0.0.5", PHRASE, 300)
    s = load_settings(None, {"SHOWCTL_MIXER_TRANSPORT": "srt", "SHOWCTL_MIXER_HOST": "obs-pc",
                             "SHOWCTL_MIXER_SRT_PASSPHRASE": PHRASE[::-1],
                             "SHOWCTL_MIXER_SRT_LATENCY": "80ms"})
    assert (s.mixer_host, s.mixer_srt_passphrase, s.mixer_srt_latency_ms) == (
        "obs-pc", PHRASE[::-1], 80)


@pytest.mark.parametrize(("env", "message"), [
    ({"SHOWCTL_MIXER_TRANSPORT": "srt"}, "no passphrase is set"),
    ({"SHOWCTL_MIXER_TRANSPORT": "srt", "SHOWCTL_MIXER_SRT_PASSPHRASE": "short"},
     "10 to 79 characters, this one has 5"),
    ({"SHOWCTL_MIXER_TRANSPORT": "srt", "SHOWCTL_MIXER_SRT_PASSPHRASE": "x" * 80},
     "10 to 79 characters, this one has 80"),
    ({"SHOWCTL_MIXER_TRANSPORT": "srt", "SHOWCTL_MIXER_SRT_PASSPHRASE": "ten chars&x=1"},
     "only letters, digits"),
    ({"SHOWCTL_MIXER_TRANSPORT": "srt", "SHOWCTL_MIXER_SRT_PASSPHRASE": PHRASE,
      "SHOWCTL_MIXER_SRT_LATENCY": "10ms"}, "20ms to 8s"),
    ({"SHOWCTL_MIXER_TRANSPORT": "rtp"}, "expected udp or srt"),
    ({"SHOWCTL_MIXER_HOST": "10.0.0.5"}, "not loopback"),
    ({"SHOWCTL_MIXER_HOST": "obs-pc"}, "not loopback"),
])
def test_refused_with_a_clear_message(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(None, env)


def test_plain_udp_off_loopback_only_when_allowed_on_purpose() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1"):
        assert load_settings(None, {"SHOWCTL_MIXER_HOST": host}).mixer_host == host
    s = load_settings(None, {"SHOWCTL_MIXER_HOST": "10.0.0.5",
                             "SHOWCTL_MIXER_ALLOW_PLAIN_UDP": "true"})
    assert (s.mixer_transport, s.mixer_host) == ("udp", "10.0.0.5")
    # the mixer off: nothing is sent, nothing to refuse
    assert not load_settings(None, {"SHOWCTL_MIXER_HOST": "10.0.0.5",
                                    "SHOWCTL_MIXER_ENABLED": "false"}).mixer_enabled


def test_the_shipped_config_is_udp_on_loopback() -> None:
    root = Path(__file__).resolve().parents[2]
    s = load_settings(root / "config" / "show.yaml", {})
    assert (s.mixer_transport, s.mixer_host, s.mixer_srt_latency_ms,
            s.mixer_allow_plain_udp) == ("udp", "127.0.0.1", 120, False)
    s = load_settings(root / "config" / "show.yaml", {
        "SHOWCTL_MIXER_TRANSPORT": "srt", "SHOWCTL_MIXER_SRT_PASSPHRASE": PHRASE})
    assert s.mixer_transport == "srt"


def test_the_mixer_gets_the_srt_settings() -> None:
    s = load_settings(None, {"SHOWCTL_MIXER_TRANSPORT": "srt", "SHOWCTL_MIXER_HOST": "10.0.0.5",
                             "SHOWCTL_MIXER_SRT_PASSPHRASE": PHRASE,
                             "SHOWCTL_MIXER_SRT_LATENCY": "200ms"})
    mixer = make_mixer(s, cast(Rundown, SimpleNamespace(guests=())))  # only its roster
    assert mixer is not None
    feed = mixer.feed.settings
    assert (feed.transport, feed.host, feed.port, feed.passphrase, feed.latency_ms) == (
        Transport.SRT, "10.0.0.5", 5004, PHRASE, 200)
    assert feed.where == "srt://10.0.0.5:5004" and PHRASE not in feed.where
    assert FeedSettings(port=5004).url == "udp://127.0.0.1:5004?pkt_size=1316"


def test_an_srt_listener_is_not_restarted_when_the_mixer_starts() -> None:
    """OBS's SRT listener opened when the mixer connected: a restart would cut it off.
    It is still restarted when it stops or stalls."""
    watch = FeedWatch(restart_on_start=False, stall_after=3.0, backoff=1.0)
    assert watch.observe(True, "OBS_MEDIA_STATE_OPENING", 0, 0.0) is None
    assert watch.observe(True, "OBS_MEDIA_STATE_PLAYING", 500, 1.0) is None
    assert watch.observe(True, "OBS_MEDIA_STATE_PLAYING", 500, 4.5) == "stalled"
    assert watch.restarts["start"] == 0
    udp = FeedWatch()
    assert udp.observe(True, "OBS_MEDIA_STATE_PLAYING", 0, 0.0) == "start"


def test_the_callers_socket_address() -> None:
    """What srt_connect gets: struct sockaddr_in / sockaddr_in6, port in network order."""
    v4 = _sockaddr("127.0.0.1", 5004)
    assert len(v4) == 16 and v4[2:4] == (5004).to_bytes(2, "big")
    assert v4[4:8] == bytes([127, 0, 0, 1]) and v4[8:] == bytes(8)
    v6 = _sockaddr("::1", 5004)
    assert len(v6) == 28 and v6[2:4] == (5004).to_bytes(2, "big") and v6[8:24][-1] == 1
    with pytest.raises(LinkError, match="cannot resolve"):
        _sockaddr("no-such-host.invalid", 5004)
