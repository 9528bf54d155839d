"""TURN: a guest whose direct UDP path to the studio is dropped joins through a relay, Debian's
coturn with ``use-auth-secret``, on credentials showctl minted for that guest (TURN REST)
into the guest page; with all the guest's UDP dropped it joins through TURN over TCP.

The layout, inside a loopback-only network namespace of the test's own (tests/netns.py):
the guest (Chromium) is 127.0.0.1, the studio's gateway 127.0.0.2, the relay 127.0.0.3. The
"firewall" is a policy-routing rule in that namespace (``ip rule ... ipproto udp
unreachable``; nftables is not on every test machine): UDP from the guest to the studio, or
all UDP from the guest. The sender gets EHOSTUNREACH, as after a firewall's ICMP reject
(a ``blackhole`` rule's EINVAL makes Chromium close the UDP socket its TURN allocation
shares with its host candidate, and the relay dies with it: not what a network does).
Chromium joins with the invite link, its picture reaches the mixer's side, and the page
reports the path it uses: a relay candidate (what the console shows)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import subprocess
import time
from pathlib import Path

import pytest
from aiohttp import web
from guests.support import page_until
from helpers import CHROMIUM, launch_chromium, until
from netns import only_inside, rerun_inside

from control.guests.gateway import Gateway, HeldFrames, configure_ice_hosts
from control.guests.iceservers import TurnRest, minted, parse_ice_servers
from control.guests.invites import invite_url, make_token
from control.guests.routes import install
from control.obs.launcher import free_port

INNER = "SHOWCTL_TEST_NETNS_TURN"
GUEST, STUDIO, RELAY = "127.0.0.1", "127.0.0.2", "127.0.0.3"
SECRET = "turn-test-secret"
# what each case drops (policy routing in the test's namespace) and how the page reaches TURN
CASES = {
    "udp": (f"from {GUEST} to {STUDIO} ipproto udp", "udp"),
    "tcp": (f"from {GUEST} ipproto udp", "tcp"),
}


@pytest.mark.unit
def test_rest_credentials_are_coturns_scheme():
    turn = TurnRest("s3cret", ttl_s=600)
    username, password = turn.credentials("ada", now=1_700_000_000)
    assert username == "1700000600:ada"
    assert password == base64.b64encode(hmac.new(b"s3cret", username.encode(),
                                                 hashlib.sha1).digest()).decode()
    servers = parse_ice_servers("stun:stun.example.org,turn:turn.example.org", rest=True)
    ada = minted(servers, turn, "ada", 1_700_000_000)
    assert ada[0].username is None and ada[1].username == "1700000600:ada"
    assert minted(servers, turn, "bob", 1_700_000_000)[1].credential != ada[1].credential
    assert minted(servers, None, "ada", 0) == servers


@pytest.mark.parametrize("case", sorted(CASES))
def test_turn_in_a_loopback_namespace(case: str):
    rerun_inside(__file__, f" -k 'test_guest_joins_through_the_relay and {case}'", INNER,
                 timeout=120, needs=(CHROMIUM, "turnserver", "ip"))


def own_namespace() -> bool:
    """Nothing but loopback: the namespace rerun_inside made (never the machine's own)."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def firewall(rule: str) -> None:
    """Refuse what ``rule`` selects, in this namespace only: local routes looked up after
    it."""
    assert own_namespace(), "refusing to change the routing rules outside a test namespace"
    for cmd in ("ip rule add pref 100 lookup local", "ip rule del pref 0",
                f"ip rule add pref 10 {rule} unreachable"):
        subprocess.run(cmd.split(), check=True, capture_output=True, timeout=10)


def udp_refused(src: str, dst: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as r:
        s.bind((src, 0))
        r.bind((dst, 0))
        try:
            s.sendto(b"x", r.getsockname())
        except OSError:
            return True
        return False


def start_coturn(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    (tmp / "empty.conf").write_text("")
    low = free_port()
    return subprocess.Popen(
        ["turnserver", "-c", str(tmp / "empty.conf"), "-n", "-v", f"--listening-ip={RELAY}",
         f"--relay-ip={RELAY}", f"--listening-port={port}", f"--min-port={low}",
         f"--max-port={low + 50}", "--use-auth-secret", f"--static-auth-secret={SECRET}",
         "--realm=showctl.test", "--no-tls", "--no-dtls", "--fingerprint", "--no-cli",
         "--allow-loopback-peers", "--log-file=stdout", "--simple-log",
         f"--pidfile={tmp / 'turn.pid'}", f"--userdb={tmp / 'turndb'}"],
        stdout=(tmp / "turn.log").open("wb"), stderr=subprocess.STDOUT)


async def tcp_open(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    return True


async def selected_path(page) -> str | None:
    """The local candidate type of the pair Chromium's peer connection uses."""
    return await page.evaluate("""async () => {
        const pc = showctlGuest.pc(); if (!pc) return null;
        const stats = await pc.getStats(); let type = null;
        stats.forEach((r) => {
          if (r.type === "transport" && r.selectedCandidatePairId) {
            const pair = stats.get(r.selectedCandidatePairId);
            const local = pair && stats.get(pair.localCandidateId);
            if (local) type = local.candidateType + "/" + (local.relayProtocol || "");
          }
        });
        return type;
    }""")


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.timeout(90)
async def test_guest_joins_through_the_relay(case: str, tmp_path: Path):
    only_inside(INNER, "test_turn_in_a_loopback_namespace")
    from playwright.async_api import async_playwright

    rule, transport = CASES[case]
    firewall(rule)
    assert udp_refused(GUEST, STUDIO) and not udp_refused(STUDIO, RELAY)
    assert udp_refused(GUEST, RELAY) == (case == "tcp")
    turn_port = free_port()
    coturn = start_coturn(tmp_path, turn_port)
    configure_ice_hosts([STUDIO])
    sink = HeldFrames()
    servers = parse_ice_servers(f"turn:{RELAY}:{turn_port}?transport={transport}", rest=True)
    gateway = Gateway(sink, ice_servers=servers, turn=TurnRest(SECRET, ttl_s=600))
    secret = b"turn"
    roster = {"ada": {"id": "ada", "name": "Ada", "name_zh": None, "role": None}}
    app = web.Application()
    install(app, gateway, secret=secret, roster=lambda: roster,
            status=lambda g: {"status": gateway.phase(g), "on_air": False})
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, STUDIO, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    link = invite_url(STUDIO, port, "ada", make_token(secret, "ada", time.time() + 600))
    try:
        await until(lambda: tcp_open(RELAY, turn_port), 15, "coturn listening")
        async with async_playwright() as pw:
            browser = await launch_chromium(pw, media=True)
            page = await browser.new_page()
            await page.goto(link)
            await page_until(page, "window.showctlGuest !== undefined", 10, "the page's script")
            await page.evaluate("showctlGuest.join()")
            await until(lambda: gateway.phase("ada") == "connected", 30, "the guest connected")
            await until(lambda: sink.held.get("ada") is not None
                        and sink.held["ada"].received > 10, 15, "frames through the relay")
            assert await selected_path(page) == f"relay/{transport}"
            # the page reports its path; the console shows it (read model: link)
            await until(lambda: (gateway.link.get("ada") or {}).get("candidateType")
                        == "relay", 10, "the page reporting a relay path")
            await browser.close()
        log = (tmp_path / "turn.log").read_text(errors="replace")
        assert ":ada" in log, log[-2000:]  # the allocation is on ada's own credentials
    finally:
        await runner.cleanup()
        coturn.terminate()
        coturn.wait(10)
