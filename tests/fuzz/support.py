"""The fuzz suites' controller: the real wiring (`control.wiring.run_show`) in a thread of its own
on 127.0.0.1, without OBS (its link keeps retrying a closed port, as on a day OBS is late), and a
raw HTTP client that sends exactly the bytes it is given.

The tests run in the main thread and talk to it over sockets, as any client would; what they
compare before and after (the show's state, the journal, the graphics board, the guests'
sessions) is read on the controller's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http.client
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from helpers import wait_for as _wait_for
from hypothesis import HealthCheck, settings

import control.overlays.hub as overlay_hub
import control.web.hub as web_hub
import control.wiring.http as wiring_http
from control.config import Settings
from control.guests.invites import make_token
from control.journal import journal_path
from control.obs.launcher import free_port
from control.overlays import read_key
from control.wiring.live import LiveShow, run_show

T = TypeVar("T")

# Hypothesis: bounded by default (the whole directory in well under a minute on 2 cores);
# SHOWCTL_FUZZ_PROFILE=fuzz-deep multiplies every example count by 20 for a long hunt.
_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
           HealthCheck.function_scoped_fixture]
settings.register_profile("fuzz", deadline=None, suppress_health_check=_CHECKS,
                          print_blob=True)
settings.register_profile("fuzz-deep", deadline=None, suppress_health_check=_CHECKS,
                          print_blob=True)
PROFILE = os.environ.get("SHOWCTL_FUZZ_PROFILE", "fuzz")
SCALE = 20 if PROFILE == "fuzz-deep" else 1


def fuzz(examples: int) -> settings:
    """The suite's settings with this many examples (times the profile's scale)."""
    return settings(settings.get_profile(PROFILE), max_examples=examples * SCALE)


DIRECTOR = "director-token-fuzz-0123456789"
PRODUCER = "producer-token-fuzz-0123456789"
VIEWER = "viewer-token-fuzz-0123456789"
GUEST = "ada"
GUEST_SECRET = "guest-secret-fuzz-0123456789"
BODY_TIMEOUT_S = 2.0  # the server's body timeout in these tests (http.max_body_time)
HEADER_TIMEOUT_S = 2.0  # the server's idle/header timeout in these tests (slow-loris)

# no cues: nothing may change by itself while a test compares before and after
RUNDOWN = """\
show:
  title: Fuzz
  title_zh: 模糊测试
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  safe_scene: Slate
guests:
  ada:
    name: Ada Lovelace
    name_zh: 艾达
segments:
  - {id: intro, title: Intro, duration: 10m, scene: Studio Wide, then: hold}
  - id: talk
    title: Talk
    duration: 10m
    scene: Remote Guest
    guests: [ada]
    layout: solo
    then: hold
  - {id: outro, title: Outro, duration: 10m, scene: Credits, then: hold}
"""
SEGMENTS = ("intro", "talk", "outro")


@dataclass(frozen=True)
class Snapshot:
    """What bad input must not change: the show's state (but its clock), the journal's
    length, the graphics board's revision, the guests' sessions and their mix levels."""

    state: Any
    journal_lines: int
    overlay_rev: int
    sessions: tuple[tuple[str, str], ...]
    phases: tuple[tuple[str, str], ...]
    levels: tuple[tuple[str, str], ...]


@dataclass
class Response:
    """An HTTP answer as it came off the socket."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        return json.loads(self.body, parse_constant=_strict)


