"""The graphics as the running show holds them: template pages for OBS browser sources
(/overlays/*), the director's graphics API (/api/overlays/*), the rundown's cues through the
runner."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from control.config import Settings
from control.overlays import OverlayHub, cue_defaults, install, read_key
from control.runner import Change
from control.web.auth import Authorize


@dataclass(slots=True)
class Overlays:
    hub: OverlayHub
    read_key: str | None  # what the pages need in their URL (read only)

    def follow(self, change: Change) -> None:
        """The rundown's cues as this step's desired state has them."""
        self.hub.want(change.desired.overlays, change.now,
                      shift_ms=change.state.rundown.shift_ms,
                      defaults=cue_defaults(change.state))

    def install(self, app: web.Application, authorize: Authorize) -> None:
        """The pages, their websocket and the API on `app` (whose guard lists the API's
        routes); `authorize`: the API guard's rule, for the pages' own credential check."""
        install(app, self.hub, authorize=authorize, read_key=lambda: self.read_key)


def make_overlays(settings: Settings) -> Overlays:
    return Overlays(OverlayHub(delay_ms=settings.overlays_delay_ms),
                    read_key(settings.director_token, settings.producer_token,
                             settings.viewer_token))
