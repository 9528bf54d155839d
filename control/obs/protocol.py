"""Sans-I/O obs-websocket v5 client protocol.

No sockets, no asyncio, no clock: feed received text frames to ``receive_text``, send what
``data_to_send`` returns, and tell ``connection_lost`` how the socket ended. All of the
protocol's decisions (handshake, authentication, request matching, close classification,
malformed input) live here and are unit-tested without OBS; the asyncio layer only moves
bytes and wakes futures. Same split as python-websockets.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any

from control.obs.codes import (
    CloseCode,
    EventSubscription,
    OpCode,
    RequestBatchExecutionType,
    close_code_name,
)
from control.obs.errors import ObsNotConnected
from control.obs.messages import (
    Disconnected,
    Event,
    Hello,
    Identified,
    ProtocolViolation,
    Received,
    Request,
    RequestBatchResponse,
    RequestResponse,
    RequestResult,
    Status,
)

RPC_VERSION = 1
"""The only RPC version obs-websocket 5.x speaks."""

FATAL_CLOSE_CODES = frozenset({CloseCode.AuthenticationFailed, CloseCode.UnsupportedRpcVersion})


def auth_string(password: str, salt: str, challenge: str) -> str:
    """Identify's ``authentication``: b64(sha256(b64(sha256(password + salt)) + challenge))."""
    secret = base64.b64encode(hashlib.sha256((password + salt).encode()).digest())
    return base64.b64encode(hashlib.sha256(secret + challenge.encode()).digest()).decode()


def classify_close(
    code: int | None, reason: str = "", *, password_missing: bool = False
) -> tuple[bool, str]:
    """(fatal, message) for a close. Only a bad password or a too-old OBS is fatal:
    everything else (OBS exiting, crash, kick, network) heals by reconnecting."""
    what = f"{close_code_name(code)} ({code})" + (f": {reason}" if reason else "")
    if code == CloseCode.AuthenticationFailed:
        if password_missing:
            return True, f"OBS requires a password and none is configured [{what}]"
        return True, f"OBS rejected the password: wrong obs-websocket password [{what}]"
    if code == CloseCode.UnsupportedRpcVersion:
        return True, (
            f"OBS is too old: its obs-websocket does not speak RPC version {RPC_VERSION}; "
            f"OBS 28 or newer (obs-websocket 5) is required [{what}]"
        )
    return False, f"connection to OBS closed [{what}]; reconnecting"


class State(Enum):
    AWAITING_HELLO = "awaiting Hello"
    IDENTIFYING = "identifying"
    IDENTIFIED = "identified"
    CLOSED = "closed"


class _Malformed(Exception):
    """Internal: a frame failed validation; becomes a ProtocolViolation."""

    def __init__(self, reason: str, request_id: str | None = None) -> None:
        super().__init__(reason)
        self.request_id = request_id


