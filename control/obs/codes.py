"""obs-websocket v5 numeric constants, named as in the protocol description (5.1.0).

Members keep the protocol's own CamelCase names so that a log line such as
``ResourceNotFound (600)`` can be looked up in the obs-websocket docs verbatim.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class OpCode(IntEnum):
    """The ``op`` field of every frame."""

    Hello = 0
    Identify = 1
    Identified = 2
    Reidentify = 3
    Event = 5
    Request = 6
    RequestResponse = 7
    RequestBatch = 8
    RequestBatchResponse = 9


class EventSubscription(IntFlag):
    """Bits of ``eventSubscriptions`` in Identify/Reidentify.

    ``All`` is every low-volume category on 5.1; the high-volume ones (meters, active/show
    state, transforms) fire many times a second and must be asked for explicitly.
    """

    None_ = 0
    General = 1 << 0
    Config = 1 << 1
    Scenes = 1 << 2
    Inputs = 1 << 3
    Transitions = 1 << 4
    Filters = 1 << 5
    Outputs = 1 << 6
    SceneItems = 1 << 7
    MediaInputs = 1 << 8
    Vendors = 1 << 9
    Ui = 1 << 10
    All = (
        General | Config | Scenes | Inputs | Transitions | Filters | Outputs | SceneItems
        | MediaInputs | Vendors | Ui
    )
    InputVolumeMeters = 1 << 16
    InputActiveStateChanged = 1 << 17
    InputShowStateChanged = 1 << 18
    SceneItemTransformChanged = 1 << 19


class RequestBatchExecutionType(IntEnum):
    """How OBS runs a RequestBatch.

    ``SerialFrame`` runs one request per rendered frame; ``Parallel`` makes OBS 5.1 close the
    connection (4012) on a host whose thread pool has fewer than 2 threads, and ``Sleep``
    only works in the serial modes.
    """

    None_ = -1
    SerialRealtime = 0
    SerialFrame = 1
    Parallel = 2


class RequestStatus(IntEnum):
    """``requestStatus.code`` of a response."""

    Unknown = 0
    NoError = 10
    Success = 100
    MissingRequestType = 203
    UnknownRequestType = 204
    GenericError = 205
    UnsupportedRequestBatchExecutionType = 206
    MissingRequestField = 300
    MissingRequestData = 301
    InvalidRequestField = 400
    InvalidRequestFieldType = 401
    RequestFieldOutOfRange = 402
    RequestFieldEmpty = 403
    TooManyRequestFields = 404
    OutputRunning = 500
    OutputNotRunning = 501
    OutputPaused = 502
    OutputNotPaused = 503
    OutputDisabled = 504
    StudioModeActive = 505
    StudioModeNotActive = 506
    ResourceNotFound = 600
    ResourceAlreadyExists = 601
    InvalidResourceType = 602
    NotEnoughResources = 603
    InvalidResourceState = 604
    InvalidInputKind = 605
    ResourceNotConfigurable = 606
    InvalidFilterKind = 607
    ResourceCreationFailed = 700
    ResourceActionFailed = 701
    RequestProcessingFailed = 702
    CannotAct = 703


class CloseCode(IntEnum):
    """WebSocket close codes: the obs-websocket ones plus the standard ones seen from OBS."""

    NormalClosure = 1000
    GoingAway = 1001  # OBS is exiting (after ExitStarted)
    AbnormalClosure = 1006  # no close frame: OBS crashed or the network dropped
    UnknownReason = 4000
    MessageDecodeError = 4002
    MissingDataField = 4003
    InvalidDataFieldType = 4004
    InvalidDataFieldValue = 4005
    UnknownOpCode = 4006
    NotIdentified = 4007
    AlreadyIdentified = 4008
    AuthenticationFailed = 4009
    UnsupportedRpcVersion = 4010
    SessionInvalidated = 4011
    UnsupportedFeature = 4012


def status_name(code: int) -> str:
    """``"ResourceNotFound"`` for 600; a codes OBS may add later still gets a readable name."""
    try:
        return RequestStatus(code).name
    except ValueError:
        return f"UnknownStatus{code}"


def close_code_name(code: int | None) -> str:
    """Readable name of a close code; ``None`` means the socket vanished without one."""
    if code is None:
        return "NoCloseCode"
    try:
        return CloseCode(code).name
    except ValueError:
        return f"Close{code}"
