"""What every fault is given (the drill's parts) and what it must do (prepare, inject,
verify). A fault is a small class in the registry (control.drill.faults.FAULTS); one
instance per injection keeps what `inject` saw for `verify`."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from ...obs.launcher import ObsLauncher
from ..guests import GuestBrowsers
from ..process import ControllerProcess
from ..readmodel import ReadModel
from ..result import DrillError, FaultResult
from ..watch import ConsoleClient, ProgramWatch


@dataclass
class FaultContext:
    """The drill's parts, as one run has them."""

    ctl: ControllerProcess
    obs: ObsLauncher
    watch: ProgramWatch
    console: ConsoleClient
    rundown_text: str  # the rundown as the drill started it (bad-reload puts it back)
    final_ms: int  # the final hard start, on the show clock: every fault is over before it
    say: Callable[[str], None]
    browsers: GuestBrowsers | None = None
    layouts: Mapping[str, str | None] | None = None  # segment id -> its guest layout

    @property
    def speed(self) -> float:
        return self.ctl.speed

    def guests(self) -> GuestBrowsers:
        if self.browsers is None:
            raise DrillError("a guest fault needs --guests N")
        return self.browsers

    async def wall_left_s(self) -> float:
        """Wall seconds until the final hard start."""
        return (self.final_ms - await self.ctl.now_ms()) / 1000 / self.speed


class Fault(ABC):
    """One fault: `prepare` waits until it can be injected, `inject` does the harm and notes
    what it saw, `verify` waits for the recovery and sets the checks. Each wait is a
    condition with a deadline; a TimeoutError or DrillError fails the fault, not the drill."""

    name: ClassVar[str]
    needs_guests: ClassVar[bool] = False
    needs_tls: ClassVar[bool] = False  # the drill then runs the controller on HTTPS

    def __init__(self, ctx: FaultContext, result: FaultResult) -> None:
        self.ctx, self.r = ctx, result
        self.t0 = 0.0  # wall time of the injection

    async def prepare(self) -> ReadModel:
        """Wait until the fault can be injected; the read model then (its time is the
        fault's time in the report)."""
        return await self.ctx.ctl.state()

    def started(self) -> None:
        self.t0 = time.time()

    def recovered(self) -> None:
        self.r.recovery_s = round(time.time() - self.t0, 2)

    @abstractmethod
    async def inject(self) -> None: ...

    @abstractmethod
    async def verify(self) -> None: ...
