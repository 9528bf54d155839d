"""Every websocket with bad messages: the console's (/api/ws), the overlay pages' (/overlays/ws)
and the guest page's (/guest/{id}/ws). Random JSON and text, binary frames, invalid UTF-8,
oversized messages, deep nesting, odd numbers.

The rule: the console's socket answers each bad message with `{"type": "error", "reason"}`
and goes on (a following ping is answered); the pages' and the guest's, which have no error
message in their protocol, ignore it and go on; a message over the size limit or invalid
UTF-8 closes that one socket with its close code (1009, 1007) and nothing else; the show's
state never changes, and the read model stays strict JSON."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import WSMsgType
from fuzz.strategies import json_values, texts
from fuzz.support import DIRECTOR, GUEST, Live, fuzz, wait_for
from hypothesis import example, given
from hypothesis import strategies as st

T = TypeVar("T")
LIMIT = 4096  # the console's and the pages' message size limit (the guest page's: 16 KiB)

Message = tuple[str, Any]  # ("text", str) | ("binary", bytes) | ("raw_text", bytes)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def messages(limit: int) -> st.SearchStrategy[Message]:
    """What a broken or hostile client sends, mostly under the size limit."""
    as_json = json_values.map(lambda v: json.dumps(v))  # ASCII: lone surrogates escaped
    typed = st.fixed_dictionaries(
        {"type": st.sampled_from(["ping", "PING", "pong", "resync", "hello", "state", "take",
                                  "", "error"]) | texts},
        optional={"t0": json_values | st.sampled_from([10**400, -10**400, 1e308]),
                  "rev": json_values, "stats": json_values}).map(json.dumps)
    raw_numbers = st.sampled_from(['{"type": "ping", "t0": NaN}', '{"type": "ping", "t0": 1e999}',
                                   '{"type": "ping", "t0": ' + "9" * 400 + "}",
                                   '{"type": "ping", "t0": -Infinity}', "NaN", "1e999"])
    text = (as_json | typed | raw_numbers | texts.filter(_encodable)
            | st.integers(limit // 2, limit - 2).map(lambda n: "[" * n)
            | st.integers(limit // 2, limit - 2).map(lambda n: '{"a":' * (n // 5)))
    return st.one_of(
        text.filter(lambda t: len(t.encode()) <= limit).map(lambda t: ("text", t)),
        st.binary(max_size=64).map(lambda b: ("binary", b)),
        st.sampled_from([b"\xff", b"\xc0\xae", b"\xed\xa0\x80", b"ok\x80"]).map(
            lambda b: ("raw_text", b)),
        st.integers(limit + 1, limit * 4).map(lambda n: ("text", "x" * n)),
    )


class Socket:
    """One websocket client on its own event loop (the test's thread)."""

    def __init__(self, live: Live, path: str, headers: dict[str, str] | None = None) -> None:
        self.url = live.base + path
        self.headers = headers or {}
        self.runner = asyncio.Runner()
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    def run(self, coro: Awaitable[T], timeout: float = 10) -> T:
        async def bounded() -> T:
            async with asyncio.timeout(timeout):
                return await coro
        return self.runner.run(bounded())

    def connect(self) -> None:
        async def go() -> aiohttp.ClientWebSocketResponse:
            if self.session is None:
                self.session = aiohttp.ClientSession()
            return await self.session.ws_connect(self.url, headers=self.headers,
                                                 autoping=True, max_msg_size=0)
        self.ws = self.run(go())

    def send(self, message: Message) -> None:
        assert self.ws is not None
        kind, payload = message
        if kind == "text":
            self.run(self.ws.send_str(payload))
        elif kind == "binary":
            self.run(self.ws.send_bytes(payload))
        else:  # a text frame that is not UTF-8
            self.run(self.ws.send_frame(payload, WSMsgType.TEXT))

    def receive_until(self, done: Any, timeout: float = 10) -> list[Any]:
        """Messages (parsed strictly) up to and including the first for which `done` holds;
        a close ends the list with ("closed", code)."""
        assert self.ws is not None
        ws = self.ws
        out: list[Any] = []

        async def go() -> None:
            while True:
                msg = await ws.receive()
                if msg.type is WSMsgType.TEXT:
                    out.append(json.loads(msg.data, parse_constant=_strict))
                    if done(out[-1]):
                        return
                elif msg.type is WSMsgType.CLOSE:
                    out.append(("closed", msg.data))
                    return
                elif msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    out.append(("closed", ws.close_code))
                    return
        self.run(go(), timeout)
        return out

    def close(self) -> None:
        async def go() -> None:
            if self.ws is not None:
                await self.ws.close()
            if self.session is not None:
                await self.session.close()
        try:
            self.run(go())
        finally:
            self.runner.close()


def _strict(name: str) -> Any:
    raise ValueError(f"{name} is not JSON: the server must never send it")


def _closing(message: Message, limit: int) -> int | None:
    """The close code a message must get, or None: it must be answered and the socket kept."""
    kind, payload = message
    if kind == "raw_text":
        return 1007
    if kind == "text" and len(payload.encode()) > limit:
        return 1009
    return None


# -- the console's socket


@pytest.mark.parametrize("query", ["", "?delta=1"])
def test_console_socket_answers_every_bad_message(live: Live, query: str) -> None:
    """Plain clients and delta clients (the console's): `ping` is answered with `pong`,
    `resync` with the whole state (delta clients; an error for the others), anything else
    with an error that says why."""
    sock = Socket(live, "/api/ws" + query, {"Authorization": f"Bearer {DIRECTOR}"})
    sock.connect()
    assert sock.receive_until(lambda m: True)[0]["type"] == "state"
    try:
        @fuzz(100)
        @given(message=messages(LIMIT))
        @example(message=("text", "[" * 4000))
        @example(message=("text", '{"type": "ping", "t0": NaN}'))
        @example(message=("text", '{"type": "resync", "rev": 1e999}'))
        @example(message=("binary", b"\x00"))
        @example(message=("raw_text", b"\xff"))
        @example(message=("text", "x" * (LIMIT + 1)))
        def run(message: Message) -> None:
            if sock.ws is None or sock.ws.closed:
                sock.connect()
                sock.receive_until(lambda m: True)
            before = live.snapshot()
            sock.send(message)
            code = _closing(message, LIMIT)
            if code is not None:
                assert sock.receive_until(lambda m: False)[-1] == ("closed", code)
            else:
                parsed = _parse(message)
                kind = parsed.get("type") if isinstance(parsed, dict) else None
                sock.send(("text", '{"type": "ping"}'))
                pongs = iter(range(2 if kind == "ping" else 1, 0, -1))
                got = sock.receive_until(lambda m: isinstance(m, tuple) or (
                    m.get("type") == "pong" and next(pongs) == 1))
                assert not isinstance(got[-1], tuple), f"closed after {message!r:.200}: {got}"
                replies = [m for m in got if m.get("type") in ("pong", "error")]
                if kind == "ping":
                    assert replies == [{"type": "pong"}] * 2, replies
                elif kind == "resync" and query:  # (replies go out before states)
                    assert replies == [{"type": "pong"}], replies
                    if not any(m.get("type") == "state" for m in got):
                        sock.receive_until(lambda m: isinstance(m, tuple)
                                           or m.get("type") == "state")
                else:
                    assert [m["type"] for m in replies] == ["error", "pong"], replies
                    assert isinstance(replies[0]["reason"], str) and replies[0]["reason"]
            assert live.snapshot() == before

        run()
    finally:
        sock.close()
    live.state()


def _parse(message: Message) -> Any:
    kind, payload = message
    if kind != "text":
        return None
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        return None


# -- the overlay pages' socket


def test_overlay_socket_ignores_bad_messages_and_goes_on(live: Live) -> None:
    sock = Socket(live, f"/overlays/ws?key={live.read_key}&template=fuzz")
    sock.connect()
    assert sock.receive_until(lambda m: True)[0]["type"] == "snapshot"
    marker = iter(range(1, 10**9))
    try:
        @fuzz(150)
        @given(message=messages(LIMIT))
        @example(message=("text", '{"type": "ping", "t0": ' + "9" * 400 + "}"))
        @example(message=("text", '{"type": "ping", "t0": NaN}'))
        @example(message=("text", '{"type": "ping", "t0": 1e999}'))
        @example(message=("text", "[" * 4000))
        @example(message=("raw_text", b"\xff"))
        @example(message=("text", "x" * (LIMIT + 1)))
        def run(message: Message) -> None:
            if sock.ws is None or sock.ws.closed:
                sock.connect()
                assert sock.receive_until(lambda m: True)[0]["type"] == "snapshot"
            before = live.snapshot()
            sock.send(message)
            code = _closing(message, LIMIT)
            if code is not None:
                assert sock.receive_until(lambda m: False)[-1] == ("closed", code)
            else:
                t0 = next(marker)
                sock.send(("text", json.dumps({"type": "ping", "t0": t0})))
                got = sock.receive_until(lambda m: isinstance(m, tuple) or (
                    m.get("type") == "pong" and m.get("t0") == t0))
                assert not isinstance(got[-1], tuple), f"closed after {message!r:.200}: {got}"
                for m in got:  # (received strictly: a NaN or Infinity would have failed)
                    assert m.get("type") in ("pong", "snapshot", "delta", "settings"), m
            assert live.snapshot() == before

        run()
    finally:
        sock.close()


# -- the guest page's socket


def test_guest_socket_ignores_bad_messages_and_keeps_stats_clean(live: Live) -> None:
    sock = Socket(live, f"/guest/{GUEST}/ws?t={live.guest_token()}")
    sock.connect()
    assert "status" in sock.receive_until(lambda m: True)[0]
    marker = iter(range(1, 10**9))
    limit = 16 * 1024
    gateway = live.gateway
    original = gateway.report
    reports: list[dict[str, Any]] = []  # the link stats each report left in the read model

    def recording(guest: str, stats: dict[str, Any]) -> None:
        original(guest, stats)
        reports.append(dict(gateway.link.get(guest) or {}))

    live.on_loop(lambda: setattr(gateway, "report", recording))
    try:
        @fuzz(150)
        @given(message=messages(limit) | st.fixed_dictionaries({"stats": st.dictionaries(
            st.sampled_from(["rtt_ms", "jitter_ms", "packetsLost", "loss_pct", "candidateType",
                             "qualityLimitationReason", "framesPerSecond", "bitrate_kbps"])
            | texts, json_values, max_size=4)}).map(lambda m: ("text", json.dumps(m))))
        @example(message=("text", '{"stats": {"rtt_ms": NaN, "jitter_ms": Infinity}}'))
        @example(message=("text", '{"stats": {"loss_pct": 1e999}}'))
        @example(message=("text", '{"stats": {"rtt_ms": ' + "9" * 400 + "}}"))
        @example(message=("text", '{"stats": ' + "[" * 9000 + "]" * 9000 + "}"))
        @example(message=("text", "[" * 16000))
        def run(message: Message) -> None:
            if sock.ws is None or sock.ws.closed:
                sock.connect()
                sock.receive_until(lambda m: True)
            before = live.snapshot()
            sock.send(message)
            code = _closing(message, limit)
            if code is not None:
                assert sock.receive_until(lambda m: False)[-1] == ("closed", code)
            else:  # a stats report after it: once it is in, the bad message was handled
                rtt = next(marker)
                sock.send(("text", json.dumps({"stats": {"rtt_ms": rtt}})))
                wait_for(lambda: live.on_loop(lambda: (live.gateway.link.get(GUEST) or {}).get(
                    "rtt_ms")) == rtt, 10, f"the guest socket to go on after {message!r:.200}")
            for link in live.on_loop(lambda: list(reports)):
                for value in link.values():
                    assert isinstance(value, int | float | str) and not isinstance(value, bool), \
                        link
                    if isinstance(value, str):
                        assert len(value) <= 16, link
                    else:  # the read model carries them: strict JSON has no NaN or Infinity
                        assert value == value and abs(value) != float("inf"), link
            live.on_loop(reports.clear)
            assert live.snapshot() == before
            live.state()

        run()
    finally:
        live.on_loop(lambda: delattr(gateway, "report"))
        sock.close()
