"""The hosts' screens' test show and its controller: `showctl run` as its own process, on
127.0.0.1, with no OBS (the show runs while OBS is away; the screens do not need it)."""

from __future__ import annotations

import json
from pathlib import Path

from live_controller import ControllerProcess

from control.obs.launcher import free_port
from control.overlays import read_key

TALK = "\n".join(f"Talk line {i}: the science of the new year, read slowly." for i in range(60))
RUNDOWN = f"""\
show:
  title: Stage test
  title_zh: 舞台测试
  timezone: Asia/Shanghai
  start: 2023-12-31 23:50:00
  safe_scene: Slate
segments:
  - id: intro
    title: Intro
    title_zh: 开场
    duration: 3m
    scene: Studio
    warning: 45s
    danger: 20s
    script: |
      Good evening, and welcome.
      Tonight: science.
    script_zh: |
      晚上好，欢迎收看。
      今晚：科学。
  - id: talk
    title: Talk
    title_zh: 对谈
    duration: 4m
    flex: 1m..6m
    scene: Studio
    script: {json.dumps(TALK)}
    script_zh: 对谈第一行
  - {{id: clip, title: Clip, duration: 2m, scene: Doc}}
  - {{id: countdown, title: Countdown, title_zh: 倒计时, at: "23:59:50", duration: 1m, scene: Countdown}}
"""
DIRECTOR, VIEWER, PROMPTER = ("director-stage-token-0123456789", "viewer-stage-token-0123456789",
                              "prompter-stage-token-0123456789")
KEY = read_key(DIRECTOR)


class Controller(ControllerProcess):
    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp, RUNDOWN, obs_url=f"ws://127.0.0.1:{free_port()}", obs_password="",
                         tokens={"director": DIRECTOR, "viewer": VIEWER})
        self.env.update({"SHOWCTL_PROMPTER_TOKEN": PROMPTER, "SHOWCTL_MIXER_ENABLED": "false"})

    def page_url(self, page: str, query: str = "") -> str:
        return f"{self.url}/{page}?key={KEY}" + (f"&{query}" if query else "")
