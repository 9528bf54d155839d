"""The console's guests panel against `showctl run` (a rundown with two guests) and a real OBS,
in Debian's Chromium: the roster, invite links (the director's) that open the guest page, volume and mute in
the read model, a message that reaches the guest's page, a viewer who cannot act.

No WebRTC here: the guest page's websocket connects without camera or microphone.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from console.support import DIRECTOR, PRODUCER, RUNDOWN, VIEWER, Console, Controller
from helpers import wait_for
from playwright.sync_api import Browser, expect

from control.obs.launcher import ObsLauncher

GUESTS = """\
guests:
  zhu-dingzhen:
    name: Zhu Dingzhen
    name_zh: 朱定真
    role: Chief expert on meteorological service
  gou-lijun:
    name: Gou Lijun
    name_zh: 苟利军
    role: Astronomer
"""


@pytest.fixture(scope="module")
def show(tmp_path_factory: pytest.TempPathFactory, obs: ObsLauncher) -> Iterator[Controller]:
    ctl = Controller(tmp_path_factory.mktemp("guests-controller"), obs)
    ctl.rundown.write_text(RUNDOWN + GUESTS, "utf-8")
    try:
        ctl.start()
        wait_for(lambda: ctl.on_air() == "intro", 10, "the show to start")
        yield ctl
    finally:
        ctl.stop()


def guest(ctl: Controller, guest_id: str) -> dict:
    return next(g for g in ctl.state()["guests"] if g["id"] == guest_id)


def row(console: Console, guest_id: str):
    return console.page.locator(f'#guests-list li.guest[data-id="{guest_id}"]')


def test_the_panel_lists_the_roster_as_invited(browser: Browser, show: Controller,
                                               screenshots: Path):
    console = Console(browser, show, DIRECTOR)
    expect(console.page.locator("#guests-list li.guest")).to_have_count(2)
    zhu = row(console, "zhu-dingzhen")
    expect(zhu.locator(".guest-name")).to_have_text("Zhu Dingzhen")
    expect(zhu.locator(".guest-name-other")).to_have_text("朱定真")
    expect(zhu.locator(".guest-status")).to_have_text("invited")
    expect(row(console, "gou-lijun").locator(".guest-status")).to_have_text("invited")
    for g in show.state()["guests"]:
        assert g["status"] == "invited" and g["level"] == {"gain_db": 0.0, "muted": False}
    console.page.screenshot(path=str(screenshots / "console-guests-en.png"))
    # the on-air clocks stay in view: the panel scrolls inside the column, not the column
    assert console.page.evaluate(
        "document.getElementById('onair-panel').getBoundingClientRect().top") >= 0
    console.page.locator("#guests-panel").screenshot(path=str(screenshots / "guests-en.png"))
    console.close()

    chinese = Console(browser, show, DIRECTOR, locale="zh-CN")
    zhu = row(chinese, "zhu-dingzhen")
    expect(zhu.locator(".guest-name")).to_have_text("朱定真")
    expect(zhu.locator(".guest-name-other")).to_have_text("Zhu Dingzhen")
    expect(zhu.locator(".guest-status")).to_have_text("已邀请")
    expect(chinese.page.locator("#guests-label")).to_have_text("嘉宾")
    chinese.page.locator("#guests-panel").screenshot(path=str(screenshots / "guests-zh.png"))
    chinese.close()


def test_a_producer_sets_volume_and_mute(browser: Browser, show: Controller):
    console = Console(browser, show, PRODUCER)
    zhu = row(console, "zhu-dingzhen")
    gain = zhu.locator(".gain-input")
    expect(gain).to_have_value("0")
    gain.fill("-6")
    gain.press("Tab")
    wait_for(lambda: guest(show, "zhu-dingzhen")["level"]["gain_db"] == -6, 5, "gain -6 dB")
    mute = zhu.locator(".mute-btn")
    expect(mute).to_have_attribute("aria-pressed", "false")
    mute.click()
    wait_for(lambda: guest(show, "zhu-dingzhen")["level"]["muted"], 5, "the guest muted")
    expect(mute).to_have_attribute("aria-pressed", "true")
    expect(mute).to_have_text("MUTED: unmute")
    assert guest(show, "zhu-dingzhen")["level"] == {"gain_db": -6.0, "muted": True}
    assert guest(show, "gou-lijun")["level"] == {"gain_db": 0.0, "muted": False}
    # the API checks what it is given
    status, body = show.request("POST", "/api/guests/zhu-dingzhen/level", {"gain_db": 99})
    assert status == 400 and body["error"] == "bad_field", body
    status, body = show.request("POST", "/api/guests/nobody/level", {"muted": True})
    assert status == 404, body
    mute.click()
    wait_for(lambda: not guest(show, "zhu-dingzhen")["level"]["muted"], 5, "unmuted")
    console.close()


def test_invite_link_opens_the_guest_page_and_a_message_reaches_it(browser: Browser,
                                                                   show: Controller,
                                                                   screenshots: Path):
    producer = Console(browser, show, PRODUCER)  # only the director mints invites
    expect(row(producer, "zhu-dingzhen").locator(".mute-btn")).to_have_count(1)
    expect(row(producer, "zhu-dingzhen").locator(".invite-btn")).to_have_count(0)
    assert show.request("POST", "/api/guests/zhu-dingzhen/invite", None,
                        token=PRODUCER)[0] == 403
    producer.close()
    console = Console(browser, show, DIRECTOR)
    zhu = row(console, "zhu-dingzhen")
    zhu.locator(".invite-btn").click()
    url_box = console.page.locator("#dialog .invite-url")
    expect(url_box).to_be_visible()
    url = url_box.input_value()
    assert url.startswith(show.url + "/guest/zhu-dingzhen?t="), url
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        assert "text/html" in resp.headers["Content-Type"]
    console.page.locator("#dialog-cancel").click()
    expect(console.page.locator("#dialog")).to_be_hidden()

    guest_context = browser.new_context(locale="en-US")
    try:
        page = guest_context.new_page()
        page.goto(url)
        expect(page.locator("#name")).to_have_text("Zhu Dingzhen")
        # the page's websocket is open once a message reaches it
        wait_for(lambda: show.request("POST", "/api/guests/zhu-dingzhen/message",
                                      {"text": "Hello"})[1].get("delivered"), 10,
                 "the guest page's websocket")
        console.page.locator("#guests-list li.guest[data-id='zhu-dingzhen'] .message-input"
                             ).fill("You are on in 2 minutes <b>")
        zhu.locator(".message-send").click()
        expect(page.locator("#messages li").first).to_contain_text(
            "You are on in 2 minutes <b>")
        expect(page.locator("#messages b")).to_have_count(0)  # text, never HTML
        expect(zhu.locator(".message-input")).to_have_value("")
        page.screenshot(path=str(screenshots / "guest-page-message.png"))
        # link quality as the page reports it (its getStats()): amber past the limits
        page.evaluate("""(url) => new Promise((done) => {
            const ws = new WebSocket(url);
            ws.onopen = () => { ws.send(JSON.stringify({stats: {rtt_ms: 420, loss_pct: 6.5,
                jitter_ms: 12, bitrate_kbps: 2400, candidateType: "relay"}}));
              setTimeout(done, 100); };
        })""", url.replace("http://", "ws://").replace("?t=", "/ws?t="))
        link = zhu.locator(".guest-link")
        expect(link.locator(".lk-rtt_ms")).to_have_text("RTT 420 ms")
        expect(link.locator(".lk-rtt_ms")).to_have_class("lk lk-rtt_ms warn-text")
        expect(link.locator(".lk-loss_pct")).to_have_class("lk lk-loss_pct warn-text")
        expect(link.locator(".lk-jitter_ms")).to_have_class("lk lk-jitter_ms")
        expect(link.locator(".lk-bitrate_kbps")).to_have_text("2400 kb/s")
        expect(link.locator(".lk-path")).to_have_text("via relay")  # through TURN
        expect(zhu).to_have_class("guest link-warn")
        console.page.locator("#guests-panel").screenshot(
            path=str(screenshots / "guests-link-warn.png"))
        # another guest's page is not open: the producer is told
        row(console, "gou-lijun").locator(".message-input").fill("Hi")
        row(console, "gou-lijun").locator(".message-send").click()
        expect(console.page.locator(".toast")).to_contain_text("not open")
    finally:
        guest_context.close()
    console.close()


def test_a_viewer_sees_guests_but_no_controls(browser: Browser, show: Controller):
    console = Console(browser, show, VIEWER)
    expect(console.page.locator("#guests-list li.guest")).to_have_count(2)
    for control in (".guest-controls", ".gain-input", ".mute-btn", ".invite-btn",
                    ".message-input"):
        expect(console.page.locator(control)).to_have_count(0)
    for path, body in (("level", {"muted": True}), ("message", {"text": "x"}),
                       ("invite", None)):
        status = console.page.evaluate(
            """([path, body]) => fetch(path, {method: 'POST',
                 headers: {'Content-Type': 'application/json'},
                 body: body === null ? undefined : JSON.stringify(body)}).then(r => r.status)""",
            [f"/api/guests/zhu-dingzhen/{path}", body])
        assert status == 403, path
        assert show.request("POST", f"/api/guests/zhu-dingzhen/{path}", body,
                            token=VIEWER)[0] == 403
    assert guest(show, "zhu-dingzhen")["level"]["muted"] is False
    console.close()
