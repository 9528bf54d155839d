"""The OBS link as the running show holds it: the client, the desired-state sync, and what the
read model says of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from control.config import Settings
from control.obs.client import ObsClient
from control.obs.errors import ObsError
from control.obs.sync import ObsSync
from control.runner import Change
from control.show.readmodel import ObsView
from control.web.port import Output, OutputFailed


@dataclass(slots=True)
class ObsLink:
    """The obs-websocket client and the sync that applies the desired state through it."""

    client: ObsClient
    sync: ObsSync

    def follow(self, change: Change) -> None:
        """OBS is told what this step's desired state says (the sync diffs and sends one batch)."""
        self.sync.want(change.desired)

    def view(self) -> ObsView:
        """The read model's `obs`: the sync's status (with `not_answering_s`: a frozen OBS
        keeps its socket open, the sync knows which request went unanswered) and the
        connection's."""
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
