"""OSC input for control surfaces (Bitfocus Companion, TouchOSC), when enabled."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from control.config import Settings
from control.osc import OscInput
from control.osc.server import ShowPort

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OscStarted:
    """The input listening, or why not (a port it cannot have is an alarm, not a stopped
    show); both None when OSC is off."""

    input: OscInput | None
    error: str | None


async def start_osc(show: ShowPort, settings: Settings) -> OscStarted:
    if not settings.osc_enabled:
        return OscStarted(None, None)
    osc = OscInput(show, settings.osc_host, settings.osc_port, allow=settings.osc_allow)
    try:
        await osc.start()
    except OSError as exc:
        error = (f"OSC input is not listening: cannot bind {settings.osc_host}:"
                 f"{settings.osc_port}/udp: {exc.strerror or exc}")
        log.error("%s", error)
        return OscStarted(None, error)
    return OscStarted(osc, None)
