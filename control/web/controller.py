"""What the web layer needs from the running show, and nothing more.

The web package never sees the engine, OBS or the journal: the wiring module implements this
Protocol (one writer task applies commands in order), so the API can be tested with a fake.
"""

from __future__ import annotations

from typing import Any, Protocol

from control.show.commands import Command


class Controller(Protocol):
    def read_model(self) -> dict[str, Any]:
        """The one read model (`GET /api/state`): JSON-ready, with `segments[*].id`."""
        ...

    async def command(self, cmd: Command) -> None:
        """Apply `cmd`; returns once it is applied and journaled.

        Raises `control.show.engine.Refused(reason)` when the show cannot take it now.
        """
        ...
