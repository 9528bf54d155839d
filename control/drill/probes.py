"""Conditions on the controller and OBS that the drill waits for, and the show clock read
against the wall clock. Each asks the controller (or OBS) afresh: no cached view."""

from __future__ import annotations

import time

from .process import ControllerProcess
from .readmodel import ReadModel
from .wait import until
from .watch import ProgramWatch


async def on_air(ctl: ControllerProcess) -> bool:
    return (await ctl.state())["on_air"] is not None


async def obs_down(ctl: ControllerProcess) -> bool:
    return not (await ctl.state())["obs"]["connected"]


async def past(ctl: ControllerProcess, show_ms: int) -> ReadModel | None:
    """The read model once the show clock reads `show_ms` or later."""
    state = await ctl.state()
    return state if state["show"]["now_ms"] >= show_ms else None


async def show_time(ctl: ControllerProcess, at_ms: int, slack_s: float = 30) -> ReadModel:
    """Wait for the show clock to reach `at_ms` (bounded by its wall time plus `slack_s`)."""
    wall = max(0.0, (at_ms - await ctl.now_ms()) / 1000 / ctl.speed)
    return await until(lambda: past(ctl, at_ms), wall + slack_s, f"show time {at_ms}")


async def settled(ctl: ControllerProcess) -> ReadModel:
    """The state once the last take is older than the minimum between takes (a take now is
    the director's, not refused as a double press of the previous one)."""
    async def ready() -> ReadModel | None:
        state = await ctl.state()
        on_air = state["on_air"]
        if on_air and state["show"]["now_ms"] - on_air["since_ms"] > 600 * ctl.speed:
            return state
        return None
    return await until(ready, 10, "the minimum time between takes")


async def back_on_air(ctl: ControllerProcess, watch: ProgramWatch,
                      timeout: float) -> str | None:
    """OBS's program (seen by the drill's own client, not the controller) on the scene the
    controller wants for the on-air segment, and the controller in sync: the scene, or
    None after `timeout`."""
    async def back() -> str | None:
        state = await ctl.state()
        want = state["obs"].get("desired_scene")
        if not state["obs"]["connected"] or not want:
            return None
        return want if await watch.program() == want else None
    try:
        return await until(back, timeout, "OBS back on the on-air segment's scene", 0.05)
    except TimeoutError:
        return None


def wall_of(state: ReadModel, show_ms: int, speed: float) -> float:
    """Rough wall time (s) at which the show clock reads `show_ms`, from one read model."""
    return time.time() - (state["show"]["now_ms"] - show_ms) / 1000 / speed


async def wall_for_show_ms(ctl: ControllerProcess, show_ms: int) -> float:
    """The wall time (s) at which the controller's show clock read `show_ms`: from the best
    of several readings (the shortest round trip bounds the error, NTP-style)."""
    best: tuple[float, float] | None = None
    for _ in range(8):
        t0 = time.time()
        now_ms = await ctl.now_ms()
        t1 = time.time()
        if best is None or t1 - t0 < best[0]:
            best = (t1 - t0, (t0 + t1) / 2 - (now_ms - show_ms) / 1000 / ctl.speed)
    assert best is not None
    return best[1]
