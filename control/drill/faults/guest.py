"""What the guest faults share: waiting for a guest on air with enough of its segment left,
and the guest's box in OBS's Program Feed (what the mixer sent and OBS decoded)."""

from __future__ import annotations

import base64
import io
from typing import Any

from ...guests.layouts import layout_boxes
from ...obs.preflight import FEED_SOURCE
from ..readmodel import GuestStatus, ReadModel, guest_status, on_air_segment, segment_span
from ..result import DrillError
from ..wait import until
from ..watch import ProgramWatch
from .base import Fault

SHOT_W, SHOT_H = 320, 180
Box = tuple[float, float, float, float]  # x, y, w, h in percent of the picture


class GuestFault(Fault):
    """A fault that hits one guest while it is on air with `need_s` wall seconds of its
    segment left (so the fault and its recovery happen on air)."""

    needs_guests = True
    need_s: float

    def guest(self) -> str:
        raise NotImplementedError

    async def prepare(self) -> ReadModel:
        timeout = max(5.0, await self.ctx.wall_left_s() - 5)
        return await self.wait_on_air(self.guest(), self.need_s, timeout)

    async def wait_on_air(self, guest: str, need_s: float, timeout: float) -> ReadModel:
        """The read model once `guest` is on air with `need_s` wall seconds of its segment
        left. DrillError at once when no segment still to come puts it on air that long."""
        ctl, speed = self.ctx.ctl, self.ctx.speed
        need_ms = need_s * 1000 * speed
        state = await ctl.state()
        if _longest_ahead_ms(state, guest) < need_ms:
            raise DrillError(f"no segment still to come puts {guest} on air for {need_s:g} s "
                             f"of wall time at x{speed:g}: lower --speed")

        async def ready() -> ReadModel | None:
            state = await ctl.state()
            seg = on_air_segment(state)
            if seg is None or guest not in seg["guests"]:
                return None
            if guest_status(state, guest) != GuestStatus.ON_AIR:
                return None
            span = segment_span(state, seg)
            return state if span and span[1] - state["show"]["now_ms"] >= need_ms else None
        return await until(ready, timeout, f"{guest} on air with {need_s:g} s left", 0.05)


def _longest_ahead_ms(state: ReadModel, guest: str) -> int:
    """The most show time any segment from now on keeps `guest` on air."""
    now = state["show"]["now_ms"]
    spans = (segment_span(state, s) for s in state["segments"] if guest in s["guests"])
    return max((end - max(start, now) for start, end in filter(None, spans)), default=0)


def box_of(segment: dict[str, Any], layout: str | None, guest: str) -> Box:
    """The guest's box in the program picture, in percent (x, y, w, h)."""
    boxes = layout_boxes(layout, len(segment["guests"]))
    box = boxes[segment["guests"].index(guest)]
    return (box.x, box.y, box.w, box.h)


async def box_shot(watch: ProgramWatch, box: Box) -> Any:
    """The middle of the guest's box in OBS's Program Feed source, as an int16 RGB array;
    None if OBS cannot answer."""
    import numpy as np
    from PIL import Image

    if not watch.client.connected:
        return None
    answer = await watch.client.call("GetSourceScreenshot", {
        "sourceName": FEED_SOURCE, "imageFormat": "png", "imageWidth": SHOT_W,
        "imageHeight": SHOT_H}, timeout=3.0)
    png = base64.b64decode(answer["imageData"].split(",", 1)[1])
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)
    x, y, w, h = (v / 100 for v in box)
    x0, x1 = int((x + w / 4) * SHOT_W), int((x + 3 * w / 4) * SHOT_W)
    y0, y1 = int((y + h / 4) * SHOT_H), int((y + 3 * h / 4) * SHOT_H)
    return img[y0:y1, x0:x1]


async def feed_status(watch: ProgramWatch) -> dict[str, Any] | None:
    """OBS's word on its Program Feed source (state, cursor), for a report that says why
    a picture was not seen; None if OBS cannot answer."""
    try:
        return await watch.client.call("GetMediaInputStatus", {"inputName": FEED_SOURCE},
                                       timeout=3.0)
    except Exception:  # a diagnosis only: OBS frozen or gone is said by None
        return None


def differs(a: Any, b: Any) -> float:
    """Mean absolute difference of two pictures (0..255)."""
    import numpy as np
    return float(np.abs(a - b).mean())
