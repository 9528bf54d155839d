"""The guests-only door (`door.port`): a second listener of the running controller that
serves the guest page, its socket, WHIP and their files, and answers 404 to every other
route of the main app (each one tried, from the main app's own router)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from control.config import Settings
from control.guests.invites import invite_link, load_secret, make_token
from control.obs.launcher import free_port
from control.web.door import door_app
from control.wiring.listeners import DOOR_ROUTES, public_base_url
from control.wiring.live import run_show

DIRECTOR = "director-token-door-0123456789abcdef"
RUNDOWN = """\
show:
  title: Door
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  safe_scene: Slate
guests:
  ada: {name: Ada}
segments:
  - {id: intro, title: Intro, duration: 10m, scene: Studio Wide, then: hold}
  - {id: talk, title: Talk, duration: 10m, scene: Studio Interview, guests: [ada]}
"""


def door_settings(tmp_path: Path, **more: object) -> Settings:
    (tmp_path / "door.yaml").write_text(RUNDOWN, "utf-8")
    return Settings(obs_url=f"ws://127.0.0.1:{free_port()}", http_port=free_port(),
                    door_port=free_port(), director_token=DIRECTOR,
                    state_dir=tmp_path / "state", mixer_enabled=False,
                    guest_ice_hosts="127.0.0.1", **more)  # type: ignore[arg-type]


def sample_path(resource: web.AbstractResource) -> str:
    """A path that this resource matches: each {variable} a plain word."""
    info = resource.get_info()
    if "prefix" in info:  # a static folder
        return f"{info['prefix'].rstrip('/')}/guest.css"
    return re.sub(r"\{[^}]*\}", "x", resource.canonical)


async def test_every_other_route_is_404_at_the_door(tmp_path: Path) -> None:
    settings = door_settings(tmp_path)
    async with run_show(tmp_path / "door.yaml", settings, start="now") as show, \
            aiohttp.ClientSession() as http:
        door = f"http://127.0.0.1:{settings.door_port}"
        main = f"http://127.0.0.1:{settings.http_port}"
        named = show.app.router.named_resources()
        guest_resources = {id(named[n]) for n in DOOR_ROUTES}
        tried = 0
        for resource in show.app.router.resources():
            for route in resource:
                method = "GET" if route.method == "*" else route.method
                path = sample_path(resource)
                headers = {"Authorization": f"Bearer {DIRECTOR}"}
                async with http.request(method, door + path, headers=headers) as resp:
                    if id(resource) in guest_resources:
                        assert resp.status != 404 or path.startswith("/lib/"), (method, path)
                        continue
                    assert resp.status == 404, (method, path, resp.status)
                    tried += 1
        assert tried >= 30  # the API, console, graphics, metrics, debug: all of them
        # the director's token opens nothing there; on the main listener it does
        for path in ("/api/state", "/metrics", "/debug/looplag", "/"):
            async with http.get(door + path, headers=headers) as resp:
                assert resp.status == 404
            async with http.get(main + path, headers=headers) as resp:
                assert resp.status == 200, path
        # what a guest loads is there
        token = make_token(load_secret(settings.state_dir), "ada", int(time.time()) + 600)
        link = invite_link(public_base_url(settings), "ada", token)
        assert link.startswith(door + "/guest/ada?t=")
        async with http.get(link) as resp:
            assert resp.status == 200 and "/guest-assets/guest.js" in await resp.text()
        for path in ("/guest-assets/guest.js", "/lib/socket.js"):
            async with http.get(door + path) as resp:
                assert resp.status == 200, path
        async with http.get(f"{door}/guest/ada") as resp:
            assert resp.status == 401  # the door still wants the invite
        async with http.ws_connect(f"{door}/guest/ada/ws?t={token}") as ws:
            assert (await ws.receive_json(timeout=10))["status"] == "invited"
        # the main app's Host check and Server header hold at the door too (DNS rebinding)
        async with http.get(link, headers={"Host": "rebound.example"}) as resp:
            assert resp.status == 400 and resp.headers["Server"] == "showctl"


def test_the_door_refuses_a_route_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="no route named guest_page"):
        door_app(web.Application(), ["guest_page"], client_max_size=1024)
