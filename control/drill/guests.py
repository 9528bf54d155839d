"""The drill's remote guests: headless Chromium browsers with fake cameras that join with
their invite links and stay on for the whole drill (the two guest faults that hit them are
in control.drill.faults).

Each guest is its own browser (Playwright's persistent context on a fresh profile), so one
can be SIGKILLed without touching the others: that is what a guest's laptop crashing looks
like to the show. The lossy guest's media goes through a `LossyRelay` (control.drill.relay)
from the start, clean until the `guest-lossy` fault makes it drop and jitter.

  guest-kill   the on-air guest's browser (every process of it) SIGKILLed mid-segment; the
               time until the read model shows it disconnected and until OBS's Program Feed
               shows the slate in its box; then a new browser with the same link and the
               time until it is on air again (goal: 5 s) and its picture back in OBS
  guest-lossy  the lossy guest's link drops 5 % of RTP/RTCP with 0-30 ms jitter for a
               window: it must stay connected and on air, the read model's link stats
               (the page's getStats: packetsLost, loss_pct) must show the loss, the show
               must go on; then clean again, and the time until the page reports no loss

WebRTC needs loopback only: the drill re-runs itself inside `unshare -n` (a network
namespace with nothing but lo), as the guests' end-to-end tests do (`reexec_in_netns`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..guests.invites import invite_url, make_token
from .relay import LossyRelay, answer_port, media_ssrcs, strip_candidates, via_relay
from .result import DrillError
from .wait import until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--use-fake-device-for-media-stream",
                 "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
NETNS_ENV = "SHOWCTL_DRILL_NETNS"


def reexec_in_netns(argv: list[str]) -> int:
    """Run `python -m control.drill ARGV` again inside a new network namespace that has
    nothing but loopback: no guest packet can go anywhere but 127.0.0.1. Its exit code."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        raise SystemExit("drill: --guests needs root, unshare and ip (a loopback-only "
                         "network namespace for WebRTC)")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"drill: --guests needs Debian's chromium at {CHROMIUM}")
    cmd = [sys.executable, "-m", "control.drill", *argv]
    done = subprocess.run(["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"',
                           "sh", *cmd], env={**os.environ, NETNS_ENV: "1"})
    return done.returncode


@dataclass
class Browser:
    """One guest's browser: a Playwright persistent context on its own profile."""

    guest: str
    link: str
    lossy: bool
    context: Any = None
    page: Any = None
    profile: Path | None = None
    joins: int = 0
    relays: list[LossyRelay] = field(default_factory=list)
    video_ssrcs: set[int] = field(default_factory=set)  # its video streams', from its offers

    @property
    def relay(self) -> LossyRelay | None:
        return self.relays[-1] if self.relays else None

    def video_dropped(self) -> int:
        """The relays' drops of this guest's video, over every session it had (a rejoin
        makes a new relay and a new stream)."""
        return sum(r.counts.dropped_up[s] for r in self.relays for s in self.video_ssrcs)


