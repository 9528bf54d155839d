"""The hosts' screens: the presenter view (/presenter) and the prompter (/prompter), their
websocket (/stage/ws: the view, the operator's scroll relayed to every prompter screen, the
clock, the hosts' read-back) and their static pages. Depends on the core only: the wiring
passes the view, the read key, the operator check and the read-back as plain values and
callables (docs/stage.md)."""

from .hub import Operator, ReadBack, StageHub
from .routes import install

__all__ = ["Operator", "ReadBack", "StageHub", "install"]
