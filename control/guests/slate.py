"""Named slates: what a guest's box shows while there is no live picture of them.

A black box on air looks like a fault, and a frozen face looks like a guest who stopped
talking; a card with the guest's name and "connecting…" tells the viewer and the director
exactly what is going on. Text is drawn with Pillow in a CJK font (Noto Sans CJK SC, from
Debian's fonts-noto-cjk) so the Chinese name renders; without Pillow the card is still a
clearly non-black pattern, only without text.

Rendering costs a few milliseconds, so each (name, size) is drawn once and kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

try:  # optional: the slate is text-less without it
    from PIL import Image, ImageDraw, ImageFont
except ImportError:  # pragma: no cover - exercised only where Pillow is missing
    Image = ImageDraw = ImageFont = None  # type: ignore[assignment]

# (path, face index): the first that exists is used. Index 2 of the CJK collection is the
# Simplified Chinese face (glyph forms as read in mainland China).
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
)
BACKGROUND = (24, 48, 104)   # deep blue: unmistakably not black, calm on air
ACCENT = (214, 166, 58)      # a gold rule under the name
TEXT = (255, 255, 255)
SUBTLE = (200, 210, 230)


@dataclass(frozen=True, slots=True)
class GuestName:
    """How the slate names a guest (the rundown roster's name and name_zh)."""

    name: str
    name_zh: str | None = None


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB (h, w, 3) uint8 → limited-range BT.709 Y (h, w), U and V (h/2, w/2)."""
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 16 + (0.2126 * r + 0.7152 * g + 0.0722 * b) * (219 / 255)
    u = 128 + (-0.1146 * r - 0.3854 * g + 0.5 * b) * (224 / 255)
    v = 128 + (0.5 * r - 0.4542 * g - 0.0458 * b) * (224 / 255)

    def sub(p: np.ndarray) -> np.ndarray:
        return (p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2]) / 4

    def u8(p: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(p), 0, 255).astype(np.uint8)

    return u8(y), u8(sub(u)), u8(sub(v))


def find_font(candidates: Sequence[tuple[str, int]] = FONT_CANDIDATES) -> tuple[str, int] | None:
    for path, index in candidates:
        if Path(path).is_file():
            return path, index
    return None


class SlateMaker:
    """Draws and caches slates. ``status`` texts are the show's wording (English, Chinese)."""

    def __init__(self, *, status: str = "connecting…", status_zh: str | None = "连接中…",
                 font: tuple[str, int] | None = None, cache_size: int = 64) -> None:
        self.status = status
        self.status_zh = status_zh
        self.font = font or find_font()
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Any, ...], tuple[np.ndarray, ...]] = OrderedDict()

    @property
    def has_text(self) -> bool:
        return Image is not None

    def render(self, name: GuestName, width: int, height: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Y, U, V planes of the slate for ``name`` at ``width`` x ``height`` (even)."""
        key = (name, width, height)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit  # type: ignore[return-value]
        rgb = self._draw(name, width, height) if self.has_text else self._pattern(width, height)
        planes = rgb_to_yuv420(rgb)
        for plane in planes:
            plane.flags.writeable = False  # shared by every frame that shows it
        self._cache[key] = planes
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return planes

    def _font(self, size: int) -> Any:
        if self.font is not None:
            try:
                return ImageFont.truetype(self.font[0], size, index=self.font[1])
            except OSError:
                pass
        return ImageFont.load_default(size)

    def _fitted(self, draw: Any, text: str, size: int, max_w: int) -> tuple[Any, int, int]:
        """The font at ``size`` or smaller so that ``text`` fits ``max_w``; its box."""
        while True:
            font = self._font(size)
            left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
            if right - left <= max_w or size <= 8:
                return font, right - left, bottom - top
            size = max(8, int(size * max_w / (right - left)))

    def _draw(self, name: GuestName, width: int, height: int) -> np.ndarray:
        image = Image.new("RGB", (width, height), BACKGROUND)
        draw = ImageDraw.Draw(image)
        big = max(10, height // 9)
        small = max(8, height // 16)
        lines: list[tuple[str, int, tuple[int, int, int]]] = [(name.name, big, TEXT)]
        if name.name_zh:
            lines.append((name.name_zh, big, TEXT))
        status = self.status if not self.status_zh else f"{self.status}  {self.status_zh}"
        lines.append((status, small, SUBTLE))
        laid = []
        for text, size, colour in lines:
            font, w, h = self._fitted(draw, text, size, int(width * 0.9))
            laid.append((text, font, w, h, colour))
        gap = max(2, height // 40)
        total = sum(h for *_, h, _ in laid) + gap * (len(laid) + 1)
        y = (height - total) // 2
        for i, (text, font, w, h, colour) in enumerate(laid):
            if i == len(laid) - 1:  # a gold rule between the name and the status
                rule_w = min(width // 3, max(w, width // 6))
                draw.rectangle([(width - rule_w) // 2, y, (width + rule_w) // 2,
                                y + max(1, gap // 3)], fill=ACCENT)
                y += gap
            left, top, *_ = draw.textbbox((0, 0), text, font=font)
            draw.text(((width - w) // 2 - left, y - top), text, font=font, fill=colour)
            y += h + gap
        return np.asarray(image, dtype=np.uint8)

    @staticmethod
    def _pattern(width: int, height: int) -> np.ndarray:
        """Without Pillow: the slate colours in diagonal bands, never black, never a face."""
        rgb = np.empty((height, width, 3), np.uint8)
        rgb[:] = BACKGROUND
        yy, xx = np.mgrid[0:height, 0:width]
        bands = ((xx + yy) // max(8, height // 12)) % 2 == 0
        rgb[bands] = ACCENT
        return rgb
