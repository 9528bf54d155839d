"""A guest without a live picture is a named slate: never black, never a frozen face."""

from __future__ import annotations

import numpy as np
import pytest
from guests.support import COLOURS, close, is_black, sample, solid

from control.guests.layouts import Program, layout_boxes, to_pixels
from control.guests.slate import GuestName, SlateMaker
from control.guests.video import Compositor, LatestFrame, VideoFrame

NAMES = {"zhu": GuestName("Zhu Dingzhen", "朱定真"), "gou": GuestName("Gou Lijun", "苟利军")}


def box_planes(picture: VideoFrame, layout: str, count: int, slot: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = to_pixels(layout_boxes(layout, count)[slot], picture.width, picture.height)
    return (picture.y[r.y:r.y + r.h, r.x:r.x + r.w],
            picture.u[r.y // 2:(r.y + r.h) // 2, r.x // 2:(r.x + r.w) // 2],
            picture.v[r.y // 2:(r.y + r.h) // 2, r.x // 2:(r.x + r.w) // 2])


def assert_slate(planes: tuple[np.ndarray, ...], not_colour: tuple[int, int, int]) -> None:
    y, u, v = planes
    mean = (int(y.mean()), int(u.mean()), int(v.mean()))
    assert not is_black(mean, tol=12), f"the box is black: {mean}"
    assert not close(mean, not_colour, tol=12), f"the box still shows the last frame: {mean}"
    assert (y == 16).mean() < 0.5, "mostly black"


def test_a_guest_that_never_connected_is_a_slate() -> None:
    comp = Compositor(names=NAMES)
    picture = comp.render(Program(("red", "zhu"), "two-up"), {"red": solid("red")}, now=0.0)
    assert_slate(box_planes(picture, "two-up", 2, 1), COLOURS["red"])
    assert close(sample(picture, 320, 360), COLOURS["red"])
    assert comp.slated == ("zhu",)


def test_a_stale_guest_turns_into_a_slate_not_a_frozen_face() -> None:
    holder = LatestFrame()
    holder.put(solid("green", captured=100.0))
    comp = Compositor(names=NAMES, stale_after=1.0)
    program = Program(("zhu",), "solo")
    fresh = comp.render(program, {"zhu": holder.latest()}, now=100.9)
    assert close(sample(fresh, 640, 360), COLOURS["green"])
    assert comp.slated == ()
    stale = comp.render(program, {"zhu": holder.latest()}, now=101.2)
    assert_slate(box_planes(stale, "solo", 1, 0), COLOURS["green"])
    assert comp.slated == ("zhu",)
    holder.put(solid("green", captured=101.3))  # the guest is back
    assert close(sample(comp.render(program, {"zhu": holder.latest()}, now=101.3), 640, 360),
                 COLOURS["green"])


def test_the_slate_names_the_guest() -> None:
    pytest.importorskip("PIL")
    maker = SlateMaker()
    zhu = maker.render(NAMES["zhu"], 640, 360)
    gou = maker.render(NAMES["gou"], 640, 360)
    latin_only = maker.render(GuestName("Zhu Dingzhen"), 640, 360)
    assert zhu[0].max() > 200  # white text on the card
    assert not np.array_equal(zhu[0], gou[0])  # a different name, a different picture
    assert not np.array_equal(zhu[0], latin_only[0])  # the Chinese name is drawn
    assert maker.render(NAMES["zhu"], 640, 360) is zhu  # drawn once, then cached


def test_the_slate_without_pillow_is_still_not_black() -> None:
    rgb = SlateMaker._pattern(320, 180)
    assert rgb.mean() > 40


def test_latest_frame_keeps_only_the_newest() -> None:
    holder = LatestFrame()
    assert holder.latest() is None
    frames = [solid("red", 64, 36, captured=float(i)) for i in range(100)]
    for frame in frames:
        holder.put(frame)
    assert holder.latest() is frames[-1] and holder.received == 100
    holder.clear()
    assert holder.latest() is None
