"""Fan-out to websockets: one peer class (outbox, sender, limits) under every hub.

A library with no show knowledge. The state websocket (control/web/hub.py) and the graphics
pages' websocket (control/overlays/hub.py) are adapters, and adapters never import each
other, so what they share lives here, beside them: a hub decides *what* each client is sent
(read-model deltas, board deltas, snapshots); a `Peer` decides *when* and how much, and
applies the limits every client is held to (message size and rate, replies owed, backlog,
one pending snapshot, a stuck send, sockets per credential, a pause for an address whose
socket broke a limit) in one place.
"""

from .doorman import Doorman, Refusal
from .limits import Limits, RateLimit
from .outbox import Outbox
from .pacer import Pacer
from .peer import Peer, Peers, PeerState

__all__ = ["Doorman", "Limits", "Outbox", "Pacer", "Peer", "PeerState", "Peers", "RateLimit",
           "Refusal"]
