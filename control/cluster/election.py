"""Who drives OBS: the leader election on etcd, its lease and the fencing rule, as a pure
state machine fed with (results, clock). No I/O, no asyncio, no clock of its own: the wiring
calls etcd and the peer, and tells this what came back and when (like control/obs/protocol.py).

The rule (docs/redundancy.md#the-fencing-rule):

1. Leading means holding the leader key, attached to one's own lease. The other controller
   can take the key only after etcd has expired that lease.
2. etcd expires a lease no sooner than its TTL after it *received* the last renewal, so the
   lease is surely alive until (send time of the last renewal that succeeded) + TTL. The
   leader drives only until that moment minus a margin (`Timing.margin_s`: the OBS request in
   flight, the loop's lag, clock-rate drift). A leader frozen, cut off or slow therefore stops
   driving *before* the standby can start: never two drivers.
3. The one exception keeps the show on air when etcd is down altogether: the leader may drive
   past its deadline while it holds the *peer's promise*. The standby promises only while it
   cannot reach etcd itself, is not leading and is not campaigning; for `grace` seconds after
   its answer it will not campaign. A leader cut off from an etcd the standby still reaches
   gets no promise and stops at its deadline; a leader whose etcd is down (and whose standby
   sees it down too) goes on with an alarm (`Role.LEADER_WITHOUT_ETCD`). With etcd down and
   the standby unreachable the leader stops: it cannot tell that from being the one cut off.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(Enum):
    FOLLOWER = "follower"            # another leads, or may: watch, stay ready
    CANDIDATE = "candidate"          # the leader key is absent: get a lease, campaign
    LEADER = "leader"                # holds the key, lease surely alive: drives OBS
    LEADER_WITHOUT_ETCD = "leader without etcd"  # past the lease, on the peer's promise
    STEPPING_DOWN = "stepping down"  # was leading, may not drive now: renew, or revoke, or
    #                                  find out the lease is gone


DRIVING = frozenset({Role.LEADER, Role.LEADER_WITHOUT_ETCD})


class Action(Enum):
    """What the lease loop should do now (one at a time)."""

    WAIT = "wait"          # nothing until `wake_at` or an event
    GRANT = "grant"        # ask etcd for a lease of `timing.ttl_s`
    CAMPAIGN = "campaign"  # txn: create the leader key on our lease if absent, else read it
    RENEW = "renew"        # keepalive our lease
    CHECK = "check"        # read the leader key (linearizable: also says etcd has a quorum)
    REVOKE = "revoke"      # hand over: our lease revoked, so the key is gone at once


@dataclass(frozen=True, slots=True)
class Timing:
    ttl_s: int = 1
    renew_every_s: float = 0.25
    margin_s: float = 0.2      # stop driving this long before the lease surely ends
    check_every_s: float = 0.25  # a follower reads the key this often; retries after failure
    fresh_s: float = 0.35      # etcd counts as away when nothing answered for this long
    promise_s: float = 1.0     # how long a standby's promise holds
    yield_s: float = 2.0       # after handing over, do not campaign for this long

    @classmethod
    def for_ttl(cls, ttl_s: int) -> Timing:
        """Renew four times a TTL; stop a fifth of a TTL early (at least 0.15 s)."""
        return cls(ttl_s=ttl_s, renew_every_s=ttl_s / 4, margin_s=max(0.15, ttl_s / 5),
                   check_every_s=ttl_s / 4, fresh_s=0.35 * ttl_s, promise_s=float(ttl_s),
                   yield_s=2.0 * ttl_s)


class Election:
    """One controller's view of the election. Every method takes `now` (monotonic seconds);
    results carry `sent_at`, when the request that produced them was sent."""

    def __init__(self, name: str, timing: Timing | None = None) -> None:
        self.name = name
        self.timing = timing or Timing()
        self.role = Role.FOLLOWER
        self.lease = 0
        self.holder: str | None = None  # who holds the leader key, as last seen
        self.key_absent = False
        self.lease_deadline = 0.0  # our lease surely alive before this (send time + TTL)
        self.renewed_at = float("-inf")  # send time of the last renewal that succeeded
        self.peer_promise_until = float("-inf")  # we may drive on the peer's word till then
        self.promised_until = float("-inf")  # we promised the peer not to campaign till then
        self.yield_until = float("-inf")
        self.retry_at = float("-inf")
        self.asked_peer_at = float("-inf")
        self.etcd_ok_at = float("-inf")
        self.etcd_failed_at = float("-inf")
        self.resigning = False

    # --- the fencing ------------------------------------------------------------------------

    def lease_valid(self, now: float) -> bool:
        return self.lease != 0 and now < self.lease_deadline - self.timing.margin_s

    def on_promise(self, now: float) -> bool:
        return now < self.peer_promise_until

    def drives(self, now: float) -> bool:
        """Whether OBS may be sent anything now: asked before every send, from the clock,
        so a leader that was frozen past its deadline sends nothing when it wakes."""
        if self.role not in DRIVING or self.resigning:
            return False
        return self.lease_valid(now) or self.on_promise(now)

    def etcd_reachable(self, now: float) -> bool:
        """etcd answered lately, and nothing failed since. A request hanging on a member
        that died, or on a cluster electing its leader, makes etcd "away" before it fails."""
        return (self.etcd_ok_at >= self.etcd_failed_at
                and now - self.etcd_ok_at <= self.timing.fresh_s)

    def tick(self, now: float) -> Role:
        """The role after time has passed: a leader whose lease ran out steps down (or drives
        on the peer's promise); a follower whose wait is over campaigns."""
        if self.role in DRIVING or self.role is Role.STEPPING_DOWN:
            if self.resigning:
                self.role = Role.STEPPING_DOWN
            elif self.lease_valid(now):
                self.role = Role.LEADER
            elif self.on_promise(now):
                self.role = Role.LEADER_WITHOUT_ETCD
            else:
                self.role = Role.STEPPING_DOWN
        elif self.role is Role.FOLLOWER and self.key_absent and self._may_campaign(now):
            self.role = Role.CANDIDATE
        return self.role

    def _may_campaign(self, now: float) -> bool:
        return now >= self.promised_until and now >= self.yield_until

    # --- what to do next --------------------------------------------------------------------

    def next_action(self, now: float) -> Action:
        self.tick(now)
        if now < self.retry_at:
            return Action.WAIT
        if self.role is Role.CANDIDATE:
            return Action.CAMPAIGN if self.lease_valid(now) else Action.GRANT
        if self.role is Role.STEPPING_DOWN and self.resigning:
            return Action.REVOKE
        if self.role in DRIVING or self.role is Role.STEPPING_DOWN:
            due = self.renewed_at + self.timing.renew_every_s
            return Action.RENEW if now >= due or not self.etcd_reachable(now) else Action.WAIT
        due = self.etcd_ok_at + self.timing.check_every_s
        unknown = self.holder is None and not self.key_absent
        return Action.CHECK if now >= due or unknown or not self.etcd_reachable(now) \
            else Action.WAIT

    def wake_at(self, now: float) -> float:
        """When `next_action` or `drives` may change with no event: sleep until then."""
        times = [self.retry_at, self.promised_until, self.yield_until,
                 self.lease_deadline - self.timing.margin_s, self.peer_promise_until]
        if self.role in DRIVING or self.role is Role.STEPPING_DOWN:
            times.append(self.renewed_at + self.timing.renew_every_s)
        else:
            times.append(self.etcd_ok_at + self.timing.check_every_s)
        later = [t for t in times if t > now]
        return min(later) if later else now + self.timing.check_every_s

    # --- etcd's answers ---------------------------------------------------------------------

    def _ok(self, now: float) -> None:
        self.etcd_ok_at = now
        self.retry_at = float("-inf")

    def granted(self, lease: int, ttl_s: int, sent_at: float, now: float) -> None:
        self._ok(now)
        self.lease = lease
        self.lease_deadline = sent_at + ttl_s
        self.renewed_at = sent_at

    def won(self, now: float) -> None:
        """The campaign txn created the leader key on our lease."""
        self._ok(now)
        self.holder, self.key_absent = self.name, False
        self.role = Role.LEADER
        self.tick(now)

    def campaigned(self, succeeded: bool, holder: str | None, holder_lease: int,
                   now: float) -> None:
        """The campaign txn's outcome. A failure that reads the key on our own lease is a win
        too: an earlier attempt timed out after etcd had applied it."""
        if succeeded or (holder_lease != 0 and holder_lease == self.lease):
            self.won(now)
        elif holder is None:
            self.key_gone(now)  # gone again between the compare and now: campaign again
        else:
            self.lost(holder, now)

    def lost(self, holder: str, now: float) -> None:
        """The campaign found the key held (by `holder`, possibly our own name from a lease
        of a previous life: we wait for it to expire like anyone else's)."""
        self._ok(now)
        self.holder, self.key_absent = holder, False
        self.role = Role.FOLLOWER

    def renewed(self, ttl_s: int, sent_at: float, now: float) -> None:
        self._ok(now)
        if sent_at >= self.renewed_at:
            self.renewed_at = sent_at
            self.lease_deadline = sent_at + ttl_s
        self.tick(now)

    def expired(self, now: float) -> None:
        """etcd says our lease is gone (a keepalive with no TTL, or a fenced write refused):
        whatever we were, we no longer lead."""
        self._ok(now)
        self.lease, self.lease_deadline = 0, 0.0
        if self.holder == self.name:
            self.holder = None
        self.resigning = False
        self.role = Role.FOLLOWER

    def unreachable(self, now: float) -> None:
        """No etcd member answered: try again a little later (the lease runs on)."""
        self.etcd_failed_at = now
        self.retry_at = now + min(self.timing.renew_every_s, self.timing.check_every_s) / 2
        self.tick(now)

    def key_held(self, holder: str, lease: int, now: float) -> None:
        """A read or the watch saw the leader key held by `holder` on `lease`."""
        if self.role is Role.CANDIDATE and lease != 0 and lease == self.lease:
            self.won(now)  # our own campaign's put, seen by the watch before the txn's reply
            return
        self._ok(now)
        self.holder, self.key_absent = holder, False
        if self.role is Role.CANDIDATE:
            self.role = Role.FOLLOWER
        if self.role in DRIVING and lease != self.lease:
            self.expired(now)  # someone else's key: ours is gone

    def key_gone(self, now: float) -> None:
        """The leader key is absent (deleted by an expiry or a revoke, or never made)."""
        self._ok(now)
        self.holder, self.key_absent = None, True
        if self.role in DRIVING or self.role is Role.STEPPING_DOWN:
            self.expired(now)
            self.holder, self.key_absent = None, True
        self.tick(now)

    def revoked(self, now: float) -> None:
        """Our lease revoked after a hand-over: follow, and let the peer take it."""
        self.expired(now)
        self.yield_until = now + self.timing.yield_s

    def hand_over(self, now: float) -> bool:
        """A planned hand-over: stop driving at once, then revoke. False if not leading."""
        if self.role not in DRIVING:
            return False
        self.resigning = True
        self.role = Role.STEPPING_DOWN
        return True

    # --- the peer ---------------------------------------------------------------------------

    def should_ask_peer(self, now: float) -> bool:
        """A leader whose etcd is away asks the peer for its promise, well before its lease
        deadline, and again every half renewal period while etcd stays away."""
        leading = self.role in DRIVING or (self.role is Role.STEPPING_DOWN
                                           and not self.resigning and self.lease != 0)
        return (leading and not self.etcd_reachable(now)
                and now >= self.asked_peer_at + self.timing.renew_every_s / 2)

    def asked_peer(self, sent_at: float) -> None:
        self.asked_peer_at = sent_at

    def peer_promised(self, promise_s: float, sent_at: float, now: float) -> None:
        """The peer will not campaign for `promise_s` from its answer (which came after we
        sent): we may drive until `sent_at + promise_s - margin`."""
        self.peer_promise_until = max(self.peer_promise_until,
                                      sent_at + promise_s - self.timing.margin_s)
        self.tick(now)

    def promise(self, now: float) -> float | None:
        """The peer (a leader without etcd) asks: promise not to campaign for
        `timing.promise_s`, or None. Only a follower that cannot reach etcd promises: if it
        reaches etcd, the peer is the one cut off, and must stop."""
        self.tick(now)
        if self.role is not Role.FOLLOWER or self.etcd_reachable(now):
            return None
        self.promised_until = max(self.promised_until, now + self.timing.promise_s)
        return self.timing.promise_s
