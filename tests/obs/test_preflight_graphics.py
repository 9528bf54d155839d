"""Preflight's graphics: the browser sources of the overlay pages.

The plan (what provisioning would send, from what OBS has) is a pure function, tested here
for an official OBS build (`browser_source` among the input kinds). Against Debian's real OBS
29 (no obs-browser): one warning with the URLs, the other checks unchanged; and the same
provisioning code sends its plan to the real OBS with a stand-in input kind, so every
request it makes is one OBS accepts.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from control.obs import preflight as pf
from control.obs.client import ObsClient
from control.obs.launcher import ObsLauncher
from control.obs.preflight import (
    BROWSER_KIND,
    GRAPHICS_SCENE,
    NO_BROWSER,
    Finding,
    format_findings,
    plan_graphics,
    preflight,
    program_scenes,
)
from control.overlays import base_url, derive_read_key, page_url, program_urls, read_key
from control.show.loader import load_rundown

T = TypeVar("T")
KEY = "0123456789abcdef0123456789abcdef"
URLS = program_urls("http://10.0.0.5:8080", KEY, ["lower-third", "countdown"])
KINDS = ["image_source", "color_source_v3", BROWSER_KIND, "text_ft2_source_v2"]
LT, CD = "Graphics: lower-third", "Graphics: countdown"
RUNDOWN = textwrap.dedent("""\
    show:
      title: Graphics preflight
      timezone: Asia/Shanghai
      start: 2023-12-31 23:00:00
      safe_scene: GF Slate
    segments:
      - {id: a, title: A, duration: 1m, scene: GF Studio}
      - {id: b, title: B, duration: 1m, scene: GF Remote}
      - {id: c, title: C, duration: 1m, scene: GF Studio}
