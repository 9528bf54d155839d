"""obs-websocket v5: sans-I/O protocol, asyncio client, desired-state sync.

``protocol`` decides (no I/O), ``connection`` carries one session over ``websockets``,
``client`` keeps a session alive across OBS restarts.
"""

from control.obs.client import Backoff, EventStream, ObsClient
from control.obs.codes import (
    CloseCode,
    EventSubscription,
    OpCode,
    RequestBatchExecutionType,
    RequestStatus,
)
from control.obs.connection import ObsConnection
from control.obs.errors import (
    ConnectionLost,
    ObsConnectionError,
    ObsError,
    ObsFatalError,
    ObsNotConnected,
    ObsNotDriving,
    ObsProtocolError,
    ObsRequestError,
    ObsTimeoutError,
)
from control.obs.messages import Event, Request, RequestResult, Status
from control.obs.protocol import ObsProtocol, auth_string, classify_close

__all__ = [
    "Backoff",
    "CloseCode",
    "ConnectionLost",
    "Event",
    "EventStream",
    "EventSubscription",
    "ObsClient",
    "ObsConnection",
    "ObsConnectionError",
    "ObsError",
    "ObsFatalError",
    "ObsNotConnected",
    "ObsNotDriving",
    "ObsProtocol",
    "ObsProtocolError",
    "ObsRequestError",
    "ObsTimeoutError",
    "OpCode",
    "Request",
    "RequestBatchExecutionType",
    "RequestResult",
    "RequestStatus",
    "Status",
    "auth_string",
    "classify_close",
]
