"""Exceptions of the OBS link.

Callers mostly need two distinctions: did OBS refuse the request (``ObsRequestError``, the
show logic decides), or is the link down (``ObsConnectionError``, the supervisor reconnects
and the sync layer reapplies the desired state). ``ObsFatalError`` is the one link error
that no retry can fix.
"""

from __future__ import annotations

from control.obs.codes import close_code_name, status_name


class ObsError(Exception):
    """Base of every error raised by control.obs."""


class ObsProtocolError(ObsError):
    """A frame that does not follow obs-websocket v5 (bad JSON, unknown op, missing field)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ObsRequestError(ObsError):
    """OBS answered a request with a failure status."""

    def __init__(self, code: int, comment: str | None, request_type: str) -> None:
        self.code = code
        self.comment = comment
        self.request_type = request_type
        detail = f": {comment}" if comment else ""
        super().__init__(f"{request_type} failed with {status_name(code)} ({code}){detail}")

    @property
    def status_name(self) -> str:
        return status_name(self.code)


class ObsTimeoutError(ObsError, TimeoutError):
    """No response within the request timeout; the link itself may still be up."""

    def __init__(self, request_type: str, timeout: float) -> None:
        self.request_type = request_type
        self.timeout = timeout
        super().__init__(f"{request_type}: no response from OBS within {timeout:g} s")


class ObsConnectionError(ObsError):
    """The link to OBS is not usable right now."""


class ObsNotConnected(ObsConnectionError):
    """A request was made while no identified session exists (OBS down, reconnecting)."""


class ObsNotDriving(ObsConnectionError):
    """The send gate refused the request: this controller does not drive OBS now (a standby,
    or a leader whose lease may have ended: docs/redundancy.md#the-fencing-rule)."""


class ConnectionLost(ObsConnectionError):
    """The socket closed while the request was in flight; whether OBS applied it is unknown."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(f"connection to OBS lost ({close_code_name(code)}, {code}){detail}")


class ObsFatalError(ObsConnectionError):
    """A close that retrying cannot fix (wrong password, OBS too old, bad URL)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        self.code = code
        self.message = message
        super().__init__(message)
