"""The metrics as `control.wiring.run_show()` wires them: the real runner, journal, API and hub.

OBS is not running here (the address is a closed port): that is what showctl_obs_up says.
The test with a real OBS and a real Prometheus is test_prometheus_live.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from metrics.support import RUNDOWN, value

from control.config import Settings
from control.obs.launcher import free_port
from control.wiring.live import run_show

DIRECTOR, VIEWER = "wiring-director-token-0123", "wiring-viewer-token-0123456"


async def test_metrics_from_the_wired_controller(tmp_path: Path):
    rundown = tmp_path / "show.yaml"
    rundown.write_text(RUNDOWN, "utf-8")
    port, obs_port = free_port(), free_port()
    settings = Settings(obs_url=f"ws://127.0.0.1:{obs_port}", http_port=port,
                        director_token=DIRECTOR, viewer_token=VIEWER,
                        state_dir=tmp_path / "state", min_take_interval_ms=0)
    base = f"http://127.0.0.1:{port}"
    viewer = {"Authorization": f"Bearer {VIEWER}"}
    async with run_show(rundown, settings, start="now", fresh=True) as ctl, \
            aiohttp.ClientSession() as http:

        async def scrape(until) -> bytes:
            while True:
                async with http.get(f"{base}/metrics", headers=viewer) as response:
                    assert response.status == 200
                    text = await response.read()
                if until(text):
                    return text
                await asyncio.sleep(0.05)

        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200 and await response.text() == "ok\n"
        async with http.get(f"{base}/metrics") as response:
            assert response.status == 401

        text = await asyncio.wait_for(scrape(
            lambda t: value(t, "showctl_show_on_air") == 1), 10)
        assert value(text, "showctl_obs_up") == 0
        assert value(text, "showctl_segment_info", segment="intro", title="Intro") == 1
        assert value(text, "showctl_takes_total", source="show-start") == 1
        assert value(text, "showctl_show_mode_info", mode="rehearsal") == 1

        async with http.post(f"{base}/api/take", json={}, headers={
                "Authorization": f"Bearer {DIRECTOR}", "X-Showctl-Source": "console"}) as r:
            assert r.status == 200, await r.text()
        text = await asyncio.wait_for(scrape(
            lambda t: value(t, "showctl_takes_total", source="console") == 1), 10)
        assert value(text, "showctl_segment_info", segment="talk", title="科学 Talk") == 1
        # the take was journaled (append + fsync) before it was acknowledged
        text = await asyncio.wait_for(scrape(
            lambda t: (value(t, "showctl_journal_write_seconds_count") or 0) >= 2), 10)

        async with http.ws_connect(f"{base}/api/ws", headers=viewer) as ws:
            await ws.receive_json()  # the snapshot: the client is registered
            text = await asyncio.wait_for(scrape(
                lambda t: value(t, "showctl_websocket_clients", role="viewer") == 1), 10)
        assert value(text, "showctl_event_loop_lag_seconds_count") is not None
        assert ctl.runner.state.on_air == "talk"


async def test_wrong_metrics_tokens_back_off_like_every_token(tmp_path: Path):
    """/metrics and /debug/looplag check tokens through the same per-address throttle as the
    API: guessing the viewer token on the scrape port gains nothing either."""
    rundown = tmp_path / "show.yaml"
    rundown.write_text(RUNDOWN, "utf-8")
    port = free_port()
    settings = Settings(obs_url=f"ws://127.0.0.1:{free_port()}", http_port=port,
                        director_token=DIRECTOR, viewer_token=VIEWER,
                        state_dir=tmp_path / "state", login_failures_per_address=3)
    base = f"http://127.0.0.1:{port}"
    async with run_show(rundown, settings, start="now", fresh=True), \
            aiohttp.ClientSession() as http:
        statuses = []
        for n in range(5):
            async with http.get(f"{base}/metrics",
                                headers={"Authorization": f"Bearer wrong-guess-{n:020d}"}) as r:
                statuses.append(r.status)
        assert statuses[:3] == [401, 401, 401] and statuses[-1] == 429, statuses
        async with http.get(f"{base}/metrics", headers={"Authorization": f"Bearer {VIEWER}"}) as r:
            assert r.status == 429 and int(r.headers["Retry-After"]) >= 1  # not even looked at
        async with http.get(f"{base}/debug/looplag",
                            headers={"Authorization": f"Bearer {VIEWER}"}) as r:
            assert r.status == 429
        async with http.get(f"{base}/healthz") as r:
            assert r.status == 200  # the health check needs no token and is never throttled
