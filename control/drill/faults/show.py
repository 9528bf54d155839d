"""The show's faults: OBS killed and frozen, the controller killed, a double take, a viewer's
take, a malformed reload. What each does and what must happen: docs/runbook.md."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

from ..guests import provision
from ..probes import back_on_air, obs_down, settled
from ..process import ROOT
from ..readmodel import ReadModel, is_hard_start, journal_commands
from ..wait import until
from .base import Fault

FREEZE_S = 5.0
NOT_ANSWERING = "critical: OBS is not answering"  # control/show/alarms.py, as shown
BROKEN_RUNDOWN = "show:\n  title: [unclosed\nsegments:\n  - {id: x, duration: soon}\n"


class ObsKill(Fault):
    """OBS SIGKILLed mid-segment and started again: program back on the on-air scene."""

    name = "obs-kill"

    async def inject(self) -> None:
        ctx, r = self.ctx, self.r
        self.started()
        await asyncio.to_thread(ctx.obs.kill)
        r.checks["controller noticed OBS down"] = bool(await until(
            lambda: obs_down(ctx.ctl), 10, "the controller to see OBS down"))
        shown = ctx.console.alarms_between(self.t0, time.time() + 1)
        critical = [a for a in (await ctx.ctl.state())["alarms"] if a["level"] == "critical"]
        r.checks["alarm shown"] = any("OBS is not connected" in a for a in shown) or bool(critical)
        await asyncio.to_thread(ctx.obs.start)
        self.ready = time.time()

    async def verify(self) -> None:
        ctx, r = self.ctx, self.r
        if ctx.browsers is not None:  # a killed OBS may not have saved the feed source
            r.detail["reprovisioned"] = await provision(ctx.ctl.env, ctx.ctl.rundown, ROOT)
        scene = await back_on_air(ctx.ctl, ctx.watch, 20)
        self.recovered()
        r.detail.update(obs_restart_s=round(self.ready - self.t0, 2),
                        program_back_after_obs_ready_s=round(time.time() - self.ready, 2),
                        scene=scene)
        r.checks["program back on the on-air segment's scene"] = scene is not None


class ObsFreeze(Fault):
    """OBS SIGSTOPped for FREEZE_S (a take sent meanwhile), then SIGCONT: an alarm, the API
    never blocks, the show catches up."""

    name = "obs-freeze"

    async def inject(self) -> None:
        proc = self.ctx.obs.proc
        assert proc is not None
        self.started()
        os.killpg(proc.pid, signal.SIGSTOP)
        try:
            self.took, self.slowest = await self._during_freeze()
        finally:
            os.killpg(proc.pid, signal.SIGCONT)

    async def _during_freeze(self) -> tuple[int | None, float]:
        """A take while OBS cannot answer (the API acknowledges it at once, journaled), then
        the API polled for the freeze's length: (the take's status, the slowest answer)."""
        ctl = self.ctx.ctl
        slowest, took = 0.0, None
        state = await ctl.state()
        nxt = state["next"]
        if nxt is not None and not is_hard_start(state, nxt["id"]):
            s0 = time.monotonic()
            took, _ = await ctl.request("POST", "/api/take", {"expect": state["on_air"]["id"]})
            slowest = time.monotonic() - s0
        while time.time() - self.t0 < FREEZE_S:  # the freeze's own length, polled
            s0 = time.monotonic()
            await ctl.state()
            slowest = max(slowest, time.monotonic() - s0)
            await asyncio.sleep(0.2)
        return took, slowest

    async def verify(self) -> None:
        ctx, r = self.ctx, self.r
        scene = await back_on_air(ctx.ctl, ctx.watch, 30)
        self.recovered()
        alarms = ctx.console.alarms_between(self.t0, time.time())
        r.detail.update(take_status=self.took, slowest_api_s=round(self.slowest, 3),
                        alarms=alarms,
                        caught_up_after_sigcont_s=round(time.time() - self.t0 - FREEZE_S, 2))
        r.checks["API never blocked (< 1 s)"] = self.slowest < 1.0
        r.checks["take acknowledged during the freeze"] = self.took in (None, 200)
        # the sync's own alarm (a request left unanswered 2 s), not just any alarm
        r.checks["'OBS is not answering' shown"] = any(
            a.startswith(NOT_ANSWERING) for a in alarms)
        r.checks["caught up: program on the on-air scene"] = scene is not None


class DoubleTake(Fault):
    """Two takes pressed at once, both expecting the segment on air: one lands."""

    name = "double-take"

    async def prepare(self) -> ReadModel:
        self.state = await settled(self.ctx.ctl)
        return self.state

    async def inject(self) -> None:
        ctl, r = self.ctx.ctl, self.r
        on_air, self.next = self.state["on_air"]["id"], self.state["next"]
        if self.next is None or is_hard_start(self.state, self.next["id"]):
            r.checks["a segment to take"] = False
            return
        before = len(journal_commands(ctl.journal()))
        self.started()
        self.answers = await asyncio.gather(*(
            ctl.request("POST", "/api/take", {"expect": on_air}) for _ in range(2)))
        self.takes = [c for c in journal_commands(ctl.journal())[before:]
                      if c["kind"] == "take"]
        self.recovered()

    async def verify(self) -> None:
        r = self.r
        if "a segment to take" in r.checks:
            return
        statuses = sorted(status for status, _ in self.answers)
        r.detail.update(statuses=statuses, reason=next(
            (b.get("reason") for s, b in self.answers if s != 200), None))
        r.checks["one 200, one 409"] = statuses == [200, 409]
        r.checks["one take journaled"] = len(self.takes) == 1
        now = await self.ctx.ctl.state()
        r.checks["the next segment on air"] = now["on_air"]["id"] == self.next["id"]


class ViewerTake(Fault):
    """A take with the viewer's token: 403, nothing changes."""

    name = "viewer-take"

    async def inject(self) -> None:
        ctl = self.ctx.ctl
        self.before = await ctl.state()
        self.commands = len(journal_commands(ctl.journal()))
        self.started()
        self.status, self.body = await ctl.request("POST", "/api/take", role="viewer")
        self.r.recovery_s = 0.0

    async def verify(self) -> None:
        ctl, r = self.ctx.ctl, self.r
        after = await ctl.state()
        r.detail.update(status=self.status, reason=self.body.get("reason"))
        r.checks["403"] = self.status == 403
        r.checks["nothing journaled"] = len(journal_commands(ctl.journal())) == self.commands
        r.checks["the as-run has nothing by the viewer"] = not any(
            e.get("by") == "viewer" for e in after["asrun"]) and len(after["asrun"]) >= len(
            self.before["asrun"])


