"""`python -m control.drill` and scripts/drill: the drill's command line. Exit 0 when every
verdict passes, 1 when one fails, 2 when the drill could not run."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from .faults import FAULTS, GUEST_FAULTS, SHOW_FAULTS, TLS_FAULTS
from .guests import NETNS_ENV, reexec_in_netns
from .process import ROOT
from .result import DrillError
from .run import Drill

DESCRIPTION = "The show-day drill: the whole show against a real OBS, in compressed time, " \
    "with faults."


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="showctl-drill", description=DESCRIPTION)
    p.add_argument("rundown", type=Path)
    p.add_argument("--speed", type=float, default=20.0,
                   help="compressed time: the show clock runs N times the wall clock")
    p.add_argument("--out", type=Path, default=ROOT / "state" / "drill",
                   help="where drill.md, drill.json, the journal and the log go")
    p.add_argument("--faults", default=None,
                   help=f"comma-separated, in order (default: {','.join(SHOW_FAULTS)}, "
                   f"and {','.join(GUEST_FAULTS)} with --guests)")
    p.add_argument("--fps", type=float, default=25.0, help="the frame rate (one frame)")
    p.add_argument("--tls", action="store_true",
                   help="the controller on HTTPS with the drill's own CA (always with "
                   "tls-renew)")
    p.add_argument("--guests", type=int, default=0, metavar="N",
                   help="N headless Chromium guests from the rundown's roster (needs root: "
                   "the drill re-runs itself in a loopback-only network namespace)")
    return p


def faults_of(p: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, ...]:
    """The faults asked for, in order (the parser's error for unknown or unfit ones)."""
    default = (tuple(f for f in SHOW_FAULTS if f not in TLS_FAULTS) + GUEST_FAULTS
               if args.guests else SHOW_FAULTS)
    faults = tuple(f for f in (args.faults or ",".join(default)).split(",") if f)
    if unknown := [f for f in faults if f not in FAULTS]:
        p.error(f"unknown fault(s) {unknown}; known: {', '.join(FAULTS)}")
    if not args.guests and (wanted := [f for f in faults if f in GUEST_FAULTS]):
        p.error(f"{', '.join(wanted)} need(s) --guests N")
    if args.guests < 0:
        p.error("--guests must be 0 or more")
    if args.guests and (args.tls or any(f in TLS_FAULTS for f in faults)):
        p.error("--tls and tls-renew are not drilled with --guests yet (the guests' browsers "
                "would need the drill's CA)")
    return faults


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    faults = faults_of(p, args)
    if args.guests and not os.environ.get(NETNS_ENV):
        return reexec_in_netns(sys.argv[1:] if argv is None else argv)
    drill = Drill(args.rundown, args.speed, args.out, faults, args.fps, guests=args.guests,
                  tls=args.tls)
    try:
        report = asyncio.run(drill.run())
    except DrillError as exc:
        print(f"drill [{drill.phase}]: {exc}", file=sys.stderr)
        return 2
    print((args.out / "drill.md").read_text("utf-8"))
    return 0 if report["ok"] else 1