def _strict(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class Live:
    """`control.wiring.run_show` running in a thread with its own event loop."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.rundown = tmp / "fuzz.yaml"
        self.rundown.write_text(RUNDOWN, "utf-8")
        self.port = free_port()
        self.osc_port = _free_udp_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            obs_url=f"ws://127.0.0.1:{free_port()}", http_port=self.port,
            director_token=DIRECTOR, producer_token=PRODUCER, viewer_token=VIEWER,
            state_dir=tmp / "state", osc_enabled=True, osc_port=self.osc_port,
            min_take_interval_ms=0, mixer_enabled=False, guest_secret=GUEST_SECRET,
            guest_ice_hosts="127.0.0.1", guest_joins_per_minute=1_000_000,
            # the fuzz sends wrong tokens among the right ones: no backoff here (it has its
            # own tests, tests/web/test_doors.py); slow bodies are cut sooner than in a show
            login_failures_per_address=0, max_body_seconds=BODY_TIMEOUT_S)
        self.journal = journal_path(self.settings.state_dir, str(self.rundown))
        self.read_key = read_key(DIRECTOR, PRODUCER, VIEWER)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ctl: LiveShow | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="fuzz-controller", daemon=True)

    # -- life

    def start(self, monkeypatch: pytest.MonkeyPatch) -> Live:
        monkeypatch.setattr(wiring_http, "HTTP_IDLE_TIMEOUT_S", HEADER_TIMEOUT_S)
        # the fuzz sends its messages as fast as it makes them, on one socket: the rate
        # limit (tests/web/test_ws.py, bench/flood.py) would cut it; sizes stay the product's
        for hub in (web_hub, overlay_hub):
            monkeypatch.setattr(hub, "LIMITS", dataclasses.replace(hub.LIMITS, rate=10_000.0,
                                                                   burst=100_000))
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise AssertionError(f"the controller did not start: {self._error!r}")
        return self

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start() or stop()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with run_show(self.rundown, self.settings, start="now") as ctl:
            self.ctl = ctl
            _no_join_limits(ctl.guests.gateway)
            async with asyncio.timeout(10):
                while ctl.runner.state.on_air != "intro":
                    await asyncio.sleep(0.01)
            self._ready.set()
            await self._stop.wait()

    def stop(self) -> None:
        if self.loop is not None and self._stop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the controller did not stop"
        assert self._error is None, f"the controller failed: {self._error!r}"

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and self._error is None

    # -- the loop's side

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        """Run a coroutine on the controller's loop and wait for its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def on_loop(self, fn: Callable[[], T]) -> T:
        async def call() -> T:
            return fn()
        return self.run(call())

    @property
    def show(self) -> LiveShow:
        assert self.ctl is not None, "not started"
        return self.ctl

    @property
    def osc(self) -> Any:
        return self.show.osc

    @property
    def overlays(self) -> Any:
        return self.show.overlays.hub

    @property
    def gateway(self) -> Any:
        return self.show.guests.gateway

    def snapshot(self) -> Snapshot:
        def take() -> Snapshot:
            state = dataclasses.replace(self.show.runner.state, clock_ms=None)
            gw = self.gateway
            return Snapshot(state, _lines(self.journal), self.overlays.board.rev,
                            tuple(sorted((g, s.id) for g, s in gw.sessions.items())),
                            tuple((g, gw.phase(g)) for g in self.guests()),
                            tuple((g["id"], json.dumps(g.get("level"), sort_keys=True))
                                  for g in self.show.read_model()["guests"]))
        return self.on_loop(take)

    def guests(self) -> list[str]:
        """The roster's guest ids (on the loop)."""
        return [g.id for g in self.show.runner.state.rundown.guests]

    def guest_token(self, guest: str = GUEST) -> str:
        """A valid invite of the guest's current generation (a revoke bumps it)."""
        generation = self.on_loop(lambda: self.show.guests.invites.bindings.generation(guest))
        return make_token(GUEST_SECRET.encode(), guest, int(time.time()) + 3600, generation)

    # -- HTTP

    def send(self, raw: bytes, timeout: float = 20) -> Response:
        """Send these bytes as they are (one request, Connection: close) and read the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(raw)
            resp = http.client.HTTPResponse(sock)
            resp.begin()
            body = resp.read()
            return Response(resp.status, resp.headers, body)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, token: str | None = DIRECTOR,
                timeout: float = 20, host: str | None = None) -> Response:
        """A request with the director's token by default; `path` is sent as it is."""
        lines = [f"{method} {path} HTTP/1.1", "Host: " + (host or f"127.0.0.1:{self.port}"),
                 "Connection: close"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        hdrs = dict(headers or {})
        if body is not None and not any(h.lower() == "content-length" for h in hdrs):
            hdrs["Content-Length"] = str(len(body))
        lines += [f"{k}: {v}" for k, v in hdrs.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
        return self.send(head + (body or b""), timeout)

    def runner_alive(self) -> None:
        """A command goes through the show's one writer and comes back (200, or the show's
        409): the runner task is alive, not just the HTTP server."""
        resp = self.request("POST", "/api/extend", b'{"seconds": 0}',
                            {"Content-Type": "application/json"}, timeout=10)
        assert resp.status in (200, 409), (resp.status, resp.body[:300])

    def state(self) -> dict[str, Any]:
        resp = self.request("GET", "/api/state")
        assert resp.status == 200, resp
        model = resp.json()
        assert isinstance(model, dict)
        return model


def _no_join_limits(gateway: Any) -> None:
    """The fuzzers join far more often than any guest may: no 429s (0 is off)."""
    limiter = getattr(gateway, "limiter", None)
    for name in ("total", "per_address", "per_guest"):
        if hasattr(limiter, name):
            setattr(limiter, name, 0)


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(tmp: Path) -> Iterator[Live]:
    with pytest.MonkeyPatch.context() as mp:
        live = Live(tmp).start(mp)
    try:
        yield live
    finally:
        live.stop()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """helpers.wait_for, polling fast: fuzz examples wait on in-process state."""
    return _wait_for(predicate, timeout, what, interval=0.003)


def assert_clean_error(resp: Response, *, json_body: bool = True,
                       protocol: bool = False) -> None:
    """A 4xx that says why: JSON {"error", "reason"} (or a short text), never a traceback.
    `protocol`: the request may be refused by the HTTP parser itself, before any handler
    (an unknown Content-Encoding): aiohttp's plain-text 400 is a clear refusal too."""
    assert 400 <= resp.status < 500, (resp.status, resp.body[:300])
    text = resp.body.decode("utf-8", "replace")
    assert "Traceback" not in text and 'File "' not in text, text[:500]
    if protocol and resp.status == 400 and resp.content_type == "text/plain":
        assert text.strip(), "a refusal must say why"
        return
    if json_body:
        assert resp.content_type == "application/json", (resp.status, resp.headers, text[:300])
        answer = resp.json()
        assert isinstance(answer, dict), answer
        assert isinstance(answer.get("error"), str) and answer["error"], answer
        assert isinstance(answer.get("reason"), str) and answer["reason"], answer
    else:
        assert text.strip(), "a refusal must say why"
