"""Layouts as data: where each guest sits in the program picture.

A layout is a list of boxes in percent of the canvas ({x, y, w, h, z}), one per guest slot,
in the order of the segment's ``guests``. Percent, not pixels, so one layout serves a 720p
and a 1080p program; data, not code, so a show can add its own from config without a
release (VDO.Ninja does the same). Everything here is a pure function.

    boxes = layout_boxes("grid", 4)                   # 2x2
    layouts = with_config({"three-across": [...]})    # built-ins plus the show's own
    rects = [to_pixels(b, 1280, 720) for b in layout_boxes("pip", 2, layouts)]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_GRID = 3  # a 3x3 grid: nine guests is the most a TV picture can show legibly


class LayoutError(ValueError):
    """A layout that is unknown or whose config is malformed (message names the field)."""


@dataclass(frozen=True, slots=True)
class Box:
    """One guest slot in percent of the canvas; higher ``z`` is drawn on top."""

    x: float
    y: float
    w: float
    h: float
    z: int = 0


@dataclass(frozen=True, slots=True)
class Rect:
    """A box in pixels, with even edges so the 4:2:0 chroma planes line up."""

    x: int
    y: int
    w: int
    h: int


BoxesFor = Callable[[int], tuple[Box, ...]]
"""A layout: the boxes for ``count`` guests (a fixed layout ignores the count)."""


def grid(count: int) -> tuple[Box, ...]:
    """Up to 3x3 equal cells, as square as possible; a short last row is centred."""
    count = max(1, min(count, MAX_GRID * MAX_GRID))
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    w, h = 100.0 / cols, 100.0 / rows
    boxes = []
    for i in range(count):
        row, col = divmod(i, cols)
        in_row = min(cols, count - row * cols)
        offset = (cols - in_row) * w / 2
        boxes.append(Box(offset + col * w, row * h, w, h))
    return tuple(boxes)


def _fixed(*boxes: Box) -> BoxesFor:
    return lambda _count: boxes


BUILTIN: Mapping[str, BoxesFor] = {
    "solo": _fixed(Box(0, 0, 100, 100)),
    # two 16:9 pictures side by side, centred vertically (a 16:9 guest fills its box)
    "two-up": _fixed(Box(0, 25, 50, 50), Box(50, 25, 50, 50)),
    # the first guest full frame, the second in a corner on top
    "pip": _fixed(Box(0, 0, 100, 100), Box(66, 62, 30, 30, z=1)),
    "grid": grid,
}


def parse_box(data: Any, where: str) -> Box:
    """A box from config: a mapping with numbers x, y, w, h (percent) and optional int z."""
    if not isinstance(data, Mapping):
        raise LayoutError(f"{where}: a box must be a mapping with x, y, w, h")
    unknown = set(data) - {"x", "y", "w", "h", "z"}
    if unknown:
        raise LayoutError(f"{where}: unknown keys {sorted(unknown)}")
    values: dict[str, float] = {}
    for key in ("x", "y", "w", "h"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise LayoutError(f"{where}.{key}: a number of percent is required")
        values[key] = float(value)
    z = data.get("z", 0)
    if isinstance(z, bool) or not isinstance(z, int):
        raise LayoutError(f"{where}.z: an integer is required")
    box = Box(values["x"], values["y"], values["w"], values["h"], z)
    if box.w <= 0 or box.h <= 0:
        raise LayoutError(f"{where}: w and h must be positive")
    if box.x < 0 or box.y < 0 or box.x + box.w > 100.0001 or box.y + box.h > 100.0001:
        raise LayoutError(f"{where}: the box must lie inside 0..100 percent")
    return box


def with_config(config: Mapping[str, Any] | None,
                base: Mapping[str, BoxesFor] = BUILTIN) -> dict[str, BoxesFor]:
    """The built-in layouts plus (or overridden by) the show's own:
    ``{"three-across": [{"x": 0, "y": 30, "w": 33.33, "h": 40}, ...]}``."""
    layouts = dict(base)
    for name, boxes in (config or {}).items():
        if not isinstance(name, str) or not name:
            raise LayoutError(f"layout name {name!r}: a non-empty string is required")
        if not isinstance(boxes, list | tuple) or not boxes:
            raise LayoutError(f"layouts.{name}: a non-empty list of boxes is required")
        parsed = tuple(parse_box(b, f"layouts.{name}[{i}]") for i, b in enumerate(boxes))
        layouts[name] = _fixed(*parsed)
    return layouts


def layout_boxes(name: str | None, count: int,
                 layouts: Mapping[str, BoxesFor] = BUILTIN) -> tuple[Box, ...]:
    """The boxes for ``count`` guests in layout ``name`` (None: solo, two-up or grid by
    count, as the rundown defaults). Guests beyond the layout's boxes are not shown."""
    if count <= 0:
        return ()
    if name is None:
        name = {1: "solo", 2: "two-up"}.get(count, "grid")
    try:
        boxes_for = layouts[name]
    except KeyError:
        raise LayoutError(f"unknown layout {name!r}; known: {sorted(layouts)}") from None
    return boxes_for(count)[:count]


def _even(value: float) -> int:
    return round(value / 2) * 2


def to_pixels(box: Box, width: int, height: int) -> Rect:
    """The box in pixels on a ``width`` x ``height`` canvas, edges rounded to even numbers
    (a 4:2:0 chroma sample covers 2x2 pixels) and clipped to the canvas."""
    x0, y0 = _even(box.x * width / 100), _even(box.y * height / 100)
    x1 = min(width, _even((box.x + box.w) * width / 100))
    y1 = min(height, _even((box.y + box.h) * height / 100))
    return Rect(x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def draw_order(boxes: tuple[Box, ...]) -> list[int]:
    """Slot indexes from bottom to top: by z, then by slot (stable)."""
    return sorted(range(len(boxes)), key=lambda i: (boxes[i].z, i))


@dataclass(frozen=True, slots=True)
class Program:
    """Who is on air in the program mix, in layout order, and in which layout: the mixer's
    part of ``control.show.desired.Desired`` (``guests``, ``layout``)."""

    guests: tuple[str, ...] = ()
    layout: str | None = None


def placements(program: Program, width: int, height: int,
               layouts: Mapping[str, BoxesFor] = BUILTIN) -> list[tuple[str, Rect]]:
    """(guest, pixel rect) for each guest shown, bottom to top. An unknown layout falls back
    to the default for the count: a typo in a rundown must not take guests off the air
    (the rundown checker reports it before the show)."""
    try:
        boxes = layout_boxes(program.layout, len(program.guests), layouts)
    except LayoutError:
        boxes = layout_boxes(None, len(program.guests), layouts)
    return [(program.guests[i], to_pixels(boxes[i], width, height)) for i in draw_order(boxes)]
