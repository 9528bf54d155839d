"""Hypothesis strategies for bad input: awkward text, any JSON value, values shaped by a JSON
Schema (right and wrong types), bodies as bytes (valid JSON, broken JSON, not JSON at all)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# text with the awkward ones often: lone surrogates (valid in JSON, not in UTF-8), NUL, line
# and paragraph separators, right-to-left marks, combining marks, astral planes, Chinese
AWKWARD = ["\udc80", "\ud800", "\x00", "\u2028", "\u2029", "\u202e", "\ufeff", "\u0301",
           "科", "😀", "\U0010ffff", "\\", '"', "'", "<script>", "../", "%00", "\r\n", "\t"]
texts = st.text(max_size=24) | st.lists(
    st.characters() | st.sampled_from(AWKWARD), max_size=8).map("".join)
big_ints = st.sampled_from([2**31 - 1, -2**31, 2**53 + 1, 2**63, -2**63 - 1, 2**64, 10**20,
                            10**300, -10**300, 0, -1])
big_floats = st.sampled_from([1e308, -1e308, 5e-324, -0.0, 1.7976931348623157e308, 1e-7,
                              123456789.123456789, 0.1])
scalars = (st.none() | st.booleans() | st.integers() | big_ints
           | st.floats(allow_nan=False, allow_infinity=False) | big_floats | texts)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12)


def dumps(value: Any, *, ascii_only: bool = False) -> bytes:
    """JSON as bytes; lone surrogates go out as they are (surrogatepass), as a careless client
    would send them, unless escaped (`ascii_only`)."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def deep(depth: int, kind: str = "list") -> bytes:
    """JSON nested `depth` deep: `[[[...]]]` or `{"a": {"a": ...}}`."""
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


# bodies that are not (good) JSON, and JSON that is odd
NASTY_BODIES: list[bytes] = [
    b"", b" ", b"null", b"true", b"0", b"-0", b"1e999", b"-1e999", b"NaN", b"Infinity",
    b"-Infinity", b'"text"', b"[]", b"[{}]", b"{", b"}", b"{]", b'{"a":}', b'{"a" 1}',
    b"{'single': 'quotes'}", b'{"a":1,}', b'{"a":1}{"b":2}', b'{"a":1} trailing',
    b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"\x00", b"\x80\x81\x82", b"\xed\xa0\x80",
    "{}".encode("utf-16"), b'{"\\ud800": 1}', b'"\\udc80"', b'{"kind": "\\u0000"}',
    b"9" * 5000, b"[" + b"1," * 20000 + b"1]", b'{"a": 1e400}', b'{"a": -1e400}',
    b'{"a": 123456789012345678901234567890}', b'{"a": NaN}', b'{"a": Infinity}',
    deep(100_000), deep(50_000, "object"), deep(30_000), deep(10_000, "object"), deep(900),
    deep(900, "object"),
    b'{"token": {"$ne": null}}', b"kind=take&segment_id=intro",
    b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n",
    b"<xml/>", b"\x1f\x8b\x08\x00" + b"\x00" * 16,
]
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain",
                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                 "application/octet-stream", "application/sdp", "application/json; charset=latin-1",
                 "garbage", "application/json; boundary=\"", None]


def _typed(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of the schema's own type (in and out of its bounds), or None when it has none."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    out: list[st.SearchStrategy[Any]] = []
    for kind in kinds:
        if kind == "boolean":
            out.append(st.booleans())
        elif kind in ("number", "integer"):
            lo, hi = schema.get("minimum", -1e6), schema.get("maximum", 1e6)
            nums = st.integers(int(lo) - 2, int(hi) + 2) | big_ints
            if kind == "number":
                nums |= st.floats(lo - 1, hi + 1) | big_floats
            out.append(nums)
        elif kind == "string":
            longest = schema.get("maxLength")
            sizes = [0, 1, longest, longest + 1] if isinstance(longest, int) else [0, 1, 5000]
            out.append(texts | st.sampled_from(sizes).map(lambda n: "x" * n))
        elif kind == "null":
            out.append(st.none())
        elif kind == "object":
            out.append(shaped(schema))
        elif kind == "array":
            items = schema.get("items") or {}
            out.append(st.lists(_typed(items) if isinstance(items, dict) and items.get("type")
                                else json_values, max_size=4))
    return st.one_of(out) if out else json_values


def shaped(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the schema's own fields, each a value of its type or anything at all,
    any of them missing, now and then a stranger."""
    props: dict[str, Any] = schema.get("properties") or {}
    if not props:
        return st.dictionaries(texts, json_values, max_size=3)
    values = {name: (_typed(sub) | json_values) if isinstance(sub, dict) else json_values
              for name, sub in props.items()}
    known = st.fixed_dictionaries({}, optional=values)
    stranger = st.dictionaries(texts | st.sampled_from(["kind", "by", "data", "__proto__"]),
                               json_values, max_size=1)
    return st.builds(lambda a, b: {**b, **a}, known, st.just({}) | stranger)


def body_bytes(schema: dict[str, Any] | None) -> st.SearchStrategy[bytes]:
    """Request bodies: schema-shaped objects, any JSON value, broken JSON, random bytes."""
    as_json = (shaped(schema or {}) | json_values).flatmap(
        lambda v: st.sampled_from([False, True]).map(lambda a: dumps(v, ascii_only=a)))
    broken = as_json.flatmap(lambda b: st.integers(0, max(len(b) - 1, 0)).map(lambda n: b[:n]))
    return (as_json | as_json | broken | st.sampled_from(NASTY_BODIES)
            | st.binary(max_size=64) | st.text(max_size=40).map(
                lambda t: t.encode("utf-8", "surrogatepass")))
