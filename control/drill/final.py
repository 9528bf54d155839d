"""The final hard start, measured from outside: when OBS's program changed (the drill's own
obs-websocket client) against the wall time of the target on the controller's show clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .probes import past, wall_for_show_ms, wall_of
from .process import ControllerProcess
from .readmodel import journal_events
from .wait import until
from .watch import ProgramWatch


async def final_hard_start(ctl: ControllerProcess, watch: ProgramWatch, seg_id: str,
                           target_ms: int, fps: float, after_s: float,
                           say: Callable[[str], None] = print) -> dict[str, Any]:
    """Wait for the hard start `seg_id` at `target_ms` (show ms) and `after_s` wall seconds
    of show after it; the report's figures of where OBS's program changed."""
    state = await ctl.state()
    scene = next(s["scene"] for s in state["segments"] if s["id"] == seg_id)
    wall = max(0.0, (target_ms - state["show"]["now_ms"]) / 1000 / ctl.speed)
    say(f"final hard start {seg_id} in {wall:.1f} s wall")
    near = wall_of(state, target_ms, ctl.speed) - 5  # well before the target

    async def landed() -> bool:
        return any(name == scene and at >= near for at, name in watch.changes)
    await until(landed, wall + 20, f"OBS on {scene!r} for {seg_id}")
    after = await until(lambda: past(ctl, target_ms + round(after_s * 1000 * ctl.speed)),
                        after_s + 20, "the show after the final hard start")
    # the show clock's wall mapping from the best of several readings: robust to how long
    # each request took
    target_wall = await wall_for_show_ms(ctl, target_ms)
    arrival = min(at for at, name in watch.changes if name == scene and at >= target_wall - 5)
    started = [t for t in watch.transitions if target_wall - 1 <= t <= arrival]
    error_ms = ((min(started) if started else arrival) - target_wall) * 1000
    frame_ms = 1000 / fps
    take = next((e for e in journal_events(ctl.journal()) if e["kind"] == "take"
                 and e["segment_id"] == seg_id), None)
    return {"segment": seg_id, "scene": scene, "target_ms": target_ms,
            "error_wall_ms": round(error_ms, 1),
            "error_show_ms": round(error_ms * ctl.speed, 1),
            "frame_ms": frame_ms, "within_one_frame": abs(error_ms) <= frame_ms,
            "journal_take_at_target": bool(take and take["at_ms"] == target_ms
                                           and take["source"] == "hard-start"),
            "on_air_after": after["on_air"]["id"] if after.get("on_air") else None}
