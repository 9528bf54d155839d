"""The settings' value kinds, as config/show.yaml and SHOWCTL_* give them: each converts to
its field's type, and a bad value is a ConfigError naming the setting and what it expected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from control.config import ConfigError, load_settings


def yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "show.yaml"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize(("env", "field", "want"), [
    ({"SHOWCTL_OBS_URL": "wss://obs:4455"}, "obs_url", "wss://obs:4455"),
    ({"SHOWCTL_HTTP_PORT": "8443"}, "http_port", 8443),
    ({"SHOWCTL_LOGIN_FAILURES_PER_ADDRESS": "0"}, "login_failures_per_address", 0),
    ({"SHOWCTL_MODE": "live"}, "mode", "live"),
    ({"SHOWCTL_OSC_ENABLED": "yes"}, "osc_enabled", True),
    ({"SHOWCTL_METRICS_PUBLIC": "off"}, "metrics_public", False),
    ({"SHOWCTL_GUEST_MEDIA_GAP": "1.5s"}, "guest_media_gap_ms", 1500),
    ({"SHOWCTL_MIXER_TRANSPORT": "udp"}, "mixer_transport", "udp"),
])
def test_each_kind_converts(env: dict[str, str], field: str, want: object) -> None:
    assert getattr(load_settings(None, env), field) == want


@pytest.mark.parametrize(("env", "says"), [
    ({"SHOWCTL_OBS_URL": "http://obs:4455"}, "SHOWCTL_OBS_URL: expected ws://HOST:PORT"),
    ({"SHOWCTL_HTTP_PORT": "70000"}, "SHOWCTL_HTTP_PORT: expected a port number"),
    ({"SHOWCTL_HTTP_PORT": "0"}, "SHOWCTL_HTTP_PORT: expected a port number"),
    ({"SHOWCTL_LOGIN_FAILURES_PER_ADDRESS": "-1"}, "expected a whole number (0: no limit)"),
    ({"SHOWCTL_MODE": "Live"}, "SHOWCTL_MODE: expected rehearsal or live"),
    ({"SHOWCTL_MIXER_TRANSPORT": "rtp"}, "SHOWCTL_MIXER_TRANSPORT: expected udp or srt"),
    ({"SHOWCTL_OSC_ENABLED": "maybe"}, "SHOWCTL_OSC_ENABLED: expected true or false"),
    ({"SHOWCTL_GUEST_MEDIA_GAP": "soon"}, "SHOWCTL_GUEST_MEDIA_GAP"),
])
def test_a_bad_value_names_the_setting(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_settings(None, env)


def test_yaml_kinds_counts_durations_leads_and_files(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("  obs-secret\n", "utf-8")
    s = load_settings(yaml(tmp_path, "mixer: {fps: 25}\nhttp: {max_body_time: 2.5s}\n"
                                     f"show: {{take_lead: auto}}\nobs: {{password_file: "
                                     f"{tmp_path / 'pw'}}}\n"), {})
    assert (s.mixer_fps, s.max_body_seconds, s.take_lead_ms, s.obs_password) == (
        25, 2.5, None, "obs-secret")
    s = load_settings(yaml(tmp_path, "show: {take_lead: 40ms}\n"), {})
    assert s.take_lead_ms == 40
    for text, says in (("mixer: {fps: 0}\n", "mixer.fps: expected a positive whole number"),
                       ("http: {max_body_time: 0s}\n", "http.max_body_time: expected a time "
                                                        "above zero"),
                       (f"obs: {{password_file: {tmp_path / 'nope'}}}\n", "obs.password_file: cannot read")):
        with pytest.raises(ConfigError, match=says):
            load_settings(yaml(tmp_path, text), {})
