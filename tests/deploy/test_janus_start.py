"""config/janus/start.sh, the compose `sfu` profile's Janus: run here with Debian's janus,
its config written from the environment and the admin key's file. Only the VideoRoom plugin
and the HTTP transport are loaded, the API is on 127.0.0.1, the admin key is the file's; a
key that would break the config is refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from helpers import wait_for
from rundowns import ROOT

from control.janus.server import free_port, free_udp_range

SCRIPT = ROOT / "config" / "janus" / "start.sh"
pytestmark = pytest.mark.skipif(shutil.which("janus") is None, reason="needs janus (make deps)")


def run(tmp: Path, key: str, port: int) -> subprocess.Popen[bytes]:
    (tmp / "key").write_text(key)
    low, high = free_udp_range(20)
    env = {**os.environ, "JANUS_CONF": str(tmp / "conf"), "JANUS_ADMIN_KEY_FILE": str(tmp / "key"),
           "JANUS_API_PORT": str(port), "JANUS_RTP_PORTS": f"{low}-{high}",
           "JANUS_INTERFACE": "127.0.0.1"}
    return subprocess.Popen(["sh", str(SCRIPT)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def info(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/janus/info", timeout=1) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def test_janus_starts_with_the_videoroom_and_http_only(tmp_path: Path) -> None:
    port = free_port()
    proc = run(tmp_path, "compose-admin-key-0123456789", port)
    try:
        found = wait_for(lambda: info(port), 20, "Janus's API")
        assert list(found["plugins"]) == ["janus.plugin.videoroom"]
        assert list(found["transports"]) == ["janus.transport.http"]
        conf = (tmp_path / "conf" / "janus.plugin.videoroom.jcfg").read_text()
        assert 'admin_key = "compose-admin-key-0123456789"' in conf
        assert oct((tmp_path / "conf").stat().st_mode & 0o777) == "0o700"
        http = (tmp_path / "conf" / "janus.transport.http.jcfg").read_text()
        assert 'ip = "127.0.0.1"' in http and "admin_http = false" in http
    finally:
        os.killpg(proc.pid, 9)
        proc.wait(10)


@pytest.mark.parametrize("key", ["", 'a"b', "two words"])
def test_a_key_that_would_break_the_config_is_refused(tmp_path: Path, key: str) -> None:
    proc = run(tmp_path, key, free_port())
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 2 and b"must hold the admin key" in err
    assert not (tmp_path / "conf").exists()
