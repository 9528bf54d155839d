"""The controller under drill: `showctl run` as its own process, as on show day."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from ..obs.launcher import ObsLauncher, free_port
from .readmodel import ReadModel, Record
from .result import DrillError
from .tls import DrillTls
from .wait import until

ROOT = Path(__file__).resolve().parents[2]  # the repository: `python -m control.cli` runs here


class ControllerProcess:
    """`showctl run --no-terminal --start START --speed N RUNDOWN` as its own process (own
    state dir, tokens in its environment, a free port); the same command line starts it
    again after a kill (it resumes from its journal)."""

    def __init__(self, root: Path, rundown: Path, speed: float, obs: ObsLauncher,
                 tokens: dict[str, str], guests: dict[str, str] | None = None,
                 start: str = "now", tls: DrillTls | None = None) -> None:
        self.rundown, self.speed, self.tokens, self.start_spec = rundown, speed, tokens, start
        self.port = free_port()
        self.door_port = free_port()  # the guests-only door, as on show night
        self.tls = tls  # HTTPS with the drill's own CA, as on show night
        self.ssl: ssl.SSLContext | bool = tls.context if tls is not None else True
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.door_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.door_port}"
        self.state_dir = root / "state"
        self.log = root / "controller.log"
        self.env = {**os.environ, "SHOWCTL_OBS_URL": obs.url,
                    "SHOWCTL_OBS_PASSWORD": obs.password, "SHOWCTL_HTTP_HOST": "127.0.0.1",
                    "SHOWCTL_HTTP_PORT": str(self.port), "SHOWCTL_STATE_DIR": str(self.state_dir),
                    "SHOWCTL_MODE": "rehearsal",
                    "SHOWCTL_DIRECTOR_TOKEN": tokens["director"],
                    "SHOWCTL_VIEWER_TOKEN": tokens["viewer"],
                    "SHOWCTL_MIXER_ENABLED": "false", "SHOWCTL_OSC_ENABLED": "false",
                    "SHOWCTL_DOOR_HOST": "127.0.0.1", "SHOWCTL_DOOR_PORT": str(self.door_port),
                    **(tls.env() if tls is not None else {}), **(guests or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.http: aiohttp.ClientSession | None = None
        self.starts = 0

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "control.cli", "run", "--no-terminal",
                "--start", self.start_spec, "--speed", f"{self.speed:g}", str(self.rundown)]

    async def start(self, timeout: float = 120) -> None:
        """Start it and wait for its API (DrillError at once if it exits, or after
        `timeout`: seen taking over a minute at a load of 17 on two cores)."""
        self.starts += 1
        with self.log.open("ab") as log:
            log.write(f"\n===== start #{self.starts} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log,
                                         stderr=log, stdin=subprocess.DEVNULL)
        if self.http is None:
            self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10),
                                              connector=aiohttp.TCPConnector(ssl=self.ssl))

        async def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise DrillError(f"the controller exited:\n{self.log.read_text()[-3000:]}")
            return (await self.request("GET", "/api/state"))[0] == 200
        try:
            await until(up, timeout, "the controller's API")
        except TimeoutError as exc:
            raise DrillError(f"{exc}:\n{self.log.read_text()[-3000:]}") from exc

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(self.proc.wait, 15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.http is not None:
            await self.http.close()
            self.http = None

    async def request(self, method: str, path: str, body: Any = None,
                      role: str | None = "director") -> tuple[int, dict[str, Any]]:
        """(status, JSON body or {}) of one API request with `role`'s token (None: none)."""
        assert self.http is not None
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        async with self.http.request(method, self.url + path, json=body,
                                     headers=headers) as resp:
            try:
                data = await resp.json(content_type=None)
            except (json.JSONDecodeError, aiohttp.ContentTypeError):
                data = {}
            return resp.status, data if isinstance(data, dict) else {}

    async def state(self) -> ReadModel:
        status, body = await self.request("GET", "/api/state")
        if status != 200:
            raise DrillError(f"GET /api/state answered {status}: {body}")
        return body

    async def now_ms(self) -> int:
        """The show clock now (one request)."""
        return int((await self.state())["show"]["now_ms"])

    def journal_path(self) -> Path:
        return next(self.state_dir.glob("*.journal.jsonl"))

    def journal(self) -> list[Record]:
        text = self.journal_path().read_text("utf-8")
        return [json.loads(line) for line in text.splitlines() if line]
