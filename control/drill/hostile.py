"""Hostile clients on the gallery network: websockets that send without ever reading.

The attack issue 13 measured (8 sockets holding only the overlay read key, which is in every
OBS browser source URL, sending `{"type":"resync"}` as fast as TCP carries them, and 8 viewer
sockets sending pings, none reading a byte) once stalled the show's loop for seconds. The
drill's `flood` fault and `bench/flood.py` run the same attackers from here, in a process of
their own so the attack's CPU is not the measuring side's.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from typing import Any

RETRY_PAUSE_S = 1.0  # a refused attacker tries again after this (a persistent one)
STALL_S = 1.0        # an attacker's socket that takes nothing this long is dropped
RESYNC, PING = '{"type":"resync"}', '{"type":"ping","t0":1}'


def _frame(text: str) -> bytes:
    """A masked client text frame (mask key 0: the payload as it is)."""
    payload = text.encode()
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


def _handshake(path: str, port: int) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n").encode()


async def attacker(port: int, path: str, message: str, until: float,
                   counts: dict[str, int], retry_pause: float = RETRY_PAUSE_S,
                   tls: ssl.SSLContext | None = None) -> None:
    """One socket that sends `message` without reading, reconnecting whenever it is cut
    (over TLS with `tls`)."""
    burst = _frame(message) * 64
    while time.monotonic() < until:
        writer = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            writer.write(_handshake(path, port))
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                counts["refused"] += 1
                await asyncio.sleep(retry_pause)
                continue
            counts["connected"] += 1
            writer.transport.pause_reading()  # never read again
            while time.monotonic() < until:
                writer.write(burst)
                counts["sent"] += 64
                # a server that cut us leaves the socket unwritable (its window closed, its
                # FIN unread): a persistent attacker gives up on it after a second and
                # comes back on a new one
                await asyncio.wait_for(writer.drain(), STALL_S)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            counts["cut"] += 1
        except TimeoutError:
            counts["stalled"] += 1
        finally:
            if writer is not None:
                writer.transport.abort()


async def attack(port: int, sockets: int, overlay_key: str, viewer_token: str,
                 seconds: float, retry_pause: float = RETRY_PAUSE_S,
                 tls: ssl.SSLContext | None = None) -> dict[str, int]:
    """`sockets` resync floods on the overlay key and as many ping floods on the viewer
    token, for `seconds`: what each attacker saw, summed."""
    counts = {"connected": 0, "refused": 0, "cut": 0, "stalled": 0, "sent": 0}
    until = time.monotonic() + seconds
    overlay = f"/overlays/ws?key={overlay_key}"
    viewer = f"/api/ws?delta=1&token={viewer_token}"
    await asyncio.gather(
        *(attacker(port, overlay, RESYNC, until, counts, retry_pause, tls)
          for _ in range(sockets)),
        *(attacker(port, viewer, PING, until, counts, retry_pause, tls)
          for _ in range(sockets)))
    return counts


def attack_process(port: int, sockets: int, overlay_key: str, viewer_token: str,
                   seconds: float, retry_pause: float, out: Any) -> None:
    """`attack` in a process of its own; the counts are sent on the pipe `out`."""
    out.send(asyncio.run(attack(port, sockets, overlay_key, viewer_token, seconds,
                                retry_pause)))
    out.close()


def main(argv: list[str] | None = None) -> None:
    """`python -m control.drill.hostile PORT SOCKETS OVERLAY_KEY SECONDS`, the viewer token
    in SHOWCTL_VIEWER_TOKEN (never on a command line), over TLS trusting the CA file in
    SHOWCTL_DRILL_CA when set: a line `started` when the attack
    begins (the caller's clock starts there, not at the slower interpreter start), then the
    counts as JSON on stdout."""
    import json
    import os
    import sys

    port, sockets, key, seconds = (argv if argv is not None else sys.argv[1:])[:4]
    ca = os.environ.get("SHOWCTL_DRILL_CA")
    tls = ssl.create_default_context(cafile=ca) if ca else None
    print("started", flush=True)
    counts = asyncio.run(attack(int(port), int(sockets), key,
                                os.environ["SHOWCTL_VIEWER_TOKEN"], float(seconds),
                                tls=tls))
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
