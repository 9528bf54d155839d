"""SDP offers to WHIP (`POST /whip/{guest}`): mutations of a real browser-like offer (made by
aiortc), garbage, not UTF-8, oversized, wrong content types.

The rule: 201 with an SDP answer (the session is then ended with DELETE), or a 4xx with a reason
in plain text (never a 500, never a traceback); a refused offer leaves no session behind and
the guest's status as it was; the show's state never changes; the controller keeps answering.
Offers carry the rejoin secret of the first answer (the link is bound to its first joiner).
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from fuzz.strategies import texts
from fuzz.support import BODY_TIMEOUT_S, GUEST, Live, assert_clean_error, fuzz
from hypothesis import example, given
from hypothesis import strategies as st

MAX_SDP = 64 * 1024
REJOIN: dict[int, str] = {}  # the rejoin secret the controller's first 201 gave


@pytest.fixture(scope="module")
def offer() -> str:
    """A real offer (audio and video, ICE gathered on 127.0.0.1), as a browser would send."""
    from aiortc import RTCConfiguration, RTCPeerConnection

    from control.guests.gateway import configure_ice_hosts

    async def make() -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: loopback only
        pc.addTransceiver("audio", direction="sendonly")
        pc.addTransceiver("video", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return str(sdp)

    configure_ice_hosts(["127.0.0.1"])  # (the controller pinned the same already)
    return asyncio.run(make())


ODD_LINES = [
    "m=video 0 RTP/AVP 0", "m=audio 9 UDP/TLS/RTP/SAVPF", "m=application 9 UDP/DTLS/SCTP "
    "webrtc-datachannel", "m=video 99999999999 UDP/TLS/RTP/SAVPF 96", "m=text 9 x 1",
    "a=fingerprint:sha-256 XX", "a=fingerprint:md5 00", "a=fingerprint:", "a=ice-ufrag:",
    "a=ice-pwd:", "a=ice-ufrag:" + "u" * 300, "a=setup:holdconn", "a=setup:passive",
    "a=setup:", "a=rtpmap:96 VP8/90000", "a=rtpmap:abc", "a=rtpmap:96 H264/-1",
    "a=rtpmap:4294967296 opus/48000/2", "a=group:BUNDLE 9 9 9", "a=mid:", "a=mid:" + "科" * 50,
    "a=ssrc:99999999999999999999 cname:x", "a=ssrc:-1 cname:x", "a=ssrc-group:FID 1",
    "c=IN IP4 999.1.1.1", "c=IN IP6 ::ffff:::", "a=candidate:1 1 udp 1 127.0.0.1 0 typ host",
    "a=candidate:x", "a=candidate:1 1 tcp 2 ::1 9 typ srflx raddr x rport y",
    "a=candidate:1 1 udp 99999999999999999999 127.0.0.1 70000 typ host", "a=sctp-port:abc",
    "a=max-message-size:-1", "a=extmap:9999 urn:x", "a=extmap:abc", "a=rtcp-fb:96 nack",
    "a=rtcp-fb:* *", "a=fmtp:96 x=", "a=fmtp:abc", "a=rtcp:abc", "a=msid:", "b=AS:-1",
    "t=0 0", "o=- 0 0 IN IP4 127.0.0.1", "v=1", "a=sendrecv", "a=inactive", "a=recvonly",
    "a=rtcp-mux", "a=ice-options:trickle", "a=end-of-candidates", "a=", "=", "x", "",
    "a=simulcast:send 1;2", "a=rid:1 send", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x",
]


@st.composite
def mutated(draw: st.DrawFn, sdp: str) -> str:
    """The offer with a few lines deleted, duplicated, swapped, cut, changed or added."""
    lines = sdp.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "cut", "char", "number",
                                   "insert", "insert"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "cut":
            lines[i] = lines[i][:draw(st.integers(0, len(lines[i])))]
        elif op == "char" and lines[i]:
            k = draw(st.integers(0, len(lines[i]) - 1))
            c = draw(st.sampled_from([*" :=/-0\t", "\x00", "科", "\u2028", "9", "a"]))
            lines[i] = lines[i][:k] + c + lines[i][k + 1:]
        elif op == "number":
            n = draw(st.sampled_from(["-1", "0", "4294967296", "99999999999999999999", "x",
                                      "1e9", ""]))
            lines[i] = re.sub(r"\d+", n, lines[i], count=draw(st.integers(0, 3)))
        else:
            lines.insert(i, draw(st.sampled_from(ODD_LINES) | texts.map(lambda t: "a=" + t)))
    ending = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    return ending.join(lines) + draw(st.sampled_from([ending, ""]))


def whip(live: Live, body: bytes, content_type: str | None = "application/sdp",
         token: str | None = None) -> int:
    """One offer; the rule for its answer."""
    before = live.snapshot()
    headers = {"Content-Type": content_type} if content_type else {}
    rejoin = REJOIN.get(id(live))
    if rejoin:  # the first answer bound the link to "this browser": its later offers too
        headers["Showctl-Rejoin"] = rejoin
    resp = live.request("POST", f"/whip/{GUEST}", body, headers,
                        token=token or live.guest_token(), timeout=30)
    if resp.status == 201:
        REJOIN[id(live)] = resp.headers["Showctl-Rejoin"]
        assert resp.content_type == "application/sdp"
        assert resp.body.startswith(b"v=0"), resp.body[:200]
        location = resp.headers["Location"]
        assert location.startswith(f"/whip/{GUEST}/")
        end = live.request("DELETE", location, token=live.guest_token())
        # a session whose ICE failed at once (a mutated candidate) may have ended already
        assert end.status == 200 or (end.status == 404 and b"no such session" in end.body), end
    else:
        assert_clean_error(resp, json_body=False)
        # the gateway's own words, never the WebRTC library's (its internals and version)
        assert not re.search(rb"aiortc|Error\b|Exception|Traceback|\bline \d", resp.body), \
            resp.body[:300]
        after = live.snapshot()
        assert after == before, f"a refused offer changed something: {body[:300]!r}"
    assert live.request("GET", "/api/whoami").status == 200
    return resp.status


def test_the_offer_itself_is_answered(live: Live, offer: str) -> None:
    assert whip(live, offer.encode()) == 201
    assert live.on_loop(lambda: dict(live.gateway.sessions)) == {}


def test_mutated_offers(live: Live, offer: str) -> None:
    @fuzz(120)
    @given(sdp=mutated(offer))
    @example(sdp=offer.replace("a=setup:actpass", "a=setup:holdconn"))
    @example(sdp=re.sub(r"a=fingerprint:sha-256 \S+", "a=fingerprint:sha-256 XX", offer))
    @example(sdp=re.sub(r"a=ice-pwd:\S+", "a=ice-pwd:", offer))
    @example(sdp=offer.replace("m=video 9", "m=video 99999999999"))
    @example(sdp=re.sub(r"a=rtpmap:(\d+) \S+", r"a=rtpmap:\1 abc", offer))
    @example(sdp=offer.replace("a=rtcp-mux\r\n", ""))
    @example(sdp=offer.replace("a=mid:0", "a=mid:1"))
    @example(sdp=offer + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n")
    def run(sdp: str) -> None:
        statuses.add(whip(live, sdp.encode("utf-8", "surrogatepass")))

    statuses: set[int] = set()
    run()
    assert {201, 400} <= statuses, f"the mutations were all answered alike: {statuses}"


def test_garbage_and_oversized_offers(live: Live, offer: str) -> None:
    big = offer + "a=x-pad:" + "x" * MAX_SDP + "\r\n"
    for body in [b"", b"v=0", b"v=0\r\n", b"\xff\xfe", offer.encode("utf-16"),
                 offer.encode()[:100], b"\x00" * 1000, big.encode(),
                 (offer + "a=x:y\r\n" * 9000).encode()[:MAX_SDP + 10],
                 ("v=0\r\n" + "m=audio 9 x 0\r\n" * 5000).encode()]:
        whip(live, body)
    for content_type in [None, "text/plain", "application/json", "application/sdp; x=\"",
                         "multipart/form-data; boundary=x"]:
        whip(live, offer.encode(), content_type)
    whip(live, offer.encode(), token="not-a-token")
    whip(live, offer.encode(), token=live.guest_token("mallory"))

    @fuzz(60)
    @given(body=st.binary(max_size=300) | texts.map(
        lambda t: ("v=0\r\n" + t).encode("utf-8", "surrogatepass")))
    def run(body: bytes) -> None:
        whip(live, body)

    run()


def test_a_slow_offer_is_cut_with_a_408(live: Live) -> None:
    """An offer trickled in (slow loris) holds the WHIP handler no longer than the body
    timeout (control/bodies.py, shared with the API), and is answered in WHIP's plain text."""
    headers = {"Content-Type": "application/sdp"}
    if REJOIN.get(id(live)):
        headers["Showctl-Rejoin"] = REJOIN[id(live)]
    head = (f"POST /whip/{GUEST} HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
            f"Connection: close\r\nAuthorization: Bearer {live.guest_token()}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + "Content-Length: 4000\r\n\r\nv=0\r\n").encode()
    before = live.snapshot()
    started = time.monotonic()
    resp = live.send(head, timeout=BODY_TIMEOUT_S + 10)  # and the rest never comes
    assert resp.status == 408, (resp.status, resp.body[:200])
    assert_clean_error(resp, json_body=False)
    assert time.monotonic() - started < BODY_TIMEOUT_S + 5
    assert live.snapshot() == before
