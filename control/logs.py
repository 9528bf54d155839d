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

import atexit
import logging
import queue
import re
import sys
from logging.handlers import QueueHandler, QueueListener, WatchedFileHandler
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


class Logging:
    """The controller's log as configured: records go through a queue to a thread that
    writes them (a slow disk or a full terminal never holds up the event loop: principle
    5). `close()` writes what is queued and stops the thread."""

    def __init__(self, handlers: list[logging.Handler], level: int) -> None:
        self.handlers = handlers
        self._closed = False
        self._queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self._front = QueueHandler(self._queue)
        self._front.addFilter(Redact())  # (before the record crosses to the thread)
        self._listener = QueueListener(self._queue, *handlers, respect_handler_level=True)
        root = logging.getLogger()
        root.addHandler(self._front)
        root.setLevel(level)
        self._listener.start()

    def close(self) -> None:
        if self._closed:  # (atexit comes again)
            return
        self._closed = True
        logging.getLogger().removeHandler(self._front)
        self._listener.stop()  # writes what is queued first
        for handler in self.handlers:
            handler.close()


_current: Logging | None = None


def configure_logging(file: str | Path | None = None, *, level: int = logging.INFO,
                      stream: TextIO | None = None) -> Logging:
    """Send INFO and above to `stream` (stderr) and, when given, append to `file`
    (replacing what this function set up before). Raises OSError for a file that cannot be
    opened."""
    global _current
    if _current is not None:
        _current.close()
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if file:
        # WatchedFileHandler: logrotate may move the file; the next line opens it again
        handlers.append(WatchedFileHandler(str(file), encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(_Formatter(FORMAT))
    _current = Logging(handlers, level)
    atexit.register(_current.close)
    return _current
