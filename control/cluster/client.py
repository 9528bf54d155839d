"""A thin asyncio client of etcd's v3 JSON gateway over aiohttp, across several members.

Every call has a short timeout and, when a member does not answer (refused, timed out, 5xx,
"unavailable"), goes on to the next member; the member that answered is asked first next
time. A write that timed out may still have been applied: callers make their writes
idempotent (create-if-absent, docs/redundancy.md). The watch is a streaming POST read line by
line with no total timeout (aiohttp's default of 300 s would cut the stream).

What to send and how to read the reply is `protocol.py`; this module only moves it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

import aiohttp

from control.cluster import protocol as p

T = TypeVar("T")
# gRPC codes that mean "this member cannot answer now; another may": cancelled, deadline
# exceeded, resource exhausted, unavailable (no leader, request timed out, leader changed)
RETRY_CODES = frozenset({1, 4, 8, 14})
DEFAULT_TIMEOUT_S = 0.3


class EtcdUnavailable(Exception):
    """No member answered the call (each tried once); the message names the last failure."""


class EtcdClient:
    """Calls to an etcd cluster through any of its members' client URLs."""

    def __init__(self, endpoints: Sequence[str], *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 session: aiohttp.ClientSession | None = None) -> None:
        if not endpoints:
            raise ValueError("etcd: no endpoints")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.timeout_s = timeout_s
        self._session = session
        self._own_session = session is None
        self._first = 0  # the member that answered last

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> EtcdClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _order(self) -> list[int]:
        n = len(self.endpoints)
        return [(self._first + i) % n for i in range(n)]

    async def _post_once(self, endpoint: str, request: p.Request) -> Any:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with self._http().post(endpoint + request.path, data=request.json(),
                                     headers={"Content-Type": "application/json"},
                                     timeout=timeout) as resp:
            text = await resp.text()
        try:
            data = json.loads(text)
        except ValueError:
            raise p.GatewayError(f"HTTP {resp.status}: {text[:80]!r}",
                                 14 if resp.status >= 500 else None) from None
        return data

    async def call(self, request: p.Request, parse: Callable[[Any], T]) -> T:
        """POST `request` to the members in turn until one answers; its reply parsed."""
        last = "no member tried"
        for index in self._order():
            endpoint = self.endpoints[index]
            try:
                result = parse(await self._post_once(endpoint, request))
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                last = f"{endpoint}: {type(exc).__name__} {exc}".strip()
                continue
            except p.GatewayError as exc:
                if exc.code not in RETRY_CODES:
                    raise
                last = f"{endpoint}: {exc}"
                continue
            self._first = index
            return result
        raise EtcdUnavailable(f"etcd: no member answered {request.path} ({last})")

    # --- the calls -------------------------------------------------------------------------

    async def put(self, op: p.Put) -> p.PutResult:
        return await self.call(p.put(op), p.parse_put)

    async def get(self, op: p.Get) -> p.RangeResult:
        return await self.call(p.range_(op), p.parse_range)

    async def delete(self, op: p.Delete) -> p.DeleteResult:
        return await self.call(p.delete(op), p.parse_delete)

    async def txn(self, compares: Sequence[p.Compare], success: Sequence[p.Op] = (),
                  failure: Sequence[p.Op] = ()) -> p.TxnResult:
        return await self.call(p.txn(compares, success, failure), p.parse_txn)

    async def grant(self, ttl_s: int) -> p.Lease:
        return await self.call(p.lease_grant(ttl_s), p.parse_lease)

    async def keepalive(self, lease: int) -> p.Lease:
        """The lease renewed; `alive` is False when it had already expired."""
        return await self.call(p.lease_keepalive(lease), p.parse_lease)

    async def revoke(self, lease: int) -> None:
        try:
            await self.call(p.lease_revoke(lease), p.check)
        except p.GatewayError as exc:
            if exc.code != 5:  # not found: it had expired already, which is what was wanted
                raise

    async def healthy(self, endpoint: str) -> bool:
        """A member's /health (true only while the cluster has a leader)."""
        try:
            async with self._http().get(endpoint.rstrip("/") + "/health",
                                        timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as r:
                return r.status == 200 and (await r.json(content_type=None)).get(
                    "health") == "true"
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError, AttributeError):
            return False

    async def watch(self, key: str, *, prefix: bool = False,
                    start_revision: int = 0) -> AsyncIterator[p.WatchResponse]:
        """The watch's responses, as they come, from the first member that accepts it. Ends by
        raising EtcdUnavailable when the stream breaks (the caller watches again from the
        revision after the last it saw), or GatewayError if etcd cancels it (compacted)."""
        request = p.watch(key, prefix=prefix, start_revision=start_revision)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.timeout_s)
        last = "no member tried"
        for index in self._order():
            endpoint = self.endpoints[index]
            accepted = False  # once a stream was accepted, a break is the caller's to resume
            try:
                async with self._http().post(endpoint + request.path, data=request.json(),
                                             timeout=timeout) as resp:
                    if resp.status != 200:
                        raise p.GatewayError(f"HTTP {resp.status}", 14)
                    accepted = True
                    self._first = index
                    async for line in resp.content:
                        if line.strip():
                            yield _watch_response(line)
                last = f"{endpoint}: stream ended"
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                last = f"{endpoint}: {type(exc).__name__} {exc}".strip()
            except p.GatewayError as exc:
                if exc.code not in RETRY_CODES:
                    raise
                last = f"{endpoint}: {exc}"
            if accepted:
                break
        raise EtcdUnavailable(f"etcd: watch on {key} ended ({last})")


def _watch_response(line: bytes) -> p.WatchResponse:
    response = p.parse_watch_line(line)
    if response.canceled:
        raise p.GatewayError(f"watch canceled: {response.cancel_reason or 'compacted'} "
                             f"(compact revision {response.compact_revision})")
    return response
