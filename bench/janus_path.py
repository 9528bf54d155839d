"""What Janus in front saves showctl: guests received and decoded by the aiortc gateway
(each guest's ICE, DTLS and SRTP in showctl's process) against the same guests through
Janus (`guests.sfu: janus`: Janus holds the WebRTC side, showctl receives plain RTP from its
forwarders and decodes). Same guests, same run, one after the other.

The guests are aiortc publishers in a process of their own (VP8 at 30 fps, a moving
gradient, `--size`), joining through showctl's WHIP door as the guest page does. Measured
over `--seconds` once every guest's pictures flow: showctl's CPU (getrusage of its process:
the gateway, decoders and all), Janus's CPU (/proc), and the pictures decoded per second
per guest. No mixer: the decode side only (bench/mixer.py measures the mix).

Run as root (it makes a network namespace of its own: Janus offers no loopback candidate):
    .venv/bin/python -m bench.janus_path [--guests 4] [--seconds 10] [--size 640x360]
JSON on stdout and in bench/results/janus_path.json. Not yet part of `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STUDIO = "10.99.0.1"
INSIDE = "SHOWCTL_BENCH_JANUS_INSIDE"
SECRET = b"bench-janus"


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_of(pid: int) -> float:
    """A process's CPU seconds so far (utime + stime from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the guests' process ---------------------------------------------------------------------

async def guests(url: str, count: int, width: int, height: int) -> None:
    """`count` publishers until stdin closes."""
    import av
    import numpy as np
    from aiortc import (
        RTCConfiguration,
        RTCPeerConnection,
        RTCSessionDescription,
        VideoStreamTrack,
    )

    from control.guests.gateway import configure_ice_hosts
    from control.guests.invites import make_token

    class Moving(VideoStreamTrack):
        def __init__(self, shade: int) -> None:
            super().__init__()
            ramp = np.linspace(0, 255, width, dtype=np.uint8)
            self.base = np.stack([np.tile(ramp, (height, 1))] * 3, axis=2)
            self.base[:, :, 1] = shade
            self.n = 0

        async def recv(self) -> av.VideoFrame:
            pts, time_base = await self.next_timestamp()
            self.n += 1
            frame = av.VideoFrame.from_ndarray(np.roll(self.base, self.n * 4, axis=1),
                                               format="rgb24")
            frame.pts, frame.time_base = pts, time_base
            return frame

    import aiohttp

    configure_ice_hosts([STUDIO])
    pcs = []
    async with aiohttp.ClientSession() as http:
        for i in range(count):
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            pc.addTransceiver(Moving(40 * i), direction="sendonly")
            await pc.setLocalDescription(await pc.createOffer())
            token = make_token(SECRET, f"g{i}", int(time.time()) + 3600)
            async with http.post(f"{url}/whip/g{i}", data=pc.localDescription.sdp,
                                 headers={"Content-Type": "application/sdp",
                                          "Authorization": f"Bearer {token}"}) as resp:
                answer = await resp.text()
                if resp.status != 201:
                    raise SystemExit(f"guest g{i}: {resp.status} {answer}")
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            pcs.append(pc)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for pc in pcs:
        await pc.close()


# --- showctl's side --------------------------------------------------------------------------

async def measure(mode: str, janus: Any, count: int, seconds: float, size: str
                  ) -> dict[str, Any]:
    """One mode ("direct" or "janus"): the door, the gateway, the guests, the figures."""
    from aiohttp import web

    from control.guests.gateway import Gateway, HeldFrames, configure_ice_hosts
    from control.guests.routes import install
    from control.wiring.sfu import JanusGateway, janus_room

    configure_ice_hosts([STUDIO])
    sink = HeldFrames()
    gateway = (Gateway(sink, joins_per_address=0) if mode == "direct" else JanusGateway(
        sink, janus_room(janus.url, 9, janus.admin_key, None), joins_per_address=0))
    roster = {f"g{i}": {"id": f"g{i}", "name": f"G{i}", "name_zh": None, "role": None}
              for i in range(count)}
    app = web.Application()
    install(app, gateway, secret=SECRET, roster=lambda: roster,
            status=lambda g: {"status": gateway.phase(g), "on_air": False})
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    if isinstance(gateway, JanusGateway):
        gateway.start()
        while not gateway.sfu_up:
            await asyncio.sleep(0.05)
    w, h = size.split("x")
    child = subprocess.Popen([sys.executable, "-m", "bench.janus_path", "--guest-process",
                              f"http://127.0.0.1:{port}", str(count), w, h],
                             cwd=ROOT, stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not all(h_.received > 30 for h_ in sink.held.values()) or \
                len(sink.held) < count:
            if time.monotonic() > deadline or child.poll() is not None:
                raise SystemExit(f"{mode}: the guests did not all arrive")
            await asyncio.sleep(0.1)
        before = {g: h_.received for g, h_ in sink.held.items()}
        cpu0, janus0, t0 = cpu_self(), cpu_of(janus.proc.pid), time.monotonic()
        await asyncio.sleep(seconds)  # the measuring window
        cpu1, janus1, t1 = cpu_self(), cpu_of(janus.proc.pid), time.monotonic()
        fps = [(sink.held[g].received - before[g]) / (t1 - t0) for g in before]
        receivers = [r for p in getattr(gateway, "room", None).publishers.values()
                     for r in p.receivers if r.kind == "video"] if mode == "janus" else []
        forwarded = {k: sum(getattr(r, k) for r in receivers)
                     for k in ("packets", "decoded", "frames", "undecodable",
                               "keyframes_asked")}
    finally:
        child.stdin.close()  # type: ignore[union-attr]
        child.wait(20)
        await runner.cleanup()
        await gateway.close()
    window = t1 - t0
    return {"mode": mode, "guests": count, "size": size, "seconds": round(window, 2),
            "showctl_cpu_percent": round(100 * (cpu1 - cpu0) / window, 1),
            "showctl_cpu_ms_per_frame": round(1000 * (cpu1 - cpu0) / max(1, sum(fps) * window),
                                              2),
            "janus_cpu_percent": round(100 * (janus1 - janus0) / window, 1),
            "fps_per_guest": [round(f, 1) for f in fps], "forwarded_video": forwarded}


async def both(count: int, seconds: float, size: str) -> dict[str, Any]:
    from control.janus.server import JanusServer

    with tempfile.TemporaryDirectory() as tmp, \
            JanusServer(Path(tmp), interface=STUDIO) as janus:
        runs = [await measure(mode, janus, count, seconds, size)
                for mode in ("direct", "janus")]
    return {"runs": runs, "load_average": os.getloadavg(), "cores": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guests", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--guest-process", nargs=4, metavar=("URL", "N", "W", "H"))
    args = parser.parse_args()
    if args.guest_process:
        url, n, w, h = args.guest_process
        asyncio.run(guests(url, int(n), int(w), int(h)))
        return
    if not os.environ.get(INSIDE):  # again, inside a namespace of our own
        cmd = (f"ip link set lo up && ip link add studio0 type veth peer name studio1 && "
               f"ip addr add {STUDIO}/24 dev studio0 && ip link set studio1 up && "
               f"ip link set studio0 up && exec {sys.executable} -m bench.janus_path "
               f"--guests {args.guests} --seconds {args.seconds} --size {args.size}")
        raise SystemExit(subprocess.call(["unshare", "-n", "sh", "-c", cmd], cwd=ROOT,
                                         env={**os.environ, INSIDE: "1"}))
    result = asyncio.run(both(args.guests, args.seconds, args.size))
    text = json.dumps(result, indent=2)
    print(text)
    out = ROOT / "bench" / "results" / "janus_path.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
