"""Random bodies at POST /api/command: always a JSON 2xx/4xx, never a 500, and only valid
commands (by the director, on known segments) ever reach the controller."""

from __future__ import annotations

import asyncio
import json
from dataclasses import MISSING, fields
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from web.support import DIRECTOR, MODEL, FakeShow, make_app

from control.show.commands import KINDS, Command, Extend, SetNote, Take, from_json, to_json

SEGMENT_IDS = {s["id"] for s in MODEL["segments"]}
FIELD_NAMES = ["segment_id", "source", "on", "ms", "skip", "mode", "armed", "by", "seconds",
               "text"]

# text with the awkward ones often: lone surrogates (valid in JSON, not in UTF-8), NUL, ...
texts = st.text(max_size=20) | st.lists(
    st.characters() | st.sampled_from(["\udc80", "\ud800", "\x00", "\u2028", "科"]),
    max_size=6).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | texts | st.sampled_from([*sorted(SEGMENT_IDS), "rehearsal", "live"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12)
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "segment_id": st.sampled_from([None, *sorted(SEGMENT_IDS), "nope"]),
    "source": st.sampled_from(["api", "osc", "keys"]), "by": st.sampled_from(["eve", None]),
    "on": st.booleans(), "skip": st.booleans(), "armed": st.booleans(),
    "ms": st.integers(-4_000_000, 4_000_000), "mode": st.sampled_from(["live", "rehearsal", "x"]),
    "text": st.sampled_from(["", "wrap", "x" * 2000, "x" * 2001]),
}


def _command_shaped(kind: Any) -> st.SearchStrategy[dict[str, Any]]:
    """An object of `kind` with its own fields (good or random values), sometimes a stranger."""
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    own = fields(cls) if cls else ()
    value = {f.name: GOOD.get(f.name, json_values) | json_values for f in own}
    required = {"kind": st.just(kind)} | {f.name: value[f.name] for f in own
                                          if f.default is MISSING}
    optional = {f.name: value[f.name] for f in own if f.name not in required}
    return st.builds(lambda body, extra: {**extra, **body},
                     st.fixed_dictionaries(required, optional=optional),
                     st.dictionaries(st.sampled_from(FIELD_NAMES) | texts, json_values,
                                     max_size=1) | st.just({}))


# mostly command-shaped objects, so that valid commands are found as well as broken ones
commandish = (st.sampled_from([*KINDS, "launch", ""]) | json_values).flatmap(_command_shaped)
bodies = (commandish.map(json.dumps) | json_values.map(json.dumps)
          | st.text(max_size=40) | st.binary(max_size=40).map(repr))


def test_random_command_bodies_never_break_the_api() -> None:
    fake = FakeShow()
    with asyncio.Runner() as runner:
        client = runner.run(_start(fake))
        try:
            @settings(max_examples=400, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])
            @given(body=bodies, source=st.sampled_from([None, "console", "osc"]),
                   refuse=st.sampled_from([None, None, None, "nothing is on air"]))
            @example(body='{"kind": "take", "segment_id": "weather"}', source="osc", refuse=None)
            @example(body='{"kind": "skip", "segment_id": "nope"}', source=None, refuse=None)
            @example(body='{"kind": "back"}', source=None, refuse="nothing is on air")
            @example(body='{"kind": "next", "segment_id": null}', source=None, refuse=None)
            @example(body='{"kind": "hold"}', source=None, refuse=None)
            @example(body='{"kind": "extend", "ms": -3600000}', source=None, refuse=None)
            @example(body='{"kind": "skip", "segment_id": "opening"}', source=None, refuse=None)
            @example(body='{"kind": "back"}', source=None, refuse=None)
            @example(body='{"kind": "panic", "by": "eve"}', source=None, refuse=None)
            @example(body='{"kind": "mode", "mode": "live"}', source=None, refuse=None)
            @example(body='{"kind": "arm", "armed": false}', source=None, refuse=None)
            @example(body='{"kind": "note", "segment_id": "weather", "text": "wrap"}',
                     source=None, refuse=None)
            @example(body='{"kind": "message", "text": "wrap up"}', source=None, refuse=None)
            @example(body='{"kind": "signal", "cue": "stretch"}', source=None, refuse=None)
            @example(body='{"kind": "read", "message_id": 1}', source=None, refuse=None)
            def check(body: str, source: str | None, refuse: str | None) -> None:
                fake.refuse = refuse
                before = len(fake.received)
                headers = {"Authorization": f"Bearer {DIRECTOR}",
                           "Content-Type": "application/json"}
                if source:
                    headers["X-Showctl-Source"] = source
                status, answer = runner.run(_post(client, body, headers))
                assert status in (200, 400, 404, 409), (status, answer, body)
                if status in (200, 409):
                    assert len(fake.received) == before + 1
                    assert answer == ({"ok": True, "state": MODEL} if status == 200 else
                                      {"error": "refused", "reason": refuse})
                    assert isinstance(fake.received[-1], Command)
                    _check_command(fake.received[-1], source or "api")
                else:
                    assert len(fake.received) == before
                    assert set(answer) == {"error", "reason"}
                    assert isinstance(answer["reason"], str) and answer["reason"]

            check()
        finally:
            runner.run(client.close())
    assert {type(c) for c in fake.received} == set(KINDS.values())  # the examples at least
    assert len(fake.received) > len(KINDS), "the fuzzer itself never made a valid command"


async def _start(fake: FakeShow) -> TestClient:
    client = TestClient(TestServer(make_app(fake), host="127.0.0.1"))
    await client.start_server()
    return client


async def _post(client: TestClient, body: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with client.post("/api/command", data=body.encode("utf-8", "surrogatepass"),
                           headers=headers) as resp:
        assert resp.content_type == "application/json"
        return resp.status, await resp.json()


def _check_command(cmd: Command, source: str) -> None:
    assert cmd.by == "director"
    assert from_json(to_json(cmd)) == cmd  # every field has its declared type
    segment_id = getattr(cmd, "segment_id", None)
    assert segment_id is None or segment_id in SEGMENT_IDS
    if isinstance(cmd, Take):
        assert cmd.source == source
    if isinstance(cmd, Extend):
        assert abs(cmd.ms) <= 3_600_000
    if isinstance(cmd, SetNote):
        assert len(cmd.text) <= 2000
