"""Overlay data: `play`, `update` and `preview` bodies for every template, made from the
template's own field schema (right types, wrong types, out of bounds, unicode, strangers),
and the other verbs with odd buses.

The rule: a 4xx with a reason (422 `invalid_data` lists each field), the board untouched by a
refusal; what is accepted fits the template's schema as an independent JSON Schema validator
reads it (so a page never gets data it was not written for); the show never changes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from fuzz.strategies import json_values, shaped, texts
from fuzz.support import DIRECTOR, Live, assert_clean_error, fuzz
from hypothesis import example, given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

VERBS = ("play", "update", "preview", "next", "stop")


def templates(live: Live) -> dict[str, dict[str, Any]]:
    resp = live.request("GET", "/api/overlays")
    assert resp.status == 200
    return {g["template"]: g["schema"] for g in resp.json()["graphics"] if g["schema"]}


@st.composite
def calls(draw: st.DrawFn, schemas: dict[str, dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    name = draw(st.sampled_from(sorted(schemas)))
    verb = draw(st.sampled_from(VERBS))
    data = draw(shaped(schemas[name]) | json_values)
    body: dict[str, Any] = {}
    if verb in ("play", "update", "preview") and draw(st.integers(0, 9)):
        body["data"] = data
    if draw(st.booleans()):
        body["bus"] = draw(st.sampled_from(["program", "preview", "PROGRAM", "", None, 1])
                           | texts)
    if not draw(st.integers(0, 9)):
        body[draw(texts)] = draw(json_values)
    return name, verb, body


def test_template_data_is_checked_before_it_airs(live: Live) -> None:
    schemas = templates(live)
    validators = {name: Draft202012Validator(schema) for name, schema in schemas.items()}
    statuses: dict[int, int] = {}
    instants: list[str] = []  # accepted date-time fields: the pages must read them

    @fuzz(300)
    @given(call=calls(schemas))
    @example(call=("lower-third", "play", {"data": {"name": "x" * 61}}))
    @example(call=("lower-third", "play", {"data": {"name": "Ada", "role": 1e308}}))
    @example(call=("lower-third", "update", {"data": {"name": None}}))
    @example(call=("countdown", "play", {"data": {"target": "2024-01-01T00:00:00"}}))
    @example(call=("countdown", "play", {"data": {"target": "9999-12-31T23:59:59+14:00"}}))
    @example(call=("countdown", "play", {"data": {"target": "20240101T000000+0800"}}))
    @example(call=("countdown", "play", {"data": {"target": "2024-W01-1T00:00:00+08:00"}}))
    @example(call=("countdown", "play", {"data": {"target": "2024-01-01T00:00:00,5+08:00"}}))
    @example(call=("ticker", "play", {"data": {"items": [{}] * 1000}}))
    @example(call=("lower-third", "next", {"bus": "preview"}))
    def run(call: tuple[str, str, dict[str, Any]]) -> None:
        name, verb, body = call
        before = live.snapshot()
        resp = live.request("POST", f"/api/overlays/{name}/{verb}",
                            json.dumps(body).encode(), {"Content-Type": "application/json"},
                            token=DIRECTOR)
        statuses[resp.status] = statuses.get(resp.status, 0) + 1
        if resp.status == 200:
            state = resp.json()["state"]
            if state["visible"]:
                errors = [e.message for e in validators[name].iter_errors(state["data"])]
                assert not errors, (name, verb, body, errors)
                instants.extend(v for k, v in state["data"].items()
                                if schemas[name]["properties"].get(k, {}).get("format")
                                == "date-time")
        else:
            assert_clean_error(resp)
            assert resp.status in (400, 404, 409, 413, 422), resp
            if resp.status == 422:
                answer = resp.json()
                assert answer["error"] == "invalid_data" and answer["errors"], answer
            assert live.snapshot() == before, f"a refusal changed something: {call}"
        assert live.request("GET", "/api/whoami").status == 200

    run()
    assert statuses.get(200) and statuses.get(422), statuses
    live.state()
    unreadable = [t for t, ms in zip(instants, date_parse(instants), strict=True) if ms is None]
    assert not unreadable, f"accepted, but a page's Date.parse cannot read them: {unreadable}"


def date_parse(texts: list[str]) -> list[float | None]:
    """What the pages' `Date.parse` (V8, as in OBS's browser source) makes of each text;
    None for NaN. Without node, the texts are taken as read."""
    node = shutil.which("node")
    if node is None or not texts:
        return [0.0] * len(texts)
    script = ("const t = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(t.map(s => { const v = Date.parse(s);"
              " return Number.isNaN(v) ? null : v; })));")
    out = subprocess.run([node, "-e", script], input=json.dumps(texts), capture_output=True,
                         text=True, timeout=30, check=True)
    parsed: list[float | None] = json.loads(out.stdout)
    return parsed
