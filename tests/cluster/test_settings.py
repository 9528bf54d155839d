"""The `cluster:` settings: absent means one machine exactly as before; set, they are
checked together, and the environment overrides them like every other setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from rundowns import ROOT

from control.config import ConfigError, Settings, load_settings

SHIPPED = ROOT / "config" / "show.yaml"
PAIR = {"SHOWCTL_CLUSTER_ENDPOINTS": "http://10.0.0.11:2379, http://10.0.0.12:2379/",
        "SHOWCTL_CLUSTER_NAME": "backup", "SHOWCTL_CLUSTER_URL": "http://10.0.0.22:8080",
        "SHOWCTL_CLUSTER_PEER_URL": "http://10.0.0.21:8080"}


def test_the_shipped_config_is_one_machine() -> None:
    settings = load_settings(SHIPPED, env={})
    assert settings.cluster_endpoints == () and settings.cluster_lease_ttl_s == 1
    assert (settings.cluster_name, settings.cluster_url, settings.cluster_secret) == (
        Settings().cluster_name, Settings().cluster_url, None)


def test_the_environment_makes_a_pair() -> None:
    settings = load_settings(SHIPPED, env={**PAIR, "SHOWCTL_CLUSTER_LEASE_TTL": "2s",
                                           "SHOWCTL_CLUSTER_SECRET": "s3cret"})
    assert settings.cluster_endpoints == ("http://10.0.0.11:2379", "http://10.0.0.12:2379")
    assert settings.cluster_name == "backup" and settings.cluster_lease_ttl_s == 2
    assert settings.cluster_peer_url == "http://10.0.0.21:8080"
    assert settings.cluster_secret == "s3cret"


def test_the_file_takes_a_list(tmp_path: Path) -> None:
    path = tmp_path / "show.yaml"
    path.write_text("cluster:\n  endpoints: [http://a:2379, http://b:2379, http://c:2379]\n"
                    "  name: main\n  url: http://main:8080\n  peer_url: http://backup:8080\n")
    assert load_settings(path, env={}).cluster_endpoints == (
        "http://a:2379", "http://b:2379", "http://c:2379")


@pytest.mark.parametrize(("env", "message"), [
    ({"SHOWCTL_CLUSTER_ENDPOINTS": "http://a:2379"}, "cluster.name, cluster.url"),
    ({**PAIR, "SHOWCTL_CLUSTER_NAME": ""}, "so cluster.name must be"),
    ({"SHOWCTL_CLUSTER_LEASE_TTL": "1500ms"}, "whole seconds"),
    ({"SHOWCTL_CLUSTER_LEASE_TTL": "0s"}, "at least 1s"),
    ({"SHOWCTL_CLUSTER_PEER_URL": "ws://x:1"}, "expected http://"),
    ({"SHOWCTL_CLUSTER_ENDPOINTS": "10.0.0.1:2379"}, "expected http://"),
])
def test_bad_cluster_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(SHIPPED, env=env)
