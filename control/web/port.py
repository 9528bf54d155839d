"""What the web layer needs of the running show (`ShowPort`), and nothing more.

The web package never sees the engine, OBS or the journal: the wiring's `LiveShow`
implements this Protocol (one writer task applies commands in order), so the API can be
tested with a fake (tests/web/support.py `FakeShow`).
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from control.show.commands import Command
from control.show.readmodel import ReadModel

Output = Literal["stream", "record"]


class OutputFailed(Exception):
    """Streaming or recording could not be started or stopped; the message says why (the
    API answers 502: the device, not the request, is at fault)."""


class ShowPort(Protocol):
    def read_model(self) -> ReadModel:
        """The one read model (`GET /api/state`): JSON-ready (control/show/readmodel.py)."""
        ...

    def has_segment(self, segment_id: str) -> bool:
        """Whether the rundown has this segment now (a 404 before any command is made)."""
        ...

    async def command(self, cmd: Command) -> None:
        """Apply `cmd`; returns once it is applied and journaled.

        Raises `control.show.engine.Refused(reason)` when the show cannot take it now.
        """
        ...

    async def reload(self) -> dict[str, Any]:
        """Read the show's rundown file again and swap it in (journaled before returning).

        Returns `{"changes": RundownChanges.to_json(), "warnings": ["FILE:LINE:COL: ..."]}`.
        Raises `control.show.diagnostics.RundownError` (invalid: nothing changed; the same
        diagnostics `showctl validate` gives) or `Refused` (the segment on air is not in the
        new rundown).
        """
        ...

    async def output(self, name: Output, active: bool) -> None:
        """Start or stop streaming or recording; returns once the device confirms it.

        Raises `OutputFailed(reason)`.
        """
        ...
