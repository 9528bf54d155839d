"""Sans-I/O Janus API (the HTTP REST flavour): requests as (method, path, body) and replies
parsed into small typed results. No sockets, no asyncio, no clock (like
control/obs/protocol.py): `client.py` sends what this builds and hands back what came.

Janus's JSON, absorbed here in one place:

- every request carries a `transaction`; the synchronous reply (`success`, `ack`, `error`)
  echoes it, and so does the plugin's later `event` for an asynchronous request (`join`,
  `publish`): `Transactions` matches them;
- core errors are `{"janus": "error", "error": {"code", "reason"}}`; the VideoRoom's are a
  normal reply whose plugin data holds `error_code` and `error`: both become `JanusError`;
- `webrtcup`, `hangup`, `media`, `slowlink`, `detached` arrive unasked, named by `sender`
  (the handle) on the session's long poll.

Why HTTP (long poll) rather than the WebSocket transport: docs/scaling.md#janus.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

VIDEOROOM = "janus.plugin.videoroom"

# Janus core error codes met here (janus/apierror.h)
SESSION_NOT_FOUND = 458
HANDLE_NOT_FOUND = 459
# VideoRoom error codes (plugins/janus_videoroom.c)
ROOM_EXISTS = 427
NO_SUCH_ROOM = 426
UNUSABLE_OFFER = 415  # ours: Janus answered with every audio/video stream disabled


class JanusError(Exception):
    """Janus refused a request: `code` (Janus's or the VideoRoom's) and its reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{reason} ({code})")
        self.code = code
        self.reason = reason


class JanusProtocolError(JanusError):
    """Not what Janus sends (bad JSON shape, a missing field): code 0."""

    def __init__(self, reason: str) -> None:
        super().__init__(0, reason)


class Kind(Enum):
    SUCCESS = "success"
    ACK = "ack"
    ERROR = "error"
    EVENT = "event"
    WEBRTCUP = "webrtcup"
    HANGUP = "hangup"
    MEDIA = "media"
    SLOWLINK = "slowlink"
    DETACHED = "detached"
    TIMEOUT = "timeout"  # the session timed out on Janus's side
    KEEPALIVE = "keepalive"  # an empty long poll
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request to Janus: `path` below the API root (`""`, `/SESSION`,
    `/SESSION/HANDLE`), a JSON body for POST (None: a GET, the long poll)."""

    path: str
    body: dict[str, Any] | None
    transaction: str | None = None

    @property
    def method(self) -> str:
        return "GET" if self.body is None else "POST"


@dataclass(frozen=True, slots=True)
class Reply:
    """One message from Janus, typed. `data`: the plugin's data (or the core's `data`);
    `jsep`: an SDP it carries; `sender`: the handle an event is about."""

    kind: Kind
    transaction: str | None = None
    sender: int | None = None
    session: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    jsep: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    def check(self) -> Reply:
        """Self, or JanusError when it carries one (core or plugin)."""
        if self.kind is Kind.ERROR:
            error = self.raw.get("error")
            error = error if isinstance(error, Mapping) else {}
            raise JanusError(_int(error.get("code"), 0), str(error.get("reason", "error")))
        if "error_code" in self.data:
            raise JanusError(_int(self.data.get("error_code"), 0),
                             str(self.data.get("error", "plugin error")))
        return self


def _int(value: Any, default: int | None = None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def error_code(reply: Reply) -> int | None:
    """A core error's code (None when `reply` is no core error)."""
    error = reply.raw.get("error") if reply.kind is Kind.ERROR else None
    return _int(error.get("code")) if isinstance(error, Mapping) else None


