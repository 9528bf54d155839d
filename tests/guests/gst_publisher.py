"""A stock GStreamer WHIP publisher, the tests' second WebRTC stack next to Chromium.

Run with the system Python (Debian's python3-gi; the project's venv has no PyGObject):

    /usr/bin/python3 gst_publisher.py WHIP_URL TOKEN

videotestsrc + audiotestsrc -> VP8 + Opus -> a send-only ``webrtcbin`` (RSA certificate, as
GStreamer 1.22 makes it); the offer, fully gathered (WHIP has no trickle here), is POSTed to
WHIP_URL with the invite token as a bearer token. It prints one JSON line per event on
stdout ({"event": "answer", "status": 201, "location": ...}, {"event": "ice", "state": ...},
{"event": "peer", "state": ...}, {"event": "error", "text": ...}) and stops when its stdin
closes: DELETE on the session, then ``os._exit`` (GStreamer 1.22 hands Python webrtcbin's
only reference to its ICE agent; a normal exit may crash in the finalisers).

Loopback only: libnice gathers no 127.0.0.1 by itself, so the agent is given that address
(``add-local-ip-address``); the tests run this in a loopback-only network namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import urllib.error
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

PIPELINE = """
webrtcbin name=send bundle-policy=max-bundle
videotestsrc is-live=true pattern=smpte ! video/x-raw,width=320,height=240,framerate=15/1
  ! videoconvert ! vp8enc deadline=1 keyframe-max-dist=15 ! rtpvp8pay pt=96
  ! application/x-rtp,media=video,encoding-name=VP8,payload=96 ! send.
audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample
  ! opusenc ! rtpopuspay pt=111
  ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! send.
"""


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


class Publisher:
    def __init__(self, url: str, token: str, loop: GLib.MainLoop) -> None:
        self.url, self.token, self.loop = url, token, loop
        self.location: str | None = None
        self.pipe = Gst.parse_launch(PIPELINE)
        self.webrtc = self.pipe.get_by_name("send")
        self.agent = self.webrtc.get_property("ice-agent")  # kept: see the docstring
        self.agent.emit("add-local-ip-address", "127.0.0.1")
        self.webrtc.connect("on-negotiation-needed", self.negotiate)
        self.webrtc.connect("notify::ice-gathering-state", self.gathered)
        self.webrtc.connect("notify::ice-connection-state", self.state, "ice",
                            "ice-connection-state")
        self.webrtc.connect("notify::connection-state", self.state, "peer",
                            "connection-state")
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.error)

    def start(self) -> None:
        index = 0  # (the transceivers exist once the pads are linked)
        while (transceiver := self.webrtc.emit("get-transceiver", index)) is not None:
            transceiver.set_property("direction",
                                     GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
            index += 1
        self.pipe.set_state(Gst.State.PLAYING)

    def state(self, _element: object, _spec: object, what: str, prop: str) -> None:
        say(event=what, state=self.webrtc.get_property(prop).value_nick)

    def error(self, _bus: object, message: Gst.Message) -> None:
        err, debug = message.parse_error()
        say(event="error", text=f"{err.message} ({debug})")

    def negotiate(self, _element: object) -> None:
        promise = Gst.Promise.new_with_change_func(self.offered, None)
        self.webrtc.emit("create-offer", None, promise)

    def offered(self, promise: Gst.Promise, _data: object) -> None:
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply is not None else None
        if offer is None:
            say(event="error", text=f"no offer: {reply.to_string() if reply else None}")
            return
        self.webrtc.emit("set-local-description", offer, Gst.Promise.new())

    def gathered(self, _element: object, _spec: object) -> None:
        if self.webrtc.get_property("ice-gathering-state") \
                != GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            return
        sdp = self.webrtc.get_property("local-description").sdp.as_text()
        threading.Thread(target=self.post, args=(sdp,), daemon=True).start()

    def post(self, sdp: str) -> None:
        """POST the offer (off GStreamer's thread), then set the answer on the main loop."""
        request = urllib.request.Request(self.url, data=sdp.encode(), method="POST", headers={
            "Content-Type": "application/sdp", "Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=20) as reply:
                status, body = reply.status, reply.read().decode()
                self.location = reply.headers.get("Location")
        except urllib.error.HTTPError as e:
            say(event="answer", status=e.code, text=e.read().decode(errors="replace"))
            return
        except OSError as e:
            say(event="error", text=f"POST {self.url}: {e}")
            return
        say(event="answer", status=status, location=self.location)
        GLib.idle_add(self.answered, body)

    def answered(self, body: str) -> bool:
        _ok, message = GstSdp.SDPMessage.new_from_text(body)
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, message)
        self.webrtc.emit("set-remote-description", answer, Gst.Promise.new())
        return False

    def leave(self) -> None:
        if self.location is not None:
            base = self.url.split("/whip/", 1)[0]
            request = urllib.request.Request(base + self.location, method="DELETE",
                                             headers={"Authorization": f"Bearer {self.token}"})
            with contextlib.suppress(OSError):
                urllib.request.urlopen(request, timeout=5).close()
        self.pipe.set_state(Gst.State.NULL)


def main() -> None:
    url, token = sys.argv[1], sys.argv[2]
    Gst.init(None)
    loop = GLib.MainLoop()
    publisher = Publisher(url, token, loop)

    def wait_for_stdin() -> None:
        sys.stdin.read()  # the test closes it (or dies): leave
        GLib.idle_add(loop.quit)

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    publisher.start()
    loop.run()
    publisher.leave()
    say(event="left")
    os._exit(0)


if __name__ == "__main__":
    main()
