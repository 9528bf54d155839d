"""The controller in a terminal: a live status line and single-key commands.

Usable before (and beside) the browser console: space takes, h holds, p p panics.
Without a terminal (a service, CI) it logs one line per change instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import termios
import tty
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from .show import commands as C
from .show.durations import format_clock
from .show.engine import Refused

KEYS_HELP = "space take · h hold · e +30s · a arm · m mode · p p panic · q quit"
DAY_S = 86_400


def signed_span(seconds: float) -> str:
    """A long signed span as the console writes it (format.js `signedSpan`): days split off,
    then h:mm:ss, e.g. ``+1067 d 15:48:29``. A rehearsal moved years from the show's date
    reads at a glance, where a count of seconds does not."""
    total = int(abs(seconds) + 0.5)  # half a second up, as the console's Math.round
    days, rest = divmod(total, DAY_S)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
    sign = "-" if seconds < 0 else "+"
    return f"{sign}{days} d {clock}" if days else f"{sign}{clock}"


def status_line(model: dict[str, Any]) -> str:
    """One line a director can read at a glance."""
    show, on_air, nxt = model["show"], model["on_air"], model["next"]
    parts = []
    if show["panic"]:
        parts.append("PANIC (safe scene)")
    if on_air:
        left = on_air["remaining_s"] or 0
        parts.append(f"ON AIR {on_air['id']} {'-' if left < 0 else ''}"
                     f"{format_clock(abs(int(left * 1000)))} left")
    elif show["ended"]:
        parts.append("show ended")
    else:
        parts.append("not started")
    if nxt:
        parts.append(f"NEXT {nxt['id']}")
    if model["hard_starts"]:
        h = model["hard_starts"][0]
        cut = h["shortfall_s"] or 0
        parts.append(f"{h['id']} in {format_clock(int(h['countdown_s'] * 1000))}"
                     + (f" (cut {cut:.0f}s)" if cut > 0 else f" (fill {-cut:.0f}s)" if cut < 0
                        else ""))
    obs = model.get("obs") or {}
    parts.append(f"OBS {'up ' + str(obs.get('program_scene')) if obs.get('connected') else 'DOWN'}")
    mode = show["mode"] + ("" if show["armed"] else ", DISARMED")
    if show["shift_s"]:
        mode += f", clock shifted {signed_span(show['shift_s'])}"
    if show.get("speed", 1) != 1:
        mode += f", COMPRESSED x{show['speed']:g}"
    parts.append(mode)
    return " | ".join(parts)


@contextlib.contextmanager
def _cbreak(fd: int) -> Iterator[None]:
    old = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


async def run_terminal(read_model: Callable[[], dict[str, Any]],
                       command: Callable[[C.Command], Awaitable[None]],
                       stop: asyncio.Event) -> None:
    """Until `stop` is set (or q is pressed): redraw every half second, act on keys."""
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if not interactive:
        last = ""
        while not stop.is_set():
            line = status_line(read_model())
            if line.split(" left")[0] != last.split(" left")[0]:
                print(line, flush=True)
            last = line
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
        return
    loop = asyncio.get_running_loop()
    keys: asyncio.Queue[str] = asyncio.Queue()
    fd = sys.stdin.fileno()
    message = KEYS_HELP
    panic_armed_until = 0.0
    with _cbreak(fd):
        loop.add_reader(fd, lambda: keys.put_nowait(sys.stdin.read(1)))
        try:
            while not stop.is_set():
                model = read_model()
                sys.stdout.write("\r\x1b[2K" + status_line(model) + "  [" + message + "]")
                sys.stdout.flush()
                try:
                    key = await asyncio.wait_for(keys.get(), 0.5)
                except TimeoutError:
                    continue
                cmd: C.Command | None = None
                if key == "q":
                    stop.set()
                elif key == " ":
                    cmd = C.Take(source="keys", by="terminal")
                elif key == "h":
                    cmd = C.Hold(not model["show"]["held"], by="terminal")
                elif key == "e":
                    cmd = C.Extend(30_000, by="terminal")
                elif key == "a":
                    cmd = C.Arm(not model["show"]["armed"], by="terminal")
                elif key == "m":
                    mode = "live" if model["show"]["mode"] == "rehearsal" else "rehearsal"
                    cmd = C.SetMode(mode, by="terminal")  # type: ignore[arg-type]
                elif key == "p":
                    if loop.time() < panic_armed_until:
                        cmd = C.Panic(by="terminal")
                    else:
                        panic_armed_until = loop.time() + 2.0
                        message = "press p again within 2 s to PANIC"
                        continue
                if cmd is not None:
                    try:
                        await command(cmd)
                        message = KEYS_HELP
                    except Refused as exc:
                        message = str(exc)
        finally:
            loop.remove_reader(fd)
            sys.stdout.write("\n")
