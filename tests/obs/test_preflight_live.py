"""Preflight against a real OBS: what the rundown names and OBS lacks, at its file position."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Coroutine
from typing import Any, TypeVar

from control.obs.client import ObsClient
from control.obs.launcher import ObsLauncher
from control.obs.preflight import Finding, findings_json, format_findings, preflight
from control.show.loader import load_rundown

T = TypeVar("T")

RUNDOWN = textwrap.dedent("""\
    show:
      title: Preflight
      timezone: Asia/Shanghai
      start: 2023-12-31 23:00:00
      safe_scene: PF Slate
      transition: fade 300ms
    segments:
      - id: a
        title: A
        duration: 1m
        scene: Studio Wide
        show: [PF Banner, Logo Bug]
      - id: b
        title: B
        duration: 1m
        scene: PF Stage
        show: [PF Banner]
        hide: [PF Ticker]
""")


def run(coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


def where(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of ``needle``'s value in the YAML text."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + len(needle.split(":")[0]) + 3
    raise AssertionError(needle)


def summary(findings: list[Finding]) -> list[tuple[str, str, str, str | None, int, int]]:
    return [(f.severity, f.kind, f.name, f.scene, f.line, f.col) for f in findings]


def test_preflight_finds_and_provisions_what_is_missing(obs: ObsLauncher) -> None:
    rundown = load_rundown(RUNDOWN, "pf.yaml").rundown
    a, b = rundown.segments
    slate = where(RUNDOWN, "safe_scene: PF Slate")
    stage = where(RUNDOWN, "scene: PF Stage")
    assert (b.pos("scene").line, b.pos("scene").col) == stage  # the loader agrees

    async def main() -> tuple[list[Finding], list[Finding], list[Finding], dict[str, bool]]:
        async with ObsClient(obs.url, obs.password) as client:
            await client.wait_connected(timeout=10)
            before = await preflight(client, rundown)
            created = await preflight(client, rundown, provision=True)
            after = await preflight(client, rundown)
            states = {}
            for scene, item in (("Studio Wide", "PF Banner"), ("PF Stage", "PF Banner"),
                                ("PF Stage", "PF Ticker")):
                item_id = await client.call("GetSceneItemId",
                                            {"sceneName": scene, "sourceName": item})
                answer = await client.call("GetSceneItemEnabled", {
                    "sceneName": scene, "sceneItemId": item_id["sceneItemId"]})
                states[f"{scene}/{item}"] = answer["sceneItemEnabled"]
            return before, created, after, states

    before, created, after, states = run(main())
    show_a, show_b, hide_b = a.pos("show"), b.pos("show"), b.pos("hide")
    assert summary(before) == [
        ("error", "item", "PF Banner", "Studio Wide", show_a.line, show_a.col),
        ("error", "scene", "PF Stage", None, *stage),
        ("error", "item", "PF Banner", "PF Stage", show_b.line, show_b.col),
        ("error", "item", "PF Ticker", "PF Stage", hide_b.line, hide_b.col),
        ("error", "scene", "PF Slate", None, *slate),
    ]
    assert str(before[1]) == (f"pf.yaml:{stage[0]}:{stage[1]}: error: "
                              "scene 'PF Stage' does not exist in OBS")
    assert "(its scene 'PF Stage' is missing)" in before[2].message
    assert [f.severity for f in created] == ["created"] * 5
    assert [f.message for f in created][:2] == [
        "created item 'PF Banner' in OBS scene 'Studio Wide'", "created scene 'PF Stage' in OBS"]
    assert after == []
    # shown items are created visible; an item the rundown only hides, hidden
    assert states == {"Studio Wide/PF Banner": True, "PF Stage/PF Banner": True,
                      "PF Stage/PF Ticker": False}

    text = format_findings(before, source="pf.yaml")
    assert text.splitlines()[0].startswith(f"pf.yaml:{show_a.line}:{show_a.col}: error: item")
    assert text.splitlines()[-1] == "preflight pf.yaml: 5 missing"
    assert format_findings(created).splitlines()[-1] == "preflight: 5 created"
    assert format_findings([]) == (
        "preflight: OBS has every scene, item and transition the rundown names")
    assert findings_json(before)[1]["where"] == f"pf.yaml:{stage[0]}:{stage[1]}"


def test_preflight_names_a_transition_obs_lacks(obs: ObsLauncher) -> None:
    """OBS names its built-in transitions in its UI language; provisioning cannot add one."""
    text = textwrap.dedent("""\
        show: {title: T, timezone: Asia/Shanghai, start: 2023-12-31 23:00:00}
        segments:
          - {id: a, title: A, duration: 1m, scene: Intro, transition: fade 1s}
          - id: b
            title: B
            duration: 1m
            scene: Studio
            transition: {type: 淡入淡出}
    """)
    rundown = load_rundown(text, "t.yaml").rundown

    async def main() -> tuple[list[Finding], list[Finding]]:
        async with ObsClient(obs.url, obs.password) as client:
            await client.wait_connected(timeout=10)
            return (await preflight(client, rundown),
                    await preflight(client, rundown, provision=True))

    found, provisioned = run(main())
    line, col = where(text, "transition: {type: 淡入淡出}")
    assert summary(found) == [("error", "transition", "淡入淡出", None, line, col)]
    assert "(it has: Cut, Fade)" in found[0].message
    assert summary(provisioned) == summary(found)