def parse(message: Any) -> Reply:
    """One decoded JSON message from Janus as a Reply (JanusProtocolError when it is not)."""
    if not isinstance(message, Mapping) or not isinstance(message.get("janus"), str):
        raise JanusProtocolError(f"not a Janus message: {str(message)[:80]}")
    try:
        kind = Kind(message["janus"])
    except ValueError:
        kind = Kind.OTHER
    plugindata = message.get("plugindata")
    if isinstance(plugindata, Mapping) and isinstance(plugindata.get("data"), Mapping):
        data: Mapping[str, Any] = plugindata["data"]
    elif isinstance(message.get("data"), Mapping):
        data = message["data"]
    else:
        data = {}
    jsep = message.get("jsep")
    tx = message.get("transaction")
    return Reply(kind, tx if isinstance(tx, str) else None, _int(message.get("sender")),
                 _int(message.get("session_id")), data,
                 jsep if isinstance(jsep, Mapping) else None, message)


def parse_poll(body: Any) -> list[Reply]:
    """A long poll's answer (`?maxev=N`: a list; a lone keepalive: one object)."""
    items = body if isinstance(body, list) else [body]
    return [parse(item) for item in items]


class Transactions:
    """Transaction ids: new ones unique per client, and which request each reply answers."""

    def __init__(self, prefix: str = "sc") -> None:
        self.prefix = prefix
        self._count = itertools.count(1)
        self.pending: dict[str, str] = {}  # transaction -> what was asked (for logs)

    def new(self, what: str) -> str:
        tx = f"{self.prefix}{next(self._count)}"
        self.pending[tx] = what
        return tx

    def done(self, tx: str) -> None:
        self.pending.pop(tx, None)

    def owns(self, reply: Reply) -> bool:
        return reply.transaction is not None and reply.transaction in self.pending


# --- core requests ---------------------------------------------------------------------------

def create_session(tx: str) -> Request:
    return Request("", {"janus": "create", "transaction": tx}, tx)


def attach(session: int, tx: str, plugin: str = VIDEOROOM) -> Request:
    return Request(f"/{session}", {"janus": "attach", "plugin": plugin, "transaction": tx}, tx)


def keepalive(session: int, tx: str) -> Request:
    return Request(f"/{session}", {"janus": "keepalive", "transaction": tx}, tx)


def destroy_session(session: int, tx: str) -> Request:
    return Request(f"/{session}", {"janus": "destroy", "transaction": tx}, tx)


def detach(session: int, handle: int, tx: str) -> Request:
    return Request(f"/{session}/{handle}", {"janus": "detach", "transaction": tx}, tx)


def message(session: int, handle: int, body: Mapping[str, Any], tx: str,
            jsep: Mapping[str, Any] | None = None) -> Request:
    """A plugin request on `handle`, with an SDP (`jsep`) when it carries one."""
    out: dict[str, Any] = {"janus": "message", "body": dict(body), "transaction": tx}
    if jsep is not None:
        out["jsep"] = dict(jsep)
    return Request(f"/{session}/{handle}", out, tx)


def poll(session: int, maxev: int = 10) -> Request:
    """The long poll for `session`'s events (Janus holds it up to 30 s)."""
    return Request(f"/{session}?maxev={maxev}", None)


def created_id(reply: Reply) -> int:
    """The `data.id` of a `create`/`attach` success (the session or the handle)."""
    value = _int(reply.check().data.get("id"))
    if reply.kind is not Kind.SUCCESS or value is None:
        raise JanusProtocolError(f"expected success with an id, got {reply.kind.value}")
    return value


# --- VideoRoom bodies ------------------------------------------------------------------------

def create_room(room: int, *, admin_key: str, secret: str, publishers: int = 16,
                description: str = "showctl guests") -> dict[str, Any]:
    """A room for the show's guests: VP8 + Opus only (the forwarders' decoders), private
    (not listed), never saved to Janus's config."""
    return {"request": "create", "room": room, "admin_key": admin_key, "secret": secret,
            "publishers": publishers, "description": description, "is_private": True,
            "videocodec": "vp8", "audiocodec": "opus", "permanent": False,
            "notify_joining": False}


def destroy_room(room: int, *, secret: str) -> dict[str, Any]:
    return {"request": "destroy", "room": room, "secret": secret, "permanent": False}


def join_publisher(room: int, display: str) -> dict[str, Any]:
    return {"request": "join", "ptype": "publisher", "room": room, "display": display[:64]}


def publish() -> dict[str, Any]:
    return {"request": "publish", "audio": True, "video": True}


