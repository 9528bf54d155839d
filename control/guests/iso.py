"""Full-quality recordings of each guest (ISO): the bookkeeping of their uploads.

The guest's page records its own camera and microphone while the guest is on air and sends
the file after the segment in numbered chunks, each with its SHA-256. Chunks are taken in
order only (chunk n after n-1): the next one expected is the resume offset a reopened page
asks for. A chunk sent again (its answer was lost) with the same checksum is a harmless
repeat; with another checksum, a conflict. A file is complete when the page says how many
chunks it sent and every one was verified again from the disk.

``Upload`` and ``Ledger`` are pure (no I/O, ``now`` passed in); ``IsoStore`` keeps them in
``STATE_DIR/iso/<guest>/``: ``<segment>-<n>.webm.part`` while uploading, ``<segment>-<n>.webm``
once complete, and ``<segment>-<n>.json`` (the manifest) beside it.

    ledger = Ledger(Limits(max_guest_bytes=8 << 30))
    up = ledger.open("ada", "talk", key="k3y-of-the-page", now=t)   # talk-1
    ledger.check_chunk(up, 0, sha256_hex, size)                      # Step.APPEND
    up.appended(sha256_hex, size)
    up.finish(chunks=1, duration_ms=61_000, now=t)
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # guest and segment ids (the rundown's kind)
KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")     # the page's name for one recording
SHA256 = re.compile(r"[0-9a-f]{64}")
NAME = re.compile(r"([a-z0-9][a-z0-9-]{0,63})-([0-9]{1,6})")  # <segment>-<n>
SUFFIX = ".webm"
MIB = 1 << 20


class IsoError(Exception):
    """A refused request: ``status`` (400, 404, 409, 413) and a reason for the guest's page."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Phase(enum.Enum):
    UPLOADING = "uploading"
    COMPLETE = "complete"


class Step(enum.Enum):
    APPEND = "append"    # the next chunk: write it
    ALREADY = "already"  # a repeat of a chunk already kept (same checksum): nothing to do


@dataclass(frozen=True)
class Limits:
    max_chunk_bytes: int = 16 * MIB          # one chunk (the page sends about 1 s each)
    max_guest_bytes: int = 8 * 1024 * MIB    # all of one guest's files together
    max_uploads: int = 200                   # files per guest
    max_chunks: int = 100_000                # chunks per file