class BadReload(Fault):
    """A malformed rundown on disk, POST /api/reload: 422 with the errors, the running show
    untouched."""

    name = "bad-reload"

    async def inject(self) -> None:
        ctl = self.ctx.ctl
        self.before = await ctl.state()
        self.records = len(ctl.journal())
        self.started()
        ctl.rundown.write_text(BROKEN_RUNDOWN, "utf-8")
        try:
            self.status, self.body = await ctl.request("POST", "/api/reload")
        finally:
            ctl.rundown.write_text(self.ctx.rundown_text, "utf-8")
        self.r.recovery_s = 0.0

    async def verify(self) -> None:
        ctl, r, before = self.ctx.ctl, self.r, self.before
        after = await ctl.state()
        journal = ctl.journal()
        r.detail.update(status=self.status, errors=(self.body.get("errors") or [])[:3])
        r.checks["422 with the errors"] = self.status == 422 and bool(self.body.get("errors"))
        r.checks["no rundown journaled"] = not any(x["type"] == "rundown"
                                                   for x in journal[self.records:])
        r.checks["plan untouched"] = (
            [(s["id"], s["hard_start"]) for s in before["segments"]]
            == [(s["id"], s["hard_start"]) for s in after["segments"]]
            and before["show"]["last_reload"] == after["show"]["last_reload"])


class ControllerKill(Fault):
    """The controller SIGKILLed and started with the same command line: position and elapsed
    continue, the journal loses and duplicates nothing."""

    name = "controller-kill"

    async def inject(self) -> None:
        ctl = self.ctx.ctl
        self.before = await ctl.state()
        self.lines_before = ctl.journal()
        self.started()
        await asyncio.to_thread(ctl.kill)
        await ctl.start()
        self.after = await ctl.state()
        self.recovered()

    async def verify(self) -> None:
        ctx, r, before, after = self.ctx, self.r, self.before, self.after
        gap_s = (after["show"]["now_ms"] - before["show"]["now_ms"]) / 1000
        r.detail.update(on_air_before=before["on_air"]["id"], on_air_after=after["on_air"]["id"],
                        show_s_while_down=round(gap_s, 1))
        lines_after = ctx.ctl.journal()
        r.checks["journal kept every record"] = (
            lines_after[:len(self.lines_before)] == self.lines_before)
        r.checks.update(_position_checks(before, after, gap_s, ctx.speed))
        r.checks["program on the on-air scene"] = (
            await back_on_air(ctx.ctl, ctx.watch, 20) is not None)


def _position_checks(before: dict[str, Any], after: dict[str, Any], gap_s: float,
                     speed: float) -> dict[str, bool]:
    """The show's position across the restart: the same segment with the same start and its
    elapsed time grown by the gap, or (its time ran out meanwhile) moved on in order."""
    if after["on_air"]["id"] == before["on_air"]["id"]:
        elapsed = after["on_air"]["elapsed_s"] - before["on_air"]["elapsed_s"]
        return {"position continues (same segment, same since)":
                after["on_air"]["since_ms"] == before["on_air"]["since_ms"],
                "elapsed continues": abs(elapsed - gap_s) < 0.2 + 0.01 * speed}
    return {"position continues (the show moved on in order)":
            after["show"]["now_ms"] >= before["on_air"]["planned_end_ms"]}
