"""Who may open a socket (control/fanout/doorman.py), without a socket: an address whose
socket broke a limit waits, longer each time; a credential holds a bounded number."""

from __future__ import annotations

from control.fanout import Doorman


def test_an_offending_address_waits_longer_each_time_then_is_forgiven() -> None:
    door = Doorman(penalty_s=2.0, max_penalty_s=10.0, forget_s=100.0)
    assert door.admit("10.0.0.9", "viewer", 0.0) is None
    assert door.offended("10.0.0.9", 0.0) == 2.0
    refusal = door.admit("10.0.0.9", "viewer", 1.0)
    assert refusal is not None and refusal.retry_after == 1
    assert door.admit("10.0.0.8", "viewer", 1.0) is None  # another address: not its fault
    assert door.admit("10.0.0.9", "viewer", 2.0) is None
    assert [door.offended("10.0.0.9", t) for t in (3.0, 10.0, 30.0)] == [4.0, 8.0, 10.0]
    assert door.admit("10.0.0.9", "viewer", 39.0) is not None
    assert door.offended("10.0.0.9", 200.0) == 2.0  # quiet long enough: starts afresh


def test_a_credential_holds_at_most_its_share() -> None:
    door = Doorman(max_per_credential=2)
    for _ in range(2):
        assert door.admit("a", "read key", 0.0) is None
        door.opened("read key")
    refusal = door.admit("b", "read key", 0.0)
    assert refusal is not None and refusal.retry_after == 0 and "2 sockets" in refusal.reason
    assert door.admit("b", "viewer", 0.0) is None
    door.closed("read key")
    assert door.admit("b", "read key", 0.0) is None and door.held("read key") == 1


def test_memory_is_bounded() -> None:
    door = Doorman(max_addresses=100)
    for i in range(1000):
        door.offended(f"10.0.{i // 256}.{i % 256}", float(i))
    assert len(door._offences) == 100
