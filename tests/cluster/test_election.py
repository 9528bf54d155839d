"""The election's state machine without etcd: the steps of each role, the fencing deadline,
the peer's promise; and two controllers against a model of etcd (leases expire a TTL after
etcd received the last renewal, nothing expires while etcd is down and every lease gets a
fresh TTL when it returns, as etcd's new leader does), with freezes, cut links and etcd
outages drawn at random: never two drivers, and one again once the faults are over."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from control.cluster.election import Action, Election, Role, Timing

T = Timing.for_ttl(1)  # renew every 0.25 s, margin 0.2 s


def leader(now: float = 0.0, name: str = "main") -> Election:
    e = Election(name, T)
    e.key_gone(now)
    assert e.next_action(now) is Action.GRANT
    e.granted(7, 1, now, now)
    assert e.next_action(now) is Action.CAMPAIGN
    e.campaigned(True, None, 0, now)
    return e


def test_a_follower_checks_then_campaigns_when_the_key_is_absent() -> None:
    e = Election("main", T)
    assert e.role is Role.FOLLOWER and e.next_action(0.0) is Action.CHECK
    e.key_held("backup", 9, 0.0)
    assert e.next_action(0.1) is Action.WAIT and e.wake_at(0.1) == 0.25
    assert e.next_action(0.25) is Action.CHECK
    e.key_gone(0.3)
    assert e.role is Role.CANDIDATE and e.next_action(0.3) is Action.GRANT
    e.granted(7, 1, 0.3, 0.31)
    e.campaigned(False, "backup", 11, 0.32)
    assert e.role is Role.FOLLOWER and e.holder == "backup" and not e.drives(0.32)


def test_a_timed_out_campaign_that_etcd_applied_is_a_win() -> None:
    e = Election("main", T)
    e.key_gone(0.0)
    e.granted(7, 1, 0.0, 0.0)
    e.unreachable(0.3)
    assert e.next_action(0.31) is Action.WAIT
    e.campaigned(False, "main", 7, 0.5)
    assert e.role is Role.LEADER and e.drives(0.5)


def test_the_watch_seeing_our_own_campaign_first_is_a_win() -> None:
    e = Election("main", T)
    e.key_gone(0.0)
    e.granted(7, 1, 0.0, 0.0)
    e.key_held("main", 7, 0.01)
    assert e.role is Role.LEADER
    e.campaigned(True, None, 0, 0.02)
    assert e.role is Role.LEADER and e.drives(0.02)


def test_the_leader_renews_on_time_and_stops_driving_before_its_lease_can_end() -> None:
    e = leader()
    assert e.drives(0.0) and e.next_action(0.1) is Action.WAIT
    assert e.next_action(0.25) is Action.RENEW
    e.renewed(1, 0.25, 0.26)
    assert e.drives(1.04) and e.lease_deadline == 1.25
    # no renewal answers any more: stop at 1.25 - 0.2, before etcd could expire the lease
    assert e.drives(1.049) and not e.drives(1.05)
    assert e.tick(1.05) is Role.STEPPING_DOWN and e.next_action(1.05) is Action.RENEW


def test_a_late_renewal_counts_from_when_it_was_sent() -> None:
    e = leader()
    e.renewed(1, 0.25, 0.9)
    assert e.lease_deadline == 1.25
    e.renewed(1, 0.1, 0.95)  # an older answer arriving after a newer one changes nothing
    assert e.lease_deadline == 1.25


def test_a_frozen_leader_sends_nothing_when_it_wakes_and_follows() -> None:
    e = leader()
    assert not e.drives(5.0)  # asked before its first send after the freeze
    assert e.next_action(5.0) is Action.RENEW
    e.expired(5.01)
    assert e.role is Role.FOLLOWER and e.next_action(5.01) is Action.CHECK
    e.key_held("backup", 12, 5.02)
    assert e.role is Role.FOLLOWER and not e.drives(5.02)


def test_a_stepping_down_leader_whose_renewal_succeeds_leads_again() -> None:
    e = leader()
    assert e.tick(0.9) is Role.STEPPING_DOWN
    e.renewed(1, 0.9, 0.95)
    assert e.role is Role.LEADER and e.drives(0.95)


def test_a_leader_cut_off_while_the_standby_reaches_etcd_gets_no_promise() -> None:
    main, backup = leader(), Election("backup", T)
    backup.key_held("main", 7, 0.3)
    main.unreachable(0.3)
    assert main.should_ask_peer(0.3)
    main.asked_peer(0.3)
    assert backup.promise(0.31) is None
    assert not main.should_ask_peer(0.4) and main.should_ask_peer(0.55)
    assert main.drives(0.79) and not main.drives(0.8)


def test_with_etcd_down_the_standby_promises_and_the_leader_drives_on_with_an_alarm() -> None:
    main, backup = leader(), Election("backup", T)
    backup.key_held("main", 7, 0.0)
    backup.unreachable(0.3)
    main.unreachable(0.3)
    main.asked_peer(0.3)
    grace = backup.promise(0.31)
    assert grace == 1.0
    main.peer_promised(grace, 0.3, 0.32)
    assert main.drives(0.9) and main.tick(0.9) is Role.LEADER_WITHOUT_ETCD
    assert main.drives(1.09) and not main.drives(1.1)  # 0.3 + 1.0 - 0.2
    # the standby cannot campaign while its promise holds, even if the key vanishes
    backup.key_gone(0.9)
    assert backup.role is Role.FOLLOWER and backup.next_action(0.9) is not Action.GRANT
    assert backup.tick(1.31) is Role.CANDIDATE


def test_etcd_silent_for_a_while_counts_as_away_before_any_request_fails() -> None:
    """A renewal hanging on a dead etcd leader fails only after every member's timeout:
    the leader asks for the promise as soon as etcd has been silent for `fresh_s`, and a
    standby whose own reads hang promises."""
    main, backup = leader(), Election("backup", T)
    main.renewed(1, 0.25, 0.26)
    backup.key_held("main", 7, 0.3)
    assert not main.should_ask_peer(0.5) and main.should_ask_peer(0.62)
    assert backup.promise(0.6) is None and backup.promise(0.66) == 1.0


def test_a_candidate_or_a_leader_never_promises() -> None:
    main = leader()
    main.unreachable(0.3)
    assert main.promise(0.3) is None
    candidate = Election("backup", T)
    candidate.key_gone(0.0)
    candidate.unreachable(0.1)
    assert candidate.role is Role.CANDIDATE and candidate.promise(0.1) is None


def test_a_hand_over_stops_driving_at_once_revokes_and_yields() -> None:
    e = leader()
    assert e.hand_over(0.1) and not e.drives(0.1)
    assert e.next_action(0.1) is Action.REVOKE
    e.revoked(0.11)
    e.key_gone(0.12)
    assert e.role is Role.FOLLOWER and e.next_action(0.5) is not Action.GRANT
    assert e.tick(2.2) is Role.CANDIDATE
    assert not Election("x", T).hand_over(0.0)


def test_another_holder_seen_by_the_leader_ends_its_lead() -> None:
    e = leader()
    e.key_held("backup", 99, 0.1)
    assert e.role is Role.FOLLOWER and not e.drives(0.1)


# --- two controllers and a model of etcd ---------------------------------------------------

@dataclass
class Etcd:
    """Leases expire `ttl` after the last renewal etcd received; while down, nothing expires
    and nothing answers; back up, every lease starts a fresh TTL (etcd's lease promotion)."""

    down: list[tuple[float, float]]
    leases: dict[int, float] = field(default_factory=dict)
    key: tuple[str, int] | None = None
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    was_down: bool = False

    def is_down(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.down)

    def advance(self, t: float) -> None:
        if self.is_down(t):
            self.was_down = True
            return
        if self.was_down:
            self.was_down = False
            self.leases = dict.fromkeys(self.leases, t + 1.0)
        for lease, end in list(self.leases.items()):
            if end <= t:
                del self.leases[lease]
                if self.key and self.key[1] == lease:
                    self.key = None


@dataclass
class Node:
    election: Election
    frozen: list[tuple[float, float]]
    cut: list[tuple[float, float]]
    busy: bool = False
    asking: bool = False

    def is_frozen(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.frozen)

    def is_cut(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.cut)


DELAY = 0.02
STEP = 0.01


class World:
    def __init__(self, etcd: Etcd, nodes: list[Node]) -> None:
        self.etcd, self.nodes, self.queue, self.seq = etcd, nodes, [], itertools.count()

    def at(self, t: float, fn: Callable[[float], None]) -> None:
        heapq.heappush(self.queue, (t, next(self.seq), fn))

    def reply(self, node: Node, t: float, fn: Callable[[float], None]) -> None:
        """Deliver a result when the node runs (a frozen one sees it when it wakes)."""
        def deliver(now: float) -> None:
            if node.is_frozen(now):
                self.at(now + STEP, deliver)
            else:
                fn(now)
        self.at(t, deliver)

    def send(self, node: Node, action: Action, sent: float) -> None:
        e = node.election
        node.busy = True

        def done(fn: Callable[[float], None]) -> Callable[[float], None]:
            def run(now: float) -> None:
                node.busy = False
                fn(now)
            return run

        if self.etcd.is_down(sent + DELAY) or node.is_cut(sent) or node.is_cut(sent + DELAY):
            self.reply(node, sent + 0.3, done(e.unreachable))
            return
        lease = e.lease

        def process(t: float) -> None:
            self.etcd.advance(t)
            alive = lease in self.etcd.leases
            if action is Action.GRANT:
                new = next(self.etcd.ids)
                self.etcd.leases[new] = t + 1.0
                result = done(lambda now: e.granted(new, 1, sent, now))
            elif action is Action.CAMPAIGN and not alive:
                result = done(e.expired)
            elif action is Action.CAMPAIGN:
                if self.etcd.key is None:
                    self.etcd.key = (e.name, lease)
                    result = done(lambda now: e.campaigned(True, None, 0, now))
                else:
                    holder, on = self.etcd.key
                    result = done(lambda now: e.campaigned(False, holder, on, now))
            elif action is Action.RENEW and alive:
                self.etcd.leases[lease] = t + 1.0
                result = done(lambda now: e.renewed(1, sent, now))
            elif action is Action.RENEW:
                result = done(e.expired)
            elif action is Action.REVOKE:
                self.etcd.leases.pop(lease, None)
                self.etcd.key = None if self.etcd.key and self.etcd.key[1] == lease \
                    else self.etcd.key
                result = done(e.revoked)
            else:  # CHECK
                key = self.etcd.key
                result = done((lambda now: e.key_held(key[0], key[1], now)) if key
                              else e.key_gone)
            self.reply(node, t + DELAY, result)
        self.at(sent + DELAY, process)

    def ask_peer(self, node: Node, peer: Node, sent: float) -> None:
        node.asking = True
        node.election.asked_peer(sent)

        def at_peer(t: float) -> None:
            if peer.is_frozen(t):
                self.at(t + STEP, at_peer)
                return
            grace = peer.election.promise(t)

            def back(now: float) -> None:
                node.asking = False
                if grace is not None:
                    node.election.peer_promised(grace, sent, now)
            self.reply(node, t + DELAY, back)
        self.at(sent + DELAY, at_peer)

    def run(self, until: float) -> list[tuple[float, list[bool]]]:
        seen = []
        for i in range(int(until / STEP)):
            t = round(i * STEP, 6)
            # the OBS gate may be asked at any moment: before the loop has run at all
            seen.append((t, [not n.is_frozen(t) and n.election.drives(t) for n in self.nodes]))
            while self.queue and self.queue[0][0] <= t:
                _, _, fn = heapq.heappop(self.queue)
                fn(t)
            self.etcd.advance(t)
            for node, peer in ((self.nodes[0], self.nodes[1]), (self.nodes[1], self.nodes[0])):
                if node.is_frozen(t):
                    continue
                if not node.busy and (action := node.election.next_action(t)) is not Action.WAIT:
                    self.send(node, action, t)
                if not node.asking and node.election.should_ask_peer(t):
                    self.ask_peer(node, peer, t)
            seen.append((t, [not n.is_frozen(t) and n.election.drives(t) for n in self.nodes]))
        return seen


def spans(draw: st.DrawFn, count: int, longest: float) -> list[tuple[float, float]]:
    out = []
    for _ in range(draw(st.integers(0, count))):
        start = draw(st.floats(0.5, 10.0))
        out.append((start, start + draw(st.floats(0.05, longest))))
    return out


@st.composite
def faults(draw: st.DrawFn) -> tuple[list, list, list, list, list]:
    return (spans(draw, 2, 4.0), spans(draw, 2, 6.0), spans(draw, 2, 3.0),
            spans(draw, 2, 6.0), spans(draw, 2, 3.0))


@settings(max_examples=150, deadline=None)
@given(faults())
def test_never_two_drivers_and_one_again_after_the_faults(plan: tuple) -> None:
    etcd_down, freeze_a, cut_a, freeze_b, cut_b = plan
    world = World(Etcd(etcd_down), [Node(Election("main", T), freeze_a, cut_a),
                                     Node(Election("backup", T), freeze_b, cut_b)])
    seen = world.run(until=22.0)
    both = [t for t, drives in seen if all(drives)]
    assert both == [], f"two drivers at {both[:3]}"
    assert any(seen[-1][1]), "nobody drives 5 s after the last fault"
