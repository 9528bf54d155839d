"""Typed values that the sans-I/O protocol takes and gives.

Plain frozen dataclasses: the asyncio layer, the sync layer and the tests match on them
instead of poking into raw JSON dicts whose field names are easy to misspell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from control.obs.codes import RequestStatus, status_name
from control.obs.errors import ObsRequestError


@dataclass(frozen=True, slots=True)
class Request:
    """One request of a RequestBatch; ``request_id`` is optional and echoed in its result."""

    request_type: str
    request_data: Mapping[str, Any] | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Status:
    """``requestStatus``: ``result`` is true exactly when ``code`` is 100 (Success)."""

    result: bool
    code: int
    comment: str | None = None

    @property
    def name(self) -> str:
        return status_name(self.code)

    @property
    def ok(self) -> bool:
        return self.result and self.code == RequestStatus.Success


@dataclass(frozen=True, slots=True)
class RequestResult:
    """Outcome of one request, alone or inside a batch."""

    request_type: str
    status: Status
    data: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status.ok

    def raise_for_status(self) -> dict[str, Any]:
        """Return ``responseData`` or raise ``ObsRequestError`` with OBS's code and comment."""
        if not self.status.ok:
            raise ObsRequestError(self.status.code, self.status.comment, self.request_type)
        return self.data


# --- what one received frame turns into -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    """op 0. The Identify answer has already been queued in ``data_to_send()``."""

    obs_websocket_version: str
    rpc_version: int
    authentication_required: bool


@dataclass(frozen=True, slots=True)
class Identified:
    """op 2, after Identify and after every Reidentify: the session accepts requests."""

    negotiated_rpc_version: int


@dataclass(frozen=True, slots=True)
class RequestResponse:
    """op 7, matched to a pending ``send_request``."""

    request_id: str
    result: RequestResult


@dataclass(frozen=True, slots=True)
class RequestBatchResponse:
    """op 9, matched to a pending ``send_batch``; with haltOnFailure, results stop early."""

    request_id: str
    results: tuple[RequestResult, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """op 5. ``event_intent`` is the EventSubscription bit the event belongs to."""

    event_type: str
    event_intent: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """A frame that breaks the protocol, reported instead of raised so the link survives it.

    ``request_id`` is set when the bad frame answered a pending request: that request is no
    longer pending and its caller must be told.
    """

    reason: str
    request_id: str | None = None


Received = Hello | Identified | RequestResponse | RequestBatchResponse | Event | ProtocolViolation


@dataclass(frozen=True, slots=True)
class Disconnected:
    """What ``connection_lost`` concludes: retry or not, and which requests died with it."""

    code: int | None
    reason: str
    fatal: bool
    message: str
    failed_request_ids: tuple[str, ...] = ()
