"""The hosts' screens' websocket (/stage/ws) with bad messages, on the controller's whole
wiring: random JSON and text, binary frames, invalid UTF-8, oversized messages, scrolls,
read-backs and operator claims of every shape. The rule, as for the graphics pages: each is
ignored and the socket goes on (a following ping is answered), a message over the size limit
or invalid UTF-8 closes that socket with its code (1009, 1007), nothing a screen sends
without the operator's token moves the others, and the show's state never changes."""

from __future__ import annotations

import json

from fuzz.strategies import json_values
from fuzz.support import Live, fuzz
from fuzz.test_websockets import Message, Socket, _closing, messages
from hypothesis import example, given
from hypothesis import strategies as st

from control.stage.hub import LIMITS

LIMIT = LIMITS.max_message
stage_messages = st.fixed_dictionaries(
    {"type": st.sampled_from(["scroll", "read", "operate"])},
    optional={"seg": json_values | st.sampled_from(["a", "b"]), "line": json_values,
              "frac": json_values | st.sampled_from([0.5, 1e308, -1]), "id": json_values,
              "token": json_values}).map(lambda m: ("text", json.dumps(m)))


def test_stage_socket_ignores_bad_messages_and_goes_on(live: Live) -> None:
    sock = Socket(live, f"/stage/ws?key={live.read_key}&screen=prompter")
    sock.connect()
    assert sock.receive_until(lambda m: True)[0]["type"] == "state"
    marker = iter(range(1, 10**9))
    try:
        @fuzz(150)
        @given(message=messages(LIMIT) | stage_messages)
        @example(message=("text", '{"type": "scroll", "seg": "a", "line": 1, "frac": NaN}'))
        @example(message=("text", '{"type": "read", "id": 1}'))
        @example(message=("text", '{"type": "operate", "token": "' + "x" * 600 + '"}'))
        @example(message=("text", "x" * (LIMIT + 1)))
        @example(message=("raw_text", b"\xff"))
        def run(message: Message) -> None:
            if sock.ws is None or sock.ws.closed:
                sock.connect()
                assert sock.receive_until(lambda m: True)[0]["type"] == "state"
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
                for m in got:
                    assert m.get("type") in ("pong", "state", "operator"), m
                    assert m.get("ok") is not True, m  # no guess is an operator
            assert live.snapshot() == before

        run()
    finally:
        sock.close()