""")


def run(coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


def requests(plan: pf.GraphicsPlan) -> list[tuple[str, dict[str, Any]]]:
    return [(s.request.request_type, dict(s.request.request_data or {})) for s in plan.steps
            if s.request is not None]


def test_the_urls_are_the_controllers_pages_with_the_read_key() -> None:
    urls = program_urls(base_url("10.0.0.5", 8080), KEY, ["lower-third", "countdown"])
    assert urls == {"countdown": f"http://10.0.0.5:8080/overlays/countdown?key={KEY}",
                    "lower-third": f"http://10.0.0.5:8080/overlays/lower-third?key={KEY}"}
    assert base_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"  # listening everywhere
    assert base_url("::1", 80) == "http://[::1]:80"
    assert read_key(None, "", "viewer-token") == derive_read_key("viewer-token")
    assert read_key(None, None) is None
    assert program_urls("http://h:1/", None, ["tally"]) == {"tally": "http://h:1/overlays/tally"}
    assert page_url("http://h:1", "tally", "k", preview=True) == (
        "http://h:1/overlays/tally?key=k&preview=1")
    assert set(program_urls("http://h:1", "k")) >= {"lower-third", "countdown", "tally"}


def test_a_fresh_official_obs_gets_the_scene_the_sources_and_an_item_per_program_scene() -> None:
    plan = plan_graphics(KINDS, ["Studio", "Remote", "Slate"], {}, {"Studio": ["Cam"],
                         "Remote": []}, ["Studio", "Remote"], URLS)
    assert plan.browser
    settings = {"width": 1920, "height": 1080, "shutdown": False}
    assert requests(plan) == [
        ("CreateScene", {"sceneName": "Graphics"}),
        ("CreateInput", {"sceneName": "Graphics", "inputName": CD, "inputKind": "browser_source",
                         "inputSettings": {"url": URLS["countdown"], **settings},
                         "sceneItemEnabled": True}),
        ("CreateInput", {"sceneName": "Graphics", "inputName": LT, "inputKind": "browser_source",
                         "inputSettings": {"url": URLS["lower-third"], **settings},
                         "sceneItemEnabled": True}),
        ("CreateSceneItem", {"sceneName": "Studio", "sourceName": "Graphics",
                             "sceneItemEnabled": True}),
        ("CreateSceneItem", {"sceneName": "Remote", "sourceName": "Graphics",
                             "sceneItemEnabled": True}),
    ]
    assert [s.done for s in plan.steps][-1] == "added scene 'Graphics' on top of OBS scene 'Remote'"


def test_what_exists_is_skipped_and_a_stale_url_is_set() -> None:
    have = ["Studio", "Remote", GRAPHICS_SCENE]
    items = {"Studio": ["Cam", GRAPHICS_SCENE], "Remote": [], GRAPHICS_SCENE: [LT]}
    inputs = {LT: BROWSER_KIND, CD: BROWSER_KIND, "Cam": "v4l2_input"}
    stale = URLS["lower-third"].replace(KEY, "old-key")
    plan = plan_graphics(KINDS, have, inputs, items, ["Studio", "Remote", "Missing"], URLS,
                         {LT: stale, CD: URLS["countdown"]})
    assert requests(plan) == [
        ("CreateSceneItem", {"sceneName": "Graphics", "sourceName": CD,
                             "sceneItemEnabled": True}),
        ("SetInputSettings", {"inputName": LT, "overlay": True, "inputSettings": {
            "url": URLS["lower-third"], "width": 1920, "height": 1080, "shutdown": False}}),
        ("CreateSceneItem", {"sceneName": "Remote", "sourceName": "Graphics",
                             "sceneItemEnabled": True}),
    ]
    # everything there: nothing to send
    done = plan_graphics(KINDS, have, inputs, {**items, "Remote": [GRAPHICS_SCENE],
                                               GRAPHICS_SCENE: [LT, CD]},
                         ["Studio", "Remote"], URLS, {LT: URLS["lower-third"],
                                                      CD: URLS["countdown"]})
    assert done == pf.GraphicsPlan(True, ())


def test_names_in_the_way_are_reported_not_overwritten() -> None:
    plan = plan_graphics(KINDS, ["Studio"], {LT: "image_source"}, {}, ["Studio"], URLS)
    lt = [s for s in plan.steps if s.name == LT]
    assert [(s.request, s.missing) for s in lt] == [
        (None, f"input {LT!r} is a image_source, not a browser source: remove or rename it")]
    blocked = plan_graphics(KINDS, ["Studio"], {GRAPHICS_SCENE: "color_source_v3"}, {},
                            ["Studio"], URLS)
    assert [s.request for s in blocked.steps] == [None]
    assert "in the way" in blocked.steps[0].missing
    # a segment on the Graphics scene itself: never an item of itself
    inputs = {LT: BROWSER_KIND, CD: BROWSER_KIND}
    assert plan_graphics(KINDS, [GRAPHICS_SCENE], inputs, {GRAPHICS_SCENE: [LT, CD]},
                         [GRAPHICS_SCENE], URLS, {LT: URLS["lower-third"],
                                                  CD: URLS["countdown"]}).steps == ()


def test_without_the_browser_kind_nothing_is_planned() -> None:
    plan = plan_graphics([k for k in KINDS if k != BROWSER_KIND], [], {}, {}, ["Studio"], URLS)
    assert plan == pf.GraphicsPlan(False, ())


def test_program_scenes_are_the_segments_scenes_once_in_order() -> None:
    rundown = load_rundown(RUNDOWN, "gf.yaml").rundown
    assert program_scenes(rundown) == ["GF Studio", "GF Remote"]  # not the safe scene


def _summary(findings: list[Finding]) -> list[tuple[str, str, str, str | None]]:
    return [(f.severity, f.kind, f.name, f.scene) for f in findings]


def test_debians_obs_gets_one_warning_with_the_urls_and_the_rest_goes_on(
        obs: ObsLauncher) -> None:
    rundown = load_rundown(RUNDOWN, "gf.yaml").rundown

    async def main() -> tuple[list[Finding], list[Finding], list[Finding], list[str]]:
        async with ObsClient(obs.url, obs.password) as client:
            await client.wait_connected(timeout=10)
            kinds = (await client.call("GetInputKindList"))["inputKinds"]
            before = await preflight(client, rundown, overlay_urls=URLS)
            created = await preflight(client, rundown, provision=True, overlay_urls=URLS)
            after = await preflight(client, rundown, overlay_urls=URLS)
            scenes = [s["sceneName"] for s in (await client.call("GetSceneList"))["scenes"]]
            return before, created, after, [*kinds, "|", *scenes]

    before, created, after, seen = run(main())
    assert BROWSER_KIND not in seen  # Debian's build
    warning = ("warning", "graphics", GRAPHICS_SCENE, None)
    assert _summary(before) == [("error", "scene", "GF Studio", None),
                                ("error", "scene", "GF Remote", None),
                                ("error", "scene", "GF Slate", None), warning]
    assert _summary(created) == [("created", "scene", n, None)
                                 for n in ("GF Studio", "GF Remote", "GF Slate")] + [warning]
    assert _summary(after) == [warning]
    text = str(after[0])
    assert text.splitlines() == [
        f"gf.yaml:1:1: warning: {NO_BROWSER}",
        f"    countdown    {URLS['countdown']}",
        f"    lower-third  {URLS['lower-third']}"]
    assert NO_BROWSER == ("this OBS has no browser source (Debian's build): load the overlay "
                          "URLs in an official OBS build or add them by hand")
    assert format_findings(after).splitlines()[-1] == (
        "preflight: OBS has every scene, item and transition the rundown names (1 warning)")
    assert format_findings(created).splitlines()[-1] == "preflight: 3 created, 1 warning"


def test_provisioning_sends_its_plan_to_a_real_obs(obs: ObsLauncher,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian's OBS has no browser source: a colour source stands in for it, so the scene,
    the sources, their settings and the items are made by the real OBS."""
    monkeypatch.setattr(pf, "BROWSER_KIND", "color_source_v3")
    text = RUNDOWN.replace("GF ", "GX ")
    rundown = load_rundown(text, "gx.yaml").rundown

    async def main() -> dict[str, Any]:
        async with ObsClient(obs.url, obs.password) as client:
            await client.wait_connected(timeout=10)
            try:
                return await provision(client)
            finally:  # the session's OBS as it was, for the tests after this one
                await client.batch([("RemoveScene", {"sceneName": GRAPHICS_SCENE}),
                                    ("RemoveInput", {"inputName": LT}),
                                    ("RemoveInput", {"inputName": CD})])

    async def provision(client: ObsClient) -> dict[str, Any]:
        out: dict[str, Any] = {"check": await preflight(client, rundown, overlay_urls=URLS)}
        out["created"] = await preflight(client, rundown, provision=True, overlay_urls=URLS)
        out["again"] = await preflight(client, rundown, provision=True, overlay_urls=URLS)
        new = {t: u.replace(KEY, "rotated") for t, u in URLS.items()}
        out["rotated"] = await preflight(client, rundown, provision=True, overlay_urls=new)
        out["items"] = {
            scene: [i["sourceName"] for i in sorted(
                (await client.call("GetSceneItemList", {"sceneName": scene}))["sceneItems"],
                key=lambda i: i["sceneItemIndex"])]
            for scene in ("GX Studio", "GX Remote", "GX Slate", GRAPHICS_SCENE)}
        out["settings"] = (await client.call("GetInputSettings", {"inputName": LT})
                           )["inputSettings"]
        return out

    out = run(main())
    # the program scenes are missing (those errors say so): the scene and its sources
    assert [(f.severity, f.name) for f in out["check"] if f.kind == "graphics"] == [
        ("error", GRAPHICS_SCENE), ("error", CD), ("error", LT)]
    made = [f.message for f in out["created"] if f.kind == "graphics"]
    assert made == [
        "created scene 'Graphics' in OBS",
        f"created browser source {CD!r} in OBS scene 'Graphics': {URLS['countdown']}",
        f"created browser source {LT!r} in OBS scene 'Graphics': {URLS['lower-third']}",
        "added scene 'Graphics' on top of OBS scene 'GX Studio'",
        "added scene 'Graphics' on top of OBS scene 'GX Remote'"]
    studio = next(f for f in out["created"] if f.scene == "GX Studio")
    assert (studio.line, studio.col) == (7, rundown.segments[0].pos("scene").col)
    assert out["again"] == []
    assert [f.message for f in out["rotated"]] == [
        f"set the URL of browser source {n!r}: {URLS[t].replace(KEY, 'rotated')}"
        for n, t in ((CD, "countdown"), (LT, "lower-third"))]
    assert out["items"] == {"GX Studio": [GRAPHICS_SCENE], "GX Remote": [GRAPHICS_SCENE],
                            "GX Slate": [], GRAPHICS_SCENE: [CD, LT]}
    assert out["settings"] == {"url": URLS["lower-third"].replace(KEY, "rotated"),
                               "width": 1920, "height": 1080, "shutdown": False}
