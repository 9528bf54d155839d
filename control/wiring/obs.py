"""The OBS link as the running show holds it: the client, the desired-state sync, and what the
read model says of them."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from control.config import Settings
from control.obs.client import ObsClient, SendGate
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


def make_obs_link(settings: Settings, client: ObsClient | None = None) -> ObsLink:
    """`client`: one made (and connected) already, as a standby's is (`send_gate`)."""
    client = client or ObsClient(settings.obs_url, settings.obs_password)
    return ObsLink(client, ObsSync(client, studio_mode_preview=settings.studio_mode_preview))


# --- the send gate of a standby pair (docs/redundancy.md#never-two-drivers) ---------------

SENDS = logging.getLogger("showctl.obs.sends")
SEND_MARK = "obs-send "  # then one JSON object: the drill reads these lines


class Driver(Protocol):
    """What the gate asks (control/cluster/node.py `ClusterNode`)."""

    @property
    def lease(self) -> int: ...
    def drives_for(self) -> float: ...


def is_read(request_type: str) -> bool:
    """Requests that change nothing in OBS: a standby may send them (its OBS link stays warm
    and informed); everything else needs the lease."""
    return request_type.startswith("Get")


def send_gate(node: Driver, name: str) -> SendGate:
    """Before every request to OBS: reads pass; anything else only while `node` drives,
    from the clock at that instant (never a cached role). Every request that changes OBS is
    logged as `obs-send {"t": wall s, "node", "lease", "until": wall s, "types"}`, and every
    one refused as `obs-refused {...}`: the proof, per send, of "never two drivers"."""
    def may_send(request_types: tuple[str, ...]) -> bool:
        if all(is_read(t) for t in request_types):
            return True
        left, now = node.drives_for(), time.time()
        line = json.dumps({"t": round(now, 6), "node": name, "lease": node.lease,
                           "until": round(now + left, 6) if left > 0 else None,
                           "types": list(request_types)}, separators=(",", ":"))
        if left <= 0:
            SENDS.warning("obs-refused %s", line)
            return False
        SENDS.info("%s%s", SEND_MARK, line)
        return True
    return may_send


def make_gated_client(settings: Settings, node: Driver) -> ObsClient:
    return ObsClient(settings.obs_url, settings.obs_password,
                     may_send=send_gate(node, settings.cluster_name))
