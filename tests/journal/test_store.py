"""The journal file: durable appends, torn tails, damage, one writer, paths and archives."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from control.journal import (
    Journal,
    JournalError,
    archive,
    command_record,
    event_record,
    journal_path,
    read_journal,
    session_record,
)
from control.show import commands as C
from control.show.engine import Event

T0 = 1_704_031_200_000
TEXT = "show:\n  title: 彩排\n"  # the store never parses the rundown


def session() -> dict:
    return session_record("rundown/x.yaml", TEXT, shift_ms=-5000, mode="live", armed=False,
                          min_take_interval_ms=250, wall_ms=T0 - 1000)


def records() -> list[dict]:
    return [
        command_record(C.Take(by="导演"), T0),
        event_record(Event("take", T0, "a", "director", "导演"), T0, T0),
        command_record(C.Extend(30_000, by="bob"), T0 + 5000),
        event_record(Event("extend", T0 + 5000, "a", by="bob", detail="30s"), T0, T0 + 5000),
    ]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "deep" / "x.journal.jsonl"  # directories are created


def written(path: Path) -> Path:
    with Journal.create(path, session()) as j:
        for r in records():
            j.append(r)
    return path


def test_round_trip_one_json_object_a_line(path):
    written(path)
    got = read_journal(path)
    assert got.session == session() and list(got.records) == records()
    assert got.torn_tail is False and got.path == str(path)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 6
    for line in lines[:-1]:
        rec = json.loads(line.decode("utf-8"))
        assert rec["v"] == 1 and isinstance(rec["wall_ms"], int)
    assert "导演" in path.read_text("utf-8")  # UTF-8, not \u escapes
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert got.session["rundown_text"] == TEXT  # self-contained


def test_every_append_is_fsynced_before_it_returns(path, monkeypatch):
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    j = Journal.create(path, session())
    assert len(calls) == 2  # the file, and the directory that now names it
    took = j.append(records()[0])
    assert len(calls) == 3 and isinstance(took, float) and took >= 0
    j.append_all(records()[1:])  # one engine step: one write, one fsync
    assert len(calls) == 4
    j.close()
    assert len(read_journal(path).records) == 4


def test_a_torn_last_line_is_dropped_and_reported(path):
    written(path)
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"v":1,"type":"command","wall_ms":17040')  # died mid-write
    got = read_journal(path)
    assert got.torn_tail and list(got.records) == records()
    # a complete record without its newline was not acknowledged either
    path.write_bytes(whole + json.dumps(records()[0]).encode())
    assert read_journal(path).torn_tail
    # nor a terminated line that does not parse (garbage after a crash)
    path.write_bytes(whole + b"\x00\x00\x00\n")
    got = read_journal(path)
    assert got.torn_tail and list(got.records) == records()


def test_reopening_cuts_the_torn_tail_so_appends_start_on_their_own_line(path):
    written(path)
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"v":1,"ty')
    with Journal.open_existing(path) as j:
        assert j.dropped_tail_bytes == 10
        j.append(command_record(C.Hold(by="bob"), T0 + 9000))
    got = read_journal(path)
    assert not got.torn_tail and len(got.records) == 5
    assert got.records[-1]["command"] == {"kind": "hold", "by": "bob", "on": True}


def test_a_bad_line_before_the_last_is_damage_with_its_line_number(path):
    written(path)
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2][:-5]
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(JournalError, match=r"x\.journal\.jsonl:3: not JSON"):
        read_journal(path)
    with pytest.raises(JournalError, match=":3:"):
        Journal.open_existing(path)  # never appends to a damaged journal
    lines = path.read_bytes().split(b"\n")
    lines[2] = b'{"v":2,"type":"command","wall_ms":1,"command":{}}'
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(JournalError, match=":3: format version 2; this showctl reads version 1"):
        read_journal(path)


@pytest.mark.parametrize("content, why", [
    (b"", "no session record"),
    (b'{"v":1,"type":"sess', "no session record"),
    (json.dumps(records()[0]).encode() + b"\n", ":1: the first record must be the session"),
    (json.dumps(session()).encode() + b"\n" + json.dumps(session()).encode() + b"\n"
     + json.dumps(records()[0]).encode() + b"\n", ":2: a second session record"),
])
def test_a_journal_without_its_session_is_refused(path, content, why):
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(JournalError, match=why):
        read_journal(path)


def test_create_never_overwrites(path):
    written(path)
    before = path.read_bytes()
    with pytest.raises(JournalError, match="exists already"):
        Journal.create(path, session())
    assert path.read_bytes() == before


def test_one_writer_at_a_time(path):
    first = Journal.open_existing(written(path))
    with pytest.raises(JournalError, match="in use by another controller"):
        Journal.open_existing(path)
    with pytest.raises(JournalError, match="in use"):
        archive(path)
    first.close()
    Journal.open_existing(path).close()


def test_a_failed_fsync_stops_the_journal(path, monkeypatch):
    j = Journal.create(path, session())

    def broken(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(JournalError, match="write failed: Input/output error"):
        j.append(records()[0])
    monkeypatch.undo()
    with pytest.raises(JournalError, match="failed earlier"):
        j.append(records()[0])  # the page cache may have lost it: do not pretend otherwise
    j.close()
    with pytest.raises(JournalError, match="closed"):
        j.append(records()[0])


def test_a_full_disk_leaves_whole_records_and_the_same_write_can_be_tried_again(path,
                                                                                monkeypatch):
    j = Journal.create(path, session())
    j.append(records()[0])
    real_write = os.write

    def half_then_full(fd, data):  # some bytes land, then the disk is full
        real_write(fd, bytes(data[:7]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(JournalError, match="No space left"):
        j.append_all(records()[1:])
    monkeypatch.undo()
    assert path.read_bytes().endswith(b"\n") and len(path.read_text("utf-8").splitlines()) == 2
    j.append_all(records()[1:])  # the writer tries the same records again: they land once
    j.close()
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert [line["type"] for line in lines] == ["session", *(r["type"] for r in records())]


def test_records_are_checked_before_writing(path):
    with Journal.create(path, session()) as j, pytest.raises(ValueError, match="wall_ms"):
        j.append({"v": 1, "type": "command", "command": {"kind": "take"}})
    with pytest.raises(ValueError, match="session"):
        Journal.create(path.with_name("other.journal.jsonl"), records()[0])


def test_journal_path_is_named_after_the_rundown(tmp_path):
    assert journal_path(tmp_path, "rundown/rehearsal.yaml") == tmp_path / "rehearsal.journal.jsonl"
    assert journal_path(tmp_path, "/abs/nye.2023.yml") == tmp_path / "nye.2023.journal.jsonl"


def test_archive_moves_aside_with_a_utc_stamp_and_never_overwrites(path):
    when = datetime(2024, 1, 1, 0, 2, 3, tzinfo=UTC)
    content = written(path).read_bytes()
    first = archive(path, now=when)
    assert first == path.with_name("x.20240101T000203Z.journal.jsonl")
    assert not path.exists() and first.read_bytes() == content
    written(path)
    second = archive(path, now=when.astimezone())  # any zone: the name is UTC
    assert second == path.with_name("x.20240101T000203Z-2.journal.jsonl")
    assert first.read_bytes() == content and second.exists() and not path.exists()
    Journal.create(path, session()).close()  # --fresh: a new journal in its place
    with pytest.raises(JournalError, match="cannot archive"):
        archive(path.with_name("missing.journal.jsonl"))


def test_the_writer_stamps_the_version_on_records_without_one(path):
    with Journal.create(path, session()) as j:
        j.append({"type": "command", "wall_ms": T0, "command": {"kind": "back"}})
    assert read_journal(path).records[0] == {"v": 1, "type": "command", "wall_ms": T0,
                                             "command": {"kind": "back"}}
