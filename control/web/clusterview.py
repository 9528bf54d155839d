"""What the web layer knows of the controllers' pair: a `ClusterView` (the wiring adapts
the etcd election to it; the web layer never imports control/cluster).

`None` in its place means one machine: no route, no gate, nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# the roles that drive the show (control/cluster/election.py's DRIVING, by value): only a
# node in one of them acts on control requests and websockets
DRIVING_ROLES = frozenset({"leader", "leader without etcd"})


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    name: str                 # this node
    role: str                 # "leader", "follower", ... (the election's Role values)
    leader: str | None        # the leader's name
    leader_url: str | None
    nodes: dict[str, str]     # name -> public URL (self and peer)
    standby_lag_s: float | None   # on the leader: how far the peer is behind, if known
    etcd_reachable: bool

    @property
    def leads(self) -> bool:
        """Whether this node drives the show (and so answers control requests)."""
        return self.role in DRIVING_ROLES


class ClusterView(Protocol):
    def status(self) -> ClusterStatus: ...
    def hand_over(self) -> bool: ...