class GuestBrowsers:
    """N guests' browsers, joined with their invite links, for the whole drill."""

    def __init__(self, root: Path, links: dict[str, str], lossy: str | None) -> None:
        self.root = root
        self.browsers = {g: Browser(g, link, g == lossy) for g, link in links.items()}
        self._pw: Any = None

    async def launch(self) -> None:
        """Every guest's browser started, no page opened yet: the slow part (seconds per
        browser under load), done while the controller starts."""
        from playwright.async_api import async_playwright
        self._pw = await async_playwright().start()
        await asyncio.gather(*(self._launch(g) for g in self.browsers))

    async def join_all(self) -> None:
        """Every guest opens its link and presses Join (the controller must be up)."""
        await asyncio.gather(*(self._open(g) for g in self.browsers))

    async def join(self, guest: str) -> None:
        """A fresh browser opens the guest's link and presses Join (a rejoin is the same)."""
        await self._launch(guest)
        await self._open(guest)

    async def _launch(self, guest: str) -> None:
        b = self.browsers[guest]
        # a rejoin restarts the same browser (its profile keeps the invite's rejoin secret)
        b.profile = b.profile or Path(tempfile.mkdtemp(prefix=f"{guest}-", dir=self.root))
        b.context = await self._pw.chromium.launch_persistent_context(
            str(b.profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        b.page = b.context.pages[0] if b.context.pages else await b.context.new_page()
        if b.lossy:
            await b.page.route("**/whip/**", lambda route: self._whip(b, route))

    async def _open(self, guest: str) -> None:
        b = self.browsers[guest]
        b.joins += 1
        await b.page.goto(b.link)
        page = b.page

        async def loaded() -> bool:
            # asked through the DevTools protocol, which the page's CSP (script-src 'self',
            # no eval) does not bind: Playwright's wait_for_function evals in the page
            return bool(await page.evaluate("() => Boolean(window.showctlGuest)"))
        await until(loaded, 15, f"{guest}'s page loaded", 0.05)
        await page.evaluate("showctlGuest.join()")

    async def _whip(self, b: Browser, route: Any) -> None:
        """The WHIP POST of the lossy guest: offer without candidates, answer via a relay."""
        request = route.request
        if request.method != "POST":
            await route.continue_()
            return
        offer = request.post_data or ""
        if (video := media_ssrcs(offer).get("video")) is not None:
            b.video_ssrcs.add(video)
        try:
            response = await route.fetch(post_data=strip_candidates(offer))
        except Exception:  # the controller is down (controller-kill): as the network says
            await route.abort("connectionrefused")
            return
        answer = await response.text()
        port = answer_port(answer)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        if response.status != 201 or port is None:
            await route.fulfill(status=response.status, headers=headers, body=answer)
            return
        old = b.relay
        relay = await LossyRelay.start(port)
        if old is not None:  # a rejoin keeps the link's quality; the old relay ends
            relay.set(old.loss, old.jitter_ms)
            old.close()
        b.relays.append(relay)
        await route.fulfill(status=201, headers=headers, body=via_relay(answer, relay.port))

    def pids(self, guest: str) -> list[int]:
        """The guest's browser processes: the one started with its profile, and its children."""
        b = self.browsers[guest]
        marker = f"--user-data-dir={b.profile}".encode()
        procs: dict[int, tuple[int, bytes]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                cmd = (entry / "cmdline").read_bytes()
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                procs[int(entry.name)] = (ppid, cmd)
        main = [pid for pid, (_, cmd) in procs.items()
                if marker in cmd and b"--type=" not in cmd]
        tree, frontier = set(main), list(main)
        while frontier:
            parent = frontier.pop()
            for pid, (ppid, _) in procs.items():
                if ppid == parent and pid not in tree:
                    tree.add(pid)
                    frontier.append(pid)
        return sorted(tree)

    def kill(self, guest: str) -> int:
        """SIGKILL every process of the guest's browser at once (no goodbye); how many."""
        pids = self.pids(guest)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    async def forget(self, guest: str) -> None:
        """Playwright's side of a browser that was killed."""
        b = self.browsers[guest]
        with contextlib.suppress(Exception):
            await asyncio.wait_for(b.context.close(), 5)

    async def close(self) -> None:
        for b in self.browsers.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(b.context.close(), 10)
            for relay in b.relays:
                relay.close()
        if self._pw is not None:
            with contextlib.suppress(Exception):
                await self._pw.stop()


# --- setting the guests up ----------------------------------------------------------------------

def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def guest_env(secret: str) -> dict[str, str]:
    """The controller's settings for guests in the drill: the mixer on (its feed to a free
    loopback port), ICE on 127.0.0.1 only, the invite secret the drill signs links with."""
    return {"SHOWCTL_MIXER_ENABLED": "true", "SHOWCTL_MIXER_PORT": str(free_udp_port()),
            "SHOWCTL_ICE_HOSTS": "127.0.0.1", "SHOWCTL_GUEST_SECRET": secret}


def invite_links(secret: str, guests: list[str], port: int) -> dict[str, str]:
    expires = int(time.time()) + 6 * 3600
    return {g: invite_url("127.0.0.1", port, g, make_token(secret.encode(), g, expires))
            for g in guests}


async def provision(env: dict[str, str], rundown: Path, cwd: Path) -> list[str]:
    """`showctl preflight --provision RUNDOWN` against the drill's OBS, as an engineer runs
    it: the "Program Feed" media source in every scene with guests. What it created."""
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "control.cli", "preflight", "--provision",
                               str(rundown)], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=60)
    done = await asyncio.to_thread(run)
    if done.returncode != 0:
        raise DrillError(f"preflight --provision failed ({done.returncode}):\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return [line for line in done.stdout.splitlines() if ": created:" in line]
