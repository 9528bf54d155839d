"""The certificate renewed mid-show: the drill's tls-renew fault."""

from __future__ import annotations

import asyncio
import time

from ..result import DrillError
from ..tls import served
from ..wait import until
from .base import Fault

TAKEN_WITHIN_S = 30.0  # showctl looks at the files every 5 s; generous for a loaded machine
ANSWER_S = 5.0


class TlsRenew(Fault):
    """A new certificate and key written over the old ones, as certbot renews: new
    connections get the new certificate without a restart, the console's socket stays
    open on the old one, and the API answers throughout."""

    name = "tls-renew"
    needs_tls = True

    async def inject(self) -> None:
        ctl = self.ctx.ctl
        if ctl.tls is None or ctl.proc is None:
            raise DrillError("tls-renew needs the controller on HTTPS (the drill's --tls)")
        self.before = await served(ctl.port, ctl.tls.context)
        self.pid, self.connects = ctl.proc.pid, self.ctx.console.connects
        self.started()
        self.new = ctl.tls.renew()
        self.slowest, self.after = await asyncio.gather(self._api(), self._taken())
        self.recovered()

    async def _taken(self) -> str | None:
        """The new certificate's fingerprint once a new connection is given it (None: never
        within TAKEN_WITHIN_S)."""
        ctl = self.ctx.ctl
        assert ctl.tls is not None

        async def new() -> str | None:
            seen = await served(ctl.port, ctl.tls.context)
            return seen if seen == self.new else None
        try:
            return await until(new, TAKEN_WITHIN_S, "the renewed certificate served",
                               interval=0.2)
        except TimeoutError:
            return None

    async def _api(self) -> float:
        """The slowest API answer while the certificate is being taken (seconds)."""
        slowest = 0.0
        while time.time() - self.t0 < 6.0:  # past one look at the files (every 5 s)
            started = time.monotonic()
            status, _ = await self.ctx.ctl.request("GET", "/api/state")
            slowest = max(slowest, time.monotonic() - started if status == 200 else 1e9)
            await asyncio.sleep(0.2)  # a probe's period, not a wait for an event
        return slowest

    async def verify(self) -> None:
        ctx, r = self.ctx, self.r
        assert ctx.ctl.proc is not None
        r.detail.update(before=self.before[:16], renewed=self.new[:16],
                        served_after=(self.after or "")[:16], slowest_api_s=round(self.slowest, 3))
        r.checks["the renewed certificate served"] = self.after == self.new != self.before
        r.checks["no restart"] = ctx.ctl.proc.pid == self.pid and ctx.ctl.proc.poll() is None
        r.checks["the console's socket stayed open"] = ctx.console.connects == self.connects
        r.checks["the API answered throughout"] = self.slowest < ANSWER_S
