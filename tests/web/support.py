"""Helpers for the web adapter tests: tokens, a fake show (`ShowPort`), one-call requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from control.show.commands import Command
from control.show.engine import Refused
from control.web.app import create_app
from control.web.auth import Auth
from control.web.hosts import AllowedHosts
from control.web.hub import StateHub
from control.web.port import OutputFailed

DIRECTOR = "director-token-0123456789"
PRODUCER = "producer-token-0123456789"
VIEWER = "viewer-token-0123456789ab"
TOKENS = {"director": DIRECTOR, "producer": PRODUCER, "viewer": VIEWER}

SAMPLE = Path(__file__).resolve().parents[2] / "rundown" / "nye-of-science-2023.yaml"

MODEL: dict[str, Any] = {
    "show": {"title": "New Year's Eve of Science", "title_zh": "科学跨年夜", "mode": "rehearsal"},
    "on_air": None,
    "segments": [{"id": "opening", "status": "planned"}, {"id": "weather", "status": "planned"},
                 {"id": "midnight-sky", "status": "planned"}],
}


CHANGES: dict[str, Any] = {"added": ["encore"], "removed": [], "retimed": [
    {"id": "weather", "from_s": 600.0, "to_s": 540.0}], "changed": ["opening"], "moved": [],
    "show": [], "guests": False}


class FakeShow:
    """Records every command (and reload and output) it is given; refuses (or crashes) when
    told to."""

    def __init__(self, model: dict[str, Any] | None = None) -> None:
        self.model = model if model is not None else MODEL
        self.received: list[Command] = []
        self.refuse: str | None = None
        self.crash: Exception | None = None
        self.reloads = 0
        self.reload_error: Exception | None = None  # RundownError or Refused
        self.outputs: list[tuple[str, bool]] = []
        self.output_error: str | None = None
        self.reads = 0  # read_model calls
        self.segment_checks = 0  # has_segment calls (the API asks the show, not the read model)

    def read_model(self) -> dict[str, Any]:
        self.reads += 1
        return self.model

    def has_segment(self, segment_id: str) -> bool:
        self.segment_checks += 1
        return segment_id in {s.get("id") for s in self.model.get("segments") or []}

    async def command(self, cmd: Command) -> None:
        self.received.append(cmd)
        if self.crash is not None:
            raise self.crash
        if self.refuse is not None:
            raise Refused(self.refuse)

    async def reload(self) -> dict[str, Any]:
        self.reloads += 1
        if self.reload_error is not None:
            raise self.reload_error
        return {"changes": CHANGES, "warnings": []}

    async def output(self, name: str, active: bool) -> None:
        self.outputs.append((name, active))
        if self.output_error is not None:
            raise OutputFailed(self.output_error)



def make_app(fake: FakeShow, hub: StateHub | None = None, *, auth: Auth | None = None,
             static_dir: Path | None = None, hosts: tuple[str, ...] = ("localhost",)
             ) -> web.Application:
    return create_app(fake, auth or Auth.from_settings(**TOKENS),
                      hub=hub if hub is not None else StateHub(send_timeout=2.0, close_timeout=0.5),
                      static_dir=static_dir, allowed_hosts=AllowedHosts(hosts))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(client: TestClient, method: str, path: str, *, token: str | None = DIRECTOR,
               body: Any = None, data: bytes | str | None = None,
               headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One request; asserts the answer is JSON and returns (status, parsed body)."""
    all_headers = {**(bearer(token) if token else {}), **(headers or {})}
    kwargs: dict[str, Any] = {"headers": all_headers}
    if body is not None:
        kwargs["json"] = body
    elif data is not None:
        kwargs["data"] = data
    async with client.request(method, path, **kwargs) as resp:
        assert resp.content_type == "application/json", (resp.status, await resp.text())
        return resp.status, await resp.json()
