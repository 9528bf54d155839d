"""The one rundown reader: `showctl validate`, the controller's startup and `POST /api/reload`
read a file the same way, so what one refuses the others refuse too."""

from __future__ import annotations

from pathlib import Path

from control.overlays import check_cue_data
from control.show.diagnostics import Diagnostic, RundownError
from control.show.loader import Loaded, load_rundown


def load_text(text: str, path: str) -> Loaded:
    """A rundown's text, checked like a file: cue data against the graphics templates'
    schemas (the loader is pure and knows no templates). Raises RundownError."""
    return load_rundown(text, path, check_cue=check_cue_data)


def read_rundown_file(path: Path | str) -> tuple[str, Loaded]:
    """Read and load a rundown file (its text as loaded, for the journal). Raises
    RundownError; an unreadable file is a diagnostic like any other."""
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RundownError([Diagnostic(str(path), 1, 1, "error", f"cannot read: {exc}")]
                           ) from None
    return text, load_text(text, str(path))
