"""Load: 200 console and overlay websockets and 4 WebRTC guests through minutes of show.

The controller runs as `showctl run` (mixer on, guests on air in a grid every other segment,
no OBS: what is measured is the controller, and an absent OBS costs it nothing but alarms).
In the same run:
- consoles (`/api/ws?delta=1`, as the browser console) and overlay pages (`/overlays/ws`)
  connected the whole time, spread over processes as separate browsers would be;
- 4 guests publishing over WHIP from their own process: aiortc, synthetic 320x180 video at
  15 fps and a tone each (the gateway decodes them, the mixer composes and encodes them);
- a rundown the size of a real show (a segment per take), a take every `--interval` (25) s:
  time from the take to the last console holding it; and every push (takes, guests'
  changes, the clocks once a second): from the read model's build to the last console;
- the controller's event-loop lag (its 10 ms probe, /debug/looplag) over the whole window;
- the controller's resident memory every 5 s: growth from the end of the warm-up (the first
  minute, or a tenth of the run) to the end.
Goals (issue 8): fan-out p99 <= 50 ms (every push), no loop stall over 50 ms, memory growth
< 10 %.

WebRTC stays on loopback: the run re-executes itself in a network namespace that has nothing
but loopback (`unshare -n`, as root), and both sides offer 127.0.0.1 only.

Run: .venv/bin/python bench/load.py [--minutes 10] [--consoles 150] [--overlays 50]
Bounded: the run stops after --minutes (plus a minute of setup at most).
Results: bench/results/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import load_average, machine, summary, wait_on_air, write_result  # noqa: E402
from bench.fanout import measure  # noqa: E402
from control.obs.launcher import free_port  # noqa: E402

INNER = "SHOWCTL_BENCH_LOAD_NETNS"
TOKEN, VIEWER = "load-director-token-01234", "load-viewer-token-0123456"
SECRET = "load-guest-secret-0123456789"
GUESTS = ("ada", "bob", "cai", "dai")


def rundown_text(segments: int, seconds: float) -> str:
    """`segments` segments of `seconds`, held for the director (the size of a real show:
    its read model and its deltas are what consoles get); every other one has the four
    guests on air in a grid."""
    lines = ["show:", "  title: Load bench", "  timezone: Asia/Shanghai",
             "  start: 2023-12-31 22:00:00", "guests:"]
    lines += [f"  {g}: {{name: {g.title()}}}" for g in GUESTS]
    lines.append("segments:")
    for i in range(segments):
        extra = f", guests: [{', '.join(GUESTS)}], layout: grid" if i % 2 else ""
        lines.append(f"  - {{id: s{i}, title: Segment {i}, duration: {seconds:g}s, "
                     f"scene: S{i % 4}, "
                     f"then: hold{extra}}}")
    return "\n".join(lines) + "\n"


# --- overlay pages: connected, reading, counting -------------------------------------------

def _overlay_process(url: str, clients: int, conn: Connection) -> None:
    async def main() -> None:
        received = 0
        connected = 0

        async def page(session: aiohttp.ClientSession) -> None:
            nonlocal received, connected
            async with session.ws_connect(url, max_msg_size=0) as ws:
                connected += 1
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    received += 1

        async with aiohttp.ClientSession() as session:
            tasks = [asyncio.create_task(page(session)) for _ in range(clients)]
            async with asyncio.timeout(60):
                while connected < clients:
                    await asyncio.sleep(0.1)
            conn.send("ready")
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            conn.send({"connected": connected, "messages": received,
                       "closed": sum(t.done() for t in tasks)})
            for t in tasks:
                t.cancel()

    asyncio.run(main())


# --- guests: aiortc publishers over WHIP ----------------------------------------------------

def _guest_process(base: str, conn: Connection) -> None:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
    from av import AudioFrame, VideoFrame

    from control.guests.gateway import configure_ice_hosts
    from control.guests.invites import make_token

    configure_ice_hosts(["127.0.0.1"])

    class Picture(VideoStreamTrack):
        def __init__(self, shade: int) -> None:
            super().__init__()
            self.shade = shade

        async def recv(self) -> VideoFrame:
            pts, time_base = await self.next_timestamp()
            img = np.full((180, 320, 3), self.shade, np.uint8)
            img[:, (pts // 3000) % 320] = 255  # a moving bar: every frame differs
            frame = VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = pts, time_base
            return frame

    class Tone(AudioStreamTrack):
        def __init__(self, freq: float) -> None:
            super().__init__()
            self.freq, self.n = freq, 0

        async def recv(self) -> AudioFrame:
            await super().recv()  # the base class paces 20 ms frames
            t = (np.arange(960) + self.n) / 48000
            self.n += 960
            pcm = (np.sin(2 * np.pi * self.freq * t) * 8000).astype(np.int16)
            frame = AudioFrame.from_ndarray(np.repeat(pcm, 2)[None, :], format="s16",
                                            layout="stereo")
            frame.sample_rate, frame.pts = 48000, self.n - 960
            frame.time_base = fractions.Fraction(1, 48000)
            return frame

    async def main() -> None:
        pcs = []
        async with aiohttp.ClientSession() as http:
            for i, guest in enumerate(GUESTS):
                pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: loopback only
                pc.addTrack(Picture(40 + 50 * i))
                pc.addTrack(Tone(300 + 200 * i))
                await pc.setLocalDescription(await pc.createOffer())
                token = make_token(SECRET.encode(), guest, int(time.time() + 3600))
                async with http.post(f"{base}/whip/{guest}", data=pc.localDescription.sdp,
                                     headers={"Content-Type": "application/sdp",
                                              "Authorization": f"Bearer {token}"}) as r:
                    if r.status != 201:
                        raise SystemExit(f"WHIP {guest}: {r.status} {await r.text()}")
                    answer = await r.text()
                await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
                pcs.append(pc)
            async with asyncio.timeout(30):
                while any(pc.connectionState != "connected" for pc in pcs):
                    await asyncio.sleep(0.1)
            conn.send("ready")
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            conn.send({"states": [pc.connectionState for pc in pcs]})
            for pc in pcs:
                await pc.close()

    asyncio.run(main())


# --- the run --------------------------------------------------------------------------------

def rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


async def run(minutes: float = 10, consoles: int = 150, overlays: int = 50,
              interval: float = 25.0, processes: int = 4,
              keep_log: Path | None = None) -> dict[str, Any]:
    info = machine()
    takes = max(1, int(minutes * 60 / interval))
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="showctl-load-") as tmp_name:
        tmp = Path(tmp_name)
        rundown = tmp / "load.yaml"
        rundown.write_text(rundown_text(takes + 4, interval), "utf-8")
        port = free_port()
        env = {**os.environ, "SHOWCTL_OBS_URL": f"ws://127.0.0.1:{free_port()}",
               "SHOWCTL_HTTP_PORT": str(port), "SHOWCTL_DIRECTOR_TOKEN": TOKEN,
               "SHOWCTL_VIEWER_TOKEN": VIEWER, "SHOWCTL_STATE_DIR": str(tmp / "state"),
               "SHOWCTL_GUEST_SECRET": SECRET, "SHOWCTL_ICE_HOSTS": "127.0.0.1",
               "SHOWCTL_MIXER_ENABLED": "1", "SHOWCTL_MIXER_PORT": str(free_port())}
        log = (tmp / "controller.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "control.cli", "run", "--no-terminal",
                                 "--start", "now", str(rundown)], cwd=ROOT, env=env,
                                stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        children: list[tuple[Any, Connection]] = []
        rss: list[tuple[float, int]] = []
        try:
            async with aiohttp.ClientSession(
                    headers={"Authorization": f"Bearer {TOKEN}"}) as http:
                await wait_on_air(http, f"{base}/api/state")
                async with http.get(f"{base}/api/overlays") as r:
                    page_url = (await r.json())["graphics"][0]["url"]
                key = page_url.split("key=", 1)[1].split("&", 1)[0]
                overlay_ws = (f"ws://127.0.0.1:{port}/overlays/ws?template=lower-third"
                              f"&key={key}")
                for target, args in ([(_guest_process, (base,))]
                                     + [(_overlay_process, (overlay_ws, n)) for n in
                                        _shares(overlays, max(1, processes // 2))]):
                    parent, child = ctx.Pipe()
                    p = ctx.Process(target=target, args=(*args, child))
                    p.start()
                    children.append((p, parent))
                loop = asyncio.get_running_loop()
                for _p, pipe in children:
                    ready = await asyncio.wait_for(loop.run_in_executor(None, pipe.recv), 90)
                    assert ready == "ready", ready
                started = time.monotonic()
                sampling = asyncio.Event()

                async def sample_memory() -> None:
                    while not sampling.is_set():
                        value = rss_bytes(proc.pid)
                        if value is not None:
                            rss.append((time.monotonic() - started, value))
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(sampling.wait(), 5)

                sampler = asyncio.create_task(sample_memory())
                lag: dict[str, Any] = {}
                posts: list[asyncio.Task] = []

                async def take(k: int) -> str:
                    posts.append(asyncio.create_task(http.post(f"{base}/api/take")))
                    return f"s{k + 1}"

                async def ready() -> None:
                    max_s = int(minutes * 60 + 120)
                    async with http.post(f"{base}/debug/looplag?max_s={max_s}") as r:
                        r.raise_for_status()

                async def done() -> None:
                    async with http.delete(f"{base}/debug/looplag") as r:
                        lag.update(await r.json())

                pushes: dict[int, tuple[float, int]] = {}
                fanout, sizes = await measure(
                    consoles, takes, f"ws://127.0.0.1:{port}/api/ws?delta=1",
                    {"Authorization": f"Bearer {VIEWER}"}, take, processes, ready, done,
                    interval=interval, pushes=pushes)
                sampling.set()
                await sampler
                for response in await asyncio.gather(*posts):
                    response.release()
                ends = []
                for _p, pipe in children:
                    pipe.send(None)
                    ends.append(await asyncio.wait_for(loop.run_in_executor(None, pipe.recv),
                                                       30))
                async with http.get(f"{base}/api/state") as r:
                    guests = [(g["id"], g["status"]) for g in (await r.json())["guests"]]
        finally:
            for p, _pipe in children:
                p.join(15)
                if p.is_alive():
                    p.kill()
            proc.terminate()
            proc.wait(15)
            log.close()
            if keep_log is not None:
                shutil.copyfile(tmp / "controller.log", keep_log)
    whole = [worst for worst, count in pushes.values() if count >= consoles]
    warm_s = min(60.0, minutes * 6)
    after_warmup = next((v for t, v in rss if t >= warm_s), None)
    end = rss[-1][1] if rss else None
    growth = (end - after_warmup) / after_warmup if after_warmup and end else None
    info["load_average_end"] = load_average()
    return {
        "machine": info, "minutes": minutes, "consoles": consoles, "overlays": overlays,
        "guests": len(GUESTS), "takes": takes, "interval_s": interval,
        "take_to_last_console": summary(fanout),
        # every push (a take, a guest's change, the clocks once a second): from the read
        # model's build (its show.now_ms) to the last console that received it
        "push_to_last_console": summary(whole),
        "pushes_not_reaching_every_console": len(pushes) - len(whole),
        "message_bytes_median": sorted(sizes)[len(sizes) // 2] if sizes else None,
        "loop_lag": lag,
        "memory": {"warmup_s": warm_s, "rss_after_warmup_bytes": after_warmup,
                   "rss_end_bytes": end, "growth_ratio": growth,
                   "samples": [(round(t, 1), v) for t, v in rss]},
        "guests_at_end": guests, "children_at_end": ends,
        "goals": {"fanout_p99_at_most_50_ms": bool(whole) and sorted(whole)[
                      min(len(whole) - 1, round(.99 * (len(whole) - 1)))] <= 50,
                  "no_loop_stall_over_50_ms": lag.get("max_ms", 1e9) <= 50,
                  "memory_growth_under_10_percent": growth is not None and growth < 0.10},
    }


def _shares(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if n < total % parts else 0) for n in range(parts)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--consoles", type=int, default=150)
    parser.add_argument("--overlays", type=int, default=50)
    parser.add_argument("--interval", type=float, default=25.0,
                        help="seconds between takes (and each segment's length)")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--log", type=Path, help="keep the controller's log here (with "
                        "PYTHONASYNCIODEBUG=1 it names every callback that held the loop)")
    args = parser.parse_args()
    if not os.environ.get(INNER):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            print("bench/load.py needs root and unshare (WebRTC stays in a loopback-only "
                  "network namespace)", file=sys.stderr)
            return 2
        cmd = "ip link set lo up; exec " + " ".join([sys.executable, *sys.argv])
        return subprocess.call(["unshare", "-n", "sh", "-c", cmd],
                               env={**os.environ, INNER: "1"})
    result = asyncio.run(run(args.minutes, args.consoles, args.overlays, args.interval,
                             args.processes, args.log))
    write_result("load", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
