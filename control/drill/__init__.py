"""The show-day drill: the rundown in compressed time against a private headless OBS, with
faults injected on a schedule, and a report (run.py; guests.py and guest_faults.py for the
guests' browsers and their faults; relay.py the lossy UDP relay). `python -m control.drill`
or scripts/drill. An orchestrator like control/app.py: it may use every adapter."""

from .run import Drill, main

__all__ = ["Drill", "main"]
