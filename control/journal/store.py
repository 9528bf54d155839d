"""The journal file: append + fsync before acknowledging, read back tolerating a torn tail.

Crash safety rests on three rules:
- a record is its bytes *and* the newline that ends it: a last line without one (or one
  that does not parse) was being written when the controller died, was never acknowledged,
  and is dropped (`torn_tail`); anywhere else a bad line is damage, and reading stops with
  its line number rather than guessing;
- `append` returns only after `os.fsync`, so whatever the caller acknowledged is on disk;
  after a failed write or fsync the file's state is unknown, and the journal refuses more;
- one writer: the file is locked (flock) while a `Journal` has it open, so a second
  controller on the same show fails at once instead of interleaving lines.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .records import VERSION, JournalError, Record, check_record

SUFFIX = ".journal.jsonl"
FILE_MODE = 0o600  # the journal holds operator names and the whole rundown
DIR_MODE = 0o700


@dataclass(frozen=True, slots=True)
class JournalContents:
    """A journal as read: the session record, the records after it, and whether a torn
    last line was dropped. Record i of `records` is on line i + 2 of the file."""

    session: Record
    records: tuple[Record, ...]
    torn_tail: bool = False
    path: str = "<journal>"


def encode(record: Record) -> bytes:
    """One line: compact JSON, UTF-8 (Chinese titles stay readable), newline-terminated.
    The writer stamps the format version on records that come without one."""
    if "v" not in record:
        record = {"v": VERSION, **record}
    why = check_record(record)
    if why is not None:
        raise ValueError(f"not a journal record: {why}")
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8") + b"\n"


def _parse(raw: bytes) -> tuple[Record | None, str | None]:
    try:
        record: Any = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not UTF-8"
    except ValueError as exc:
        return None, f"not JSON ({exc})" if raw.strip() else "empty line"
    why = check_record(record)
    return (record, None) if why is None else (None, why)


def _scan(data: bytes, name: str) -> tuple[JournalContents, int]:
    """Parse a whole journal; also returns the length of its good part (before a torn tail)."""
    *complete, tail = data.split(b"\n")
    records: list[Record] = []
    good = 0
    torn = bool(tail)
    for number, raw in enumerate(complete, 1):
        record, why = _parse(raw)
        if record is None:
            if number == len(complete) and not tail:
                torn = True  # the last line: a crash mid-write, never acknowledged
                break
            raise JournalError(f"{name}:{number}: {why}")
        if (record["type"] == "session") != (number == 1):  # whole, but out of place
            raise JournalError(f"{name}:{number}: " + ("the first record must be the session"
                                                       if number == 1
                                                       else "a second session record"))
        records.append(record)
        good += len(raw) + 1
    if not records:
        raise JournalError(f"{name}: no session record (the controller may have stopped while "
                           "creating it); archive it and start fresh")
    return JournalContents(records[0], tuple(records[1:]), torn, name), good


def read_journal(path: Path | str) -> JournalContents:
    """Read a journal for replay. Raises JournalError for damage before the last line."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise JournalError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return _scan(data, str(path))[0]


def _fsync_dir(directory: Path) -> None:
    """Make a created or renamed file's name durable, not only its contents."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock(fd: int, path: Path) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JournalError(f"{path}: in use by another controller") from None


class Journal:
    """An open journal, for one writer. Use `create` or `open_existing`, then `append`."""

    def __init__(self, path: Path, fd: int, dropped_tail_bytes: int = 0):
        self.path = path
        self.dropped_tail_bytes = dropped_tail_bytes  # a torn last line cut off on opening
        self._fd: int | None = fd
        self._failed: str | None = None

    @classmethod
    def create(cls, path: Path | str, session: Record) -> Journal:
        """Start a new journal with its session record. Never overwrites an existing one."""
        path = Path(path)
        if session.get("type") != "session":
            raise ValueError("a journal starts with a session record")
        line = encode(session)
        path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, FILE_MODE)
        except FileExistsError:
            raise JournalError(f"{path}: a journal exists already: resume it, or archive it "
                               "to start over (--fresh)") from None
        _lock(fd, path)
        journal = cls(path, fd)
        try:
            os.fchmod(fd, FILE_MODE)  # whatever the umask
            journal._write(line)
            _fsync_dir(path.parent)
        except BaseException:
            journal.close()
            path.unlink(missing_ok=True)  # a journal without its session would block a restart
            raise
        return journal

    @classmethod
    def open_existing(cls, path: Path | str) -> Journal:
        """Open a journal to append after a restart; a torn last line is cut off first, so
        the next record starts on a line of its own."""
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        except OSError as exc:
            raise JournalError(f"{path}: cannot open: {exc.strerror or exc}") from None
        _lock(fd, path)
        try:
            chunks = []
            while chunk := os.pread(fd, 1 << 20, sum(map(len, chunks))):
                chunks.append(chunk)
            data = b"".join(chunks)
            good = _scan(data, str(path))[1]
            if good < len(data):
                os.ftruncate(fd, good)
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, len(data) - good)

    def append(self, record: Record) -> float:
        """Write one record and fsync it; returns the seconds that took. Acknowledge what the
        record stands for only after this returns."""
        return self.append_all([record])

    def append_all(self, records: Iterable[Record]) -> float:
        """Several records (one engine step) with one write and one fsync."""
        data = b"".join(encode(r) for r in records)
        began = time.perf_counter()
        if data:
            self._write(data)
        return time.perf_counter() - began

    def _write(self, data: bytes) -> None:
        """Write and fsync `data`, or leave the file as it was: a failed write (disk full, an
        I/O error) is cut back to the last whole record, so the writer can try again later
        with the same records and a replay never meets half a line. Only when even that cut
        fails does the journal refuse further writes."""
        if self._fd is None:
            raise JournalError(f"{self.path}: the journal is closed")
        if self._failed is not None:
            raise JournalError(f"{self.path}: the journal failed earlier ({self._failed}); "
                               "nothing more is written to it")
        try:
            size = os.fstat(self._fd).st_size
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot read its size: {exc.strerror}") from exc
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
            os.fsync(self._fd)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            try:
                os.ftruncate(self._fd, size)
                os.fsync(self._fd)
            except OSError:
                self._failed = reason
            raise JournalError(f"{self.path}: write failed: {reason}") from exc

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # releases the lock

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def journal_path(state_dir: Path, rundown_path: str) -> Path:
    """Where the journal of a rundown lives: state_dir/<rundown stem>.journal.jsonl."""
    return Path(state_dir) / f"{Path(rundown_path).stem}{SUFFIX}"


def archive(path: Path | str, now: datetime | None = None) -> Path:
    """Move a journal aside (`--fresh`) as <stem>.<UTC yyyymmddThhmmssZ>.journal.jsonl.

    Never overwrites: a name that exists gets -2, -3, ... (link + unlink is a rename that
    fails instead of replacing). Refuses a journal a running controller has open.
    """
    path = Path(path)
    stem = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise JournalError(f"{path}: cannot archive: {exc.strerror or exc}") from None
    _lock(fd, path)
    try:
        for n in range(1, 1000):
            target = path.with_name(f"{stem}.{stamp}{'' if n == 1 else f'-{n}'}{SUFFIX}")
            try:
                os.link(path, target)
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links: check, then rename
                if target.exists():
                    continue
                os.rename(path, target)
            else:
                os.unlink(path)
            _fsync_dir(path.parent)
            return target
        raise JournalError(f"{path}: cannot find a free archive name")
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
