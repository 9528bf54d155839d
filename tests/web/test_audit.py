"""Who did what: one log line per event, with its time, the role and the address, never a
token; to stderr and to a file (issue 13)."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from helpers import wait_for
from live_controller import ControllerProcess
from web.support import DIRECTOR, PRODUCER, VIEWER, FakeShow, call

from control.logs import configure_logging, redact
from control.obs.launcher import free_port

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}"


@pytest.mark.parametrize(("text", "clean"), [
    ("GET /api/ws?token=abc123 x", "GET /api/ws?token=*** x"),
    ("/guest/ada?t=eyJhbGc.sig&x=1", "/guest/ada?t=***&x=1"),
    ("/overlays/lower-third?key=k3y;", "/overlays/lower-third?key=***;"),
    ("Authorization: Bearer s3cret, next", "Authorization: Bearer ***, next"),
    ("a take by the director", "a take by the director"),
])
def test_credentials_are_blanked(text: str, clean: str) -> None:
    assert redact(text) == clean


def test_lines_have_a_time_and_go_to_stderr_and_a_file(tmp_path: Path) -> None:
    stream = io.StringIO()
    setup = configure_logging(tmp_path / "showctl.log", stream=stream)
    try:
        logging.getLogger("control.test").info("login by %s with token=%s", "viewer", "abc")
    finally:
        setup.close()  # (the lines are written by a thread: this waits for them)
    for text in (stream.getvalue(), (tmp_path / "showctl.log").read_text("utf-8")):
        assert re.fullmatch(STAMP + r" INFO control\.test: login by viewer with token=\*\*\*\n",
                            text), text


async def test_every_change_is_logged_with_role_and_address(
        client: TestClient, fake: FakeShow, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert (await call(client, "POST", "/api/take", body={}))[0] == 200
    assert (await call(client, "POST", "/api/notes/opening", token=PRODUCER,
                       body={"text": "x"}))[0] == 200
    assert (await call(client, "POST", "/api/hold", token=VIEWER, body={}))[0] == 403
    assert (await call(client, "POST", "/api/stream", token="w" * 24,
                       body={"active": True}))[0] == 401
    assert (await call(client, "POST", "/api/login", token=None, body={"token": DIRECTOR}))[0] \
        == 200
    assert (await call(client, "GET", "/api/state"))[0] == 200  # reads: the access log's
    audit = [r.getMessage() for r in caplog.records if r.name == "control.web.audit"]
    assert audit == [
        "POST /api/take by director (bearer) from 127.0.0.1: 200",
        "POST /api/notes/opening by producer (bearer) from 127.0.0.1: 200",
        "POST /api/hold by viewer (bearer) from 127.0.0.1: 403 forbidden",
        "POST /api/stream by anyone from 127.0.0.1: 401 unauthorized",
        "POST /api/login by anyone from 127.0.0.1: 200",
    ]
    assert "console login (director) from 127.0.0.1" in caplog.text
    assert not any(t in caplog.text for t in (DIRECTOR, PRODUCER, VIEWER))


def test_the_controller_logs_who_did_what_to_its_file(tmp_path: Path) -> None:
    tokens = {"director": DIRECTOR, "viewer": VIEWER}
    ctl = ControllerProcess(tmp_path, RUNDOWN, obs_url=f"ws://127.0.0.1:{free_port()}",
                            obs_password="", tokens=tokens)
    ctl.env["SHOWCTL_LOG_FILE"] = str(tmp_path / "audit.log")
    ctl.start()
    try:
        assert ctl.request("POST", "/api/login", {"token": VIEWER}, token=None)[0] == 200
        assert ctl.request("GET", f"/api/ws?token={VIEWER}", token=None)[0] in (400, 426)
        wait_for(lambda: ctl.on_air() == "a", 10, "the first segment on air")
        ctl.ready_to_take()
        assert ctl.request("POST", "/api/take", {})[0] == 200
        audit = tmp_path / "audit.log"
        wait_for(lambda: "show: take b by director" in audit.read_text("utf-8"), 10,
                 "the take in the log file")
    finally:
        ctl.stop()
    text = (tmp_path / "audit.log").read_text("utf-8")
    for pattern in (
            STAMP + r" INFO control\.web\.app: console login \(viewer\) from 127\.0\.0\.1",
            STAMP + r" INFO control\.web\.audit: POST /api/take by director \(bearer\) from "
                    r"127\.0\.0\.1: 200",
            STAMP + r" INFO control\.runner: show: take b by director",
            STAMP + r" INFO control\.runner: show: take a by the clock",
            STAMP + r" INFO aiohttp\.access: 127\.0\.0\.1 GET /api/ws \d+ [\d.]+s"):
        assert re.search(pattern, text), (pattern, text[-3000:])
    assert DIRECTOR not in text and VIEWER not in text
    assert "Traceback" not in text
    # stderr has the same lines (the controller's own log)
    assert "control.web.audit: POST /api/take by director" in ctl.log.read_text("utf-8")


RUNDOWN = """\
show:
  title: Audit test
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  safe_scene: Slate
segments:
  - {id: a, title: A, duration: 10m, scene: Studio Wide, then: hold}
  - {id: b, title: B, duration: 10m, scene: Studio Interview}
"""
