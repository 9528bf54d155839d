"""OSC datagrams over UDP to the controller's OSC input on 127.0.0.1: random addresses (most
near the real ones), every OSC argument type (int32/64, float32/64 with NaN and infinities,
strings, blobs, true/false/nil, MIDI, colours), bundles, truncated and garbage packets.

The rule: the listener goes on (a valid command after any of them is carried out), a message
that makes no command is dropped and changes nothing (the show's state, the journal), and no
command ever fails inside the controller (only the show's own refusals)."""

from __future__ import annotations

import math
import socket
import struct
from typing import Any

from fuzz.strategies import texts
from fuzz.support import Live, fuzz, wait_for
from hypothesis import example, given
from hypothesis import strategies as st
from pythonosc.osc_packet import OscPacket

from control.osc.server import ADDRESSES, PREFIX, OscCommandError, translate
from control.show.commands import Panic

Arg = tuple[str, Any]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


args: st.SearchStrategy[Arg] = st.one_of(
    st.tuples(st.just("i"), st.integers(-(2**31), 2**31 - 1) | st.sampled_from([0, 1, -1])),
    st.tuples(st.just("h"), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just("f"), st.floats(width=32) | st.sampled_from([0.0, 1.0, -0.0, 3600.5,
                                                                  math.nan, -math.inf])),
    st.tuples(st.just("d"), st.floats() | st.sampled_from([math.nan, math.inf, 1e308])),
    st.tuples(st.just("s"), texts.filter(_encodable) | st.sampled_from(
        ["intro", "talk", "outro", "nope", " intro ", "1", "0", "true", "off", "NaN", "1e999",
         "-3601", "x" * 300])),
    st.tuples(st.just("b"), st.binary(max_size=32)),
    st.tuples(st.just("s"), st.sampled_from(["a\x00b", "\x00"])),  # NUL: the string ends early
    st.tuples(st.sampled_from(["T", "F", "N"]), st.none()),
    st.tuples(st.just("m"), st.tuples(*[st.integers(0, 255)] * 4)),
    st.tuples(st.just("r"), st.integers(0, 2**32 - 1)),
)
addresses = (st.sampled_from([PREFIX + a for a in ADDRESSES]) | st.sampled_from(
    ["/showctl/", "/showctl", "/", "/showctl/TAKE", "/showctl/take/intro", "/showctl//take",
     "showctl/take", "/showctl/take ", "/showctl/*", "/showctl/{take,panic}", "//showctl/take",
     "/showctl/extend/1", "/showctl/" + "x" * 2000])
             | texts.filter(_encodable).map(lambda t: "/" + t))


def _padded(raw: bytes) -> bytes:
    return raw + b"\x00" * (4 - len(raw) % 4)  # OSC strings: NUL-terminated, 4-byte aligned


def message(address: str, arguments: list[Arg]) -> bytes:
    """An OSC 1.0 message, encoded here (python-osc's builder refuses some legal ones, such
    as an empty blob)."""
    tags, data = ",", b""
    for kind, value in arguments:
        tags += kind
        if kind in ("i", "h", "f", "d", "r"):
            data += struct.pack({"i": ">i", "h": ">q", "f": ">f", "d": ">d", "r": ">I"}[kind],
                                value)
        elif kind == "s":
            data += _padded(value.encode())
        elif kind == "b":
            data += struct.pack(">I", len(value)) + value + b"\x00" * (-len(value) % 4)
        elif kind == "m":
            data += bytes(value)
    return _padded(address.encode()) + _padded(tags.encode()) + data


@st.composite
def datagrams(draw: st.DrawFn) -> bytes:
    def one() -> bytes:
        return message(draw(addresses), draw(st.lists(args, max_size=3)))

    kind = draw(st.sampled_from(["message"] * 6 + ["bundle", "truncated", "garbage", "big"]))
    if kind == "message":
        return one()
    if kind == "bundle":  # "#bundle", a time tag (immediately), sized elements
        messages = [one() for _ in range(draw(st.integers(0, 3)))]
        return b"#bundle\x00" + struct.pack(">Q", 1) + b"".join(
            struct.pack(">I", len(m)) + m for m in messages)
    if kind == "truncated":
        raw = one()
        return raw[:draw(st.integers(0, max(len(raw) - 1, 0)))]
    if kind == "big":
        return b"/showctl/take\x00\x00\x00,s\x00\x00" + b"x" * draw(st.integers(1000, 60000))
    return draw(st.binary(min_size=1, max_size=200))


def commands_in(data: bytes) -> bool:
    """Whether the datagram holds a message the listener turns into a command (a panic counts:
    its second press within 2 s is one)."""
    try:
        messages = [m.message for m in OscPacket(data).messages]
    except Exception:
        return False
    for m in messages:
        try:
            cmd = translate(m.address, list(m.params))
        except (OscCommandError, Exception):
            continue
        if cmd is not None or isinstance(cmd, Panic):
            return True
    return False


def test_random_datagrams_never_stop_the_osc_input(live: Live) -> None:
    osc = live.osc
    counts = lambda: live.on_loop(lambda: (dict(osc.counts), osc.done.is_set()))  # noqa: E731
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", live.osc_port)
    seen = {"commands": 0, "ignored": 0}
    try:
        @fuzz(200)
        @given(data=datagrams())
        @example(data=message("/showctl/extend", [("d", math.nan)]))
        @example(data=message("/showctl/extend", [("d", math.inf)]))
        @example(data=message("/showctl/extend", [("s", "1e999")]))
        @example(data=message("/showctl/extend", [("h", 2**63 - 1)]))
        @example(data=message("/showctl/hold", [("f", math.nan)]))
        @example(data=message("/showctl/arm", [("b", b"\x01")]))
        @example(data=message("/showctl/take", [("s", "x" * 300)]))
        @example(data=message("/showctl/next", [("m", (1, 2, 3, 4))]))
        @example(data=message("/showctl/take", [("N", None)]))
        @example(data=b"#bundle\x00" + b"\x00" * 8 + b"\xff\xff\xff\xff")
        @example(data=b"#bundle\x00" + b"\x00" * 8 + b"\x00\x00\x00\x08/x\x00\x00,\x00\x00")
        def run(data: bytes) -> None:
            before_counts, _ = counts()
            before = live.snapshot()
            sender.sendto(data, target)
            wait_for(lambda: (lambda c: c[0].get("datagrams", 0) > before_counts.get("datagrams", 0)
                              and c[1])(counts()), 10, "the datagram to be handled")
            after_counts, _ = counts()
            assert after_counts.get("failed", 0) == 0, after_counts
            if commands_in(data):
                seen["commands"] += 1
            else:
                seen["ignored"] += 1
                assert live.snapshot() == before, f"a dropped message changed the show: {data!r}"

        run()
        # and the listener still works: a valid command is carried out (or refused by the show)
        before_counts, _ = counts()
        sender.sendto(message("/showctl/extend", [("f", 1.0)]), target)
        wait_for(lambda: (lambda c: c[0].get("commands", 0) + c[0].get("refused", 0)
                          > before_counts.get("commands", 0) + before_counts.get("refused", 0)
                          and c[1])(counts()), 10, "a valid command after the fuzz")
        assert counts()[0].get("failed", 0) == 0
    finally:
        sender.close()
    assert seen["commands"] and seen["ignored"], seen
    live.state()
    live.runner_alive()
