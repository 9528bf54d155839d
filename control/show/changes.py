"""What a reloaded rundown changes, segment by segment: for the director, before and after.

Pure: two Rundown values in, one RundownChanges value out. `retimed` is about the planned
duration only; every other difference a segment can have (scene, title, items, cues, flex,
hard start, ...) puts it in `changed`. Positions in the file (line, column) are not changes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .durations import seconds
from .model import Rundown, Segment

# Segment fields that are not what the director wrote about the segment
_NOT_CONTENT = frozenset({"id", "duration_ms", "where", "positions"})
_SEGMENT_FIELDS = tuple(f.name for f in fields(Segment) if f.name not in _NOT_CONTENT)
_SHOW_FIELDS = ("title", "title_zh", "timezone", "start_ms", "end_ms", "safe_scene",
                "transition")


@dataclass(frozen=True, slots=True)
class Retimed:
    segment_id: str
    from_ms: int
    to_ms: int


@dataclass(frozen=True, slots=True)
class RundownChanges:
    """The difference between two rundowns, ids in the new rundown's order (removed ones in
    the old order)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    retimed: tuple[Retimed, ...] = ()
    changed: tuple[str, ...] = ()      # same id, other content (not the duration)
    moved: tuple[str, ...] = ()        # same id, another place in the running order
    show: tuple[str, ...] = ()         # header fields that changed (title, start_ms, ...)
    guests: bool = False               # the guest roster changed

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.retimed or self.changed
                    or self.moved or self.show or self.guests)

    def to_json(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "retimed": [{"id": r.segment_id, "from_s": seconds(r.from_ms),
                         "to_s": seconds(r.to_ms)} for r in self.retimed],
            "changed": list(self.changed),
            "moved": list(self.moved),
            "show": [name.removesuffix("_ms") for name in self.show],
            "guests": self.guests,
        }


def _changed_fields(old: Segment, new: Segment) -> list[str]:
    return [name for name in _SEGMENT_FIELDS if getattr(old, name) != getattr(new, name)]


def _longest_in_order(values: list[int]) -> set[int]:
    """Indexes of a longest increasing subsequence of `values` (patience sorting): the
    segments that kept their order; the others are the ones that moved."""
    tails: list[int] = []          # tails[k]: index of the smallest tail of a run of k + 1
    before: list[int | None] = []  # the previous index in the run ending at each index
    for i, v in enumerate(values):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if values[tails[mid]] < v:
                lo = mid + 1
            else:
                hi = mid
        before.append(tails[lo - 1] if lo else None)
        if lo == len(tails):
            tails.append(i)
        else:
            tails[lo] = i
    out: set[int] = set()
    at = tails[-1] if tails else None
    while at is not None:
        out.add(at)
        at = before[at]
    return out


def diff_rundowns(old: Rundown, new: Rundown) -> RundownChanges:
    """What changed from `old` to `new` (both as run: shifted alike)."""
    old_ids = [s.id for s in old.segments]
    new_ids = [s.id for s in new.segments]
    kept_old = [i for i in old_ids if i in set(new_ids)]
    kept_new = [i for i in new_ids if i in set(old_ids)]
    retimed, changed = [], []
    for seg_id in kept_new:
        a, b = old.segment(seg_id), new.segment(seg_id)
        if a.duration_ms != b.duration_ms:
            retimed.append(Retimed(seg_id, a.duration_ms, b.duration_ms))
        if _changed_fields(a, b):
            changed.append(seg_id)
    in_order = _longest_in_order([kept_old.index(i) for i in kept_new])
    moved = [seg_id for n, seg_id in enumerate(kept_new) if n not in in_order]
    return RundownChanges(
        added=tuple(i for i in new_ids if i not in set(old_ids)),
        removed=tuple(i for i in old_ids if i not in set(new_ids)),
        retimed=tuple(retimed),
        changed=tuple(changed),
        moved=tuple(moved),
        show=tuple(n for n in _SHOW_FIELDS if getattr(old.show, n) != getattr(new.show, n)),
        guests=old.guests != new.guests,
    )
