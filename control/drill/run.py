"""The show-day drill: the whole show against a real OBS, in compressed time, with faults.

The only way to trust a show that is live once a year is to run all of it with things going
wrong. This starts a private headless OBS (ObsLauncher), the controller as its own process
(`showctl run --start now --speed N`, its own state dir, tokens in its environment, free
ports), a console client on the state websocket and an OBS client of its own; runs the
rundown with hard starts armed; injects faults on a schedule (control.drill.faults: the
table of faults, each waiting for its time on the show clock, then for its recovery, under
deadlines); then checks the as-run journal against what must have happened and writes a
report (control.drill.report: markdown + JSON). Then the final hard start: where OBS's
program changed against the target, within a frame (control.drill.final).

With guests (`--guests N`, inside a loopback-only network namespace: control.drill.guests),
the show starts after a pre-show of PRE_SHOW_S wall seconds in which the browsers start and
join, so a slow start under load eats the pre-show and not the segments the guest faults
need. Every wait is a condition with a deadline. The show never sees the drill's bad
inputs: they are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..obs.launcher import ObsLauncher, scenes_for
from ..show.loader import load_rundown
from ..show.localtime import zone
from ..show.model import Rundown
from .faults import FAULTS, GUEST_FAULTS, SHOW_FAULTS, FaultContext
from .final import final_hard_start
from .guests import NETNS_ENV, GuestBrowsers, guest_env, invite_links, provision
from .probes import on_air, show_time
from .process import ROOT, ControllerProcess
from .readmodel import CONNECTED, guest_status, instant_ms
from .report import asrun_check, build_report, write_report
from .result import DrillError, FaultResult, Phase
from .tls import DrillTls
from .wait import until
from .watch import ConsoleClient, ProgramWatch

PRE_SHOW_S = 60.0  # wall seconds before the show starts when guests join (load: see above)
JOIN_LATE_S = 60.0  # ... and how long into the show they may still join (the faults wait)


@dataclass
class Drill:
    """One drill run. `faults` in the order they are injected."""

    rundown: Path
    speed: float
    out: Path
    faults: tuple[str, ...] = SHOW_FAULTS
    fps: float = 25.0
    after_final_s: float = 2.0  # wall seconds the show runs on after the final hard start
    log: Callable[[str], None] = print
    guests: int = 0  # headless Chromium guests (only inside the drill's network namespace)
    tls: bool = False  # the controller on HTTPS (always with the tls-renew fault)
    results: list[FaultResult] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.t0 = time.time()
        self.phase = Phase.SETUP
        self._start_ms = 0  # the show's start on the show clock, once known

    def say(self, text: str) -> None:
        self.log(f"[drill {time.time() - self.t0:6.1f}s {self.phase}] {text}")

    async def run(self) -> dict[str, Any]:
        """The drill, start to end: the report (also written to `out`)."""
        text = self.rundown.read_text("utf-8")
        rundown = load_rundown(text, str(self.rundown)).rundown  # refuses a broken one here
        guest_ids = self._guest_ids(rundown)
        self.out.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="showctl-drill-"))
        copy = root / self.rundown.name  # the file the controller reads (bad-reload edits it)
        copy.write_text(text, "utf-8")
        secret = secrets.token_urlsafe(24)
        obs = ObsLauncher(root / "obs", scenes=scenes_for(rundown))
        watch = ProgramWatch(obs)
        tls = None
        if self.tls or any(FAULTS[f].needs_tls for f in self.faults):
            if guest_ids:
                raise DrillError("HTTPS with guests is not drilled yet (their browsers would "
                                 "need the drill's CA): drop --tls / tls-renew or --guests")
            tls = DrillTls(root / "tls")
        ctl = ControllerProcess(root, copy, self.speed, obs, _tokens(),
                                guest_env(secret) if guest_ids else None,
                                self._start_spec(rundown, bool(guest_ids)), tls)
        console = ConsoleClient(ctl)
        browsers = None
        if guest_ids:
            lossy = guest_ids[-1] if "guest-lossy" in self.faults else None
            browsers = GuestBrowsers(root, invite_links(secret, guest_ids, ctl.port), lossy)
        try:
            await self._start_parts(obs, watch, ctl, console, browsers)
            layouts = {s.id: s.layout for s in rundown.segments}
            return await self._show(ctl, obs, watch, console, text, browsers, layouts)
        finally:
            await self._stop_parts(root, obs, watch, ctl, console, browsers)

    def _guest_ids(self, rundown: Rundown) -> list[str]:
        """The first N guests of the rundown's roster (the drill's browsers)."""
        if not self.guests:
            if wanted := [f for f in self.faults if f in GUEST_FAULTS]:
                raise DrillError(f"{', '.join(wanted)} need(s) --guests N")
            return []
        if not os.environ.get(NETNS_ENV):
            raise DrillError("guests run only inside the drill's own loopback network "
                             "namespace: start it with scripts/drill or python -m control.drill")
        ids = [g.id for g in rundown.guests]
        if len(ids) < self.guests:
            raise DrillError(f"--guests {self.guests}: the rundown lists {len(ids)} guest(s)")
        return ids[: self.guests]

    def _start_spec(self, rundown: Rundown, pre_show: bool) -> str:
        """`--start` for the controller: now, or (with guests) PRE_SHOW_S wall seconds from
        now, as a local time of the show (the controller's clock runs x speed from its
        start, so that is PRE_SHOW_S x speed of show time)."""
        if not pre_show:
            return "now"
        at = time.time() + PRE_SHOW_S * self.speed
        return datetime.fromtimestamp(at, zone(rundown.show.timezone)).strftime(
            "%Y-%m-%d %H:%M:%S")

    async def _start_parts(self, obs: ObsLauncher, watch: ProgramWatch,
                           ctl: ControllerProcess, console: ConsoleClient,
                           browsers: GuestBrowsers | None) -> None:
        """OBS, the drill's OBS client, the controller (and the guests' browsers, started
        meanwhile), the console; then the guests join."""
        self.say(f"OBS starting ({ctl.state_dir.parent})")
        await asyncio.to_thread(obs.start)
        await watch.client.start()
        if browsers is not None:
            created = await provision(ctl.env, ctl.rundown, ROOT)
            self.say(f"preflight --provision: {len(created)} created (the Program Feed)")
        self.say(f"controller starting at x{self.speed:g}, --start {ctl.start_spec}")
        await asyncio.gather(ctl.start(), *([browsers.launch()] if browsers else []))
        console.start()
        if browsers is not None:
            self.phase = Phase.PRE_SHOW
            lossy = [g for g, b in browsers.browsers.items() if b.lossy]
            self.say(f"guests joining: {', '.join(browsers.browsers)}"
                     + (f" ({lossy[0]} through the lossy relay)" if lossy else ""))
            await browsers.join_all()
            await self._joined(ctl, list(browsers.browsers))

    async def _joined(self, ctl: ControllerProcess, guest_ids: list[str]) -> None:
        """Every guest connected, before the show starts or at worst JOIN_LATE_S into it
        (the guest faults wait for their guests on air); DrillError if not even then."""
        state = await ctl.state()
        left_s = (instant_ms(state["show"], "planned_start") - state["show"]["now_ms"]) \
            / 1000 / self.speed

        async def all_in() -> bool:
            state = await ctl.state()
            return all(guest_status(state, g) in CONNECTED for g in guest_ids)
        try:
            await until(all_in, max(0.0, left_s) + JOIN_LATE_S, "every guest connected", 0.1)
        except TimeoutError as exc:
            raise DrillError(f"the guests did not join ({exc}): see {ctl.log.name}") from exc
        state = await ctl.state()
        left_s = (instant_ms(state["show"], "planned_start") - state["show"]["now_ms"]) \
            / 1000 / self.speed
        self.say(f"every guest connected, {left_s:.0f} s before the show" if left_s >= 0 else
                 f"every guest connected {-left_s:.0f} s into the show (a slow machine)")

    async def _stop_parts(self, root: Path, obs: ObsLauncher, watch: ProgramWatch,
                          ctl: ControllerProcess, console: ConsoleClient,
                          browsers: GuestBrowsers | None) -> None:
        """Everything stopped, the controller's log and journal kept in `out`."""
        if browsers is not None:
            await browsers.close()
        await console.stop()
        await ctl.stop()
        await watch.client.stop()
        await asyncio.to_thread(obs.close)
        with contextlib.suppress(OSError):
            shutil.copy(ctl.log, self.out / "controller.log")
        with contextlib.suppress(OSError, StopIteration):
            shutil.copy(ctl.journal_path(), self.out / "journal.jsonl")
        shutil.rmtree(root, ignore_errors=True)

    async def _show(self, ctl: ControllerProcess, obs: ObsLauncher, watch: ProgramWatch,
                    console: ConsoleClient, text: str, browsers: GuestBrowsers | None,
                    layouts: dict[str, str | None]) -> dict[str, Any]:
        """The show from its start to after the final hard start, each fault at its time;
        the report."""
        first = await ctl.state()
        start_ms = self._start_ms = instant_ms(first["show"], "planned_start")
        targets = [(h["id"], h["target_ms"]) for h in first["hard_starts"]]
        if not targets:
            raise DrillError("the rundown has no hard start: the drill checks one")
        final_id, final_ms = targets[-1]
        plan = self._plan(start_ms, final_ms)
        self.say(f"show starts {first['show']['planned_start']}, final hard start {final_id} "
                 f"at +{(final_ms - start_ms) / 1000:.0f} s show time; faults: "
                 + ", ".join(f"{f} +{(at - start_ms) / 1000:.0f}s" for f, at in plan))
        to_start_s = max(0.0, (start_ms - first["show"]["now_ms"]) / 1000 / self.speed)
        await until(lambda: on_air(ctl), to_start_s + 30, "the show to start")
        self.phase = Phase.SHOW
        ctx = FaultContext(ctl, obs, watch, console, text, final_ms, self.say, browsers, layouts)
        for name, at in plan:
            await self._inject(ctx, name, at)
        self.phase = Phase.FINAL_HARD_START
        final = await final_hard_start(ctl, watch, final_id, final_ms, self.fps,
                                       self.after_final_s, self.say)
        last = await ctl.state()
        await ctl.stop()
        self.phase = Phase.REPORT
        report = build_report(
            rundown=self.rundown, speed=self.speed, fps=self.fps, wall_s=time.time() - self.t0,
            show_s=(final_ms - start_ms) / 1000, results=self.results, final=final,
            asrun=asrun_check(ctl.journal_path(), console.takes(), final_id, last))
        write_report(self.out, report)
        return report

    def _plan(self, start_ms: int, final_ms: int) -> list[tuple[str, int]]:
        """Each fault's show time: spread over the first 60 % of the time before the final
        hard start, so the last one has recovered before it (a restart costs seconds of
        wall time, x speed)."""
        span, n = final_ms - start_ms, len(self.faults)
        return [(name, start_ms + round(span * 0.6 * (i + 1) / (n + 1)))
                for i, name in enumerate(self.faults)]

    async def _inject(self, ctx: FaultContext, name: str, at_ms: int) -> None:
        """One fault at its time: prepared, injected, verified; a fault that cannot finish
        fails its own checks, not the drill."""
        result = FaultResult(name, round((at_ms - self._start_ms) / 1000, 1))
        self.results.append(result)
        await show_time(ctx.ctl, at_ms)
        fault = FAULTS[name](ctx, result)
        try:
            self._mark(result, await ctx.ctl.now_ms())
            self._mark(result, (await fault.prepare())["show"]["now_ms"])
            self.say(f"{name} at show +{result.show_s:.0f}s")
            await fault.inject()
            await fault.verify()
        except Exception as exc:  # a fault that breaks fails itself, not the drill
            result.checks["completed"] = False
            result.detail["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        self.say(f"{name}: {'ok' if result.ok else 'FAILED'} "
                 f"(recovered in {result.recovery_s} s) {result.checks}")

    def _mark(self, r: FaultResult, now_ms: int) -> None:
        """When the fault was injected, on the show clock and the wall clock."""
        r.show_s = round((now_ms - self._start_ms) / 1000, 1)
        r.wall_s = round(time.time() - self.t0, 2)


def _tokens() -> dict[str, str]:
    return {"director": secrets.token_urlsafe(24), "viewer": secrets.token_urlsafe(24)}
