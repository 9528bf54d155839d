"""The console's graphics panel against `showctl run`, a real OBS and the overlay pages, in
Debian's Chromium: fill the lower third, PREVIEW it (on a preview page, not on program),
PLAY it (on the program page OBS would load), STOP it; bad data gets the server's reason; a
producer may use it; a viewer sees the state and has no controls.

The tests share this module's OBS and controller and run in file order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console.support import DIRECTOR, PRODUCER, VIEWER, Console, Controller
from playwright.sync_api import Browser, BrowserContext, Page, expect

NAME, ROLE = "朱定真", "Chief expert, China Meteorological Administration"
ROLE_ZH = "中国气象局首席专家"
SHOWN = "document.querySelector('showctl-lower-third')?.classList.contains('on')"


class OverlayPage:
    """One template page as OBS (or a preview monitor) loads it: 1920x1080, its own
    browser context, connected to the overlay hub."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.context: BrowserContext = browser.new_context(
            viewport={"width": 1920, "height": 1080})
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.wait("window.showctl && showctl.link && showctl.link.rev !== null")

    def wait(self, expression: str, timeout: float = 5.0) -> Any:
        return self.page.wait_for_function(f"() => ({expression})", timeout=timeout * 1000,
                                           polling="raf").json_value()

    def shown(self) -> bool:
        return bool(self.page.evaluate(f"() => Boolean({SHOWN})"))

    def text(self, selector: str) -> str:
        return self.page.evaluate("(s) => document.querySelector(s)?.textContent ?? ''",
                                  selector)

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors


@pytest.fixture(scope="module")
def urls(controller: Controller) -> dict[str, dict[str, str]]:
    status, body = controller.request("GET", "/api/overlays")
    assert status == 200, body
    return {g["template"]: {"program": g["url"], "preview": g["preview_url"]}
            for g in body["graphics"]}


@pytest.fixture
def pages(browser: Browser, urls: dict[str, dict[str, str]]) -> Iterator[dict[str, OverlayPage]]:
    opened = {bus: OverlayPage(browser, urls["lower-third"][bus])
              for bus in ("program", "preview")}
    try:
        yield opened
    finally:
        for page in opened.values():
            page.close()


def graphics_tab(console: Console) -> Page:
    page = console.page
    page.locator("#tab-graphics").click()
    expect(page.locator("#graphics-panel")).to_be_visible()
    expect(page.locator("#rundown-panel")).to_be_hidden()
    return page


def board(controller: Controller, template: str) -> dict[str, Any]:
    status, body = controller.request("GET", "/api/overlays")
    assert status == 200, body
    return next(g for g in body["graphics"] if g["template"] == template)


def test_director_previews_plays_and_stops_the_lower_third(
        browser: Browser, controller: Controller, pages: dict[str, OverlayPage],
        screenshots: Path) -> None:
    console = Console(browser, controller, DIRECTOR)
    page = graphics_tab(console)
    expect(page.locator("#btn-take")).to_be_visible()  # ON AIR, NEXT and TAKE stay in view
    row = page.locator('#gfx-list [data-template="lower-third"]')
    row.click()
    expect(row).to_have_class("gfx-row clickable selected")
    expect(page.locator("#gfx-title")).to_have_text("Lower third")
    form = page.locator("#gfx-form")
    form.locator('[name="name"]').fill(NAME)
    form.locator('[name="role"]').fill(ROLE)
    form.locator('[name="role_zh"]').fill(ROLE_ZH)
    program, preview = pages["program"], pages["preview"]

    page.locator("#gfx-preview").click()
    preview.wait(SHOWN)
    assert preview.text(".name") == NAME and preview.text(".role") == ROLE
    expect(row.locator(".gfx-pill-pvw")).to_have_class("gfx-pill gfx-pill-pvw on")
    expect(row.locator(".gfx-pill-pgm")).not_to_have_class("gfx-pill gfx-pill-pgm on")
    # the console's own preview monitor is the preview page, live
    monitor = page.frame_locator("#gfx-frame-preview")
    expect(monitor.locator("showctl-lower-third .name")).to_have_text(NAME)
    assert not program.shown()  # not on air
    state = board(controller, "lower-third")
    assert state["preview"]["visible"] and not state["program"]["visible"]
    assert state["preview"]["data"] == {"name": NAME, "role": ROLE, "role_zh": ROLE_ZH}
    expect(page.locator("#gfx-stop")).to_be_disabled()

    page.locator("#gfx-play").click()
    program.wait(SHOWN)
    assert program.text(".name") == NAME and program.text(".role-zh") == ROLE_ZH
    expect(row.locator(".gfx-pill-pgm")).to_have_class("gfx-pill gfx-pill-pgm on")
    expect(page.locator("#gfx-onair-count")).to_have_text("1 on air")
    expect(page.frame_locator("#gfx-frame-program").locator("showctl-lower-third .name")
           ).to_have_text(NAME)
    expect(page.locator("#gfx-monitor-program")).to_have_class(
        "gfx-monitor gfx-monitor-program is-on")
    expect(row.locator(".gfx-row-meta")).to_have_text(f"{NAME} · {ROLE}")
    page.locator("#graphics-panel").screenshot(path=str(screenshots / "graphics-panel.png"))
    page.screenshot(path=str(screenshots / "console-graphics.png"))
    assert board(controller, "lower-third")["program"]["visible"]

    # UPDATE changes what is on air; an emptied field is removed
    form.locator('[name="role_zh"]').fill("")
    form.locator('[name="role"]').fill("Chief expert, CMA")
    page.locator("#gfx-update").click()
    program.wait("document.querySelector('.role').textContent === 'Chief expert, CMA'")
    assert board(controller, "lower-third")["program"]["data"] == {
        "name": NAME, "role": "Chief expert, CMA"}

    page.locator("#gfx-stop").click()
    program.wait(f"!({SHOWN})")
    expect(row.locator(".gfx-pill-pgm")).not_to_have_class("gfx-pill gfx-pill-pgm on")
    expect(page.locator("#gfx-onair-count")).to_be_hidden()
    assert not board(controller, "lower-third")["program"]["visible"]
    assert preview.shown()  # the preview bus is its own
    page.locator("#gfx-clear-preview").click()
    preview.wait(f"!({SHOWN})")
    # the tab and the graphic are remembered, in Chinese too
    page.reload()
    expect(page.locator("#graphics-panel")).to_be_visible()
    expect(row).to_have_class("gfx-row clickable selected")
    page.locator("header .lang-switch").click()
    expect(page.locator("#tab-graphics")).to_contain_text("图文")
    expect(page.locator("#gfx-play")).to_have_text("播出")
    page.screenshot(path=str(screenshots / "console-graphics-zh.png"))
    page.locator("header .lang-switch").click()
    console.close()


