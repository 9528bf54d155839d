"""Sans-I/O etcd v3 JSON gateway (`/v3/...`): the requests as (path, body) and the replies
parsed into small typed results. No sockets, no asyncio, no clock (like control/obs/protocol.py):
`client.py` only POSTs what this builds and hands back what it received.

The gateway is grpc-gateway over etcd's gRPC API, and its JSON has three habits that every
parser here absorbs in one place:

- keys and values are base64;
- 64-bit numbers (revisions, lease ids, TTLs, counts) are strings;
- fields holding their default are left out: a failed txn has no `succeeded`, an empty range
  no `kvs`, a put event no `type`, a keepalive on an expired lease no `TTL`.

Why the gateway and not a gRPC client: docs/redundancy.md#the-etcd-client.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any


class GatewayError(Exception):
    """etcd answered with an error (`{"error": ..., "code": ...}`), or with something that is
    not what the gateway sends. `code` is the gRPC status code (14: unavailable), or None."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


# --- encoding -------------------------------------------------------------------------------

def b64(data: str | bytes) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


def unb64(text: Any, what: str = "field") -> bytes:
    if not isinstance(text, str):
        raise GatewayError(f"{what}: expected base64 text, got {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise GatewayError(f"{what}: not base64: {text[:40]!r}") from None


def int64(value: Any, what: str = "field") -> int:
    """A 64-bit number as the gateway sends it (a string; a number from other encoders);
    absent (None) is its default, 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise GatewayError(f"{what}: expected a number, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise GatewayError(f"{what}: expected a number, got {value!r}") from None


def prefix_end(prefix: str | bytes) -> bytes:
    """The `range_end` that makes a range (or watch) cover every key starting with `prefix`:
    the prefix with its last byte that is not 0xff incremented."""
    raw = bytearray(prefix.encode("utf-8") if isinstance(prefix, str) else prefix)
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return b"\x00"  # every key
    raw[-1] += 1
    return bytes(raw)


# --- requests -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Request:
    """One gateway call: POST `path` with `body` as JSON."""

    path: str
    body: dict[str, Any]

    def json(self) -> str:
        return json.dumps(self.body, separators=(",", ":"))


class Target(Enum):
    """What a txn compare looks at (etcd's Compare.CompareTarget)."""

    VERSION = "VERSION"
    CREATE = "CREATE"  # create_revision: 0 while the key is absent
    MOD = "MOD"
    VALUE = "VALUE"
    LEASE = "LEASE"  # the lease the key is attached to: 0 for none


_TARGET_FIELD = {Target.VERSION: "version", Target.CREATE: "create_revision",
                 Target.MOD: "mod_revision", Target.VALUE: "value", Target.LEASE: "lease"}


@dataclass(frozen=True, slots=True)
class Compare:
    key: str
    target: Target
    value: int | bytes
    result: str = "EQUAL"  # EQUAL, GREATER, LESS, NOT_EQUAL

    def to_json(self) -> dict[str, Any]:
        value = b64(self.value) if isinstance(self.value, bytes) else str(self.value)
        return {"key": b64(self.key), "result": self.result, "target": self.target.value,
                _TARGET_FIELD[self.target]: value}


def key_absent(key: str) -> Compare:
    """Create-if-absent: the key has never been created (or was deleted)."""
    return Compare(key, Target.CREATE, 0)


def key_on_lease(key: str, lease: int) -> Compare:
    """The key exists and is attached to `lease`: the fencing compare (lease ids are unique,
    so this holds only while that lease is alive and still holds the key)."""
    return Compare(key, Target.LEASE, lease)


def key_value(key: str, value: bytes) -> Compare:
    return Compare(key, Target.VALUE, value)


@dataclass(frozen=True, slots=True)
class Put:
    key: str
    value: bytes
    lease: int = 0

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"key": b64(self.key), "value": b64(self.value)}
        if self.lease:
            body["lease"] = str(self.lease)
        return body


@dataclass(frozen=True, slots=True)
class Get:
    """A range: one key, every key under a prefix, or from `key` up to `range_end`."""

    key: str
    prefix: bool = False
    range_end: bytes | None = None
    revision: int = 0       # 0: the newest
    serializable: bool = False  # answered by the member alone (works without a quorum)
    limit: int = 0

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"key": b64(self.key)}
        if self.prefix or self.range_end is not None:
            end = prefix_end(self.key) if self.range_end is None else self.range_end
            body["range_end"] = b64(end)
        if self.revision:
            body["revision"] = str(self.revision)
        if self.serializable:
            body["serializable"] = True
        if self.limit:
            body["limit"] = str(self.limit)
        return body


