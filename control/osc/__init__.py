"""OSC input: control surfaces (Bitfocus Companion, TouchOSC, a lighting desk) send the
director's commands as OSC messages over UDP. See docs/osc.md.

An adapter like the others: it depends on the core (control.show) and on nothing else; the
wiring hands it the running show (`ShowPort`), whose `command()` every other input uses too.
"""

from .server import ADDRESSES, PANIC_WINDOW_S, OscInput, translate

__all__ = ["ADDRESSES", "PANIC_WINDOW_S", "OscInput", "translate"]