def offer(sdp: str) -> dict[str, Any]:
    """A guest's offer as Janus takes it (ICE fully gathered: no trickle)."""
    return {"type": "offer", "sdp": sdp, "trickle": False}


def keyframe() -> dict[str, Any]:
    """Ask the publisher for a keyframe (Janus sends it a PLI)."""
    return {"request": "configure", "keyframe": True}


def rtp_forward(room: int, publisher: int, host: str, streams: Sequence[tuple[str, int]], *,
                secret: str, admin_key: str) -> dict[str, Any]:
    """Forward `publisher`'s streams (mid, UDP port) as plain RTP to `host`."""
    return {"request": "rtp_forward", "room": room, "publisher_id": publisher, "host": host,
            "host_family": "ipv4", "secret": secret, "admin_key": admin_key,
            "streams": [{"mid": mid, "port": port} for mid, port in streams]}


@dataclass(frozen=True, slots=True)
class Stream:
    """One of a publisher's streams as Janus reports it."""

    mid: str
    kind: str  # "audio" | "video" | "data"
    codec: str | None = None
    disabled: bool = False  # Janus rejected it (e.g. no codec the room allows)


@dataclass(frozen=True, slots=True)
class Published:
    """A publish accepted: Janus's SDP answer and the streams it takes."""

    answer: str
    streams: tuple[Stream, ...]


def room_created(reply: Reply) -> int:
    data = reply.check().data
    room = _int(data.get("room"))
    if data.get("videoroom") != "created" or room is None:
        raise JanusProtocolError(f"expected a created room, got {dict(data)}")
    return room


def joined(reply: Reply) -> int:
    """The publisher's feed id from the `joined` event."""
    data = reply.check().data
    feed = _int(data.get("id"))
    if data.get("videoroom") != "joined" or feed is None:
        raise JanusProtocolError(f"expected joined, got {dict(data)}")
    return feed


def streams_of(data: Mapping[str, Any]) -> tuple[Stream, ...]:
    items = data.get("streams")
    if not isinstance(items, list):
        return ()
    return tuple(Stream(str(s["mid"]), str(s.get("type", "")),
                        s.get("codec") if isinstance(s.get("codec"), str) else None,
                        s.get("disabled") is True)
                 for s in items if isinstance(s, Mapping) and "mid" in s)


def mids_of(sdp: str) -> tuple[Stream, ...]:
    """The media sections of an SDP as (mid, kind): what to forward when Janus's event does
    not list its streams."""
    found: list[Stream] = []
    kind: str | None = None
    for line in sdp.splitlines():
        if line.startswith("m="):
            kind = line[2:].split(" ", 1)[0]
        elif line.startswith("a=mid:") and kind is not None:
            found.append(Stream(line[6:].strip(), kind))
            kind = None
    return tuple(found)


def published(reply: Reply) -> Published:
    """The answer to `publish` (an event with `configured: ok` and the SDP answer).
    JanusError 415 when Janus took none of the offer's audio or video (it answers such an
    offer with every stream disabled rather than refusing it)."""
    data = reply.check().data
    jsep = reply.jsep or {}
    if data.get("configured") != "ok" or jsep.get("type") != "answer" \
            or not isinstance(jsep.get("sdp"), str):
        raise JanusProtocolError(f"expected configured with an answer, got {dict(data)}")
    done = Published(jsep["sdp"], streams_of(data) or mids_of(jsep["sdp"]))
    if not any(s.kind in ("audio", "video") and not s.disabled for s in done.streams):
        raise JanusError(UNUSABLE_OFFER, "no audio or video in the offer that the room takes")
    return done


def forwarded(reply: Reply) -> tuple[int, ...]:
    """The stream ids of the forwarders `rtp_forward` made."""
    data = reply.check().data
    items = data.get("forwarders")
    if data.get("videoroom") != "rtp_forward" or not isinstance(items, list):
        raise JanusProtocolError(f"expected rtp_forward, got {dict(data)}")
    return tuple(i for f in items if isinstance(f, Mapping)
                 and (i := _int(f.get("stream_id"))) is not None)
