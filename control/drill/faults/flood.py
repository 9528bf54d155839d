"""Hostile clients on the gallery network: the drill's flood fault."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from ...overlays import read_key
from ..probes import settled
from ..readmodel import ReadModel, is_hard_start
from .base import Fault

FLOOD_S = 4.0      # wall seconds of attack
SOCKETS = 8        # of each kind (resync floods on the overlay key, ping floods as a viewer)
ANSWER_S = 5.0     # a take or a health check slower than this under the flood fails (the
                   # show stalled); how much slower than a quiet run is bench/flood.py's


class Flood(Fault):
    """Sockets that send without reading (control/drill/hostile.py, the attack of issue 13)
    for FLOOD_S: a take made in the middle of it is acknowledged and on air, /healthz
    answers throughout, and the attackers are cut or refused rather than served."""

    name = "flood"

    async def prepare(self) -> ReadModel:
        self.state = await settled(self.ctx.ctl)
        return self.state

    async def inject(self) -> None:
        ctl = self.ctx.ctl
        key = read_key(ctl.tokens["director"], None, ctl.tokens["viewer"])
        attack = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "control.drill.hostile", str(ctl.port), str(SOCKETS), key,
            str(FLOOD_S), env={**os.environ, "SHOWCTL_VIEWER_TOKEN": ctl.tokens["viewer"],
                               **({"SHOWCTL_DRILL_CA": str(ctl.tls.ca_file)} if ctl.tls else {})},
            stdout=asyncio.subprocess.PIPE)
        try:
            assert attack.stdout is not None
            line = await asyncio.wait_for(attack.stdout.readline(), 60)
            if line.strip() != b"started":
                raise RuntimeError(f"the attackers did not start: {line[:200]!r}")
            self.started()
            self.health, self.take = await asyncio.gather(self._health(), self._take())
            out, _ = await asyncio.wait_for(attack.communicate(), FLOOD_S + 30)
            self.counts = json.loads(out or b"{}")
        finally:
            if attack.returncode is None:
                attack.kill()
                await attack.wait()
        self.recovered()

    async def _health(self) -> float:
        """The slowest /healthz answer over the flood (seconds)."""
        slowest = 0.0
        while time.time() - self.t0 < FLOOD_S:
            started = time.monotonic()
            status, _ = await self.ctx.ctl.request("GET", "/healthz", role=None)
            slowest = max(slowest, time.monotonic() - started if status == 200 else 1e9)
            await asyncio.sleep(0.1)  # a probe's period, not a wait for an event
        return slowest

    async def _take(self) -> tuple[int, float, str | None]:
        """A take half-way through the flood: (status, seconds to its answer, the segment it
        should bring on air), or status 0 when the next segment is a hard start's. Taken
        from the state of that moment (the show may have moved on by itself); an automatic
        advance landing first (409) is tried once more."""
        while time.time() - self.t0 < FLOOD_S / 2:
            await asyncio.sleep(0.1)  # polled: the attack has no event to wait on
        status, took_s, segment = 0, 0.0, None
        for _ in range(2):
            state = await self.ctx.ctl.state()
            nxt = state["next"]
            if nxt is None or is_hard_start(state, nxt["id"]):
                return 0, 0.0, None
            started = time.monotonic()
            status, _ = await self.ctx.ctl.request(
                "POST", "/api/take", {"expect": state["on_air"]["id"]})
            took_s, segment = time.monotonic() - started, nxt["id"]
            if status != 409:
                break
        return status, took_s, segment

    async def verify(self) -> None:
        r = self.r
        status, took_s, segment = self.take
        r.detail.update(attack=self.counts, take_status=status, take_s=round(took_s, 3),
                        slowest_healthz_s=round(self.health, 3))
        r.checks["the attack ran"] = self.counts.get("sent", 0) > 0
        r.checks["healthz answered throughout"] = self.health < ANSWER_S
        if segment is not None:
            r.checks["a take under the flood answered"] = status == 200 and took_s < ANSWER_S
            now = await self.ctx.ctl.state()
            r.checks["the taken segment on air"] = now["on_air"]["id"] == segment
        r.checks["the attackers cut or refused"] = (
            self.counts.get("cut", 0) + self.counts.get("refused", 0)
            + self.counts.get("stalled", 0)) > 0
