"""guest-lossy: the lossy guest's link (through the drill's relay, control.drill.relay) drops
LOSS of RTP/RTCP with 0-JITTER_MS jitter for LOSSY_S: it must stay connected and on air, the
read model's link stats (the page's getStats: packetsLost, loss_pct) must show the loss, the
show must go on; then clean again, and the time until the page reports no loss.

On air all through, save where its media really stopped: the relay sees each pause in the
guest's packets (a browser, or the drill itself, starved of CPU at a load of 20), and the
controller slates a guest whose media stops for 0.4 s, as it must.

The page's loss figure is the far end's word, late by design: the server's receiver report
(every 0.5-1.5 s, itself dropped LOSS of the time) → the browser's `remote-inbound-rtp` →
the page's report (every 2 s) → the read model. Under load each hop is later still, so the
figure may arrive after the window: the check waits for it (REPORT_BOUND_S from the
injection), it does not sample the window alone. Only the guest's video stream counts there,
so the relay's drops of that stream are reported beside its total, and the window lasts
until some of it was lost (a browser starved of CPU sends a few video packets a second)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..guests import Browser
from ..readmodel import GuestStatus, ReadModel, guest_view, on_air_segment
from ..wait import until
from .guest import GuestFault

LOSS, JITTER_MS, LOSSY_S = 0.05, 30.0, 6.0  # the lossy link, and how long it lasts (wall s)
MIN_VIDEO_DROPS, LOSSY_MAX_S = 3, 15.0  # ... longer while fewer of its video packets were lost
REPORT_BOUND_S = 45.0  # wall s from the injection for the page to report the loss
CLEAN_BOUND_S = 15.0  # ... and then to report no loss again
PAUSE_GRACE_S = 1.0  # a pause in the guest's packets explains an off-air sample this late
BROWSER_STATS = """async () => {
  const out = [];
  (await showctlGuest.pc().getStats()).forEach((r) => {
    if (r.kind === "video" && ["outbound-rtp", "remote-inbound-rtp"].includes(r.type)) {
      out.push({type: r.type, ssrc: r.ssrc, packetsSent: r.packetsSent,
                packetsLost: r.packetsLost, fractionLost: r.fractionLost,
                framesPerSecond: r.framesPerSecond,
                qualityLimitationReason: r.qualityLimitationReason});
    }
  });
  return out;
}"""


class GuestLossy(GuestFault):
    name = "guest-lossy"
    need_s = LOSSY_S + 4
    link0: dict[str, Any]  # the page's last report before the fault
    counts0: tuple[int, int, int]  # the relay's forwarded, dropped, dropped of the video
    sessions0: int  # the guest's WebRTC sessions (WHIP joins) before the fault
    reported: asyncio.Task[tuple[float, dict[str, Any]] | None]
    window_end: float  # wall s
    end: ReadModel  # the read model as the window ended
    show0: int = 0  # the show clock as it began
    scene_ok = True  # OBS's program on the scene the controller wanted, all through it
    off_air_at: list[float]  # monotonic s of each sample that did not show it on air

    def guest(self) -> str:
        browsers = self.ctx.guests().browsers
        return next((g for g, b in browsers.items() if b.lossy), list(browsers)[-1])

    def _browser(self) -> Browser:
        return self.ctx.guests().browsers[self.guest()]

    def _counts(self) -> tuple[int, int, int]:
        """The relays' forwarded and dropped packets, and drops of the guest's video, over
        every session of the guest."""
        relays = self._browser().relays
        return (sum(r.counts.forwarded for r in relays), sum(r.counts.dropped for r in relays),
                self._browser().video_dropped())

    def _rejoined(self) -> bool:
        """The page made a new WebRTC session since the fault began (its link broke)."""
        return len(self._browser().relays) > self.sessions0

    async def inject(self) -> None:
        b, r = self._browser(), self.r
        if b.relay is None:
            r.checks["the guest's media goes through the relay"] = False
            return
        state = await self.ctx.ctl.state()
        self.link0 = guest_view(state, self.guest()).get("link") or {}
        self.counts0 = self._counts()
        self.sessions0 = len(b.relays)
        r.detail.update(guest=self.guest(), segment=(on_air_segment(state) or {}).get("id"),
                        loss=LOSS, jitter_ms=JITTER_MS)
        self.off_air_at = []
        self.started()
        b.relay.set(LOSS, JITTER_MS)
        self.reported = asyncio.create_task(self._loss_reported())
        try:
            await self._window(state["show"]["now_ms"])
        finally:
            b.relay.set(0.0, 0.0)
            self.window_end = time.time()
            self.end = await self.ctx.ctl.state()

    def _lossy(self) -> bool:
        """The window goes on: LOSSY_S, and longer (up to LOSSY_MAX_S) until the relay has
        dropped MIN_VIDEO_DROPS of the guest's video, the only loss the page can report (a
        browser starved of CPU sends a few video packets a second)."""
        elapsed = time.time() - self.t0
        video = self._counts()[2] - self.counts0[2]
        return elapsed < LOSSY_S or (video < MIN_VIDEO_DROPS and elapsed < LOSSY_MAX_S)

    async def _window(self, show0: int) -> None:
        """The lossy window, sampled every 0.25 s: the guest's status while its segment is on
        air, and OBS's program against the scene the controller wants."""
        ctx, guest = self.ctx, self.guest()
        statuses: dict[str, int] = {}
        off_air: list[tuple[float, str]] = []  # (s into the window, status): what went wrong
        scene_ok = True
        while self._lossy():
            now = await ctx.ctl.state()
            cur = on_air_segment(now)
            if cur is not None and guest in cur["guests"]:
                status = guest_view(now, guest).get("status") or "?"
                statuses[status] = statuses.get(status, 0) + 1
                if status != GuestStatus.ON_AIR:
                    self.off_air_at.append(time.monotonic())
                    if len(off_air) < 10:
                        off_air.append((round(time.time() - self.t0, 2), status))
            want = now["obs"].get("desired_scene")
            scene_ok = scene_ok and (want is None or await ctx.watch.program() == want)
            await asyncio.sleep(0.25)
        self.r.detail.update(statuses_on_air=statuses, off_air=off_air,
                             window_s=round(time.time() - self.t0, 1),
                             rejoined_in_window=self._rejoined())
        self.scene_ok, self.show0 = scene_ok, show0

    async def _loss_reported(self) -> tuple[float, dict[str, Any]] | None:
        """The first report of the page's, made after the injection, that shows loss (a
        packetsLost above the one before, or a loss_pct): (s after the injection, the
        link stats); None after REPORT_BOUND_S."""
        lost0 = self.link0.get("packetsLost") or 0

        async def shows_loss() -> dict[str, Any] | None:
            link = guest_view(await self.ctx.ctl.state(), self.guest()).get("link") or {}
            self._seen(link)
            fresh = (link.get("at_ms") or 0) / 1000 > self.t0
            before = 0 if self._rejoined() else lost0  # a new session counts from 0
            lossy = (link.get("packetsLost") or 0) > before or (link.get("loss_pct") or 0) > 0
            return link if fresh and lossy else None
        try:
            link = await until(shows_loss, REPORT_BOUND_S, "the page reporting the loss", 0.1)
        except TimeoutError:
            return None
        return round(link["at_ms"] / 1000 - self.t0, 2), link

    async def verify(self) -> None:
        r = self.r
        if "the guest's media goes through the relay" in r.checks:
            return
        self._figures()
        reported = await self.reported
        r.detail["browser_stats"] = await self._browser_stats()
        lost0 = self.link0.get("packetsLost") or 0
        r.detail.update(
            loss_reported_after_s=None if reported is None else reported[0],
            max_loss_pct_reported=0.0 if reported is None else round(
                float(reported[1].get("loss_pct") or 0), 2),
            packets_lost_reported=0 if reported is None else (
                (reported[1].get("packetsLost") or 0) - lost0))
        unexplained = [at for at in self.off_air_at if not self._paused(at)]
        r.detail["media_paused_s"] = [round(length, 2) for _, length in self._pauses()]
        r.checks["stayed connected and on air"] = (
            GuestStatus.ON_AIR in r.detail["statuses_on_air"]
            and not r.detail["rejoined_in_window"] and not unexplained)
        r.checks["the read model's link stats show the loss"] = reported is not None
        r.checks["the show went on (program on the on-air scene, the clock running)"] = (
            self.scene_ok and self.end["on_air"] is not None
            and self.end["show"]["now_ms"] - self.show0 >= LOSSY_S * 1000 * self.ctx.speed * 0.8)
        reported_at = self.t0 if reported is None else self.t0 + reported[0]
        await self._clean_again(max(self.window_end, reported_at))

    def _pauses(self) -> list[tuple[float, float]]:
        """The relay's pauses in the guest's packets since the injection (end, length)."""
        t0 = time.monotonic() - (time.time() - self.t0)
        return [(end, length) for r in self._browser().relays for end, length in r.pauses
                if end >= t0]

    def _paused(self, at: float) -> bool:
        """A sample off air at `at` (monotonic) while the guest's media had really stopped
        (or just after, PAUSE_GRACE_S, while the read model caught up): the controller is
        right to slate a guest whose media stops, so that is no failure of the link's."""
        return any(end - length <= at <= end + PAUSE_GRACE_S for end, length in self._pauses())

    def _seen(self, link: dict[str, Any]) -> None:
        """The page's reports as the drill saw them, once each, until one showed the loss:
        [s after the injection, packetsLost, loss_pct] (how late the figure came)."""
        reports = self.r.detail.setdefault("page_reports", [])
        entry = [round((link.get("at_ms") or 0) / 1000 - self.t0, 2), link.get("packetsLost"),
                 link.get("loss_pct")]
        if link and (not reports or reports[-1][0] != entry[0]) and len(reports) < 30:
            reports.append(entry)

    async def _browser_stats(self) -> list[dict[str, Any]] | None:
        """The browser's own view of its video stream now (what the page reports from):
        tells a late or missing receiver report from a report lost on its way."""
        try:
            return await asyncio.wait_for(self._browser().page.evaluate(BROWSER_STATS), 5)
        except Exception as exc:  # the page is gone or busy: the figure is only evidence
            return [{"error": str(exc)[:200]}]

    def _figures(self) -> None:
        """What the relay did in the window (its drops of the guest's video apart)."""
        (fwd0, dropped0, video0), (fwd, dropped, video) = self.counts0, self._counts()
        fwd, dropped = fwd - fwd0, dropped - dropped0
        self.r.detail.update(
            relay_dropped=dropped, relay_dropped_video=video - video0,
            relay_dropped_pct=round(100 * dropped / max(1, fwd + dropped), 2),

            show_advanced_s=round((self.end["show"]["now_ms"] - self.show0) / 1000, 1),
            sessions_during=len(self._browser().relays) - self.sessions0 + 1)

    async def _clean_again(self, since: float) -> None:
        """A report of the page's, made after the link was clean and after the loss was
        reported, with no loss in it."""
        async def clean() -> bool:
            link = guest_view(await self.ctx.ctl.state(), self.guest()).get("link") or {}
            return (link.get("at_ms") or 0) / 1000 > since and not link.get("loss_pct")
        t1 = time.monotonic()
        try:
            await until(clean, CLEAN_BOUND_S, "the page reporting no loss again", 0.1)
            self.r.detail["clean_again_after_s"] = self.r.recovery_s = round(
                time.monotonic() - t1, 2)
        except TimeoutError:
            self.r.detail["clean_again_after_s"] = None
        self.r.checks["link clean again"] = self.r.detail["clean_again_after_s"] is not None
