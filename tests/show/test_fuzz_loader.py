"""The loader never raises anything but RundownError, whatever it is fed."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rundowns import SAMPLE

from control.show.diagnostics import RundownError
from control.show.loader import Loaded, load_rundown

SAMPLE_TEXT = SAMPLE.read_text("utf-8")
SAMPLE_LINES = SAMPLE_TEXT.splitlines(keepends=True)


def load_or_refuse(text: str) -> None:
    try:
        result = load_rundown(text, "fuzz.yaml")
    except RundownError as exc:
        assert exc.errors, "a refusal must carry at least one error"
        for d in exc.diagnostics:
            assert d.line >= 1 and d.col >= 1 and d.message
        return
    assert isinstance(result, Loaded)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text(text):
    load_or_refuse(text)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                     st.text(max_size=20),
                     st.sampled_from(["4m", "23:59:50", "1m..2m", "cut", "fade 1s", "next",
                                      "2023-12-31 22:00:00", "Asia/Shanghai", "solo"]))
_keys = st.sampled_from(["show", "segments", "guests", "id", "title", "duration", "scene", "at",
                         "flex", "cues", "overlay", "data", "timezone", "start", "end",
                         "transition", "then", "layout", "show", "hide", "name", "for", "x"])
_docs = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=6)), max_leaves=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_docs)
def test_random_yaml_documents(doc):
    load_or_refuse(yaml.safe_dump(doc, allow_unicode=True))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_mutations_of_the_sample(data):
    lines = list(SAMPLE_LINES)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["delete", "duplicate", "swap", "char", "indent"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "char" and lines[i]:
            k = data.draw(st.integers(0, len(lines[i]) - 1))
            c = data.draw(st.sampled_from(list(":-[]{}&*!|>'\"%@`#,? \t0x")))
            lines[i] = lines[i][:k] + c + lines[i][k + 1:]
        else:
            lines[i] = "  " + lines[i]
        if not lines:
            break
    load_or_refuse("".join(lines))


def test_alias_bombs_are_refused_not_expanded():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [*{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, " \
                f"*{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}]\n"
    text = SAMPLE_TEXT.replace("      - at: 5s\n        overlay: logo-bug\n",
                               "      - at: 5s\n        overlay: logo-bug\n        data:\n"
                               + "".join("          " + line + "\n" for line in bomb.splitlines()))
    try:
        load_rundown(text, "bomb.yaml")
    except RundownError as exc:
        assert any("too large" in d.message for d in exc.errors)
    else:
        raise AssertionError("the alias bomb was accepted")


def test_deep_nesting_is_an_error_not_a_crash():
    load_or_refuse("show: " + "[" * 5000 + "]" * 5000 + "\n")
    load_or_refuse("segments:\n" + "".join("  " * i + "- \n" for i in range(300)))
