"""The crash-safe as-run journal: every accepted command and every engine event, appended
and fsynced before it is acknowledged, so a restarted controller resumes where it was
(docs/architecture.md, "Nothing lost"). JSON lines, one record a line; see records.py for
the format.

An adapter like the others: it depends on the core (control.show) and on nothing else.
"""

from .records import (
    JournalError,
    Record,
    command_record,
    event_record,
    rundown_record,
    session_record,
    step_records,
    text_sha256,
)
from .replay import Replayed, Replayer, replay, session_state, with_rundown
from .store import Journal, JournalContents, archive, journal_path, read_journal

__all__ = [
    "Journal",
    "JournalContents",
    "JournalError",
    "Record",
    "Replayed",
    "Replayer",
    "archive",
    "command_record",
    "event_record",
    "journal_path",
    "read_journal",
    "replay",
    "rundown_record",
    "session_record",
    "session_state",
    "step_records",
    "text_sha256",
    "with_rundown",
]
