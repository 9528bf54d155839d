"""Layouts as data: every layout puts every guest in its box, in pixels and in the picture."""

from __future__ import annotations

import pytest
from guests.support import COLOURS, GUESTS, close, is_black, sample, solid

from control.guests.layouts import (
    BUILTIN,
    Box,
    LayoutError,
    Program,
    Rect,
    grid,
    layout_boxes,
    placements,
    to_pixels,
    with_config,
)
from control.guests.video import Canvas, Compositor

CASES = [("solo", 1), ("two-up", 2), ("pip", 2)] + [("grid", n) for n in range(1, 10)]


def centre(rect: Rect) -> tuple[int, int]:
    return rect.x + rect.w // 2, rect.y + rect.h // 2


@pytest.mark.parametrize(("layout", "count"), CASES)
@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_each_guest_is_in_its_box(layout: str, count: int, size: tuple[int, int]) -> None:
    width, height = size
    guests = GUESTS[:count]
    frames = {g: solid(g, 640, 360, captured=10.0) for g in guests}
    program = Program(guests, layout)
    picture = Compositor(Canvas(width, height)).render(program, frames, now=10.0)
    assert (picture.width, picture.height) == size
    boxes = layout_boxes(layout, count)
    for guest, box in zip(guests, boxes, strict=True):
        rect = to_pixels(box, width, height)
        x, y = centre(rect)
        assert close(sample(picture, x, y), COLOURS[guest]), (guest, rect)


def test_grid_shapes() -> None:
    assert len(grid(4)) == 4 and {b.w for b in grid(4)} == {50.0}
    assert {round(b.w, 3) for b in grid(9)} == {33.333}
    assert len(grid(12)) == 9  # 3x3 at most
    three = grid(3)  # 2x2 with the short last row centred
    assert (three[2].x, three[2].y) == (25.0, 50.0)


def test_pip_is_drawn_on_top() -> None:
    frames = {"red": solid("red"), "blue": solid("blue")}
    picture = Compositor().render(Program(("red", "blue"), "pip"), frames, now=0.0)
    small = to_pixels(BUILTIN["pip"](2)[1], 1280, 720)
    assert close(sample(picture, *centre(small)), COLOURS["blue"])
    assert close(sample(picture, 100, 100), COLOURS["red"])
    # the order of drawing is by z, not by slot: the small one on top even if listed first
    layouts = with_config({"pip-first": [{"x": 66, "y": 62, "w": 30, "h": 30, "z": 1},
                                         {"x": 0, "y": 0, "w": 100, "h": 100}]})
    picture = Compositor(layouts=layouts).render(Program(("blue", "red"), "pip-first"),
                                                 frames, now=0.0)
    assert close(sample(picture, *centre(small)), COLOURS["blue"])


def test_letterbox_bars_are_black() -> None:
    four_three = solid("green", 640, 480)        # pillarboxed in a 16:9 box
    portrait = solid("magenta", 360, 640)        # a phone held upright
    wide = solid("cyan", 1280, 360)              # 32:9: letterboxed top and bottom
    canvas = Canvas(1280, 720)
    for frame in (four_three, portrait, wide):
        picture = Compositor(canvas).render(Program(("g",), "solo"), {"g": frame}, now=0.0)
        assert not is_black(sample(picture, 640, 360))
        if frame.width / frame.height < 16 / 9:
            assert is_black(sample(picture, 4, 360)) and is_black(sample(picture, 1274, 360))
        else:
            assert is_black(sample(picture, 640, 4)) and is_black(sample(picture, 640, 714))
    # the pip box's own bars are black too, over the full-frame guest
    picture = Compositor(canvas).render(Program(("red", "g"), "pip"),
                                        {"red": solid("red"), "g": four_three}, now=0.0)
    small = to_pixels(BUILTIN["pip"](2)[1], 1280, 720)
    assert is_black(sample(picture, small.x + 4, small.y + small.h // 2))
    assert close(sample(picture, *centre(small)), COLOURS["green"])


def test_layouts_from_config() -> None:
    layouts = with_config({"three-across": [{"x": 0, "y": 30, "w": 33.33, "h": 40},
                                            {"x": 33.33, "y": 30, "w": 33.33, "h": 40},
                                            {"x": 66.66, "y": 30, "w": 33.33, "h": 40}]})
    assert set(BUILTIN) < set(layouts)
    guests = ("red", "green", "blue")
    frames = {g: solid(g) for g in guests}
    picture = Compositor(layouts=layouts).render(Program(guests, "three-across"), frames, 0.0)
    for guest, (_, rect) in zip(guests, placements(Program(guests, "three-across"), 1280, 720,
                                                   layouts), strict=True):
        assert close(sample(picture, *centre(rect)), COLOURS[guest])
    assert is_black(sample(picture, 640, 50))  # outside every box: the background


@pytest.mark.parametrize(("config", "message"), [
    ({"x": [{"x": 0, "y": 0, "w": 50}]}, "layouts.x[0].h: a number"),
    ({"x": [{"x": 60, "y": 0, "w": 50, "h": 10}]}, "inside 0..100"),
    ({"x": [{"x": 0, "y": 0, "w": 50, "h": 10, "r": 1}]}, "unknown keys ['r']"),
    ({"x": []}, "non-empty list"),
    ({"x": [{"x": 0, "y": 0, "w": 50, "h": 10, "z": 1.5}]}, "layouts.x[0].z"),
])
def test_bad_config_is_refused_with_the_field(config: dict, message: str) -> None:
    with pytest.raises(LayoutError, match=message.replace("[", r"\[").replace("]", r"\]")
                       .replace(".", r"\.")):
        with_config(config)


def test_defaults_and_unknown_layouts() -> None:
    assert layout_boxes(None, 1) == (Box(0, 0, 100, 100),)
    assert len(layout_boxes(None, 2)) == 2 and len(layout_boxes(None, 5)) == 5
    assert layout_boxes("solo", 3) == (Box(0, 0, 100, 100),)  # one box: the first guest
    with pytest.raises(LayoutError, match="unknown layout 'nope'"):
        layout_boxes("nope", 1)
    # on air an unknown name falls back to the default rather than dropping guests
    assert len(placements(Program(("a", "b"), "nope"), 1280, 720)) == 2


def test_pixel_boxes_have_even_edges() -> None:
    for count in range(1, 10):
        for box in grid(count):
            r = to_pixels(box, 1280, 720)
            assert r.x % 2 == r.y % 2 == r.w % 2 == r.h % 2 == 0
            assert r.x + r.w <= 1280 and r.y + r.h <= 720