@dataclass(frozen=True, slots=True)
class Delete:
    key: str
    prefix: bool = False

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"key": b64(self.key)}
        if self.prefix:
            body["range_end"] = b64(prefix_end(self.key))
        return body


Op = Put | Get | Delete
_OP_NAME = {Put: "request_put", Get: "request_range", Delete: "request_delete_range"}


def put(op: Put) -> Request:
    return Request("/v3/kv/put", op.to_json())


def range_(op: Get) -> Request:
    return Request("/v3/kv/range", op.to_json())


def delete(op: Delete) -> Request:
    return Request("/v3/kv/deleterange", op.to_json())


def txn(compares: Iterable[Compare], success: Iterable[Op] = (),
        failure: Iterable[Op] = ()) -> Request:
    """If every compare holds, `success` runs, else `failure`; atomically, at one revision."""
    def ops(items: Iterable[Op]) -> list[dict[str, Any]]:
        return [{_OP_NAME[type(op)]: op.to_json()} for op in items]
    return Request("/v3/kv/txn", {"compare": [c.to_json() for c in compares],
                                  "success": ops(success), "failure": ops(failure)})


def lease_grant(ttl_s: int) -> Request:
    return Request("/v3/lease/grant", {"TTL": str(ttl_s), "ID": "0"})


def lease_keepalive(lease: int) -> Request:
    return Request("/v3/lease/keepalive", {"ID": str(lease)})


def lease_revoke(lease: int) -> Request:
    """Deletes every key on the lease at once: a planned hand-over needs no TTL wait."""
    return Request("/v3/lease/revoke", {"ID": str(lease)})


def watch(key: str, *, prefix: bool = False, start_revision: int = 0,
          progress_notify: bool = True) -> Request:
    """A watch (a streaming POST: one JSON object a line) from `start_revision` (0: now)."""
    create: dict[str, Any] = {"key": b64(key)}
    if prefix:
        create["range_end"] = b64(prefix_end(key))
    if start_revision:
        create["start_revision"] = str(start_revision)
    if progress_notify:
        create["progress_notify"] = True
    return Request("/v3/watch", {"create_request": create})


# --- replies --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    version: int
    lease: int

    def json(self) -> Any:
        """The value as JSON (what this package writes)."""
        try:
            return json.loads(self.value)
        except ValueError:
            raise GatewayError(f"{self.key}: value is not JSON") from None


@dataclass(frozen=True, slots=True)
class RangeResult:
    revision: int  # the store's revision when the range was read
    kvs: tuple[KeyValue, ...]
    count: int
    more: bool

    def first(self) -> KeyValue | None:
        return self.kvs[0] if self.kvs else None


@dataclass(frozen=True, slots=True)
class PutResult:
    revision: int


@dataclass(frozen=True, slots=True)
class DeleteResult:
    revision: int
    deleted: int


OpResult = RangeResult | PutResult | DeleteResult


