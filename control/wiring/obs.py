"""The OBS link as the running show holds it: the client, the desired-state sync, and what the
read model says of them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from control.config import Settings
from control.obs.client import ObsClient
from control.obs.errors import ObsError
from control.obs.sync import ObsSync
from control.runner import Change
from control.show.readmodel import ObsView
from control.web.port import Output, OutputFailed

NOT_ANSWERING_AFTER_S = 2.0  # connected but not matching the show this long (no reason known)


class NotAnswering:
    """How long OBS has been connected but not matching the show with no reason given (a
    frozen OBS keeps its socket open: the link looks up while nothing is applied).

    LEFT HERE FOR NOW: it moves into the OBS sync (`ObsStatus.not_answering_s`), which knows
    when a batch went unanswered; then `ObsLink.view` reads it from the status instead."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._since: float | None = None  # monotonic s: OBS not matching the show

    def seconds(self, obs: ObsView) -> float | None:
        """Seconds past the threshold, or None (in sync, down, or a reason is known)."""
        if not obs.get("connected") or obs.get("in_sync") or obs.get("alarms") \
                or obs.get("manual_override"):
            self._since = None
            return None
        now = self._clock()
        if self._since is None:
            self._since = now
        stuck = now - self._since
        return stuck if stuck >= NOT_ANSWERING_AFTER_S else None


@dataclass(slots=True)
class ObsLink:
    """The obs-websocket client and the sync that applies the desired state through it."""

    client: ObsClient
    sync: ObsSync
    not_answering: NotAnswering = field(default_factory=NotAnswering)

    def follow(self, change: Change) -> None:
        """OBS is told what this step's desired state says (the sync diffs and sends one batch)."""
        self.sync.want(change.desired)

    def view(self) -> ObsView:
        """The read model's `obs`: the sync's status and the connection's."""
        obs = self.sync.status().to_json()
        if self.client.fatal_error is not None:  # wrong password, OBS too old: no retrying
            obs["last_error"] = str(self.client.fatal_error)  # (its alarm: sync.status())
        obs["url"] = self.client.url
        obs["connection_attempts"] = self.client.connection_attempts
        return cast(ObsView, obs)

    def lead(self, settings: Settings, speed: float) -> Callable[[], int | None]:
        """The take lead (show ms): the configured one, else the sync's bounded estimate
        (control/obs/lead.py: never more than one OBS frame, so a busy moment that inflated
        the measured latency cannot send a hard start early)."""
        def lead() -> int | None:
            if settings.take_lead_ms is not None:
                return settings.take_lead_ms
            measured = self.sync.lead_ms()  # wall ms: x speed in show time
            return None if measured is None else round(measured * speed)
        return lead

    async def output(self, name: Output, active: bool) -> None:
        """Start or stop streaming or recording; returns once OBS confirms it."""
        action = {("stream", True): self.sync.start_stream,
                  ("stream", False): self.sync.stop_stream,
                  ("record", True): self.sync.start_record,
                  ("record", False): self.sync.stop_record}[(name, active)]
        try:
            await action()
        except ObsError as exc:
            raise OutputFailed(str(exc)) from exc


def make_obs_link(settings: Settings) -> ObsLink:
    client = ObsClient(settings.obs_url, settings.obs_password)
    return ObsLink(client, ObsSync(client, studio_mode_preview=settings.studio_mode_preview))
