"""Logging for the controller: one line per event, with its time, to stderr and optionally a
file (`log.file`, SHOWCTL_LOG_FILE).

Who did what is in these lines: every state-changing API call with the caller's role and
address and its answer (control/web/audit.py), logins, OSC commands with their source, what
the show did (takes, holds, panics, by whom or by the clock: the runner), guest controls, and
the access log (aiohttp's, paths without their query: control/web/accesslog.py). A token
never is: the API never logs one, and as a second lock every line passes `Redact`, which
blanks anything that looks like a credential (`token=`, `t=`, `key=`, `Bearer ...`).
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

_SECRETS = re.compile(
    r"(?P<k>\b(?:token|t|key|secret|password|credential)=)[^\s&;,'\"]+"
    r"|(?P<b>\bBearer\s+)[^\s,'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every credential-looking value replaced by `***`."""
    return _SECRETS.sub(lambda m: (m.group("k") or m.group("b")) + "***", text)


class Redact(logging.Filter):
    """Blanks credentials in a record's final message (its arguments are formatted first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class _Formatter(logging.Formatter):
    """Local time with milliseconds and the UTC offset: 2023-12-31T23:59:50.012+0800."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = super().formatTime(record, DATE_FORMAT)
        return f"{stamp[:19]}.{int(record.msecs):03d}{stamp[19:]}"


def configure_logging(file: str | Path | None = None, *, level: int = logging.INFO,
                      stream: TextIO | None = None) -> list[logging.Handler]:
    """Send INFO and above to `stream` (stderr) and, when given, append to `file`; returns
    the handlers (replacing any this function set before). Raises OSError for a file that
    cannot be opened."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_showctl", False)]:
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if file:
        # WatchedFileHandler: logrotate may move the file; the next line opens it again
        from logging.handlers import WatchedFileHandler
        handlers.append(WatchedFileHandler(str(file), encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(_Formatter(FORMAT))
        handler.addFilter(Redact())
        handler._showctl = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    return handlers
