"""OSC input: python-osc's UDP client on 127.0.0.1 against the listener, with a fake
controller that reports each command as it arrives (nothing here waits by sleeping)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import SimpleUDPClient

from control.osc import PANIC_WINDOW_S, OscInput, translate
from control.osc.server import OscCommandError
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

OSC_ = "osc"


class FakeShow:
    def __init__(self) -> None:
        self.commands: asyncio.Queue[Command] = asyncio.Queue()
        self.refuse: str | None = None
        self.crash: Exception | None = None

    async def command(self, cmd: Command) -> None:
        self.commands.put_nowait(cmd)
        if self.crash is not None:
            raise self.crash
        if self.refuse is not None:
            raise Refused(self.refuse)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeShow:
    return FakeShow()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def osc(fake: FakeShow, clock: Clock) -> AsyncIterator[OscInput]:
    async with OscInput(fake, "127.0.0.1", 0, clock=clock) as listener:
        yield listener


@pytest.fixture
def sender(osc: OscInput) -> SimpleUDPClient:
    host, port = osc.address
    return SimpleUDPClient(host, port)


async def next_command(fake: FakeShow) -> Command:
    return await asyncio.wait_for(fake.commands.get(), 5)


async def processed(osc: OscInput, datagrams: int) -> None:
    """Until the listener has read this many datagrams and worked off its queue."""
    async def wait() -> None:
        while osc.counts["datagrams"] < datagrams:
            await asyncio.sleep(0)  # yield to the event loop (the datagram is on its way)
        await osc.done.wait()
    await asyncio.wait_for(wait(), 5)


# -- translate (no sockets) -------------------------------------------------------------------

@pytest.mark.parametrize(("address", "params", "expected"), [
    ("/showctl/take", [], Take(source=OSC_, by=OSC_)),
    ("/showctl/take", ["weather"], Take("weather", source=OSC_, by=OSC_)),
    ("/showctl/take", [1.0], Take(source=OSC_, by=OSC_)),          # a TouchOSC button's press
    ("/showctl/take", [0.0], None),                          # ... and its release
    ("/showctl/take", [True], Take(source=OSC_, by=OSC_)),
    ("/showctl/next", ["clip"], SetNext("clip", by=OSC_)),
    ("/showctl/next", [], SetNext(None, by=OSC_)),
    ("/showctl/skip", ["clip"], Skip("clip", by=OSC_)),
    ("/showctl/skip", [], Skip(by=OSC_)),
    ("/showctl/hold", [], Hold(on=True, by=OSC_)),
    ("/showctl/hold", [1], Hold(on=True, by=OSC_)),
    ("/showctl/hold", [0], Hold(on=False, by=OSC_)),
    ("/showctl/hold", [0.0], Hold(on=False, by=OSC_)),
    ("/showctl/hold", ["off"], Hold(on=False, by=OSC_)),
    ("/showctl/hold", [False], Hold(on=False, by=OSC_)),
    ("/showctl/extend", [30], Extend(ms=30_000, by=OSC_)),
    ("/showctl/extend", [-12.5], Extend(ms=-12_500, by=OSC_)),
    ("/showctl/extend", ["15"], Extend(ms=15_000, by=OSC_)),
    ("/showctl/extend", [0.0], None),
    ("/showctl/back", [], Back(by=OSC_)),
    ("/showctl/back", [1], Back(by=OSC_)),
    ("/showctl/panic", [], Panic(by=OSC_)),
    ("/showctl/arm", [1], Arm(armed=True, by=OSC_)),
    ("/showctl/arm", [0], Arm(armed=False, by=OSC_)),
    ("/showctl/arm", ["true"], Arm(armed=True, by=OSC_)),
])
def test_messages_become_commands(address: str, params: list[Any],
                                  expected: Command | None) -> None:
    assert translate(address, params) == expected


@pytest.mark.parametrize(("address", "params", "words"), [
    ("/showctl/dance", [], "unknown address '/showctl/dance'"),
    ("/showctl", [], "unknown address"),
    ("/other/take", [], "unknown address"),
    ("/showctl/take/now", [], "unknown address"),
    ("/showctl/TAKE", [], "unknown address"),
    ("/showctl/take", ["a", "b"], "at most a segment id"),
    ("/showctl/take", [b"\x00"], "segment id"),
    ("/showctl/take", [""], "segment id"),
    ("/showctl/take", ["x" * 201], "at most 200"),
    ("/showctl/next", [[1, 2]], "segment id"),
    ("/showctl/back", ["x"], "takes no arguments"),
    ("/showctl/panic", ["now"], "takes no arguments"),
    ("/showctl/hold", [2.5, 1], "one argument"),
    ("/showctl/hold", ["maybe"], "0 or 1"),
    ("/showctl/hold", [float("nan")], "0 or 1"),
    ("/showctl/arm", [], "expected 0 or 1"),
    ("/showctl/extend", [], "one number of seconds"),
    ("/showctl/extend", ["long"], "a number of seconds"),
    ("/showctl/extend", [3601], "between -3600 and 3600"),
    ("/showctl/extend", [float("inf")], "between"),
    ("/showctl/extend", [None], "between"),
])
def test_anything_else_is_an_error_with_a_reason(address: str, params: list[Any],
                                                 words: str) -> None:
    with pytest.raises(OscCommandError, match=words.replace("(", r"\(")):
        translate(address, params)


# -- over UDP ---------------------------------------------------------------------------------

async def test_a_take_from_companion(fake: FakeShow, sender: SimpleUDPClient) -> None:
    sender.send_message("/showctl/take", [])
    assert await next_command(fake) == Take(source="osc", by="osc")
    sender.send_message("/showctl/take", "weather")
    assert await next_command(fake) == Take("weather", source="osc", by="osc")


async def test_every_address_over_udp(fake: FakeShow, sender: SimpleUDPClient) -> None:
    script: list[tuple[str, Any, Command]] = [
        ("/showctl/next", "clip", SetNext("clip", by=OSC_)),
        ("/showctl/hold", 1, Hold(on=True, by=OSC_)),
        ("/showctl/hold", 0, Hold(on=False, by=OSC_)),
        ("/showctl/extend", 30.0, Extend(ms=30_000, by=OSC_)),
        ("/showctl/skip", "clip", Skip("clip", by=OSC_)),
        ("/showctl/back", [], Back(by=OSC_)),
        ("/showctl/arm", 0, Arm(armed=False, by=OSC_)),
        ("/showctl/arm", 1, Arm(armed=True, by=OSC_)),
    ]
    for address, value, _ in script:
        sender.send_message(address, value)
    assert [await next_command(fake) for _ in script] == [c for *_, c in script]


async def test_malformed_and_unknown_messages_are_logged_and_ignored(
        fake: FakeShow, osc: OscInput, sender: SimpleUDPClient,
        caplog: pytest.LogCaptureFixture) -> None:
    host, port = osc.address
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for junk in (b"", b"\x00\x00\x00\x00", b"hello world", b"#bundle\x00garbage",
                     b"/showctl/take\x00\x00\x00,s\x00\x00", b"\xff" * 100,
                     b"/showctl/take\x00\x00\x00,i\x00\x00\x00\x00"):
            raw.sendto(junk, (host, port))
    finally:
        raw.close()
    sender.send_message("/showctl/dance", [])
    sender.send_message("/showctl/extend", "a while")
    sender.send_message("/showctl/take", [1, 2, 3])
    sender.send_message("/showctl/take", "weather")  # and it still listens
    with caplog.at_level(logging.WARNING, logger="control.osc.server"):
        assert await next_command(fake) == Take("weather", source="osc", by="osc")
        await processed(osc, 11)
    assert fake.commands.empty()
    assert osc.counts["ignored"] >= 9
    text = caplog.text
    assert "unknown address '/showctl/dance'" in text and "a number of seconds" in text


async def test_panic_needs_two_messages_within_two_seconds(fake: FakeShow, osc: OscInput,
                                                           sender: SimpleUDPClient,
                                                           clock: Clock) -> None:
    sender.send_message("/showctl/panic", [])
    await processed(osc, 1)
    assert fake.commands.empty()  # armed, not fired
    clock.now += PANIC_WINDOW_S + 0.1
    sender.send_message("/showctl/panic", [])  # too late: this one only arms again
    await processed(osc, 2)
    assert fake.commands.empty()
    clock.now += PANIC_WINDOW_S - 0.1
    sender.send_message("/showctl/panic", [])
    assert await next_command(fake) == Panic(by="osc")
    sender.send_message("/showctl/panic", [])  # a third starts over
    await processed(osc, 4)
    assert fake.commands.empty()


async def test_a_touchosc_button_takes_once(fake: FakeShow, osc: OscInput,
                                            sender: SimpleUDPClient) -> None:
    sender.send_message("/showctl/take", 1.0)  # press
    sender.send_message("/showctl/take", 0.0)  # release
    assert await next_command(fake) == Take(source="osc", by="osc")
    await processed(osc, 2)
    assert fake.commands.empty()


async def test_a_bundle_is_taken_in_order(fake: FakeShow, osc: OscInput) -> None:
    bundle = OscBundleBuilder(IMMEDIATELY)
    for address, value in (("/showctl/next", "clip"), ("/showctl/take", None)):
        msg = OscMessageBuilder(address)
        if value is not None:
            msg.add_arg(value)
        bundle.add_content(msg.build())
    host, port = osc.address
    SimpleUDPClient(host, port).send(bundle.build())
    assert [await next_command(fake) for _ in range(2)] == [SetNext("clip", by=OSC_),
                                                            Take(source=OSC_, by=OSC_)]


async def test_refusals_and_crashes_do_not_stop_it(fake: FakeShow, osc: OscInput,
                                                   sender: SimpleUDPClient,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    fake.refuse = "nothing is on air"
    sender.send_message("/showctl/hold", 1)
    assert await next_command(fake) == Hold(on=True, by=OSC_)
    await processed(osc, 1)
    fake.refuse, fake.crash = None, RuntimeError("boom")
    with caplog.at_level(logging.ERROR, logger="control.osc.server"):
        sender.send_message("/showctl/back", [])
        assert await next_command(fake) == Back(by=OSC_)
        await processed(osc, 2)
    assert "Back failed" in caplog.text
    fake.crash = None
    sender.send_message("/showctl/take", [])
    assert await next_command(fake) == Take(source=OSC_, by=OSC_)
    await processed(osc, 3)
    assert (osc.counts["refused"], osc.counts["failed"], osc.counts["commands"]) == (1, 1, 1)


async def test_complaints_are_rate_limited(osc: OscInput, sender: SimpleUDPClient,
                                           caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="control.osc.server"):
        for _ in range(50):
            sender.send_message("/nope", [])
        await processed(osc, 50)
    assert sum("ignored" in r.getMessage() for r in caplog.records) == 10


async def test_it_binds_127_0_0_1_by_default(fake: FakeShow) -> None:
    listener = OscInput(fake, port=0)
    await listener.start()
    try:
        assert listener.address[0] == "127.0.0.1"
    finally:
        await listener.close()


async def test_one_datagram_with_two_panics_is_one_press(fake: FakeShow, osc: OscInput,
                                                         clock: Clock) -> None:
    host, port = osc.address
    bundle = OscBundleBuilder(IMMEDIATELY)
    for _ in range(2):
        bundle.add_content(OscMessageBuilder("/showctl/panic").build())
    SimpleUDPClient(host, port).send(bundle.build())
    await processed(osc, 1)
    assert fake.commands.empty()  # armed once, not fired
    sender = SimpleUDPClient(host, port)
    sender.send_message("/showctl/panic", [])  # a second, separate press fires it
    assert await next_command(fake) == Panic(by=OSC_)


def _send_from(source: str, port: int, data: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.sendto(data, ("127.0.0.1", port))


async def test_only_allowed_sources_are_read(fake: FakeShow, clock: Clock,
                                             caplog: pytest.LogCaptureFixture) -> None:
    take = OscMessageBuilder("/showctl/take").build().dgram
    async with OscInput(fake, "127.0.0.1", 0, allow="127.0.0.1", clock=clock) as osc:
        port = osc.address[1]
        with caplog.at_level(logging.WARNING, logger="control.osc.server"):
            _send_from("127.0.0.2", port, take)  # another loopback address: not allowed
            await processed(osc, 1)
        assert fake.commands.empty() and osc.counts["refused_source"] == 1
        assert "127.0.0.2, which is not in osc.allow" in caplog.text
        _send_from("127.0.0.1", port, take)
        assert await next_command(fake) == Take(source=OSC_, by=OSC_)
    async with OscInput(fake, "127.0.0.1", 0, allow="127.0.0.0/30", clock=clock) as osc:
        _send_from("127.0.0.2", osc.address[1], take)  # a network
        assert await next_command(fake) == Take(source=OSC_, by=OSC_)


def test_the_allow_list_is_checked() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300' is not an IP address or network"):
        OscInput(FakeShow(), allow="10.0.0.1, 10.0.0.300")
