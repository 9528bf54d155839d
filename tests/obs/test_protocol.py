"""Unit tests of the sans-I/O obs-websocket protocol: no OBS, no sockets, no event loop."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from control.obs.codes import (
    CloseCode,
    EventSubscription,
    OpCode,
    RequestBatchExecutionType,
    RequestStatus,
    status_name,
)
from control.obs.errors import ObsNotConnected, ObsRequestError
from control.obs.messages import (
    Event,
    Hello,
    Identified,
    ProtocolViolation,
    Request,
    RequestBatchResponse,
    RequestResponse,
)
from control.obs.protocol import ObsProtocol, State, auth_string, classify_close

PASSWORD = "supersecretpassword"
SALT = "lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI="
CHALLENGE = "+IxH4CnCiqpX1rM9scsNynZzbOe4KhDeYcTNS3PDaeY="


def expected_auth(password: str, salt: str, challenge: str) -> str:
    """The recipe of the obs-websocket protocol docs, written out step by step."""
    secret_b64 = base64.b64encode(hashlib.sha256(f"{password}{salt}".encode()).digest()).decode()
    return base64.b64encode(hashlib.sha256(f"{secret_b64}{challenge}".encode()).digest()).decode()


def frame(op: int, d: Any) -> str:
    return json.dumps({"op": op, "d": d})


def hello(auth: bool = True) -> str:
    d: dict[str, Any] = {"obsWebSocketVersion": "5.1.0", "rpcVersion": 1}
    if auth:
        d["authentication"] = {"challenge": CHALLENGE, "salt": SALT}
    return frame(0, d)


def sent(proto: ObsProtocol) -> list[dict[str, Any]]:
    return [json.loads(f) for f in proto.data_to_send()]


def identified(password: str | None = PASSWORD, **kwargs: Any) -> ObsProtocol:
    proto = ObsProtocol(password, **kwargs)
    proto.receive_text(hello(auth=password is not None))
    proto.data_to_send()
    assert proto.receive_text(frame(2, {"negotiatedRpcVersion": 1})) == [Identified(1)]
    return proto


def response(rid: str, request_type: str, code: int = 100, comment: str | None = None,
             data: dict[str, Any] | None = None) -> str:
    status: dict[str, Any] = {"result": code == 100, "code": code}
    if comment is not None:
        status["comment"] = comment
    d: dict[str, Any] = {"requestType": request_type, "requestId": rid, "requestStatus": status}
    if data is not None:
        d["responseData"] = data
    return frame(7, d)


# --- handshake ---------------------------------------------------------------------------


def test_auth_string_matches_the_documented_recipe() -> None:
    assert auth_string(PASSWORD, SALT, CHALLENGE) == expected_auth(PASSWORD, SALT, CHALLENGE)
    # Known vector used by other obs-websocket v5 clients for the docs' example values.
    assert auth_string(PASSWORD, SALT, CHALLENGE) == "1Ct943GAT+6YQUUX47Ia/ncufilbe6+oD6lY+5kaCu4="
    assert auth_string("密码", SALT, CHALLENGE) == expected_auth("密码", SALT, CHALLENGE)


def test_hello_with_auth_queues_identify_with_auth_string() -> None:
    proto = ObsProtocol(PASSWORD, event_subscriptions=EventSubscription.Scenes)
    assert proto.data_to_send() == []
    assert proto.receive_text(hello()) == [Hello("5.1.0", 1, True)]
    assert proto.state is State.IDENTIFYING
    assert sent(proto) == [
        {
            "op": 1,
            "d": {
                "rpcVersion": 1,
                "eventSubscriptions": 4,
                "authentication": expected_auth(PASSWORD, SALT, CHALLENGE),
            },
        }
    ]
    assert proto.receive_text(frame(2, {"negotiatedRpcVersion": 1})) == [Identified(1)]
    assert proto.state is State.IDENTIFIED
    assert proto.negotiated_rpc_version == 1


def test_hello_without_auth_sends_no_authentication_even_with_a_password() -> None:
    proto = ObsProtocol(PASSWORD)
    assert proto.receive_text(hello(auth=False)) == [Hello("5.1.0", 1, False)]
    (identify,) = sent(proto)
    assert identify == {"op": 1, "d": {"rpcVersion": 1, "eventSubscriptions": 2047}}


def test_auth_required_but_no_password_configured_says_so_on_4009() -> None:
    proto = ObsProtocol(None)
    proto.receive_text(hello(auth=True))
    (identify,) = sent(proto)
    assert "authentication" not in identify["d"]
    disc = proto.connection_lost(4009, "Your payload's data is missing an `authentication`")
    assert disc.fatal
    assert "none is configured" in disc.message


def test_requests_before_identified_are_refused() -> None:
    proto = ObsProtocol(PASSWORD)
    with pytest.raises(ObsNotConnected):
        proto.send_request("GetVersion")
    proto.receive_text(hello())
    with pytest.raises(ObsNotConnected):
        proto.send_batch([("GetVersion", None)])


def test_reidentify_then_identified_again() -> None:
    proto = identified()
    proto.send_reidentify(EventSubscription.All | EventSubscription.InputVolumeMeters)
    assert sent(proto) == [{"op": 3, "d": {"eventSubscriptions": 2047 | 65536}}]
    assert proto.receive_text(frame(2, {"negotiatedRpcVersion": 1})) == [Identified(1)]
    assert proto.state is State.IDENTIFIED


# --- requests ----------------------------------------------------------------------------


def test_request_frames_and_generated_ids_are_unique() -> None:
    proto = identified()
    a = proto.send_request("GetVersion")
    b = proto.send_request("SetCurrentProgramScene", {"sceneName": "倒计时"})
    c = proto.send_request("GetSceneList", request_id="mine")
    assert len({a, b, c}) == 3 and c == "mine"
    frames = proto.data_to_send()
    assert "倒计时" in frames[1]  # UTF-8 text, not \\u escapes
    assert [json.loads(f) for f in frames] == [
        {"op": 6, "d": {"requestType": "GetVersion", "requestId": a}},
        {"op": 6, "d": {"requestType": "SetCurrentProgramScene", "requestId": b,
                        "requestData": {"sceneName": "倒计时"}}},
        {"op": 6, "d": {"requestType": "GetSceneList", "requestId": "mine"}},
    ]
    assert proto.pending_ids == {a, b, "mine"}
    with pytest.raises(ValueError, match="already pending"):
        proto.send_request("GetVersion", request_id="mine")


def test_responses_match_by_request_id_in_any_order() -> None:
    proto = identified()
    a = proto.send_request("GetVersion")
    b = proto.send_request("SetCurrentProgramScene", {"sceneName": "Nope"})
    (rb,) = proto.receive_text(response(b, "SetCurrentProgramScene", 600, "No source was found"))
    (ra,) = proto.receive_text(response(a, "GetVersion", data={"obsVersion": "29.0.2"}))
    assert isinstance(ra, RequestResponse) and ra.request_id == a
    assert ra.result.ok and ra.result.raise_for_status() == {"obsVersion": "29.0.2"}
    assert isinstance(rb, RequestResponse) and rb.request_id == b
    assert not rb.result.ok and rb.result.status.name == "ResourceNotFound"
    with pytest.raises(ObsRequestError) as info:
        rb.result.raise_for_status()
    err = info.value
    assert (err.code, err.comment, err.request_type) == (
        600, "No source was found", "SetCurrentProgramScene")
    assert "ResourceNotFound (600)" in str(err)
    assert proto.pending_ids == frozenset()


def test_response_to_unknown_id_is_a_violation_not_a_crash() -> None:
    proto = identified()
    (v,) = proto.receive_text(response("ghost", "GetVersion"))
    assert isinstance(v, ProtocolViolation) and "unknown requestId 'ghost'" in v.reason


def test_late_answer_to_abandoned_request_is_dropped_quietly() -> None:
    proto = identified()
    rid = proto.send_request("GetVersion")
    proto.abandon(rid)
    assert proto.pending_ids == frozenset()
    assert proto.receive_text(response(rid, "GetVersion")) == []
    # A second copy is no longer expected at all.
    assert isinstance(proto.receive_text(response(rid, "GetVersion"))[0], ProtocolViolation)


def test_batch_frame_and_results() -> None:
    proto = identified()
    rid = proto.send_batch(
        [
            Request("SetCurrentSceneTransition", {"transitionName": "Fade"}),
            ("SetCurrentSceneTransitionDuration", {"transitionDuration": 300}),
            Request("SetCurrentProgramScene", {"sceneName": "Studio"}, request_id="take"),
        ],
        execution_type=RequestBatchExecutionType.SerialFrame,
        halt_on_failure=True,
    )
    assert sent(proto) == [{"op": 8, "d": {
        "requestId": rid, "haltOnFailure": True, "executionType": 1,
        "requests": [
            {"requestType": "SetCurrentSceneTransition", "requestData": {"transitionName": "Fade"}},
            {"requestType": "SetCurrentSceneTransitionDuration",
             "requestData": {"transitionDuration": 300}},
            {"requestType": "SetCurrentProgramScene", "requestData": {"sceneName": "Studio"},
             "requestId": "take"},
        ]}}]
    results = [
        {"requestType": "SetCurrentSceneTransition",
         "requestStatus": {"result": True, "code": 100}},
        {"requestType": "SetCurrentSceneTransitionDuration",
         "requestStatus": {"result": False, "code": 402, "comment": "out of range"}},
    ]
    (r,) = proto.receive_text(frame(9, {"requestId": rid, "results": results}))
    assert isinstance(r, RequestBatchResponse) and r.request_id == rid
    assert [x.ok for x in r.results] == [True, False]
    assert r.results[1].status.code == RequestStatus.RequestFieldOutOfRange
    assert r.results[1].status.comment == "out of range"
    assert proto.pending_ids == frozenset()


def test_batch_needs_a_real_execution_type() -> None:
    proto = identified()
    with pytest.raises(ValueError):
        proto.send_batch([("GetVersion", None)], execution_type=RequestBatchExecutionType.None_)


def test_answer_of_the_wrong_kind_fails_that_request() -> None:
    proto = identified()
    rid = proto.send_request("GetVersion")
    (v,) = proto.receive_text(frame(9, {"requestId": rid, "results": []}))
    assert isinstance(v, ProtocolViolation) and v.request_id == rid
    assert proto.pending_ids == frozenset()


# --- events ------------------------------------------------------------------------------


def test_events() -> None:
    proto = identified()
    (e,) = proto.receive_text(frame(5, {"eventType": "CurrentProgramSceneChanged",
                                        "eventIntent": 4, "eventData": {"sceneName": "Studio"}}))
    assert e == Event("CurrentProgramSceneChanged", EventSubscription.Scenes,
                      {"sceneName": "Studio"})
    (e,) = proto.receive_text(frame(5, {"eventType": "ExitStarted", "eventIntent": 1}))
    assert e == Event("ExitStarted", 1, {})


def test_subscription_constants() -> None:
    assert EventSubscription.General == 1 and EventSubscription.Ui == 1024
    # All is the OR of the 11 low-volume categories (General | ... | Ui), as in 5.1's source.
    assert EventSubscription.All == 2047 == (1 << 11) - 1
    assert EventSubscription.InputVolumeMeters == 1 << 16
    assert EventSubscription.InputActiveStateChanged == 1 << 17
    assert EventSubscription.InputShowStateChanged == 1 << 18
    assert EventSubscription.SceneItemTransformChanged == 1 << 19
    assert not EventSubscription.All & EventSubscription.InputVolumeMeters


def test_status_names() -> None:
    assert status_name(100) == "Success"
    assert status_name(600) == "ResourceNotFound"
    assert status_name(605) == "InvalidInputKind"
    assert status_name(999) == "UnknownStatus999"
    assert RequestStatus(204).name == "UnknownRequestType"
    assert OpCode.RequestBatchResponse == 9


# --- close codes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "fatal", "words"),
    [
        (4009, True, "wrong obs-websocket password"),
        (4010, True, "too old"),
        (4011, False, "SessionInvalidated"),
        (4007, False, "NotIdentified"),
        (4012, False, "UnsupportedFeature"),
        (1000, False, "NormalClosure"),
        (1001, False, "GoingAway"),
        (1006, False, "AbnormalClosure"),
        (None, False, "NoCloseCode"),
    ],
)
def test_close_classification(code: int | None, fatal: bool, words: str) -> None:
    is_fatal, message = classify_close(code, "why")
    assert is_fatal is fatal
    assert words in message


def test_connection_lost_fails_every_pending_request_and_closes() -> None:
    proto = identified()
    a = proto.send_request("GetVersion")
    b = proto.send_batch([("GetVersion", None)])
    disc = proto.connection_lost(CloseCode.AbnormalClosure)
    assert set(disc.failed_request_ids) == {a, b}
    assert not disc.fatal and disc.code == 1006
    assert proto.state is State.CLOSED and proto.pending_ids == frozenset()
    with pytest.raises(ObsNotConnected):
        proto.send_request("GetVersion")
    assert isinstance(proto.receive_text(response(a, "GetVersion"))[0], ProtocolViolation)


# --- malformed frames --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{nope", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("[" * 100_000, "not valid JSON"),
        ("[1, 2]", "JSON list, not an object"),
        ('{"d": {}}', "no integer 'op'"),
        ('{"op": "7", "d": {}}', "no integer 'op'"),
        ('{"op": true, "d": {}}', "no integer 'op'"),
        ('{"op": 7}', "no 'd' object"),
        ('{"op": 7, "d": []}', "no 'd' object"),
        ('{"op": 42, "d": {}}', "unknown op 42"),
        ('{"op": 6, "d": {}}', "sent by clients"),
        ('{"op": 5, "d": {"eventIntent": 4}}', "missing string 'eventType'"),
        ('{"op": 5, "d": {"eventType": "X", "eventIntent": 4, "eventData": 3}}', "eventData"),
        ('{"op": 7, "d": {"requestType": "GetVersion"}}', "no string 'requestId'"),
        ('{"op": 0, "d": {"obsWebSocketVersion": "5.1.0", "rpcVersion": 1}}', "unexpected Hello"),
    ],
)
def test_malformed_frames_give_a_reason(text: str | bytes, reason: str) -> None:
    proto = identified()
    (v,) = proto.receive_text(text)
    assert isinstance(v, ProtocolViolation)
    assert reason in v.reason
    assert proto.state is State.IDENTIFIED  # the session goes on


@pytest.mark.parametrize(
    "status",
    [None, {"code": 100}, {"result": True}, {"result": "yes", "code": 100},
     {"result": True, "code": 100, "comment": 5}],
)
def test_malformed_response_fails_only_its_request(status: Any) -> None:
    proto = identified()
    keep = proto.send_request("GetVersion")
    rid = proto.send_request("GetSceneList")
    d: dict[str, Any] = {"requestType": "GetSceneList", "requestId": rid}
    if status is not None:
        d["requestStatus"] = status
    (v,) = proto.receive_text(frame(7, d))
    assert isinstance(v, ProtocolViolation) and v.request_id == rid
    assert "requestStatus" in v.reason or "comment" in v.reason
    assert proto.pending_ids == {keep}


def test_malformed_hello_is_reported_and_no_identify_is_sent() -> None:
    proto = ObsProtocol(PASSWORD)
    (v,) = proto.receive_text(frame(0, {"obsWebSocketVersion": "5.1.0", "rpcVersion": 1,
                                        "authentication": {"challenge": "c"}}))
    assert isinstance(v, ProtocolViolation) and "salt" in v.reason
    assert proto.data_to_send() == []
    assert proto.state is State.AWAITING_HELLO


def test_identified_before_hello_is_a_violation() -> None:
    proto = ObsProtocol(PASSWORD)
    (v,) = proto.receive_text(frame(2, {"negotiatedRpcVersion": 1}))
    assert isinstance(v, ProtocolViolation) and "awaiting Hello" in v.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    op=st.one_of(st.integers(-1, 10), json_values),
    d=st.one_of(json_values, st.fixed_dictionaries(
        {"requestId": st.sampled_from(["1", "2", "x"])},
        optional={"requestType": json_values, "requestStatus": json_values,
                  "responseData": json_values, "results": json_values,
                  "eventType": json_values, "eventIntent": json_values},
    )),
)
def test_no_frame_crashes_the_caller(op: Any, d: Any) -> None:
    proto = identified()
    proto.send_request("GetVersion")
    proto.send_batch([("GetVersion", None)])
    for item in proto.receive_text(json.dumps({"op": op, "d": d})):
        assert isinstance(item, ProtocolViolation | Event | Identified | RequestResponse
                          | RequestBatchResponse)
