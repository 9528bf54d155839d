"""The presenter view and the prompter in Chromium against a running controller: the
presenter's numbers are the read model's, its colours turn at the segment's thresholds, the
director's message reaches it and its read-back reaches the console; the prompter follows a
take, and the operator's scroll reaches every other prompter screen (whatever its size,
font or mirroring). The tests run in order on one show."""

from __future__ import annotations

import json
import math
import re
import urllib.request

from helpers import wait_for
from playwright.sync_api import Browser, Page, expect
from stage.support import DIRECTOR, PROMPTER, Controller

from control.show.stage import flex_advice

RED, AMBER = "rgb(255, 45, 45)", "rgb(255, 176, 0)"


def seconds(text: str) -> int:
    """`m:ss` or `h:mm:ss` (a leading + for over time) as seconds."""
    total = 0
    for part in text.lstrip("+").split(":"):
        total = total * 60 + int(part)
    return total


def open_page(browser: Browser, url: str, **options: object) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 720}, **options)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.errors = errors  # type: ignore[attr-defined]
    return page


def extend_to(ctl: Controller, remaining_s: float) -> None:
    """Move the on-air segment's end so that `remaining_s` is left."""
    on_air = ctl.state()["on_air"]
    status, body = ctl.request("POST", "/api/extend",
                               {"seconds": round(remaining_s - on_air["remaining_s"], 3)})
    assert status == 200, body


def test_the_presenter_numbers_are_the_read_models(controller: Controller,
                                                   browser: Browser) -> None:
    page = open_page(browser, controller.page_url("presenter", "lang=en"))
    before = controller.state()
    wait_for(lambda: page.evaluate("document.body.dataset.endMs")
             == str(before["on_air"]["planned_end_ms"]), 15, "the presenter's view")
    expect(page.locator("#segment")).to_have_text("Intro")
    expect(page.locator("#next-title")).to_have_text("Talk")
    expect(page.locator("#tally")).to_have_text("REHEARSAL")
    shown = page.locator("#clock").inner_text()
    hard = page.locator("#hard-countdown").inner_text()
    after = controller.state()
    # a countdown rounds up: between the read model's before and after, to a second
    assert math.ceil(after["on_air"]["remaining_s"]) - 1 <= seconds(shown) \
        <= math.ceil(before["on_air"]["remaining_s"]) + 1, shown
    assert math.ceil(after["hard_starts"][0]["countdown_s"]) - 1 <= seconds(hard) \
        <= math.ceil(before["hard_starts"][0]["countdown_s"]) + 1, hard
    expect(page.locator("#hard-label")).to_have_text("To Countdown")
    words = flex_advice(after, after["hard_starts"][0])["text"]
    assert page.locator("#flex").inner_text().startswith(words)
    # the engineers see the screen connected (a dark screen on the floor shows as 0)
    wait_for(lambda: screens(controller).get("presenter", 0) >= 1, 15, "the screens metric")
    assert page.errors == []  # type: ignore[attr-defined]