def test_bad_data_shows_the_servers_reason(browser: Browser, controller: Controller) -> None:
    console = Console(browser, controller, DIRECTOR)
    page = graphics_tab(console)
    page.locator('#gfx-list [data-template="countdown"]').click()
    expect(page.locator("#gfx-title")).to_have_text("Midnight countdown")
    target = page.locator('#gfx-form [name="target"]')
    target.fill("tonight at midnight")
    answers: list[Any] = []
    page.on("response", lambda r: answers.append(r) if "/api/overlays/" in r.url else None)
    page.locator("#gfx-play").click()
    toast = page.locator(".toast-error")
    expect(toast).to_contain_text("Midnight countdown refused: countdown: target: must be a date and "
                                  "time with a UTC offset, e.g. 2024-01-01T00:00:00+08:00")
    assert answers[-1].status == 422
    expect(target).to_have_attribute("aria-invalid", "true")
    expect(page.locator('#gfx-form [data-field="target"] .gfx-hint')).to_have_text(
        "target: must be a date and time with a UTC offset, e.g. 2024-01-01T00:00:00+08:00")
    target.fill("2024-01-01T00:00:00+08:00")  # typing clears the mark
    expect(target).not_to_have_attribute("aria-invalid", "true")
    # a required field left empty: the server names it
    page.locator('#gfx-list [data-template="lower-third"]').click()
    page.locator('#gfx-form [name="name"]').fill("")
    page.locator("#gfx-preview").click()
    expect(page.locator(".toast-error").last).to_contain_text("lower-third: name: is required")
    expect(page.locator('#gfx-form [name="name"]')).to_have_attribute("aria-invalid", "true")
    assert not board(controller, "countdown")["program"]["visible"]
    console.close()


def test_a_producer_plays_and_a_viewer_sees_state_only(browser: Browser, controller: Controller,
                                                       screenshots: Path) -> None:
    producer = Console(browser, controller, PRODUCER)
    page = graphics_tab(producer)
    page.locator('#gfx-list [data-template="logo-bug"]').click()
    page.locator("#gfx-play").click()
    expect(page.locator('#gfx-list [data-template="logo-bug"] .gfx-pill-pgm')).to_have_class(
        "gfx-pill gfx-pill-pgm on")
    assert board(controller, "logo-bug")["program"]["visible"]

    viewer = Console(browser, controller, VIEWER)
    vpage = graphics_tab(viewer)
    row = vpage.locator('#gfx-list [data-template="logo-bug"]')
    expect(row.locator(".gfx-row-title")).to_have_text("Logo bug")
    expect(row.locator(".gfx-pill-pgm")).to_have_class("gfx-pill gfx-pill-pgm on")
    expect(vpage.locator("#gfx-onair-count")).to_have_text("1 on air")
    for control in ("#gfx-form", "#gfx-play", "#gfx-preview", "#gfx-update", "#gfx-next",
                    "#gfx-stop", "#gfx-clear-preview", "iframe", "#gfx-list .clickable"):
        expect(vpage.locator(control)).to_have_count(0)
    vpage.screenshot(path=str(screenshots / "console-graphics-viewer.png"))
    # live: the producer stops it, the viewer sees it go
    page.locator("#gfx-stop").click()
    expect(row.locator(".gfx-pill-pgm")).not_to_have_class("gfx-pill gfx-pill-pgm on")
    status = vpage.evaluate("""fetch('/api/overlays/logo-bug/play', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: '{}'}).then(r => r.status)""")
    assert status == 403
    assert not board(controller, "logo-bug")["program"]["visible"]
    producer.close()
    viewer.close()
