"""The drill's faults, one small class each, in the order a drill injects them by default:
name -> class. A new fault is a Fault subclass (faults/base.py) added to this table."""

from __future__ import annotations

from .base import Fault, FaultContext
from .door import DoorProbe
from .flood import Flood
from .guest_kill import GuestKill
from .guest_lossy import GuestLossy
from .show import BadReload, ControllerKill, DoubleTake, ObsFreeze, ObsKill, ViewerTake
from .tls import TlsRenew

FAULTS: dict[str, type[Fault]] = {f.name: f for f in (
    ObsKill, ObsFreeze, DoubleTake, ViewerTake, BadReload, Flood, DoorProbe, TlsRenew,
    ControllerKill,
    GuestKill, GuestLossy)}
SHOW_FAULTS = tuple(name for name, f in FAULTS.items() if not f.needs_guests)
GUEST_FAULTS = tuple(name for name, f in FAULTS.items() if f.needs_guests)  # need --guests N
TLS_FAULTS = tuple(name for name, f in FAULTS.items() if f.needs_tls)  # not with --guests yet

__all__ = ["FAULTS", "GUEST_FAULTS", "SHOW_FAULTS", "TLS_FAULTS", "Fault", "FaultContext"]
