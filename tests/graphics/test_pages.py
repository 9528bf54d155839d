"""The template pages in a real Chromium at 1920x1080, against the hub on a real server:
what is drawn (and where), how it comes and goes, what a page does when its connection fails,
and that data is only ever text."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from graphics.support import (
    PRODUCER,
    SAFE,
    HubServer,
    Overlay,
    drawn_box,
    inside_safe,
    wait_until,
)
from playwright.async_api import Browser

from control.overlays import Catalog

pytestmark = pytest.mark.asyncio(loop_scope="session")

ZHU = {"name": "Zhu Dingzhen", "name_zh": "朱定真",
       "role": "Chief expert on meteorological service, CMA", "role_zh": "中国气象局首席气象服务专家"}


async def test_a_play_draws_the_lower_third_inside_the_safe_area_and_stop_clears_it(
        browser: Browser, hub_server: HubServer) -> None:
    page = await Overlay.open(browser, hub_server.page_url("lower-third"))
    try:
        assert await drawn_box(page, await page.screenshot()) is None  # transparent at rest
        status, _ = await hub_server.api("POST", "/api/overlays/lower-third/play", {"data": ZHU})
        assert status == 200
        await page.wait("document.querySelector('.name').textContent === 'Zhu Dingzhen'")
        await page.settled()
        assert await page.eval("document.querySelector('.name-zh').textContent") == "朱定真"
        box = await drawn_box(page, await page.screenshot("lower-third.png"))
        assert box is not None and box["count"] > 50_000
        assert inside_safe(box), f"drawn {box}, graphics-safe area {SAFE}"
        # out: ease-in animation, then nothing at all
        await hub_server.api("POST", "/api/overlays/lower-third/stop", {})
        await page.wait("document.getAnimations().some(a => a.playState === 'running' "
                        "&& a.effect.getTiming().easing.includes('0.64'))",
                        what="the ease-in out animation")
        await page.wait("!document.querySelector('showctl-lower-third').classList.contains('on')")
        await page.settled()
        assert await drawn_box(page, await page.screenshot()) is None
        assert page.errors == []
    finally:
        await page.close()


async def test_chinese_is_drawn_with_a_cjk_font_not_tofu(browser: Browser,
                                                          hub_server: HubServer) -> None:
    page = await Overlay.open(browser, hub_server.page_url("lower-third", skipAnimation="1"))
    try:
        hub_server.hub.play("lower-third", ZHU)
        await page.wait("document.querySelector('.name-zh').textContent === '朱定真'")
        await page.settled()
        cdp = await page.context.new_cdp_session(page.page)
        await cdp.send("DOM.enable")
        await cdp.send("CSS.enable")
        root = await cdp.send("DOM.getDocument")
        node = await cdp.send("DOM.querySelector", {"nodeId": root["root"]["nodeId"],
                                                    "selector": ".name-zh"})
        fonts = (await cdp.send("CSS.getPlatformFontsForNode",
                                {"nodeId": node["nodeId"]}))["fonts"]
        assert fonts and all("CJK" in f["familyName"] for f in fonts), fonts
        assert sum(f["glyphCount"] for f in fonts) == 3
        # and three different characters are three different pictures (tofu boxes are alike)
        shots = []
        for ch in "朱定真":
            await page.eval(f"document.querySelector('.name-zh').textContent = '{ch}'")
            shots.append(await page.page.locator(".name-zh").screenshot())
        assert len(set(shots)) == 3
    finally:
        await page.close()


async def test_the_longest_names_and_roles_shrink_or_wrap_inside_the_safe_area(
        browser: Browser, hub_server: HubServer) -> None:
    page = await Overlay.open(browser, hub_server.page_url("lower-third", skipAnimation="1"))
    try:
        longest = {"name": "W" * 30 + " Wolfeschlegelsteinhausenbergerdorff"[:30],
                   "name_zh": "朱定真" * 6 + "朱定", "role": ("Chief expert on meteorological "
                   "service, China Meteorological Administration, Public Meteorological Service "
                   "Center, Beijing, China")[:140],
                   "role_zh": ("中国气象局公共气象服务中心首席气象服务专家" * 3)[:60]}
        assert hub_server.hub.catalog.check("lower-third", longest) == []
        hub_server.hub.play("lower-third", longest)
        await page.wait("document.querySelector('.name-zh').textContent.length === 20")
        await page.settled()
        box = await drawn_box(page, await page.screenshot("lower-third-longest.png"))
        assert box is not None and inside_safe(box), box
        size = await page.eval("parseFloat(document.querySelector('.name-bar').style.fontSize)")
        assert size < 56  # it shrank
    finally:
        await page.close()


async def test_html_in_data_is_shown_literally_never_run(browser: Browser,
                                                         hub_server: HubServer) -> None:
    page = await Overlay.open(browser, hub_server.page_url("lower-third", skipAnimation="1"))
    try:
        evil = {"name": "<img src=x onerror=alert(1)>",
                "role": "<script>alert(2)</script>", "role_zh": "&lt;b&gt;粗&lt;/b&gt;"}
        status, _ = await hub_server.api("POST", "/api/overlays/lower-third/play",
                                         {"data": evil})
        assert status == 200
        await page.wait("document.querySelector('.role').textContent.length > 0")
        await page.settled()
        assert await page.eval("document.querySelector('.name').textContent") == evil["name"]
        assert await page.eval("document.querySelector('.role').textContent") == evil["role"]
        assert await page.eval("document.querySelector('.role-zh').textContent") == evil["role_zh"]
        assert await page.eval("document.querySelectorAll('showctl-lower-third img, "
                               "showctl-lower-third script, showctl-lower-third b').length") == 0
        await asyncio.sleep(0.2)  # an onerror would have fired by now
        assert page.dialogs == [] and page.errors == []
    finally:
        await page.close()


async def test_a_page_that_loses_its_websocket_catches_up_from_a_snapshot(
        browser: Browser, hub_server: HubServer) -> None:
    hub = hub_server.hub
    page = await Overlay.open(browser, hub_server.page_url("lower-third", skipAnimation="1"))
    try:
        hub.play("lower-third", ZHU)
        await page.wait("document.querySelector('.name').textContent === 'Zhu Dingzhen'")
        hub.abort_all()                               # the network drops
        await page.wait("!showctl.link.connected", what="the page to notice")
        hub.update("lower-third", {"name": "Gou Lijun", "name_zh": "苟利军"})  # missed
        await page.wait("showctl.link.connected && showctl.link.stats.connects === 2",
                        what="the page to reconnect")
        await page.wait("document.querySelector('.name').textContent === 'Gou Lijun'")
        assert await page.eval("showctl.link.stats.snapshots") == 2
        assert await page.eval("showctl.link.rev") == hub.board.rev
        # a delta lost on a live connection: the next one shows the gap, the page resyncs
        hub.board.update("lower-third", {"role": "Research fellow, NAOC"}, hub.now_ms())
        hub.update("lower-third", {"role_zh": "国家天文台研究员"})
        await page.wait("showctl.link.stats.resyncs === 1")
        await page.wait("document.querySelector('.role').textContent === 'Research fellow, NAOC'"
                        " && document.querySelector('.role-zh').textContent === '国家天文台研究员'")
        assert await page.eval("showctl.link.rev") == hub.board.rev
        assert page.errors == []
    finally:
        await page.close()


async def test_preview_pages_show_the_preview_and_play_takes_it_to_air(
        browser: Browser, hub_server: HubServer) -> None:
    program = await Overlay.open(browser, hub_server.page_url("lower-third", skipAnimation="1"))
    preview = await Overlay.open(browser, hub_server.page_url("lower-third", preview="1",
                                                              skipAnimation="1"))
    try:
        status, _ = await hub_server.api("POST", "/api/overlays/lower-third/preview",
                                         {"data": ZHU}, token=PRODUCER)
        assert status == 200
        await preview.wait("document.querySelector('showctl-lower-third').classList.contains('on')")
        await preview.wait("document.querySelector('.name').textContent === 'Zhu Dingzhen'")
        await asyncio.sleep(0.1)
        assert not await program.eval(
            "document.querySelector('showctl-lower-third').classList.contains('on')")
        status, _ = await hub_server.api("POST", "/api/overlays/lower-third/play", {})
        assert status == 200
        await program.wait("document.querySelector('.name').textContent === 'Zhu Dingzhen' && "
                           "document.querySelector('showctl-lower-third').classList.contains('on')")
    finally:
        await program.close()
        await preview.close()


async def test_the_casparcg_globals_and_the_ograf_actions(browser: Browser,
                                                          hub_server: HubServer) -> None:
    page = await Overlay.open(browser, hub_server.page_url("lower-third", hub="0"),
                              connected=False)
    try:
        await page.wait("typeof window.play === 'function' && window.showctl.element")
        await page.eval("""update('<templateData><componentData id="name">'
            + '<data id="text" value="Shen Jie"/></componentData></templateData>')""")
        assert await page.eval("document.querySelector('.name').textContent") == "Shen Jie"
        await page.eval("update(JSON.stringify({name: 'Yang Shuo', name_zh: '杨烁'}))")
        # playAction resolves when its animation has ended; skipAnimation cuts
        took = await page.eval("""(async () => { const t = performance.now();
            const r = await showctl.element.playAction({}); return [performance.now() - t, r]; })()""")
        assert took[0] >= 550 and took[1]["statusCode"] == 200
        took = await page.eval("""(async () => { const t = performance.now();
            await showctl.element.stopAction({skipAnimation: true}); return performance.now() - t; })()""")
        assert took < 100
        assert await drawn_box(page, await page.screenshot()) is None
        await page.eval("play()")
        await page.wait("showctl.element.visible")
        await page.eval("stop()")
        await page.wait("!document.querySelector('showctl-lower-third').classList.contains('on')")
        assert page.errors == []
    finally:
        await page.close()


LEGACY_HTML = """<!doctype html><html><head><meta charset="utf-8">
<script src="/overlays/legacy.js"></script>
<script type="module" src="/overlays/lib/graphic.js?drive=legacy"></script>
</head><body><div id="f0"></div></body></html>"""
LEGACY_JS = """// a CasparCG-style template: its own globals
var calls = [];
function update(raw) { calls.push('update'); document.getElementById('f0').textContent = JSON.parse(raw).f0; }
function play() { calls.push('play'); document.getElementById('f0').className = 'shown'; }
function next() { calls.push('next'); }
function stop() { calls.push('stop'); document.getElementById('f0').className = ''; }
"""


async def test_a_casparcg_template_drops_in_and_the_hub_drives_it(
        browser: Browser, make_hub, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2] / "overlays"
    shutil.copytree(root / "lib", tmp_path / "lib")
    (tmp_path / "legacy.html").write_text(LEGACY_HTML, "utf-8")
    (tmp_path / "legacy.js").write_text(LEGACY_JS, "utf-8")
    (tmp_path / "legacy.schema.json").write_text(
        '{"type": "object", "properties": {"f0": {"type": "string", "maxLength": 40}}, '
        '"x-showctl": {"steps": 2}}', "utf-8")
    server = await make_hub(catalog=Catalog(tmp_path))
    page = await Overlay.open(browser, server.page_url("legacy"))
    try:
        server.hub.play("legacy", {"f0": "<b>Hello</b>"})
        await page.wait("document.getElementById('f0').className === 'shown'")
        server.hub.next("legacy")
        server.hub.stop("legacy")
        await page.wait("calls.join() === 'update,play,next,stop'")
        assert await page.eval("document.getElementById('f0').textContent") == "<b>Hello</b>"
    finally:
        await page.close()


SAMPLES = {
    "countdown": {"target": "", "caption": "Countdown to 2024",
                  "caption_zh": "距离2024年还有", "label": "Happy New Year", "label_zh": "新年快乐"},
    "up-next": {"title": "The midnight sky with Gou Lijun", "title_zh": "苟利军带你看跨年星空",
                "guest": "Gou Lijun", "guest_zh": "苟利军", "at": "23:10"},
    "fact-card": {"title": "Chinese Plants Influencing the World", "title_zh": "影响世界的中国植物",
                  "fact": "Tea, soybeans and citrus all began in China. " * 5,
                  "fact_zh": "茶、大豆和柑橘都起源于中国。"},
    "ticker": {"label": "快讯", "items": ["Clear skies forecast over Beijing tonight",
                                          "今晚北京天气晴朗", "Look for Jupiter in the south-west"]},
    "logo-bug": {},
    "tally": {},
}


@pytest.mark.parametrize(("template", "variant"), [
    ("countdown", ""), ("countdown", "corner"), ("up-next", ""), ("fact-card", ""),
    ("ticker", ""), ("logo-bug", ""), ("tally", "")])
async def test_every_template_draws_only_inside_the_safe_area(
        browser: Browser, hub_server: HubServer, template: str, variant: str) -> None:
    params = {"skipAnimation": "1", **({"variant": variant} if variant else {})}
    page = await Overlay.open(browser, hub_server.page_url(template, **params))
    try:
        data = dict(SAMPLES[template])
        if template == "countdown":  # an hour and a bit to go
            data["target"] = datetime.fromtimestamp(time.time() + 3725, UTC).isoformat()
        hub_server.hub.play(template, data)
        await page.wait(f"document.querySelector('showctl-{template}').classList.contains('on')")
        await page.settled()
        await wait_until(lambda: page.eval("new Promise(r => requestAnimationFrame(() => "
                                           "requestAnimationFrame(() => r(true))))"))
        box = await drawn_box(page, await page.screenshot(f"{template}{'-' + variant if variant else ''}.png"))
        assert box is not None and inside_safe(box), (template, variant, box)
        assert page.errors == []
    finally:
        await page.close()