@dataclass
class Upload:
    """One recording of one guest: its chunks' checksums and sizes, in order."""

    guest: str
    segment: str
    take: int
    key: str
    opened_at: float
    chunks: list[tuple[str, int]] = field(default_factory=list)  # (sha256 hex, bytes)
    phase: Phase = Phase.UPLOADING
    duration_ms: float | None = None
    completed_at: float | None = None

    @property
    def name(self) -> str:
        return f"{self.segment}-{self.take}"

    @property
    def size(self) -> int:
        return sum(n for _, n in self.chunks)

    @property
    def next(self) -> int:
        """The next chunk expected: the resume point."""
        return len(self.chunks)

    def appended(self, sha: str, size: int) -> None:
        self.chunks.append((sha, size))

    def finish(self, chunks: int, duration_ms: float | None, now: float) -> None:
        """Complete once every chunk the page sent is here; IsoError(409) otherwise."""
        if self.phase is Phase.COMPLETE:
            return
        if chunks != len(self.chunks):
            raise IsoError(409, f"{self.name}: {len(self.chunks)} chunks arrived, not "
                           f"{chunks}: send chunk {len(self.chunks)} next")
        if not self.chunks:
            raise IsoError(409, f"{self.name}: no chunk arrived: nothing to keep")
        self.phase = Phase.COMPLETE
        self.duration_ms = duration_ms
        self.completed_at = now

    def view(self) -> dict[str, Any]:
        """What the guest's page and the console see of it."""
        return {"name": self.name, "guest": self.guest, "segment": self.segment,
                "take": self.take, "key": self.key, "next": self.next, "bytes": self.size,
                "phase": self.phase.value, "duration_ms": self.duration_ms,
                "opened_at": self.opened_at, "completed_at": self.completed_at,
                "file": self.name + SUFFIX}

    def to_json(self) -> dict[str, Any]:
        return {"guest": self.guest, "segment": self.segment, "take": self.take,
                "key": self.key, "opened_at": self.opened_at, "phase": self.phase.value,
                "chunks": [list(c) for c in self.chunks], "duration_ms": self.duration_ms,
                "completed_at": self.completed_at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Upload:
        return cls(guest=str(data["guest"]), segment=str(data["segment"]),
                   take=int(data["take"]), key=str(data["key"]),
                   opened_at=float(data["opened_at"]),
                   chunks=[(str(s), int(n)) for s, n in data["chunks"]],
                   phase=Phase(data["phase"]), duration_ms=data.get("duration_ms"),
                   completed_at=data.get("completed_at"))


def check_id(what: str, value: object) -> str:
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise IsoError(400, f"{what} must be an id of the rundown (a-z, 0-9, -)")
    return value


class Ledger:
    """Every guest's uploads, and the rules a new one or a chunk must pass."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.uploads: dict[str, dict[str, Upload]] = {}  # guest -> name -> upload

    def of(self, guest: str) -> dict[str, Upload]:
        return self.uploads.get(guest, {})

    def used(self, guest: str) -> int:
        return sum(u.size for u in self.of(guest).values())

    def add(self, upload: Upload) -> None:
        self.uploads.setdefault(upload.guest, {})[upload.name] = upload

    def open(self, guest: str, segment: str, key: str, now: float) -> tuple[Upload, bool]:
        """The upload for the page's recording ``key`` (the same one when it asks again
        after a reload: resume), or a new take of ``segment``; (upload, new)."""
        check_id("the guest", guest)
        check_id("the segment", segment)
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise IsoError(400, "key must be 8-64 letters, digits, - or _")
        mine = self.of(guest)
        for upload in mine.values():
            if upload.key == key:
                if upload.segment != segment:
                    raise IsoError(409, f"recording {key} is of segment {upload.segment}")
                return upload, False
        if len(mine) >= self.limits.max_uploads:
            raise IsoError(413, f"{guest} has {len(mine)} recordings already (the limit)")
        take = 1 + max((u.take for u in mine.values() if u.segment == segment), default=0)
        upload = Upload(guest, segment, take, key, now)
        self.add(upload)
        return upload, True

    def find(self, guest: str, name: str) -> Upload:
        upload = self.of(guest).get(name)
        if upload is None:
            raise IsoError(404, f"no recording {name!r} of {guest}")
        return upload

    def check_chunk(self, upload: Upload, n: int, sha: str, size: int) -> Step:
        """Whether chunk ``n`` (``size`` bytes whose SHA-256 is ``sha``, already checked
        against the bytes) is the next, a repeat, or refused (IsoError)."""
        if not SHA256.fullmatch(sha):
            raise IsoError(400, "the checksum must be 64 lowercase hex digits (SHA-256)")
        if n < upload.next:
            if upload.chunks[n][0] == sha:
                return Step.ALREADY
            raise IsoError(409, f"chunk {n} of {upload.name} arrived before with another "
                           f"checksum; send chunk {upload.next} next")
        if upload.phase is Phase.COMPLETE:
            raise IsoError(409, f"{upload.name} is complete: it takes no more chunks")
        if n > upload.next:
            raise IsoError(409, f"chunk {n} is out of order: send chunk {upload.next} next")
        if size == 0:
            raise IsoError(400, "an empty chunk")
        if size > self.limits.max_chunk_bytes:
            raise IsoError(413, f"a chunk is at most {self.limits.max_chunk_bytes} bytes")
        if n >= self.limits.max_chunks:
            raise IsoError(413, f"a recording is at most {self.limits.max_chunks} chunks")
        if self.used(upload.guest) + size > self.limits.max_guest_bytes:
            raise IsoError(413, f"{upload.guest}'s recordings would pass "
                           f"{self.limits.max_guest_bytes // MIB} MiB (guests.iso_max_mb)")
        return Step.APPEND


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class IsoStore:
    """The ledger on disk under ``root`` (``STATE_DIR/iso``). Blocking file I/O: the routes
    call it on a thread. Nothing is written outside ``root/<guest>/`` (ids are checked)."""

    def __init__(self, root: Path, limits: Limits | None = None) -> None:
        self.root = root
        self.ledger = Ledger(limits)
        self.damaged: list[str] = []  # manifests that could not be read (kept, not used)
        self._load()

    def _load(self) -> None:
        if not self.root.is_dir():
            return
        for manifest in sorted(self.root.glob("*/*.json")):
            try:
                upload = Upload.from_json(json.loads(manifest.read_text("utf-8")))
                if upload.guest != manifest.parent.name or upload.name != manifest.stem:
                    raise ValueError("names do not match the file's")
                check_id("guest", upload.guest)
                check_id("segment", upload.segment)
            except (OSError, ValueError, KeyError, TypeError, IsoError):
                self.damaged.append(str(manifest))
                continue
            self.ledger.add(upload)

    def dir(self, guest: str) -> Path:
        return self.root / check_id("the guest", guest)

    def path(self, upload: Upload) -> Path:
        """The file: the part file while uploading."""
        final = self.dir(upload.guest) / (upload.name + SUFFIX)
        return final if upload.phase is Phase.COMPLETE else final.with_name(final.name + ".part")

    def save(self, upload: Upload) -> None:
        """The manifest, atomically (a temporary file renamed over it)."""
        folder = self.dir(upload.guest)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = folder / f".{upload.name}.json.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(upload.to_json()))
        os.replace(tmp, folder / f"{upload.name}.json")

    def append(self, upload: Upload, data: bytes, sha: str) -> None:
        """Write the next chunk at the upload's offset (a torn earlier write is cut off
        first), then record it."""
        self.dir(upload.guest).mkdir(parents=True, exist_ok=True, mode=0o700)
        part = self.path(upload)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, upload.size)
            os.lseek(fd, upload.size, os.SEEK_SET)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        upload.appended(sha, len(data))
        self.save(upload)

    def verify(self, upload: Upload) -> int | None:
        """The first chunk whose bytes on disk no longer match its checksum, else None."""
        try:
            with open(self.path(upload), "rb") as f:
                for i, (sha, size) in enumerate(upload.chunks):
                    if sha256_hex(f.read(size)) != sha:
                        return i
                return None if not f.read(1) else len(upload.chunks)
        except FileNotFoundError:
            return 0

    def complete(self, upload: Upload, chunks: int, duration_ms: float | None,
                 now: float) -> None:
        """Every chunk verified from the disk, then the part file renamed to the final name.
        A damaged chunk is dropped with the ones after it (IsoError 409: send it again)."""
        if upload.phase is Phase.COMPLETE:
            return
        bad = self.verify(upload)
        if bad is not None:
            del upload.chunks[bad:]
            self.save(upload)
            raise IsoError(409, f"chunk {bad} of {upload.name} did not survive on disk: "
                           f"send it again from chunk {bad}")
        part = self.path(upload)
        upload.finish(chunks, duration_ms, now)
        os.replace(part, self.path(upload))
        self.save(upload)

    def files(self) -> Iterator[tuple[Upload, Path]]:
        for mine in self.ledger.uploads.values():
            for upload in mine.values():
                yield upload, self.path(upload)
