"""OSC settings: off by default, on 127.0.0.1:9000; config file and environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from control.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_osc_is_off_by_default_and_local() -> None:
    settings = load_settings(ROOT / "config" / "show.yaml", env={})
    assert (settings.osc_enabled, settings.osc_host, settings.osc_port) == (False, "127.0.0.1",
                                                                            9000)
    assert load_settings(None, env={}).osc_enabled is False


def test_osc_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "show.yaml"
    config.write_text("osc:\n  enabled: true\n  host: 10.0.0.5\n  port: 9100\n", "utf-8")
    settings = load_settings(config, env={})
    assert (settings.osc_enabled, settings.osc_host, settings.osc_port) == (True, "10.0.0.5",
                                                                            9100)
    settings = load_settings(config, env={"SHOWCTL_OSC_PORT": "53000",
                                          "SHOWCTL_OSC_ENABLED": "false"})
    assert (settings.osc_enabled, settings.osc_port) == (False, 53000)
    with pytest.raises(ConfigError, match="SHOWCTL_OSC_PORT: expected a port number"):
        load_settings(config, env={"SHOWCTL_OSC_PORT": "osc"})


def test_osc_reads_only_loopback_by_default_and_the_allow_list_is_checked(
        tmp_path: Path) -> None:
    assert load_settings(None, env={}).osc_allow == "127.0.0.0/8,::1"
    config = tmp_path / "show.yaml"
    config.write_text("osc:\n  allow: [10.0.0.5, 10.0.1.0/24]\n", "utf-8")
    assert load_settings(config, env={}).osc_allow == "10.0.0.5,10.0.1.0/24"
    with pytest.raises(ConfigError, match=r"osc\.allow \(SHOWCTL_OSC_ALLOW\): 'companion'"):
        load_settings(None, env={"SHOWCTL_OSC_ALLOW": "companion"})
