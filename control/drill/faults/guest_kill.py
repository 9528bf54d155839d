"""guest-kill: the on-air guest's browser (every process of it) SIGKILLed mid-segment; the
time until the read model shows it disconnected and until OBS's Program Feed shows the slate
in its box; then a new browser with the same link, the time until it is on air again (goal:
REJOIN_GOAL_S) and its picture back in OBS."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..readmodel import GuestStatus, ReadModel, guest_status, on_air_segment
from ..wait import until
from .guest import Box, GuestFault, box_of, box_shot, differs, feed_status

REJOIN_GOAL_S = 5.0  # a new browser with the same link → on air again
KILL_NEEDS_S = 12.0  # wall seconds of its segment a guest-kill needs left (5-15 s used)
CAMERA_VS_SLATE = 20.0  # mean difference (0..255) between the camera and the slate
STILL = 3.0  # ... between two shots of a still picture (OBS's decoding noise)
SLATE_BOUND_S = 15.0  # the kill → the slate in OBS (0.7-5 s seen at a load of 20 on 2 cores)
PICTURE_BOUND_S = 20.0  # on air again → its picture in OBS (a new browser's first frames)


class GuestKill(GuestFault):
    name = "guest-kill"
    need_s = KILL_NEEDS_S
    segment: dict[str, Any]
    box: Box
    camera: Any  # the guest's picture in OBS before the kill
    t0_mono: float

    def guest(self) -> str:
        """The guest killed: not the lossy one when there are two or more."""
        browsers = self.ctx.guests().browsers
        return next((g for g, b in browsers.items() if not b.lossy), next(iter(browsers)))

    async def prepare(self) -> ReadModel:
        state = await super().prepare()
        seg = on_air_segment(state)
        assert seg is not None
        self.segment = seg
        self.box = box_of(seg, (self.ctx.layouts or {}).get(seg["id"]), self.guest())
        return state

    async def inject(self) -> None:
        guest, r = self.guest(), self.r
        async def shot() -> tuple[Any] | None:  # (a 1-tuple: an array has no truth value)
            picture = await box_shot(self.ctx.watch, self.box)
            return None if picture is None else (picture,)
        (self.camera,) = await until(shot, 10, "OBS's Program Feed")
        r.detail.update(guest=guest, segment=self.segment["id"], box_pct=self.box)
        self.started()
        self.t0_mono = time.monotonic()
        r.detail["processes_killed"] = self.ctx.guests().kill(guest)
        r.checks["browser killed"] = r.detail["processes_killed"] > 0

    async def verify(self) -> None:
        slate_task = asyncio.create_task(self._slate())
        await self._disconnected()
        slate = await slate_task  # the slate first: a rejoin before OBS shows it would hide it
        rejoin_s, t1 = await self._rejoin()
        if slate is not None and rejoin_s is not None:
            await self._picture_back(slate, t1)
        await self._others_stayed()

    def _since_kill(self) -> float:
        return round(time.monotonic() - self.t0_mono, 2)

    async def _disconnected(self) -> None:
        guest, r = self.guest(), self.r

        async def gone() -> bool:
            return guest_status(await self.ctx.ctl.state(), guest) == GuestStatus.DISCONNECTED
        try:
            await until(gone, 15, f"{guest} shown disconnected")
            r.detail["disconnected_after_s"] = self._since_kill()
        except TimeoutError:
            r.detail["disconnected_after_s"] = None
        r.checks["read model shows it disconnected"] = r.detail["disconnected_after_s"] is not None

    async def _slate(self) -> Any:
        """The slate in the guest's box: two shots in a row unlike the camera and like each
        other (a still card, not a frozen frame or a picture in passing); None after
        SLATE_BOUND_S."""
        seen: list[tuple[float, Any]] = []  # (monotonic s, shot) unlike the camera
        unlike: list[float] = []  # each shot's difference to the camera (a miss says why)

        async def slated() -> tuple[Any, float] | None:
            at, picture = time.monotonic(), await box_shot(self.ctx.watch, self.box)
            if picture is not None:
                unlike.append(round(differs(picture, self.camera), 1))
            if picture is None or differs(picture, self.camera) <= CAMERA_VS_SLATE:
                seen.clear()
                return None
            seen.append((at, picture))
            if len(seen) >= 2 and differs(seen[-1][1], seen[-2][1]) < STILL:
                return picture, seen[-2][0]
            return None
        slate = None
        try:
            slate, slate_at = await until(slated, SLATE_BOUND_S, "the slate in OBS", 0.05)
            self.r.detail["slate_in_obs_after_s"] = round(slate_at - self.t0_mono, 2)
        except TimeoutError:
            self.r.detail["slate_in_obs_after_s"] = None
            # why: the box unchanged (OBS behind, or the mixer not slating), or never still
            self.r.detail["shots_unlike_camera"] = unlike[-40:]
            self.r.detail["feed_status"] = await feed_status(self.ctx.watch)
        self.r.checks["OBS shows the slate in its box"] = slate is not None
        return slate

    async def _rejoin(self) -> tuple[float | None, float]:
        """A new browser with the same invite link: (seconds until on air or None, when the
        new browser started, monotonic)."""
        guest, r, browsers = self.guest(), self.r, self.ctx.guests()
        await browsers.forget(guest)
        t1 = time.monotonic()
        await browsers.join(guest)
        # (of the rejoin: the browser starting and loading the page, before Join is pressed)
        r.detail["new_browser_ready_s"] = round(time.monotonic() - t1, 2)

        async def back() -> bool:
            return guest_status(await self.ctx.ctl.state(), guest) == GuestStatus.ON_AIR
        rejoin: float | None = None
        try:
            await until(back, 20, f"{guest} on air again", 0.05)
            rejoin = time.monotonic() - t1
            r.recovery_s = self._since_kill()
        except TimeoutError:
            pass
        r.detail["rejoin_to_on_air_s"] = None if rejoin is None else round(rejoin, 2)
        r.checks["on air again"] = rejoin is not None
        r.checks[f"on air again within {REJOIN_GOAL_S:g} s of the new browser"] = (
            rejoin is not None and rejoin <= REJOIN_GOAL_S)
        return rejoin, t1

    async def _picture_back(self, slate: Any, t1: float) -> None:
        async def picture() -> bool:
            now = await box_shot(self.ctx.watch, self.box)
            return now is not None and differs(now, slate) > CAMERA_VS_SLATE
        try:
            await until(picture, PICTURE_BOUND_S, "the camera back in OBS", 0.05)
            self.r.detail["picture_in_obs_after_rejoin_s"] = round(time.monotonic() - t1, 2)
        except TimeoutError:
            self.r.detail["picture_in_obs_after_rejoin_s"] = None
        self.r.checks["OBS shows its picture again"] = \
            self.r.detail["picture_in_obs_after_rejoin_s"] is not None

    async def _others_stayed(self) -> None:
        guest, seg = self.guest(), self.segment
        others = [g for g in self.ctx.guests().browsers if g != guest and g in seg["guests"]]
        after = await self.ctx.ctl.state()
        self.r.checks["the other guests stayed on air"] = all(
            guest_status(after, g) == GuestStatus.ON_AIR for g in others) or (
            on_air_segment(after) or {}).get("id") != seg["id"]