@dataclass(frozen=True, slots=True)
class TxnResult:
    succeeded: bool
    revision: int
    responses: tuple[OpResult, ...]


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease granted, or renewed: `ttl_s` 0 means it had expired (the gateway leaves out the
    TTL then, and answers 200)."""

    id: int
    ttl_s: int

    @property
    def alive(self) -> bool:
        return self.ttl_s > 0


class EventType(Enum):
    PUT = "PUT"
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: EventType
    kv: KeyValue


@dataclass(frozen=True, slots=True)
class WatchResponse:
    revision: int
    events: tuple[WatchEvent, ...] = ()
    created: bool = False
    canceled: bool = False
    compact_revision: int = 0  # set when the start revision was compacted away
    cancel_reason: str = ""


def _object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise GatewayError(f"{what}: expected an object, got {type(data).__name__}")
    return data


def check(data: Any) -> Mapping[str, Any]:
    """The reply as an object, or its error raised."""
    data = _object(data, "reply")
    if "error" in data and "header" not in data and "result" not in data:
        error = data["error"]
        message = data.get("message") or (error if isinstance(error, str) else str(error))
        code = data.get("code")
        raise GatewayError(f"etcd: {message}", code if isinstance(code, int) else None)
    return data


def _revision(data: Mapping[str, Any]) -> int:
    header = _object(data.get("header", {}), "header")
    return int64(header.get("revision"), "header.revision")


def parse_kv(data: Any) -> KeyValue:
    kv = _object(data, "kv")
    return KeyValue(
        key=unb64(kv.get("key", ""), "kv.key").decode("utf-8", "replace"),
        value=unb64(kv.get("value", ""), "kv.value"),
        create_revision=int64(kv.get("create_revision"), "kv.create_revision"),
        mod_revision=int64(kv.get("mod_revision"), "kv.mod_revision"),
        version=int64(kv.get("version"), "kv.version"),
        lease=int64(kv.get("lease"), "kv.lease"))


def parse_range(data: Any) -> RangeResult:
    data = check(data)
    kvs = data.get("kvs", [])
    if not isinstance(kvs, list):
        raise GatewayError("range: kvs is not a list")
    return RangeResult(_revision(data), tuple(parse_kv(kv) for kv in kvs),
                       int64(data.get("count"), "count"), bool(data.get("more", False)))


def parse_put(data: Any) -> PutResult:
    return PutResult(_revision(check(data)))


def parse_delete(data: Any) -> DeleteResult:
    data = check(data)
    return DeleteResult(_revision(data), int64(data.get("deleted"), "deleted"))


def _parse_op_result(item: Any) -> OpResult:
    item = _object(item, "txn response")
    if "response_range" in item:
        return parse_range(item["response_range"])
    if "response_put" in item:
        return parse_put(item["response_put"])
    if "response_delete_range" in item:
        return parse_delete(item["response_delete_range"])
    raise GatewayError(f"txn: unknown response {sorted(item)}")


def parse_txn(data: Any) -> TxnResult:
    data = check(data)
    responses = data.get("responses", [])
    if not isinstance(responses, list):
        raise GatewayError("txn: responses is not a list")
    return TxnResult(bool(data.get("succeeded", False)), _revision(data),
                     tuple(_parse_op_result(r) for r in responses))


def parse_lease(data: Any) -> Lease:
    """A grant's or a keepalive's reply. The keepalive's is wrapped in `result`."""
    data = check(data)
    if "result" in data:
        data = check(_object(data["result"], "result"))
    return Lease(int64(data.get("ID"), "ID"), int64(data.get("TTL"), "TTL"))


def parse_watch_line(line: str | bytes) -> WatchResponse:
    """One line of a watch stream."""
    try:
        data = json.loads(line)
    except ValueError:
        raise GatewayError(f"watch: not JSON: {line[:60]!r}") from None
    data = check(data)
    result = _object(data.get("result"), "watch result")
    events = result.get("events", [])
    if not isinstance(events, list):
        raise GatewayError("watch: events is not a list")
    parsed = []
    for event in events:
        event = _object(event, "watch event")
        kind = event.get("type", "PUT")
        if kind not in ("PUT", "DELETE"):
            raise GatewayError(f"watch: unknown event type {kind!r}")
        parsed.append(WatchEvent(EventType(kind), parse_kv(event.get("kv", {}))))
    return WatchResponse(
        revision=_revision(result), events=tuple(parsed),
        created=bool(result.get("created", False)), canceled=bool(result.get("canceled", False)),
        compact_revision=int64(result.get("compact_revision"), "compact_revision"),
        cancel_reason=str(result.get("cancel_reason", "")))


def ranges(result: TxnResult) -> Sequence[RangeResult]:
    """The range results of a txn, in order (what a failure branch read)."""
    return [r for r in result.responses if isinstance(r, RangeResult)]
