"""Synthetic guests for the mixer tests: a distinct colour (and tone) per guest."""

from __future__ import annotations

import base64
import io
import socket
from typing import Any

import numpy as np
from helpers import until

from control.guests.slate import rgb_to_yuv420
from control.guests.video import BLACK, VideoFrame


def yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    y, u, v = rgb_to_yuv420(np.array([[rgb, rgb], [rgb, rgb]], np.uint8))
    return int(y[0, 0]), int(u[0, 0]), int(v[0, 0])


RGB = {
    "red": (230, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 230),
    "yellow": (235, 220, 30), "magenta": (220, 40, 220), "cyan": (30, 220, 220),
    "orange": (250, 140, 20), "purple": (120, 40, 170), "white": (240, 240, 240),
}
COLOURS = {name: yuv(rgb) for name, rgb in RGB.items()}
GUESTS = tuple(COLOURS)  # guest ids are the colour names


def solid(guest: str, width: int = 1280, height: int = 720, captured: float = 0.0
          ) -> VideoFrame:
    return VideoFrame.blank(width, height, COLOURS[guest], captured)


def sample(frame: VideoFrame, x: int, y: int) -> tuple[int, int, int]:
    """(Y, U, V) at pixel (x, y): U and V from the chroma sample covering it."""
    return int(frame.y[y, x]), int(frame.u[y // 2, x // 2]), int(frame.v[y // 2, x // 2])


def close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 4) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b, strict=True))


def is_black(colour: tuple[int, int, int], tol: int = 4) -> bool:
    return close(colour, BLACK, tol)


def tone(freq: float, n: int, amplitude: float = 0.1, channels: int = 2,
         start: int = 0) -> np.ndarray:
    t = (np.arange(n) + start) / 48_000
    mono = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(mono[:, None], channels, axis=1)


def amplitude_at(block: np.ndarray, freq: float) -> float:
    """The amplitude of the sine at ``freq`` in channel 0 (a DFT bin: the tests use
    frequencies with whole cycles in the block, so there is no leakage between tones)."""
    x = block[:, 0].astype(np.float64)
    t = np.arange(len(x)) / 48_000
    return float(2 * abs(np.sum(x * np.exp(-2j * np.pi * freq * t))) / len(x))


async def page_until(page: Any, expression: str, timeout: float, what: str) -> Any:
    """Poll a JavaScript expression in ``page`` until it is truthy. Not Playwright's
    ``wait_for_function``: when its first check fails it polls by evaluating the string in
    the page, which the guest page's Content-Security-Policy (no 'unsafe-eval') refuses, so
    it failed whenever the page's script was still loading (a busy machine)."""
    return await until(lambda: page.evaluate(expression), timeout, what, interval=0.05)


SHOT_W, SHOT_H = 320, 180


async def shot(client: Any, source: str) -> np.ndarray:
    """The middle of OBS's screenshot of ``source`` (the guest's box in a full-frame layout),
    RGB as int16 (Pillow: the test module skips itself without it)."""
    from PIL import Image

    answer = await client.call("GetSourceScreenshot", {
        "sourceName": source, "imageFormat": "png", "imageWidth": SHOT_W,
        "imageHeight": SHOT_H})
    png = base64.b64decode(answer["imageData"].split(",", 1)[1])
    box = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)
    return box[SHOT_H // 4: 3 * SHOT_H // 4, SHOT_W // 4: 3 * SHOT_W // 4]


def differs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
