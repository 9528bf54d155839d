"""The etcd JSON gateway's requests and replies, without etcd. The replies are what etcd 3.4's
gateway answered on this machine (headers trimmed), defaults left out as it leaves them out."""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from control.cluster import protocol as p


def enc(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


HEADER = {"cluster_id": "15118495548433857066", "member_id": "13668033151171901709",
          "revision": "2", "raft_term": "3"}


def test_a_create_if_absent_txn_is_the_gateway_json() -> None:
    request = p.txn([p.key_absent("/a"), p.key_on_lease("/l", 4111120413832253701)],
                    [p.Put("/a", b"v", lease=7)], [p.Get("/a"), p.Get("/l")])
    assert request.path == "/v3/kv/txn"
    assert request.body["compare"] == [
        {"key": enc("/a"), "result": "EQUAL", "target": "CREATE", "create_revision": "0"},
        {"key": enc("/l"), "result": "EQUAL", "target": "LEASE",
         "lease": "4111120413832253701"}]
    assert request.body["success"] == [
        {"request_put": {"key": enc("/a"), "value": enc("v"), "lease": "7"}}]
    assert request.body["failure"] == [{"request_range": {"key": enc("/a")}},
                                       {"request_range": {"key": enc("/l")}}]
    assert json.loads(request.json()) == request.body


def test_a_value_compare_is_base64() -> None:
    assert p.key_value("/k", b"main").to_json() == {
        "key": enc("/k"), "result": "EQUAL", "target": "VALUE", "value": enc("main")}


def test_prefix_ranges_and_watches_end_after_the_prefix() -> None:
    assert p.prefix_end("/j/") == b"/j0"
    assert p.prefix_end(b"a\xff\xff") == b"b"
    assert p.prefix_end(b"\xff") == b"\x00"
    body = p.range_(p.Get("/j/", prefix=True, revision=5, serializable=True)).body
    assert body == {"key": enc("/j/"), "range_end": enc("/j0"), "revision": "5",
                    "serializable": True}
    watch = p.watch("/j/", prefix=True, start_revision=12).body["create_request"]
    assert watch["range_end"] == enc("/j0") and watch["start_revision"] == "12"


def test_lease_requests_send_64_bit_ids_as_strings() -> None:
    assert p.lease_grant(1).body == {"TTL": "1", "ID": "0"}
    assert p.lease_keepalive(4111120413832253701).body == {"ID": "4111120413832253701"}
    assert p.lease_revoke(9).path == "/v3/lease/revoke"


def test_a_successful_txn() -> None:
    result = p.parse_txn({"header": HEADER, "succeeded": True,
                          "responses": [{"response_put": {"header": {"revision": "2"}}}]})
    assert result == p.TxnResult(True, 2, (p.PutResult(2),))


def test_a_failed_txn_has_no_succeeded_and_carries_what_the_failure_branch_read() -> None:
    result = p.parse_txn({"header": HEADER, "responses": [{"response_range": {
        "header": {"revision": "2"}, "count": "1", "kvs": [{
            "key": enc("/a"), "create_revision": "2", "mod_revision": "2", "version": "1",
            "value": enc("b")}]}}]})
    assert not result.succeeded
    (read,) = p.ranges(result)
    assert read.first() == p.KeyValue("/a", b"b", 2, 2, 1, 0)


def test_an_empty_range_has_no_kvs() -> None:
    result = p.parse_range({"header": HEADER})
    assert result == p.RangeResult(2, (), 0, False) and result.first() is None


def test_a_grant_and_an_expired_keepalive() -> None:
    grant = p.parse_lease({"header": HEADER, "ID": "4111120413832253701", "TTL": "1"})
    assert grant == p.Lease(4111120413832253701, 1) and grant.alive
    expired = p.parse_lease({"result": {"header": HEADER, "ID": "12345"}})
    assert expired == p.Lease(12345, 0) and not expired.alive


def test_an_error_reply_is_raised_with_its_grpc_code() -> None:
    with pytest.raises(p.GatewayError, match="requested lease not found") as caught:
        p.parse_put({"error": "etcdserver: requested lease not found",
                     "message": "etcdserver: requested lease not found", "code": 5})
    assert caught.value.code == 5


def test_watch_lines_created_then_put_and_delete() -> None:
    created = p.parse_watch_line(json.dumps({"result": {"header": HEADER, "created": True}}))
    assert created.created and created.events == ()
    line = json.dumps({"result": {"header": {**HEADER, "revision": "3"}, "events": [
        {"kv": {"key": enc("a"), "create_revision": "2", "mod_revision": "2", "version": "1",
                "value": enc("b")}},
        {"type": "DELETE", "kv": {"key": enc("a"), "mod_revision": "3"}}]}})
    response = p.parse_watch_line(line.encode())
    assert [e.type for e in response.events] == [p.EventType.PUT, p.EventType.DELETE]
    assert response.events[1].kv == p.KeyValue("a", b"", 0, 3, 0, 0)
    assert response.revision == 3


def test_a_compacted_watch_is_canceled_with_the_compact_revision() -> None:
    line = json.dumps({"result": {"header": HEADER, "canceled": True,
                                  "compact_revision": "40"}})
    response = p.parse_watch_line(line)
    assert response.canceled and response.compact_revision == 40


@pytest.mark.parametrize("bad", [
    "not json", "[]", '{"result": 3}', '{"result": {"events": [{"type": "MOVE"}]}}',
    '{"result": {"events": [{"kv": {"key": "!!"}}]}}',
    '{"result": {"header": {"revision": "x"}}}', '{"result": {"header": {"revision": true}}}'])
def test_malformed_replies_are_a_gateway_error(bad: str) -> None:
    with pytest.raises(p.GatewayError):
        p.parse_watch_line(bad)


@given(st.dictionaries(st.text(max_size=5), st.none() | st.integers() | st.text(max_size=5)
                       | st.lists(st.integers(), max_size=2), max_size=5))
def test_any_json_object_parses_or_is_a_gateway_error(data: dict) -> None:
    for parse in (p.parse_txn, p.parse_range, p.parse_lease, p.parse_put):
        with contextlib.suppress(p.GatewayError):
            parse(data)
