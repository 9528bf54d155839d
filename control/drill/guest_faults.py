"""The drill's guest faults, `guest-kill` and `guest-lossy` (the browsers and the relay are
in control.drill.guests and control.drill.relay). Each waits until its guest is on air with
enough of the segment left, injects, and measures what the product does: the read model
(`GET /api/state`, the director's view) and OBS's Program Feed source (the viewers' view).
Every wait is a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .guests import GuestBrowsers, box_of, box_shot, differs, guest_view, on_air_segment

if TYPE_CHECKING:
    from .run import Controller, FaultResult, Observer

REJOIN_GOAL_S = 5.0  # a new browser with the same link → on air again
LOSS, JITTER_MS, LOSSY_S = 0.05, 30.0, 6.0  # the lossy link, and how long it lasts (wall s)
KILL_NEEDS_S = 12.0  # wall seconds of the segment a guest-kill may use at most
CAMERA_VS_SLATE = 20.0  # mean difference (0..255) between the camera and the slate
STILL = 3.0  # ... between two shots of a still picture (OBS's decoding noise)


def _span(state: dict[str, Any], seg: dict[str, Any]) -> tuple[int, int]:
    """A segment's expected (start, end) in show ms; one that holds stays on air until the
    next hard start takes over."""
    from .run import _ms
    start, end = _ms(seg["expected_start"]), _ms(seg["expected_end"])
    if seg.get("then") == "hold":
        later = [h["target_ms"] for h in state["hard_starts"] if h["target_ms"] >= end]
        end = min(later) if later else end
    return start, end


class GuestFaults:
    """The guest faults of one drill: which guest each hits, and how."""

    def __init__(self, ctl: Controller, observer: Observer, browsers: GuestBrowsers,
                 layouts: Mapping[str, str | None], speed: float,
                 say: Callable[[str], None]) -> None:
        self.ctl, self.observer, self.browsers = ctl, observer, browsers
        self.layouts, self.speed, self.say = layouts, speed, say
        ids = list(browsers.browsers)
        self.lossy = next((g for g, b in browsers.browsers.items() if b.lossy), ids[-1])
        # the one killed: not the lossy one when there are two or more
        self.victim = next((g for g in ids if g != self.lossy), ids[0])

    async def _until(self, probe: Callable[[], Any], timeout: float, what: str,
                     every: float = 0.02) -> Any:
        from .run import until
        return await until(probe, timeout, what, every)

    async def wait_on_air(self, guest: str, need_s: float, timeout: float) -> dict[str, Any]:
        """The read model once ``guest`` is on air with ``need_s`` wall seconds of its
        segment left, so the fault and its recovery happen on air. DrillError at once when
        no segment still to come puts the guest on air that long at this speed."""
        from .run import DrillError
        need_ms = need_s * 1000 * self.speed
        state = await self.ctl.state()
        if max((_span(state, s)[1] - max(_span(state, s)[0], state["show"]["now_ms"])
                for s in state["segments"] if guest in s["guests"]), default=0) < need_ms:
            raise DrillError(f"no segment still to come puts {guest} on air for {need_s:g} s "
                             f"of wall time at x{self.speed:g}: lower --speed")

        async def ready() -> dict[str, Any] | None:
            state = await self.ctl.state()
            seg = on_air_segment(state)
            if seg is None or guest not in seg["guests"]:
                return None
            if guest_view(state, guest).get("status") != "on-air":
                return None
            return state if _span(state, seg)[1] - state["show"]["now_ms"] >= need_ms else None
        return await self._until(ready, timeout, f"{guest} on air with {need_s:g} s left", 0.05)

    async def _status(self, guest: str) -> str | None:
        return guest_view(await self.ctl.state(), guest).get("status")

    # --- guest-kill -------------------------------------------------------------------------

    async def guest_kill(self, r: FaultResult, timeout: float,
                         mark: Callable[[int], None]) -> None:
        guest = self.victim
        state = await self.wait_on_air(guest, KILL_NEEDS_S, timeout)
        mark(state["show"]["now_ms"])
        seg = on_air_segment(state)
        assert seg is not None
        box = box_of(seg, self.layouts.get(seg["id"]), guest)
        async def shot() -> tuple[Any] | None:  # (a 1-tuple: an array has no truth value)
            picture = await box_shot(self.observer, box)
            return None if picture is None else (picture,)
        (camera,) = await self._until(shot, 10, "OBS's Program Feed")
        r.detail.update(guest=guest, segment=seg["id"], box_pct=box)
        t0 = time.monotonic()
        r.detail["processes_killed"] = self.browsers.kill(guest)
        r.checks["browser killed"] = r.detail["processes_killed"] > 0

        seen: list[tuple[float, Any]] = []  # (monotonic s, shot) unlike the camera

        async def slated() -> tuple[Any, float] | None:
            """Two shots in a row unlike the camera and like each other: the slate (a still
            card), not a frozen frame (like the camera) or a picture in passing."""
            at, picture = time.monotonic(), await box_shot(self.observer, box)
            if picture is None or differs(picture, camera) <= CAMERA_VS_SLATE:
                seen.clear()
                return None
            seen.append((at, picture))
            if len(seen) >= 2 and differs(seen[-1][1], seen[-2][1]) < STILL:
                return picture, seen[-2][0]
            return None
        slate_task = asyncio.create_task(self._until(slated, 10, "the slate in OBS", 0.05))

        async def gone() -> bool:
            return await self._status(guest) == "disconnected"
        try:
            await self._until(gone, 15, f"{guest} shown disconnected")
            r.detail["disconnected_after_s"] = round(time.monotonic() - t0, 2)
        except TimeoutError:
            r.detail["disconnected_after_s"] = None
        r.checks["read model shows it disconnected"] = r.detail["disconnected_after_s"] is not None
        slate = None
        try:  # the slate first: a rejoin before OBS shows it would hide it
            slate, slate_at = await slate_task
            r.detail["slate_in_obs_after_s"] = round(slate_at - t0, 2)
        except TimeoutError:
            r.detail["slate_in_obs_after_s"] = None
        r.checks["OBS shows the slate in its box"] = slate is not None
        await self.browsers.forget(guest)
        t1 = time.monotonic()
        await self.browsers.join(guest)  # a new browser, the same invite link
        # (of the rejoin: the browser starting and loading the page, before Join is pressed)
        r.detail["new_browser_ready_s"] = round(time.monotonic() - t1, 2)

        async def back() -> bool:
            return await self._status(guest) == "on-air"
        try:
            await self._until(back, 20, f"{guest} on air again", 0.05)
            rejoin = time.monotonic() - t1
            r.recovery_s = round(time.monotonic() - t0, 2)
        except TimeoutError:
            rejoin = None
        r.detail["rejoin_to_on_air_s"] = None if rejoin is None else round(rejoin, 2)
        r.checks["on air again"] = rejoin is not None
        r.checks[f"on air again within {REJOIN_GOAL_S:g} s of the new browser"] = (
            rejoin is not None and rejoin <= REJOIN_GOAL_S)
        if slate is not None and rejoin is not None:
            async def picture() -> bool:
                now = await box_shot(self.observer, box)
                return now is not None and differs(now, slate) > CAMERA_VS_SLATE
            try:
                await self._until(picture, 10, "the camera back in OBS", 0.05)
                r.detail["picture_in_obs_after_rejoin_s"] = round(time.monotonic() - t1, 2)
            except TimeoutError:
                r.detail["picture_in_obs_after_rejoin_s"] = None
            r.checks["OBS shows its picture again"] = \
                r.detail["picture_in_obs_after_rejoin_s"] is not None
        others = [g for g in self.browsers.browsers if g != guest and g in seg["guests"]]
        after = await self.ctl.state()
        r.checks["the other guests stayed on air"] = all(
            guest_view(after, g).get("status") == "on-air" for g in others) or (
            on_air_segment(after) or {}).get("id") != seg["id"]

    # --- guest-lossy ------------------------------------------------------------------------

    async def guest_lossy(self, r: FaultResult, timeout: float,
                          mark: Callable[[int], None]) -> None:
        guest = self.lossy
        b = self.browsers.browsers[guest]
        if b.relay is None:
            r.checks["the guest's media goes through the relay"] = False
            return
        state = await self.wait_on_air(guest, LOSSY_S + 4, timeout)
        mark(state["show"]["now_ms"])
        seg = on_air_segment(state)
        assert seg is not None
        link0 = guest_view(state, guest).get("link") or {}
        relay = b.relay
        counts0 = (relay.counts.forwarded, relay.counts.dropped)
        r.detail.update(guest=guest, segment=seg["id"], loss=LOSS, jitter_ms=JITTER_MS,
                        window_s=LOSSY_S)
        t0 = time.monotonic()
        relay.set(LOSS, JITTER_MS)
        statuses: dict[str, int] = {}
        off_air: list[tuple[float, str]] = []  # (s into the window, status): what went wrong
        max_loss_pct = 0.0
        lost = link0.get("packetsLost")
        scene_ok = True
        show0 = state["show"]["now_ms"]
        try:
            while time.monotonic() - t0 < LOSSY_S:  # the window: sampled, not slept through
                now = await self.ctl.state()
                view = guest_view(now, guest)
                cur = on_air_segment(now)
                if cur is not None and guest in cur["guests"]:
                    status = view.get("status") or "?"
                    statuses[status] = statuses.get(status, 0) + 1
                    if status != "on-air" and len(off_air) < 10:
                        off_air.append((round(time.monotonic() - t0, 2), status))
                link = view.get("link") or {}
                max_loss_pct = max(max_loss_pct, float(link.get("loss_pct") or 0))
                lost = link.get("packetsLost", lost)
                want = now["obs"].get("desired_scene")
                scene_ok = scene_ok and (want is None or await self.observer.program() == want)
                await asyncio.sleep(0.25)
        finally:
            relay.set(0.0, 0.0)
            end = await self.ctl.state()
        fwd, dropped = (relay.counts.forwarded - counts0[0], relay.counts.dropped - counts0[1])
        lost0 = link0.get("packetsLost") or 0
        r.detail.update(
            relay_dropped=dropped, relay_dropped_pct=round(100 * dropped / max(1, fwd + dropped),
                                                           2),
            statuses_on_air=statuses, off_air=off_air, max_loss_pct_reported=round(max_loss_pct, 2),
            packets_lost_reported=(lost or 0) - lost0,
            show_advanced_s=round((end["show"]["now_ms"] - show0) / 1000, 1))
        r.checks["stayed connected and on air"] = bool(statuses) and set(statuses) == {"on-air"}
        r.checks["the read model's link stats show the loss"] = (
            max_loss_pct > 0 or (lost or 0) > lost0)
        r.checks["the show went on (program on the on-air scene, the clock running)"] = (
            scene_ok and end["on_air"] is not None
            and end["show"]["now_ms"] - show0 >= LOSSY_S * 1000 * self.speed * 0.8)

        clean_at = time.time()

        async def clean() -> bool:  # a report of the page's made after the link was clean
            link = guest_view(await self.ctl.state(), guest).get("link") or {}
            return link.get("at", 0) > clean_at and not link.get("loss_pct")
        t1 = time.monotonic()
        try:
            await self._until(clean, 15, "the page reporting no loss again", 0.1)
            r.detail["clean_again_after_s"] = r.recovery_s = round(time.monotonic() - t1, 2)
        except TimeoutError:
            r.detail["clean_again_after_s"] = None
        r.checks["link clean again"] = r.detail["clean_again_after_s"] is not None


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def guest_lines(faults: list[dict[str, Any]]) -> list[str]:
    """The guest faults' figures for the markdown report (empty without guest faults)."""
    lines = []
    for f in faults:
        d = f["detail"]
        if f["name"] == "guest-kill" and "processes_killed" in d:
            lines.append(
                f"- guest-kill ({d['guest']}, {d['processes_killed']} browser processes "
                f"SIGKILLed): the read model showed it disconnected after "
                f"{_s(d.get('disconnected_after_s'))}, OBS's Program Feed the slate in its box "
                f"after {_s(d.get('slate_in_obs_after_s'))}; a new browser with the same link "
                f"→ on air after {_s(d.get('rejoin_to_on_air_s'))} (of which the browser "
                f"starting {_s(d.get('new_browser_ready_s'))}; goal ≤ "
                f"{REJOIN_GOAL_S:g} s), its picture in OBS after "
                f"{_s(d.get('picture_in_obs_after_rejoin_s'))}")
        elif f["name"] == "guest-lossy" and "relay_dropped" in d:
            lines.append(
                f"- guest-lossy ({d['guest']}, {d['loss'] * 100:g} % of RTP/RTCP dropped, "
                f"0-{d['jitter_ms']:g} ms jitter, {d['window_s']:g} s): the relay dropped "
                f"{d['relay_dropped']} packets ({d['relay_dropped_pct']:g} %); the page "
                f"reported up to {d['max_loss_pct_reported']:g} % loss, "
                f"{d['packets_lost_reported']} packets lost; while its segment was on air "
                f"the read model showed {d['statuses_on_air']}; the show clock ran "
                f"{d['show_advanced_s']:g} s; link stats clean again after "
                f"{_s(d.get('clean_again_after_s'))}")
        elif f["name"].startswith("guest-") and d.get("error"):
            lines.append(f"- {f['name']}: {d['error']}")
    return ["", "## Guests", "", *lines] if lines else []