class ObsProtocol:
    """State of one obs-websocket session, from Hello to close.

    One instance per socket: a reconnect starts a fresh instance, which is what makes
    stale responses of the old socket impossible to confuse with new ones.
    """

    def __init__(
        self,
        password: str | None = None,
        *,
        event_subscriptions: int = EventSubscription.All,
        id_factory: Callable[[], str] | None = None,
    ) -> None:
        self._password = password
        self._event_subscriptions = int(event_subscriptions)
        counter = itertools.count(1)
        self._new_id = id_factory or (lambda: str(next(counter)))
        self._outgoing: list[str] = []
        self._pending: dict[str, str | None] = {}  # requestId -> requestType, None for a batch
        self._abandoned: set[str] = set()
        self.state = State.AWAITING_HELLO
        self.hello: Hello | None = None
        self.negotiated_rpc_version: int | None = None
        self.password_missing = False

    # --- outgoing --------------------------------------------------------------------------

    def data_to_send(self) -> list[str]:
        """Text frames to write to the socket, in order; drains the queue."""
        frames, self._outgoing = self._outgoing, []
        return frames

    def send_request(
        self,
        request_type: str,
        request_data: Mapping[str, Any] | None = None,
        *,
        request_id: str | None = None,
    ) -> str:
        """Queue a Request (op 6) and return its requestId."""
        self._require_identified()
        rid = self._claim_id(request_id)
        d: dict[str, Any] = {"requestType": _check_type(request_type), "requestId": rid}
        if request_data is not None:
            d["requestData"] = dict(request_data)
        self._queue(OpCode.Request, d)
        self._pending[rid] = request_type
        return rid

    def send_batch(
        self,
        requests: Iterable[Request | tuple[str, Mapping[str, Any] | None]],
        *,
        execution_type: RequestBatchExecutionType = RequestBatchExecutionType.SerialRealtime,
        halt_on_failure: bool = False,
        request_id: str | None = None,
    ) -> str:
        """Queue a RequestBatch (op 8) and return its requestId."""
        self._require_identified()
        if execution_type == RequestBatchExecutionType.None_:
            raise ValueError("a RequestBatch needs an execution type other than None_")
        items = []
        for r in requests:
            req = r if isinstance(r, Request) else Request(*r)
            item: dict[str, Any] = {"requestType": _check_type(req.request_type)}
            if req.request_data is not None:
                item["requestData"] = dict(req.request_data)
            if req.request_id is not None:
                item["requestId"] = req.request_id
            items.append(item)
        rid = self._claim_id(request_id)
        d = {
            "requestId": rid,
            "haltOnFailure": bool(halt_on_failure),
            "executionType": int(RequestBatchExecutionType(execution_type)),
            "requests": items,
        }
        self._queue(OpCode.RequestBatch, d)
        self._pending[rid] = None
        return rid

    def send_reidentify(self, event_subscriptions: int) -> None:
        """Queue a Reidentify (op 3); OBS answers with Identified again."""
        self._require_identified()
        self._event_subscriptions = int(event_subscriptions)
        self._queue(OpCode.Reidentify, {"eventSubscriptions": self._event_subscriptions})

    def abandon(self, request_id: str) -> None:
        """Stop waiting for a request (timed out): its late answer will be dropped quietly."""
        if request_id in self._pending:
            del self._pending[request_id]
            self._abandoned.add(request_id)

    @property
    def pending_ids(self) -> frozenset[str]:
        return frozenset(self._pending)

    # --- incoming --------------------------------------------------------------------------

    def receive_text(self, frame: str | bytes) -> list[Received]:
        """Process one received frame. Never raises on bad input: a ProtocolViolation says
        why. Returns an empty list for a late answer to an abandoned request."""
        if self.state is State.CLOSED:
            return [ProtocolViolation("frame received after the connection was closed")]
        try:
            text = frame.decode() if isinstance(frame, bytes | bytearray) else frame
            msg = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            return [ProtocolViolation(f"frame is not valid JSON: {exc}")]
        try:
            if not isinstance(msg, dict):
                raise _Malformed(f"frame is a JSON {type(msg).__name__}, not an object")
            op = msg.get("op")
            if not _is_int(op):
                raise _Malformed("frame has no integer 'op'")
            d = msg.get("d")
            if not isinstance(d, dict):
                raise _Malformed(f"op {op} frame has no 'd' object")
            try:
                opcode = OpCode(op)
            except ValueError:
                raise _Malformed(f"unknown op {op}") from None
            return self._dispatch(opcode, d)
        except _Malformed as exc:
            return [ProtocolViolation(str(exc), exc.request_id)]

    def connection_lost(self, code: int | None, reason: str = "") -> Disconnected:
        """The socket is gone: every pending request fails, and the close is classified."""
        self.state = State.CLOSED
        failed = tuple(self._pending)
        self._pending.clear()
        self._abandoned.clear()
        fatal, message = classify_close(code, reason, password_missing=self.password_missing)
        return Disconnected(code, reason, fatal, message, failed)

    # --- internals -------------------------------------------------------------------------

    def _dispatch(self, op: OpCode, d: dict[str, Any]) -> list[Received]:
        if op is OpCode.Hello:
            return [self._on_hello(d)]
        if op is OpCode.Identified:
            return [self._on_identified(d)]
        if op is OpCode.Event:
            return [self._on_event(d)]
        if op is OpCode.RequestResponse:
            return self._on_response(d)
        if op is OpCode.RequestBatchResponse:
            return self._on_batch_response(d)
        raise _Malformed(f"op {int(op)} ({op.name}) is sent by clients, not by OBS")

    def _on_hello(self, d: dict[str, Any]) -> Hello:
        if self.state is not State.AWAITING_HELLO:
            raise _Malformed(f"unexpected Hello while {self.state.value}")
        version = _str_field(d, "obsWebSocketVersion", "Hello")
        rpc = _int_field(d, "rpcVersion", "Hello")
        auth = d.get("authentication")
        identify: dict[str, Any] = {
            "rpcVersion": RPC_VERSION,
            "eventSubscriptions": self._event_subscriptions,
        }
        if auth is not None:
            if not isinstance(auth, dict):
                raise _Malformed("Hello 'authentication' is not an object")
            challenge = _str_field(auth, "challenge", "Hello authentication")
            salt = _str_field(auth, "salt", "Hello authentication")
            if self._password is None:
                # Identify anyway: OBS answers 4009 and classify_close names the real cause.
                self.password_missing = True
            else:
                identify["authentication"] = auth_string(self._password, salt, challenge)
        self.hello = Hello(version, rpc, auth is not None)
        self.state = State.IDENTIFYING
        self._queue(OpCode.Identify, identify)
        return self.hello

    def _on_identified(self, d: dict[str, Any]) -> Identified:
        if self.state not in (State.IDENTIFYING, State.IDENTIFIED):
            raise _Malformed(f"unexpected Identified while {self.state.value}")
        self.negotiated_rpc_version = _int_field(d, "negotiatedRpcVersion", "Identified")
        self.state = State.IDENTIFIED
        return Identified(self.negotiated_rpc_version)

    def _on_event(self, d: dict[str, Any]) -> Event:
        event_type = _str_field(d, "eventType", "Event")
        intent = _int_field(d, "eventIntent", "Event")
        data = d.get("eventData", {})
        if not isinstance(data, dict):
            raise _Malformed(f"Event {event_type} 'eventData' is not an object")
        return Event(event_type, intent, data)

    def _on_response(self, d: dict[str, Any]) -> list[Received]:
        rid = self._match(d, "RequestResponse", batch=False)
        if rid is None:
            return []
        try:
            return [RequestResponse(rid, _parse_result(d, "RequestResponse"))]
        except _Malformed as exc:
            raise _Malformed(str(exc), rid) from None

    def _on_batch_response(self, d: dict[str, Any]) -> list[Received]:
        rid = self._match(d, "RequestBatchResponse", batch=True)
        if rid is None:
            return []
        raw = d.get("results")
        if not isinstance(raw, list):
            raise _Malformed("RequestBatchResponse has no 'results' list", rid)
        results = []
        for i, item in enumerate(raw):
            where = f"RequestBatchResponse result {i}"
            if not isinstance(item, dict):
                raise _Malformed(f"{where} is not an object", rid)
            try:
                results.append(_parse_result(item, where))
            except _Malformed as exc:
                raise _Malformed(str(exc), rid) from None
        return [RequestBatchResponse(rid, tuple(results))]

    def _match(self, d: dict[str, Any], what: str, *, batch: bool) -> str | None:
        """The pending requestId this answer resolves (and no longer pending), or None for a
        late answer to an abandoned request; raises _Malformed when it matches nothing."""
        rid = d.get("requestId")
        if not isinstance(rid, str):
            raise _Malformed(f"{what} has no string 'requestId'")
        if rid in self._abandoned:
            self._abandoned.discard(rid)
            return None
        if rid not in self._pending:
            raise _Malformed(f"{what} for unknown requestId {rid!r}")
        is_batch = self._pending.pop(rid) is None
        if is_batch != batch:
            kind = "a batch" if batch else "a single request"
            raise _Malformed(f"{what} answers requestId {rid!r}, which is not {kind}", rid)
        return rid

    def _require_identified(self) -> None:
        if self.state is not State.IDENTIFIED:
            raise ObsNotConnected(f"cannot send to OBS while {self.state.value}")

    def _claim_id(self, request_id: str | None) -> str:
        if request_id is None:
            request_id = self._new_id()
            while request_id in self._pending:
                request_id = self._new_id()
        elif request_id in self._pending:
            raise ValueError(f"requestId {request_id!r} is already pending")
        self._abandoned.discard(request_id)
        return request_id

    def _queue(self, op: OpCode, d: dict[str, Any]) -> None:
        # ensure_ascii=False: scene names are Chinese; OBS reads UTF-8 text frames.
        self._outgoing.append(
            json.dumps({"op": int(op), "d": d}, ensure_ascii=False, separators=(",", ":"))
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_type(request_type: object) -> str:
    if not isinstance(request_type, str) or not request_type:
        raise ValueError(f"requestType must be a non-empty string, got {request_type!r}")
    return request_type


def _str_field(d: dict[str, Any], name: str, where: str) -> str:
    value = d.get(name)
    if not isinstance(value, str):
        raise _Malformed(f"{where} is missing string '{name}'")
    return value


def _int_field(d: dict[str, Any], name: str, where: str) -> int:
    value = d.get(name)
    if not _is_int(value):
        raise _Malformed(f"{where} is missing integer '{name}'")
    return value


def _parse_result(d: dict[str, Any], where: str) -> RequestResult:
    request_type = _str_field(d, "requestType", where)
    st = d.get("requestStatus")
    if not isinstance(st, dict):
        raise _Malformed(f"{where} ({request_type}) has no 'requestStatus' object")
    result = st.get("result")
    if not isinstance(result, bool):
        raise _Malformed(f"{where} ({request_type}) requestStatus is missing boolean 'result'")
    code = _int_field(st, "code", f"{where} ({request_type}) requestStatus")
    comment = st.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise _Malformed(f"{where} ({request_type}) requestStatus 'comment' is not a string")
    data = d.get("responseData", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _Malformed(f"{where} ({request_type}) 'responseData' is not an object")
    rid = d.get("requestId")
    return RequestResult(
        request_type,
        Status(result, code, comment),
        data,
        rid if isinstance(rid, str) else None,
    )
