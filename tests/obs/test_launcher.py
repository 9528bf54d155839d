"""The launcher: clear errors when OBS cannot start, and scenes that look different."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
from pathlib import Path

import pytest

from control.obs.client import ObsClient
from control.obs.launcher import ObsLauncher, ObsLaunchError


def test_obs_not_installed_says_how_to_install(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    launcher = ObsLauncher(tmp_path, display=":0")
    with pytest.raises(ObsLaunchError, match=r"obs is not installed; .*apt-get install obs-studio"):
        launcher.start()


def test_obs_that_exits_at_once_fails_with_its_output(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "obs"
    fake.write_text("#!/bin/sh\necho 'error: no OpenGL context (fake obs)'\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    launcher = ObsLauncher(tmp_path / "obs", display=":0", start_timeout=10)
    with pytest.raises(ObsLaunchError) as info:
        launcher.start()
    message = str(info.value)
    assert "OBS exited with 3 while waiting for its websocket port" in message
    assert "no OpenGL context (fake obs)" in message and "no OpenGL" in info.value.log


def test_config_is_written_for_every_obs_websocket_version(tmp_path: Path) -> None:
    launcher = ObsLauncher(tmp_path, port=4999, password="pw", display=":0",
                           scenes={"Wide": ["Bug"]})
    ini = (launcher.config / "global.ini").read_text()
    assert "ServerPort=4999" in ini and "ServerPassword=pw" in ini and "FirstRun=false" in ini
    ws = json.loads((launcher.config / "plugin_config/obs-websocket/config.json").read_text())
    assert ws["server_port"] == 4999 and ws["server_password"] == "pw"
    collection = json.loads((launcher.config / "basic/scenes/showctl.json").read_text())
    assert collection["current_program_scene"] == "Wide"
    assert launcher.url == "ws://127.0.0.1:4999"
    assert ObsLauncher(tmp_path / "b", display=":0").password != launcher.password


def test_each_scene_has_its_own_picture(obs: ObsLauncher) -> None:
    async def main() -> dict[str, bytes]:
        async with ObsClient(obs.url, obs.password) as client:
            await client.wait_connected(timeout=10)
            shots = {}
            for scene in ("Studio Wide", "Countdown", "Slate"):
                answer = await client.call("GetSourceScreenshot", {
                    "sourceName": scene, "imageFormat": "png", "imageWidth": 160})
                shots[scene] = base64.b64decode(answer["imageData"].split(",", 1)[1])
            return shots

    shots = asyncio.run(asyncio.wait_for(main(), 30))
    assert all(s.startswith(b"\x89PNG") for s in shots.values())
    assert len(set(shots.values())) == 3
    assert "Logo Bug" in obs.scenes["Studio Wide"]
