"""Is a connected guest really still there? Pure decisions, the clock passed in.

A guest whose browser dies sends no goodbye: its peer connection only fails when ICE
consent runs out (~30 s), and until then the program would show its last picture (and the
compositor's ``stale_after`` slates it only after a second). Two quicker signs say it is
gone, and either one slates the guest at once:

- its media stops: no audio or video frame for ``gap_s`` (0.4 s) while it was flowing
  (audio alone arrives every 20 ms, so a camera at a low frame rate is no false alarm), or
  none at all ``first_s`` (2 s) after its peer connection connected;
- its guest page closes: the page's websocket was open and the last one closed (a crashed
  renderer or a closed tab), whether or not its media had begun: a tab closed just after
  joining, before its first frame, is gone too (it used to stay "ready" until ICE consent
  ran out). A page only loses its websocket (a network blip) while the media goes on: the
  guest comes back once media has kept flowing ``grace_s`` after the close (frames still in
  flight at the moment of a crash do not bring it back).

The slot is kept either way: the session stays until the peer connection ends, and a rejoin
with the same link starts afresh (``start``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lost = Literal["media", "page"]


@dataclass(slots=True)
class _Guest:
    last_media: float | None = None  # the newest frame's arrival; None: none yet
    connected_at: float | None = None  # the peer connection connected; None: not yet
    lost: Lost | None = None
    lost_at: float = 0.0
    pages: int = 0  # the guest's pages with an open websocket


class Liveness:
    """Per guest: live, or lost (and why). ``media``/``pages``/``check`` report what changed;
    the gateway acts on it (slate, status, a push to the consoles)."""

    def __init__(self, gap_s: float = 0.4, grace_s: float = 1.0, first_s: float = 2.0) -> None:
        self.gap_s = gap_s
        self.grace_s = grace_s
        self.first_s = first_s
        self._guests: dict[str, _Guest] = {}

    def start(self, guest: str) -> None:
        """A new session: live, no media yet (the gap clock starts with the first frame).
        Open pages are kept: the page that joins is usually open already."""
        pages = self._guests[guest].pages if guest in self._guests else 0
        self._guests[guest] = _Guest(pages=pages)

    def forget(self, guest: str) -> None:
        """The session ended (its pages may stay open and count on)."""
        state = self._guests.get(guest)
        if state is not None:
            self._guests[guest] = _Guest(pages=state.pages)

    def connected(self, guest: str, now: float) -> None:
        """The session's peer connection is up: its first frame is due within ``first_s``."""
        self._guests.setdefault(guest, _Guest()).connected_at = now

    def live(self, guest: str) -> bool:
        state = self._guests.get(guest)
        return state is None or state.lost is None

    def lost(self, guest: str) -> Lost | None:
        state = self._guests.get(guest)
        return None if state is None else state.lost

    def media(self, guest: str, now: float) -> bool:
        """A frame from ``guest`` arrived. True when this brings a lost guest back."""
        state = self._guests.setdefault(guest, _Guest())
        state.last_media = now
        if state.lost == "media" or (state.lost == "page" and now - state.lost_at >= self.grace_s):
            state.lost = None
            return True
        return False

    def pages(self, guest: str, count: int, now: float) -> bool:
        """The guest's open pages are now ``count``. True when this loses the guest (its
        last page closed; the caller acts only while the guest has a session). A page
        opening brings no one back: media does (``media``), so a dead session never shows
        as live for a moment."""
        state = self._guests.setdefault(guest, _Guest())
        before, state.pages = state.pages, count
        if count == 0 and before > 0 and state.lost is None:
            state.lost, state.lost_at = "page", now
            return True
        return False

    def stalled(self, seconds: float) -> None:
        """The event loop was busy elsewhere this long: no frame could be taken in
        meanwhile, so the gap clock does not count it (a busy controller slated every
        guest for a frame, and showed them disconnected, though their media flowed)."""
        for state in self._guests.values():
            if state.last_media is not None:
                state.last_media += seconds
            elif state.connected_at is not None:  # the first frame's wait too
                state.connected_at += seconds

    def check(self, now: float) -> list[str]:
        """The guests lost now because their media stopped ``gap_s`` ago, or never came
        ``first_s`` after their connection connected."""
        out = []
        for guest, state in self._guests.items():
            if state.lost is not None:
                continue
            if state.last_media is not None:
                silent = now - state.last_media > self.gap_s
            else:
                silent = state.connected_at is not None and now - state.connected_at > self.first_s
            if silent:
                state.lost, state.lost_at = "media", now
                out.append(guest)
        return out
