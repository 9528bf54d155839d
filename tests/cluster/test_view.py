"""The pair as the web layer sees it (control/wiring/cluster.py `PairView`): this node's
role and leader from the election, the peer's name and lag from its status answers."""

from __future__ import annotations

import pytest

from control.cluster.client import EtcdClient
from control.cluster.election import Role
from control.cluster.node import ClusterNode, Holder
from control.cluster.replica import Keys
from control.wiring.cluster import ClusterPart, PairView

pytestmark = pytest.mark.unit


async def test_a_standby_names_the_leader_and_the_leader_shows_the_peers_lag() -> None:
    client = EtcdClient(["http://127.0.0.1:9"])
    node = ClusterNode(client, Keys(), Holder("backup", "http://b:8080"))
    view = PairView(ClusterPart(client, node, Keys()), "http://a:8080")
    try:
        node.leader = Holder("main", "http://a:8080")
        node.election.role = Role.FOLLOWER
        status = view.status()
        assert status.name == "backup" and status.role == "follower" and not status.leads
        assert status.leader == "main" and status.leader_url == "http://a:8080"
        assert status.nodes == {"backup": "http://b:8080", "main": "http://a:8080"}
        assert not status.etcd_reachable  # nothing answered yet
        view.saw_peer({"name": "main", "standby_lag_s": None})
        assert view.status().standby_lag_s is None
        view.saw_peer({"name": "main", "standby_lag_s": 0.25})
        assert view.status().standby_lag_s == 0.25
        view.saw_peer(None)  # the peer does not answer: its lag is not known
        assert view.status().standby_lag_s is None
        assert view.status().nodes["main"] == "http://a:8080"
        assert not view.hand_over()  # a follower has nothing to hand over
    finally:
        await client.close()


async def test_a_leader_handing_over_stops_driving_at_once_and_says_so() -> None:
    client = EtcdClient(["http://127.0.0.1:9"])
    now = [100.0]
    node = ClusterNode(client, Keys(), Holder("main", "http://a:8080"), clock=lambda: now[0])
    view = PairView(ClusterPart(client, node, Keys()), "http://b:8080")
    try:
        e = node.election
        e.granted(7, 1, 100.0, 100.0)  # as if etcd had granted and the campaign won
        e.won(100.0)
        now[0] = 100.1
        assert node.drives() and view.status().leads
        assert view.hand_over()
        assert not node.drives() and not view.status().leads  # at once, before the revoke
        e.revoked(100.2)
        now[0] = 100.3
        assert node.handed_over() and view.status().role == "follower"
    finally:
        await client.close()
