"""JSON Patch between read models: applying the diff of two documents gives the second, the
first is left as it was, and patches that do not fit are refused with the path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from control.web.patch import PatchError, apply, diff

KEYS = st.sampled_from(["a", "b", "on_air", "~", "/", "a/b", "~1", "", "segments"])
SCALARS = (st.none() | st.booleans() | st.integers(-2**53, 2**53)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5)
                    | st.dictionaries(KEYS, inner, max_size=5), max_leaves=30)


def same(a: Any, b: Any) -> bool:
    """Equal as JSON (1 and 1.0 differ in type, True and 1 too)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@settings(max_examples=400, deadline=None)
@given(JSON, JSON)
def test_applying_the_diff_gives_the_new_document(old: Any, new: Any) -> None:
    before = copy.deepcopy(old)
    patch = diff(old, new)
    assert same(apply(old, patch), new)
    assert same(old, before)  # copy on write: the old document is untouched
    assert same(json.loads(json.dumps(patch)), patch)  # it travels as JSON


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_no_change_is_an_empty_patch(doc: Any) -> None:
    assert diff(doc, copy.deepcopy(doc)) == []


def test_a_take_is_a_few_operations_not_the_whole_model() -> None:
    old = {"on_air": {"id": "s1"}, "next": {"id": "s2"},
           "segments": [{"id": f"s{i}", "status": "planned", "title": "x" * 200}
                        for i in range(60)],
           "asrun": [{"id": "s0"}]}
    new = copy.deepcopy(old)
    new["on_air"], new["next"] = {"id": "s2"}, {"id": "s3"}
    new["segments"][2]["status"] = "on-air"
    new["asrun"].append({"id": "s1"})
    patch = diff(old, new)
    assert patch == [
        {"op": "replace", "path": "/on_air/id", "value": "s2"},
        {"op": "replace", "path": "/next/id", "value": "s3"},
        {"op": "replace", "path": "/segments/2/status", "value": "on-air"},
        {"op": "add", "path": "/asrun/1", "value": {"id": "s1"}},
    ]
    assert len(json.dumps(patch)) * 20 < len(json.dumps(new))


def test_bools_and_numbers_are_not_the_same_value() -> None:
    assert diff({"x": 1}, {"x": True}) == [{"op": "replace", "path": "/x", "value": True}]
    assert diff([0], [False]) == [{"op": "replace", "path": "/0", "value": False}]


@pytest.mark.parametrize(("doc", "op", "reason"), [
    ({"a": 1}, {"op": "remove", "path": "/b"}, "nothing to remove"),
    ({"a": 1}, {"op": "replace", "path": "/b", "value": 2}, "nothing to replace"),
    ({"a": [1]}, {"op": "replace", "path": "/a/5", "value": 2}, "out of range"),
    ({"a": [1]}, {"op": "add", "path": "/a/01", "value": 2}, "not a list index"),
    ({"a": 1}, {"op": "add", "path": "/a/b", "value": 2}, "inside a int"),
    ({"a": 1}, {"op": "move", "from": "/a", "path": "/b"}, "unsupported"),
    ({"a": 1}, {"op": "add", "path": "a", "value": 2}, "does not start"),
    ({"a": 1}, {"op": "remove", "path": ""}, "whole document"),
])
def test_a_patch_that_does_not_fit_is_refused(doc: Any, op: dict, reason: str) -> None:
    with pytest.raises(PatchError, match=reason):
        apply(doc, [op])
