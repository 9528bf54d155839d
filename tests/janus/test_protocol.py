"""The sans-I/O Janus API: requests as data, replies typed, errors typed, transactions."""

from __future__ import annotations

import pytest

from control.janus import protocol
from control.janus.protocol import JanusError, JanusProtocolError, Kind, Transactions

pytestmark = pytest.mark.unit


def test_requests_are_paths_and_bodies():
    assert protocol.create_session("t1") == protocol.Request(
        "", {"janus": "create", "transaction": "t1"}, "t1")
    attach = protocol.attach(11, "t2")
    assert (attach.method, attach.path, attach.body["plugin"]) == (
        "POST", "/11", "janus.plugin.videoroom")
    msg = protocol.message(11, 22, protocol.publish(), "t3", protocol.offer("v=0\r\n"))
    assert msg.path == "/11/22" and msg.body["jsep"] == {
        "type": "offer", "sdp": "v=0\r\n", "trickle": False}
    assert protocol.poll(11, 5) == protocol.Request("/11?maxev=5", None)
    assert protocol.poll(11).method == "GET"
    fwd = protocol.rtp_forward(7, 99, "127.0.0.1", [("0", 5000), ("1", 5002)],
                               secret="s", admin_key="k")
    assert fwd["streams"] == [{"mid": "0", "port": 5000}, {"mid": "1", "port": 5002}]
    assert (fwd["secret"], fwd["admin_key"]) == ("s", "k")
    room = protocol.create_room(7, admin_key="k", secret="s")
    assert (room["videocodec"], room["audiocodec"], room["permanent"]) == ("vp8", "opus", False)


def test_replies_are_typed():
    ok = protocol.parse({"janus": "success", "transaction": "t1", "data": {"id": 123}})
    assert ok.kind is Kind.SUCCESS and protocol.created_id(ok) == 123
    event = protocol.parse({
        "janus": "event", "sender": 5, "transaction": "t9",
        "plugindata": {"plugin": "janus.plugin.videoroom",
                       "data": {"videoroom": "event", "configured": "ok",
                                "streams": [{"type": "audio", "mid": "0", "codec": "opus"},
                                            {"type": "video", "mid": "1", "codec": "vp8"}]}},
        "jsep": {"type": "answer", "sdp": "v=0..."}})
    done = protocol.published(event)
    assert done.answer == "v=0..." and [s.kind for s in done.streams] == ["audio", "video"]
    assert protocol.joined(protocol.parse({"janus": "event", "plugindata": {
        "data": {"videoroom": "joined", "id": 77, "room": 1}}})) == 77
    assert protocol.parse({"janus": "webrtcup", "sender": 5}).kind is Kind.WEBRTCUP
    assert protocol.parse({"janus": "something-new"}).kind is Kind.OTHER
    polled = protocol.parse_poll([{"janus": "hangup", "sender": 5}, {"janus": "keepalive"}])
    assert [r.kind for r in polled] == [Kind.HANGUP, Kind.KEEPALIVE]


def test_errors_are_typed():
    core = protocol.parse({"janus": "error", "transaction": "t",
                           "error": {"code": 458, "reason": "No such session"}})
    with pytest.raises(JanusError) as caught:
        core.check()
    assert caught.value.code == protocol.SESSION_NOT_FOUND
    plugin = protocol.parse({"janus": "success", "plugindata": {"data": {
        "videoroom": "event", "error_code": 427, "error": "Room 7 already exists"}}})
    with pytest.raises(JanusError) as caught:
        protocol.room_created(plugin)
    assert (caught.value.code, caught.value.reason) == (427, "Room 7 already exists")
    for bad in (None, [], {"janus": 3}, "text"):
        with pytest.raises(JanusProtocolError):
            protocol.parse(bad)
    with pytest.raises(JanusProtocolError):  # a join reply without the feed id
        protocol.joined(protocol.parse({"janus": "event", "plugindata": {
            "data": {"videoroom": "joined"}}}))
    disabled = protocol.parse({"janus": "event", "jsep": {"type": "answer", "sdp": "v=0"},
                               "plugindata": {"data": {"configured": "ok", "streams": [
                                   {"type": "video", "mid": "0", "disabled": True}]}}})
    with pytest.raises(JanusError) as unusable:  # Janus "accepts" it with nothing enabled
        protocol.published(disabled)
    assert unusable.value.code == protocol.UNUSABLE_OFFER
    with pytest.raises(JanusProtocolError):  # configured without an SDP answer
        protocol.published(protocol.parse({"janus": "event", "plugindata": {
            "data": {"configured": "ok"}}}))


def test_transactions_match_their_replies():
    txs = Transactions()
    one, two = txs.new("join"), txs.new("publish")
    assert one != two
    assert txs.owns(protocol.parse({"janus": "ack", "transaction": one}))
    assert not txs.owns(protocol.parse({"janus": "ack", "transaction": "someone-else"}))
    assert not txs.owns(protocol.parse({"janus": "webrtcup", "sender": 1}))
    txs.done(one)
    assert not txs.owns(protocol.parse({"janus": "event", "transaction": one}))
    assert txs.pending == {two: "publish"}

