"""The OSC listener: UDP datagrams in, `control.show.commands` values out, in order.

    /showctl/take            take the next segment     /showctl/take ID    take that one
    /showctl/next ID         set next (no ID: clear)   /showctl/skip [ID]  skip (default: next)
    /showctl/hold [0|1]      hold (default 1) or not   /showctl/back       next: the one before
    /showctl/extend SECONDS  more time (negative: less) /showctl/arm 0|1   arm hard starts or not
    /showctl/panic           twice within 2 s: cut to the safe scene

Control surfaces differ in what they send with a button. A lone number on take, next, skip,
back and panic is a button's value: non-zero is the press (the command), zero the release
(ignored), so a TouchOSC push button (1.0 down, 0.0 up) takes once. Hold and arm read their
number as the value itself (TouchOSC toggles send 1 and 0).

OSC has no authentication: whoever can send a datagram to the port can take. Listen on
127.0.0.1 (the default; Companion on the same PC) or a trusted, isolated control network only,
and name the surfaces' addresses (`allow`, networks too: 10.0.0.0/24): a datagram from any
other source is dropped before it is read (the default allows loopback only). UDP source
addresses can be forged on a shared network, so the allow-list is a second lock, not the
first.

Panic needs two presses: two datagrams, each holding one panic, within PANIC_WINDOW_S. One
datagram (or bundle) holding two panics is one press: a single misfired macro must not cut
the show to the safe scene.

Anything malformed, unknown or refused is logged (rate-limited) and dropped; the listener
never stops for a bad datagram. Commands go to `show.command()` one at a time, in the
order they arrived, from one task; at most MAX_PENDING wait (a flood is dropped, not queued).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from pythonosc.osc_packet import OscPacket

from control.networks import Network, parse_networks
from control.show.commands import (
    Arm,
    Back,
    Command,
    Extend,
    Hold,
    Panic,
    SetNext,
    Skip,
    Take,
)
from control.show.engine import Refused

log = logging.getLogger(__name__)

PREFIX = "/showctl/"
ADDRESSES = ("take", "next", "skip", "hold", "back", "extend", "arm", "panic")
PANIC_WINDOW_S = 2.0   # like the console's two-step confirm
MAX_EXTEND_S = 3600
MAX_PENDING = 64
MAX_ID = 200
BY = "osc"
_LOG_BURST, _LOG_WINDOW_S = 10, 10.0  # at most this many complaints per window


LOOPBACK = ("127.0.0.0/8", "::1")
def allowed(networks: tuple[Network, ...], host: Any) -> bool:
    """Whether a datagram's source address is in one of `networks` (IPv4 seen through an
    IPv6 socket, ::ffff:10.0.0.5, counts as 10.0.0.5)."""
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == n.version and address in n for n in networks)


class OscCommandError(ValueError):
    """A message that does not make a command; the message says why."""


class ShowPort(Protocol):
    """What OSC needs of the running show: the `command()` every other input uses too."""

    async def command(self, cmd: Command) -> None: ...


_RELEASE = object()  # a button's release: nothing to do


def _describe(params: list[Any]) -> str:
    return " ".join(repr(p) for p in params) or "no arguments"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _button(params: list[Any]) -> list[Any] | object:
    """A lone number (or True/False) is a button's value: press → no arguments, release →
    nothing to do."""
    if len(params) == 1 and (_is_number(params[0]) or isinstance(params[0], bool)):
        return [] if params[0] else _RELEASE
    return params


def _segment_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OscCommandError(f"expected a segment id (a string), got {value!r}")
    if len(value) > MAX_ID:
        raise OscCommandError(f"a segment id is at most {MAX_ID} characters")
    return value.strip()


def _flag(params: list[Any], default: bool | None) -> bool:
    if not params:
        if default is None:
            raise OscCommandError("expected 0 or 1")
        return default
    if len(params) > 1:
        raise OscCommandError(f"expected one argument, 0 or 1, got {_describe(params)}")
    value = params[0]
    if isinstance(value, bool):
        return value
    if _is_number(value) and math.isfinite(value):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false", "on",
                                                            "off"):
        return value.strip().lower() in ("1", "true", "on")
    raise OscCommandError(f"expected 0 or 1, got {value!r}")


def _seconds(params: list[Any]) -> float:
    if len(params) != 1:
        raise OscCommandError(f"expected one number of seconds, got {_describe(params)}")
    value = params[0]
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise OscCommandError(f"expected a number of seconds, got {params[0]!r}") from None
    if not _is_number(value) or not math.isfinite(value) or abs(value) > MAX_EXTEND_S:
        raise OscCommandError(f"expected seconds between -{MAX_EXTEND_S} and {MAX_EXTEND_S}, "
                              f"got {params[0]!r}")
    return float(value)


def translate(address: str, params: list[Any]) -> Command | None:
    """The command an OSC message asks for, or None (a button's release, a zero extend).
    Raises OscCommandError for anything else."""
    if not address.startswith(PREFIX) or address[len(PREFIX):] not in ADDRESSES:
        raise OscCommandError(f"unknown address {address!r}; known: "
                              + ", ".join(PREFIX + a for a in ADDRESSES))
    verb = address[len(PREFIX):]
    if verb in ("take", "next", "skip", "back", "panic"):
        pressed = _button(params)
        if pressed is _RELEASE:
            return None
        assert isinstance(pressed, list)
        if verb in ("back", "panic"):
            if pressed:
                raise OscCommandError(f"{address} takes no arguments, got {_describe(params)}")
            return Back(by=BY) if verb == "back" else Panic(by=BY)
        if len(pressed) > 1:
            raise OscCommandError(f"{address} takes at most a segment id, got "
                                  f"{_describe(params)}")
        segment = _segment_id(pressed[0]) if pressed else None
        if verb == "take":
            return Take(segment, source="osc", by=BY)
        if verb == "next":
            return SetNext(segment, by=BY)
        return Skip(segment, by=BY)
    if verb == "hold":
        return Hold(on=_flag(params, True), by=BY)
    if verb == "arm":
        return Arm(armed=_flag(params, None), by=BY)
    seconds = _seconds(params)  # extend
    return Extend(ms=round(seconds * 1000), by=BY) if seconds else None


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: OscInput) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            self.owner.received(data, addr)
        except Exception:  # never let one datagram stop the listener
            log.exception("OSC: handling a datagram from %s failed", addr)

    def error_received(self, exc: Exception) -> None:
        log.warning("OSC: socket error: %s", exc)


class OscInput:
    """Listens on host:port (UDP) and hands commands to `show.command()` in order."""

    def __init__(self, show: ShowPort, host: str = "127.0.0.1", port: int = 9000, *,
                 allow: str | Iterable[str] = LOOPBACK,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.show = show
        self.host = host
        self.port = port
        self.allow = parse_networks(allow)  # raises ValueError for a bad entry
        self._clock = clock
        self._transport: asyncio.DatagramTransport | None = None
        self._queue: asyncio.Queue[tuple[Command, str]] = asyncio.Queue(MAX_PENDING)
        self._worker: asyncio.Task[None] | None = None
        self._panic_armed_at: float | None = None
        self._complaints: list[float] = []
        self._suppressed = 0
        # for metrics and tests: datagrams, messages, commands, refused, ignored, dropped
        self.counts: Counter[str] = Counter()
        self.done = asyncio.Event()  # set while no command waits or runs
        self.done.set()

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (the real port when asked for port 0)."""
        if self._transport is None:
            return self.host, self.port
        sockname = self._transport.get_extra_info("sockname")
        return sockname[0], sockname[1]

    async def start(self) -> None:
        """Bind (raises OSError: port in use, bad address) and start working."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.host, self.port))
        self._transport = transport
        self._worker = asyncio.create_task(self._work(), name="osc-input")
        if self.host not in ("127.0.0.1", "::1", "localhost"):
            log.warning("OSC listens on %s:%d: OSC has no authentication, anyone who can "
                        "reach that address can take; keep it on a trusted network", *self.address)
        else:
            log.info("OSC listens on %s:%d", *self.address)

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def __aenter__(self) -> OscInput:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- in ---------------------------------------------------------------------------------

    def received(self, data: bytes, addr: Any) -> None:
        self.counts["datagrams"] += 1
        source = str(addr[0]) if isinstance(addr, tuple) and addr else str(addr)
        if not allowed(self.allow, source):
            self.counts["refused_source"] += 1
            self._complain(f"a datagram from {source}, which is not in osc.allow: dropped "
                           "unread")
            return
        try:
            messages = [m.message for m in OscPacket(data).messages]
        except Exception as exc:  # python-osc raises ParseError, and now and then others
            self.counts["ignored"] += 1
            self._complain(f"not an OSC packet from {addr} ({len(data)} bytes): {exc}")
            return
        panicked = False  # one panic per datagram: two in one are one press
        for message in messages:  # a bundle's messages in order; time tags are not waited for
            self.counts["messages"] += 1
            try:
                address, params = message.address, list(message.params)
                cmd = translate(address, params)
            except OscCommandError as exc:
                self.counts["ignored"] += 1
                self._complain(f"from {addr}: {exc}")
                continue
            except Exception as exc:
                self.counts["ignored"] += 1
                self._complain(f"from {addr}: unreadable message: {exc}")
                continue
            if cmd is None:
                continue
            if isinstance(cmd, Panic):
                if panicked:
                    self.counts["ignored"] += 1
                    self._complain(f"from {source}: a second panic in one datagram is not a "
                                   "second press: send it apart")
                    continue
                panicked = True
                if not self._confirm_panic():
                    continue
            self._enqueue(cmd, source)

    def _confirm_panic(self) -> bool:
        now = self._clock()
        if self._panic_armed_at is not None and now - self._panic_armed_at <= PANIC_WINDOW_S:
            self._panic_armed_at = None
            return True
        self._panic_armed_at = now
        log.warning("OSC: panic asked once; send /showctl/panic again within %g s to cut to "
                    "the safe scene", PANIC_WINDOW_S)
        return False

    def _enqueue(self, cmd: Command, source: str) -> None:
        try:
            self._queue.put_nowait((cmd, source))
        except asyncio.QueueFull:
            self.counts["dropped"] += 1
            self._complain(f"{MAX_PENDING} commands are waiting already: {type(cmd).__name__} "
                           "dropped")
            return
        self.done.clear()

    # -- out --------------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            cmd, source = await self._queue.get()
            try:
                # shielded like the API's: closing the listener must not cut a take in half
                await asyncio.shield(self.show.command(cmd))
                self.counts["commands"] += 1
                log.info("OSC %s by %s from %s: done", cmd, BY, source)
            except Refused as exc:
                self.counts["refused"] += 1
                log.info("OSC %s by %s from %s: refused: %s", cmd, BY, source, exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.counts["failed"] += 1
                log.exception("OSC: %s failed", type(cmd).__name__)
            finally:
                if self._queue.empty():
                    self.done.set()

    def _complain(self, text: str) -> None:
        now = self._clock()
        self._complaints = [t for t in self._complaints if now - t < _LOG_WINDOW_S]
        if len(self._complaints) >= _LOG_BURST:
            self._suppressed += 1
            return
        self._complaints.append(now)
        more = f" ({self._suppressed} more not logged)" if self._suppressed else ""
        self._suppressed = 0
        log.warning("OSC: ignored: %s%s", text, more)
