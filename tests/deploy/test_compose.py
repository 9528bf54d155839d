"""docker-compose.yml, checked without a Docker engine: `docker-compose config` (Debian's
docker-compose; it parses, validates against its schema and interpolates, and needs no
engine), then the structure: every mounted file exists, no secret in the file, OBS and the
secrets come from the environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from rundowns import ROOT

COMPOSE = ROOT / "docker-compose.yml"
SECRETS = ("obs_password", "director_token", "producer_token", "viewer_token",
           "grafana_admin_password", "srt_passphrase", "turn_secret", "tls_cert", "tls_key",
           "cluster_secret", "janus_admin_key")
FILES = {"tls_cert": "tls_cert.pem", "tls_key": "tls_key.pem"}  # the rest: the secret's name
CLUSTER = {"backup", "etcd1", "etcd2", "etcd3"}  # the `cluster` profile (docs/redundancy.md)
SFU = {"janus"}  # the `sfu` profile (docs/scaling.md#janus)
ENV = {"SHOWCTL_OBS_URL": "ws://broadcast-pc.example:4455",
       "SHOWCTL_MIXER_HOST": "broadcast-pc.example", "SHOWCTL_TURN_HOST": "turn.example.org"}


def compose_cli() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    for name in SECRETS:
        (tmp_path / FILES.get(name, name)).write_text("not-a-real-secret\n", "utf-8")
    return tmp_path


def run_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cli = compose_cli()
    if cli is None:
        pytest.skip("docker-compose not installed (Debian: apt-get install docker-compose); "
                    "the structural checks below still run")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SHOWCTL_", "COMPOSE_"))}
    return subprocess.run([*cli, "-f", str(COMPOSE), "config"], cwd=ROOT,
                          env={**clean, **env}, capture_output=True, text=True, timeout=60)


def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text("utf-8"))


def test_docker_compose_config_accepts_the_file(secrets_dir: Path):
    result = run_config({**ENV, "SHOWCTL_SECRETS": str(secrets_dir)})
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert set(config["services"]) == {"controller", "coturn", "prometheus", "alertmanager",
                                       "grafana", *CLUSTER, *SFU}
    controller = config["services"]["controller"]
    env = controller["environment"]
    assert env["SHOWCTL_OBS_URL"] == ENV["SHOWCTL_OBS_URL"]
    assert {s["source"] for s in controller["secrets"]} == {
        "obs_password", "director_token", "producer_token", "viewer_token", "srt_passphrase",
        "turn_secret", "tls_cert", "tls_key", "cluster_secret", "janus_admin_key"}
    # the feed to OBS is SRT to the broadcast PC; guests get TURN on the relay's name
    assert env["SHOWCTL_MIXER_TRANSPORT"] == "srt"
    assert env["SHOWCTL_MIXER_HOST"] == ENV["SHOWCTL_MIXER_HOST"]
    assert env["SHOWCTL_ICE_SERVERS"] == ("turn:turn.example.org:3478?transport=udp,"
                                          "turn:turn.example.org:3478?transport=tcp")
    coturn = config["services"]["coturn"]
    assert {s["source"] for s in coturn["secrets"]} == {"turn_secret"}
    script = " ".join(coturn["command"])
    assert "--use-auth-secret" in script and "--realm=turn.example.org" in script
    assert "static-auth-secret=%s" in script and "not-a-real-secret" not in script
    # one machine unless told: no etcd endpoints, so no election, no etcd (docs/redundancy.md)
    assert env["SHOWCTL_CLUSTER_ENDPOINTS"] == ""
    # the backup is the controller's twin for show night (same feed, door, TURN, secrets)
    backup = config["services"]["backup"]
    for key in ("SHOWCTL_MIXER_TRANSPORT", "SHOWCTL_MIXER_HOST", "SHOWCTL_ICE_SERVERS",
                "SHOWCTL_TLS_CERT_FILE", "SHOWCTL_DOOR_PORT"):
        assert backup["environment"][key] == env[key], key
    assert {s["source"] for s in backup["secrets"]} == {s["source"] for s in controller["secrets"]}
    # Janus shares the controller's network (its API and RTP forwards on 127.0.0.1), off
    # unless asked for
    janus = config["services"]["janus"]
    assert janus["network_mode"] == "service:controller" and env["SHOWCTL_GUEST_SFU"] == "off"
    assert {s["source"] for s in janus["secrets"]} == {"janus_admin_key"}
    assert {s["source"] for s in config["services"]["prometheus"]["secrets"]} == {"viewer_token"}
    for name in SECRETS:
        assert config["secrets"][name]["file"] == str(secrets_dir / FILES.get(name, name))
    for service in config["services"].values():  # published on loopback unless told otherwise
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), port
    # Prometheus and Alertmanager have no login: on loopback even when the rest is published
    gallery = run_config({**ENV, "SHOWCTL_SECRETS": str(secrets_dir),
                          "SHOWCTL_CONSOLE_ADDR": "192.0.2.10",
                          "SHOWCTL_MONITOR_ADDR": "192.0.2.10"})
    published = yaml.safe_load(gallery.stdout)["services"]
    for name in ("prometheus", "alertmanager"):
        for port in published[name]["ports"]:
            assert str(port).startswith("127.0.0.1:"), (name, port)
    assert str(published["grafana"]["ports"][0]).startswith("192.0.2.10:")
    # Prometheus scrapes the controller by its service name: a Host it must answer to
    assert "controller" in controller["environment"]["SHOWCTL_ALLOWED_HOSTS"].split(",")


@pytest.mark.parametrize("missing", ["SHOWCTL_OBS_URL", "SHOWCTL_SECRETS", "SHOWCTL_MIXER_HOST",
                                     "SHOWCTL_TURN_HOST"])
def test_it_refuses_to_start_without_obs_address_or_secrets(secrets_dir: Path, missing: str):
    env = {**ENV, "SHOWCTL_SECRETS": str(secrets_dir)}
    del env[missing]
    result = run_config(env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_the_cluster_profile_is_three_etcd_members_and_the_backup():
    services = raw()["services"]
    for name, service in services.items():
        assert (service.get("profiles") == ["cluster"]) == (name in CLUSTER), name
    backup, main = services["backup"]["environment"], services["controller"]["environment"]
    assert backup["SHOWCTL_CLUSTER_NAME"] == "backup" and main["SHOWCTL_CLUSTER_NAME"] == "main"
    assert backup["SHOWCTL_CLUSTER_PEER_URL"] == main["SHOWCTL_CLUSTER_URL"]
    assert main["SHOWCTL_CLUSTER_PEER_URL"] == backup["SHOWCTL_CLUSTER_URL"]
    members = [f"etcd{i}" for i in (1, 2, 3)]
    for name in members:
        flags = dict(a.split("=", 1) for a in services[name]["command"] if "=" in a)
        assert flags["--name"] == name
        assert flags["--initial-cluster"] == ",".join(f"{m}=http://{m}:2380" for m in members)
        assert flags["--heartbeat-interval"] == "50" and flags["--election-timeout"] == "500"
        assert not services[name].get("ports")  # only the controllers talk to etcd
    assert set(backup["SHOWCTL_CLUSTER_ENDPOINTS"].rsplit(":-", 1)[1].rstrip("}").split(",")) \
        == {f"http://{m}:2379" for m in members}
    assert services["backup"]["volumes"] != services["controller"]["volumes"]  # own state


def test_every_file_it_mounts_exists():
    for name, service in raw()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is missing"
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").exists()


def test_prometheus_gets_its_config_and_rules_where_the_config_says():
    prom = raw()["services"]["prometheus"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in prom["volumes"]}
    config_file = next(a.split("=", 1)[1] for a in prom["command"] if a.startswith("--config.file"))
    assert mounts[config_file] == "./config/prometheus/prometheus.yml"
    config = yaml.safe_load((ROOT / "config/prometheus/prometheus.yml").read_text("utf-8"))
    for rule_file in config["rule_files"]:
        in_container = str(Path(config_file).parent / rule_file)
        assert mounts[in_container] == f"./config/prometheus/{rule_file}"
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "showctl"]
    secret = job["authorization"]["credentials_file"]
    assert secret == "/run/secrets/viewer_token" and "viewer_token" in prom["secrets"]
    assert job["static_configs"][0]["targets"] == ["controller:8080"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"]


def test_no_secret_in_the_compose_file_and_images_pinned():
    for name, service in raw()["services"].items():
        for key, val in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|TOKEN|SECRET", key):
                assert key.endswith("FILE") and str(val).startswith("/run/secrets/"), (name, key)
    for name, service in raw()["services"].items():
        image = service.get("image", "")
        if "build" not in service:
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image!r}"
    for name, secret in raw()["secrets"].items():
        assert secret["file"].startswith("${SHOWCTL_SECRETS:?"), name