def screens(ctl: Controller) -> dict[str, float]:
    """`showctl_stage_screens` by screen, from the controller's /metrics."""
    req = urllib.request.Request(ctl.url + "/metrics",
                                 headers={"Authorization": f"Bearer {ctl.token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
    found = re.findall(r'^showctl_stage_screens\{screen="(\w+)"\} (\S+)$', text, re.M)
    return {screen: float(n) for screen, n in found}


def test_the_clock_turns_amber_then_red_then_counts_over_time(controller: Controller,
                                                               browser: Browser) -> None:
    page = open_page(browser, controller.page_url("presenter", "lang=en"))
    expect(page.locator("body")).to_have_attribute("data-band", "normal", timeout=15000)
    clock = page.locator("#clock")
    expect(clock).not_to_have_css("color", AMBER)
    extend_to(controller, 40)  # the intro's warning: 45 s
    expect(page.locator("body")).to_have_attribute("data-band", "warning", timeout=10000)
    expect(clock).to_have_css("color", AMBER)
    extend_to(controller, 12)  # its danger: 20 s
    expect(page.locator("body")).to_have_attribute("data-band", "danger", timeout=10000)
    expect(clock).to_have_css("color", RED)
    extend_to(controller, -5)
    expect(page.locator("body")).to_have_attribute("data-band", "over", timeout=10000)
    expect(clock).to_have_text(re.compile(r"^\+0:0[5-9]$|^\+0:1\d$"))
    expect(page.locator("#clock-label")).to_have_text("OVER")
    expect(clock).to_have_css("color", RED)
    first = seconds(clock.inner_text())
    wait_for(lambda: seconds(clock.inner_text()) > first, 5, "over time counting up")


def test_a_message_flashes_and_its_read_back_reaches_the_console(controller: Controller,
                                                                  browser: Browser) -> None:
    presenter = open_page(browser, controller.page_url("presenter", "lang=en"))
    console = open_page(browser, f"{controller.url}/?token={DIRECTOR}")
    expect(console.locator("#hosts-text")).to_be_visible(timeout=20000)
    on_air = controller.on_air()
    # typed as the director types: the spaces in it are no TAKE (the space bar's)
    console.locator("#hosts-text").press_sequentially("Wrap after this answer")
    console.locator("#hosts-text").press("Enter")
    box = presenter.locator("#message")
    expect(box).to_be_visible(timeout=10000)
    expect(presenter.locator("#message-text")).to_have_text("Wrap after this answer")
    expect(box).to_have_class(re.compile(r"\bflash\b"))
    expect(box).to_have_attribute("data-read", "0")
    expect(console.locator("#hosts-read")).to_have_attribute("data-read", "0", timeout=10000)
    assert controller.on_air() == on_air
    console.locator("#hosts-wrap").click()
    expect(presenter.locator("#signal")).to_have_text("WRAP UP", timeout=10000)
    box.click()  # the host confirms
    expect(box).to_have_attribute("data-read", "1", timeout=10000)
    expect(console.locator("#hosts-read")).to_have_attribute("data-read", "1", timeout=10000)
    expect(console.locator("#hosts-read")).to_contain_text("read at")
    stage = controller.state()["stage"]
    assert stage["message"]["read_by"] == "presenter" and stage["message"]["by"] == "director"
    assert stage["signal"]["cue"] == "wrap"
    # journaled with who and when, like every command
    journal = next(controller.state_dir.glob("*.journal.jsonl")).read_text("utf-8")
    records = [json.loads(line) for line in journal.splitlines()]
    commands = [(r["command"]["kind"], r["command"]["by"]) for r in records
                if r["type"] == "command"]
    assert ("message", "director") in commands and ("read", "presenter") in commands
    assert ("signal", "director") in commands
    zh = open_page(browser, controller.page_url("presenter", "lang=zh"))
    expect(zh.locator("#signal")).to_have_text("请收尾", timeout=10000)
    expect(zh.locator("#message-state")).to_contain_text("已确认")
    expect(zh.locator("#tally")).to_have_text("彩排")
    # the screen's ?lang= is its own: the console of the same origin keeps its language
    assert zh.evaluate("localStorage.getItem('showctl.lang')") is None


def test_the_prompter_follows_a_take(controller: Controller, browser: Browser) -> None:
    en = open_page(browser, controller.page_url("prompter", "lang=en"))
    zh = open_page(browser, controller.page_url("prompter", "lang=zh&mirror=1&size=40"))
    expect(en.locator("body")).to_have_attribute("data-script", "intro", timeout=15000)
    expect(en.locator("#script")).to_contain_text("Tonight: science.")
    expect(zh.locator("#script")).to_contain_text("今晚：科学。", timeout=15000)
    assert "mirror" in (zh.locator("body").get_attribute("class") or "")
    assert zh.evaluate("getComputedStyle(document.querySelector('#script')).fontSize") == "40px"
    controller.ready_to_take()
    status, body = controller.request("POST", "/api/take", {})
    assert status == 200, body
    expect(en.locator("body")).to_have_attribute("data-script", "talk", timeout=10000)
    expect(en.locator("#script")).to_contain_text("Talk line 59")
    expect(zh.locator("#script")).to_contain_text("对谈第一行", timeout=10000)
    expect(en.locator("#seg-title")).to_have_text("Talk")
    # over/under as the read model has it: the talk was given less than planned (the
    # intro ran long), so it is short before it has even run
    talk = next(s for s in controller.state()["segments"] if s["id"] == "talk")
    ou = talk["over_under_s"]
    sign = "−" if ou <= -0.5 else "+" if ou >= 0.5 else "±"
    expect(en.locator("#seg-ou")).to_have_text(re.compile("^" + re.escape(sign) + r"\d+:\d\d$"))
    assert en.errors == [] and zh.errors == []  # type: ignore[attr-defined]


def test_the_operators_scroll_reaches_the_other_screens(controller: Controller,
                                                        browser: Browser) -> None:
    operator = open_page(browser, controller.page_url("prompter", "operate=1&lang=en")
                         + f"#token={PROMPTER}")
    follower = open_page(browser, controller.page_url("prompter", "lang=en"))
    small = open_page(browser, controller.page_url("prompter", "lang=en&mirror=1&size=40"))
    wait_for(lambda: operator.evaluate("window.showctlStage?.operator"), 15, "the operator")
    assert "token=" not in operator.url  # the token left the address bar
    for page in (operator, follower, small):
        expect(page.locator("body")).to_have_attribute("data-script", "talk", timeout=10000)
    operator.mouse.move(640, 360)
    for _ in range(6):
        operator.mouse.wheel(0, 400)
    operator.keyboard.press("PageDown")

    def same(page: Page) -> bool:
        mine = operator.evaluate("window.showctlStage.position")
        theirs = page.evaluate("window.showctlStage.position")
        return mine["line"] > 5 and mine == theirs

    wait_for(lambda: same(follower), 10, "the follower at the operator's line")
    wait_for(lambda: same(small), 10, "the small mirrored screen at the operator's line")
    # the small screen shows that line at its marker, in its own font and width
    at_marker = small.evaluate("""() => {
        const s = window.showctlStage.position;
        const p = document.querySelectorAll('#script p:not(.heading)')[s.line];
        const scroller = document.getElementById('scroller');
        const marker = innerHeight * 0.35;
        return Math.abs(p.offsetTop + s.frac * p.offsetHeight - scroller.scrollTop - marker);
    }""")
    assert at_marker < 2
    # a screen that is not the operator cannot move the others
    follower.evaluate("window.showctlStage.feed.send({type: 'scroll', seg: 'talk', line: 0,"
                      " frac: 0})")
    follower.keyboard.press("Home")
    operator.keyboard.press("ArrowDown")
    wait_for(lambda: same(small) and small.evaluate("window.showctlStage.position.line") > 5,
             10, "the operator's position, not the follower's")
    # the director's console session drives it too (no token: the cookie, same origin)
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    director = context.new_page()
    director.goto(f"{controller.url}/?token={DIRECTOR}")
    expect(director.locator("#console")).to_be_visible(timeout=20000)
    director.goto(controller.page_url("prompter", "operate=1"))
    wait_for(lambda: director.evaluate("window.showctlStage?.operator"), 15,
             "the director as the operator")
    context.close()
    refused = open_page(browser, controller.page_url("prompter", "operate=1")
                        + "#token=wrong-token")
    expect(refused.locator("#operate-error")).to_be_visible(timeout=10000)
    assert refused.evaluate("window.showctlStage.operator") is False
