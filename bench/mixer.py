"""Program mixer cost and latency, against ffmpeg doing the same job, side by side in one run.

The job: four synthetic 1280x720 guests at 30 fps (textured, moving, each a stamped frame
counter in guest 1's picture) → a 2x2 composite at 1280x720 → H.264 (libx264 veryfast,
zerolatency, keyframe every second, no B-frames, 6 Mbit/s) → MPEG-TS over UDP on loopback.

1. showctl: ``control.guests`` (LatestFrame holders, Compositor, ProgramFeed) in this
   process; a feeder thread puts the guests' frames at 30 fps.
2. ffmpeg: the same raw frames piped into ``ffmpeg -f rawvideo ×4 -filter_complex
   scale+xstack -c:v libx264`` with the same encoder settings.

For each: CPU seconds per output frame (showctl: getrusage(SELF) minus the feeder thread's
own CPU; ffmpeg: the child's rusage from wait4), sustained output fps, and glass-to-glass
latency: a receiver process decodes the UDP stream with PyAV, reads the stamped counter and
compares its decode time with the frame's capture time (CLOCK_MONOTONIC is shared by the
processes). Goals: CPU ratio ≤ 1.3x ffmpeg, 30 fps, median latency ≤ 150 ms.

Run: .venv/bin/python bench/mixer.py [--seconds 20]. Needs Debian's ffmpeg.
Results: JSON on stdout and in bench/results/mixer.json; ``run(seconds)`` returns them for
bench/report.py. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import load_average, machine, ratio, summary, write_result  # noqa: E402
from control.guests.feed import FeedSettings, ProgramFeed  # noqa: E402
from control.guests.layouts import Program  # noqa: E402
from control.guests.video import Canvas, Compositor, LatestFrame, VideoFrame  # noqa: E402

W, H, FPS = 1280, 720, 30
GUESTS = ("g1", "g2", "g3", "g4")
BANK = 15  # distinct frames per guest, looped (half a second of motion)
BITRATE = 6_000_000
# the counter: 16 bits + a white and a black guard block, 32x32 px each in guest 1's
# picture (16x16 after the 2x2 composite halves it), on one row near its top-left corner
BITS = 16
BLOCK = 32
STAMP_Y = 32
WARMUP = 2  # s


def textured(guest: int, n: int) -> list[np.ndarray]:
    """Packed I420 frames with detail and motion, so x264 has real work (a flat colour
    would encode for free and hide the encoder's cost)."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    rng = np.random.default_rng(guest)
    noise = rng.integers(-6, 7, size=(H, W)).astype(np.float32)
    frames = []
    for k in range(n):
        phase = 2 * np.pi * k / n
        y = 128 + 55 * np.sin(xx / (13 + 4 * guest) + phase) * np.cos(yy / 21 - phase) + noise
        buf = np.empty((H * 3 // 2, W), np.uint8)
        buf[:H] = np.clip(y, 16, 235)
        buf[H:] = 90 + 40 * guest  # a different chroma per guest
        frames.append(buf)
    return frames


def stamp(buf: np.ndarray, counter: int) -> np.ndarray:
    out = buf.copy()
    bits = [1, 0] + [(counter >> i) & 1 for i in range(BITS)]
    for i, bit in enumerate(bits):
        x = BLOCK + i * BLOCK
        out[STAMP_Y:STAMP_Y + BLOCK, x:x + BLOCK] = 235 if bit else 16
    return out


def read_stamp(y: np.ndarray) -> int | None:
    """The counter from the composite's Y plane (guest 1 at half size, top-left)."""
    half = BLOCK // 2
    row = STAMP_Y // 2 + half // 2
    values = [y[row, BLOCK // 2 + i * half + half // 2] for i in range(BITS + 2)]
    bits = [v > 128 for v in values]
    if not bits[0] or bits[1]:
        return None  # guards wrong: not a stamped frame
    return sum(1 << i for i, b in enumerate(bits[2:]) if b)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


# --- the receiver (its own process, so its decoding is not counted as the mixer's CPU) ----

def receive(port: int, until: float, out: Path) -> None:
    import av

    url = (f"udp://127.0.0.1:{port}?fifo_size=50000&overrun_nonfatal=1"
           "&buffer_size=8388608&timeout=2000000")
    seen: dict[int, float] = {}
    frames = 0
    try:
        with av.open(url, format="mpegts", timeout=(15, 2),
                     options={"fflags": "nobuffer", "flags": "low_delay",
                              "probesize": "200000", "analyzeduration": "200000"}) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1  # frame threads would add frames of delay
            for packet in container.demux(stream):
                for frame in packet.decode():
                    now = time.monotonic()
                    frames += 1
                    y = frame.to_ndarray(format="yuv420p")[:frame.height]
                    counter = read_stamp(y)
                    if counter is not None and counter not in seen:
                        seen[counter] = now
                if time.monotonic() > until:
                    break
    except av.error.ExitError:
        pass  # the read timeout once the sender has stopped: the normal end
    except Exception as exc:
        print(f"receiver: {exc!r}", file=sys.stderr)
    out.write_text(json.dumps({"decoded": {str(k): t for k, t in seen.items()},
                               "frames": frames}))


def start_receiver(port: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    until = time.monotonic() + seconds
    return subprocess.Popen([sys.executable, __file__, "--receive", str(port),
                             "--until", repr(until), "--out", str(out)])


def latency(captured: dict[int, float], result: dict[str, Any]) -> dict[str, Any]:
    """Capture → decoded, per stamped frame, in the steady state: without the first
    seconds (the receiver's stream probe holds them back) and the last second (libavformat's
    H.264 parser releases a frame when the next one begins, so the very last frame waits
    for the receiver's timeout; every other frame waits one frame time for it, in OBS too)."""
    decoded = {int(k): t for k, t in result["decoded"].items()}
    end = max(captured, default=0) - FPS
    steady = {k: t for k, t in captured.items() if WARMUP * FPS <= k < end}
    values = [(decoded[k] - t) * 1000 for k, t in steady.items() if k in decoded]
    stats: dict[str, Any] = summary(values)
    stats["warmup_excluded_s"] = WARMUP
    stats["stamped_frames_seen"] = f"{len(values)}/{len(steady)}"
    times = sorted(t for k, t in decoded.items() if k >= WARMUP * FPS)
    if len(times) > 1:
        stats["distinct_frames_decoded_per_s"] = (len(times) - 1) / (times[-1] - times[0])
    return stats


# --- 1. showctl ------------------------------------------------------------------------------

def run_showctl(seconds: float, banks: list[list[np.ndarray]], tmp: Path) -> dict[str, Any]:
    port = free_udp_port()
    receiver = start_receiver(port, seconds + 6, tmp / "showctl.json")
    time.sleep(1.0)  # the receiver listens before the first packet
    holders = {g: LatestFrame() for g in GUESTS}
    compositor = Compositor(Canvas(W, H), stale_after=1.0)
    output = ProgramFeed(FeedSettings(port=port, width=W, height=H, fps=FPS, audio=False,
                                          video_bitrate=BITRATE), compositor)
    output.sources = holders
    output.program = Program(GUESTS, "grid")
    captured: dict[int, float] = {}
    feeder_cpu = [0.0]
    total = int(seconds * FPS)

    def feed() -> None:
        t0 = time.thread_time()
        start = time.monotonic()
        for k in range(total):
            wait = start + k / FPS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            now = time.monotonic()
            for i, guest in enumerate(GUESTS):
                buf = banks[i][k % BANK]
                if i == 0:
                    buf = stamp(buf, k)
                holders[guest].put(VideoFrame.from_i420(buf, now))
            captured[k] = now
        feeder_cpu[0] = time.thread_time() - t0

    before = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic()
    output.start()
    feeder = threading.Thread(target=feed, name="feeder")
    feeder.start()
    feeder.join()
    output.stop()
    wall = time.monotonic() - wall
    after = resource.getrusage(resource.RUSAGE_SELF)
    receiver.wait(timeout=30)
    result = json.loads((tmp / "showctl.json").read_text())
    used = cpu(after) - cpu(before) - feeder_cpu[0]
    return {
        "frames": output.frames,
        "fps": output.frames / wall,
        "skipped_frames": output.skipped,
        "cpu_seconds": used,
        "cpu_ms_per_frame": 1000 * used / max(1, output.frames),
        "feeder_cpu_seconds_excluded": feeder_cpu[0],
        "compose_ms_smoothed": output.compose_seconds * 1000,
        "encode_ms_smoothed": output.encode_seconds * 1000,
        "latency": latency(captured, result),
    }


# --- 2. ffmpeg -------------------------------------------------------------------------------

def run_ffmpeg(seconds: float, banks: list[list[np.ndarray]], tmp: Path) -> dict[str, Any]:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return {"error": "ffmpeg is not installed (apt-get install -y ffmpeg)"}
    port = free_udp_port()
    receiver = start_receiver(port, seconds + 6, tmp / "ffmpeg.json")
    time.sleep(1.0)
    pipes = [os.pipe() for _ in GUESTS]
    inputs: list[str] = []
    for r, _ in pipes:
        inputs += ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}",
                   "-framerate", str(FPS), "-i", f"pipe:{r}"]
    half = f"{W // 2}:{H // 2}"
    graph = ";".join(f"[{i}:v]scale={half}[v{i}]" for i in range(4))
    graph += ";[v0][v1][v2][v3]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0[out]"
    kbps = BITRATE // 1000
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostats", *inputs,
           "-filter_complex", graph, "-map", "[out]",
           "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
           "-g", str(FPS), "-bf", "0", "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k",
           "-bufsize", f"{kbps}k", "-pix_fmt", "yuv420p",
           "-x264-params", f"keyint={FPS}:min-keyint={FPS}:scenecut=0:repeat-headers=1",
           "-flush_packets", "1", "-muxdelay", "0", "-muxpreload", "0",
           "-omit_video_pes_length", "0",
           "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"]
    proc = subprocess.Popen(cmd, pass_fds=[r for r, _ in pipes], stdin=subprocess.DEVNULL)
    for r, _ in pipes:
        os.close(r)
    captured: dict[int, float] = {}
    total = int(seconds * FPS)
    start = time.monotonic() + 0.2

    def write(i: int, fd: int) -> None:
        with os.fdopen(fd, "wb", buffering=0) as pipe:
            for k in range(total):
                wait = start + k / FPS - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                buf = banks[i][k % BANK]
                if i == 0:
                    captured[k] = time.monotonic()
                    buf = stamp(buf, k)
                try:
                    pipe.write(buf.data)
                except BrokenPipeError:
                    return

    writers = [threading.Thread(target=write, args=(i, w)) for i, (_, w) in enumerate(pipes)]
    wall = time.monotonic()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - wall
    receiver.wait(timeout=30)
    result = json.loads((tmp / "ffmpeg.json").read_text())
    used = cpu(usage)
    return {
        "exit_code": proc.returncode,
        "frames": total,
        "fps": total / wall,
        "cpu_seconds": used,
        "cpu_ms_per_frame": 1000 * used / total,
        "latency": latency(captured, result),
    }


def run(seconds: float = 20.0) -> dict[str, Any]:
    """ffmpeg, then showctl, on the same frames; the figures as a JSON-able dict."""
    banks = [textured(i, BANK) for i in range(len(GUESTS))]
    report: dict[str, Any] = {
        "machine": machine(),
        "job": f"4 guests {W}x{H} yuv420p {FPS} fps -> 2x2 {W}x{H} -> H.264 veryfast "
               f"zerolatency {BITRATE // 1_000_000} Mbit/s gop {FPS} -> MPEG-TS/UDP loopback",
        "seconds": seconds,
    }
    with tempfile.TemporaryDirectory() as tmp:
        report["ffmpeg"] = run_ffmpeg(seconds, banks, Path(tmp))
        report["showctl"] = run_showctl(seconds, banks, Path(tmp))
    ours, theirs = report["showctl"], report["ffmpeg"]
    report["cpu_ratio_showctl_to_ffmpeg"] = ratio(ours["cpu_ms_per_frame"],
                                                  theirs.get("cpu_ms_per_frame"))
    median = ours["latency"].get("median_ms")
    report["latency_ratio_median_showctl_to_ffmpeg"] = ratio(
        median, theirs.get("latency", {}).get("median_ms"))
    cpu_ratio = report["cpu_ratio_showctl_to_ffmpeg"]
    report["goals"] = {
        "cpu_ratio_at_most_1.3": cpu_ratio is not None and cpu_ratio <= 1.3,
        "sustained_30_fps": ours["fps"] >= 29.5,
        "median_latency_at_most_150_ms": median is not None and median <= 150,
    }
    report["machine"]["load_average_end"] = load_average()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=None,
                        help="default bench/results/mixer.json")
    parser.add_argument("--receive", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--until", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receive:
        receive(args.receive, args.until, args.out)
        return
    write_result("mixer", run(args.seconds), args.out)


if __name__ == "__main__":
    main()
