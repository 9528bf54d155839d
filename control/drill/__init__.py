"""The show-day drill: the rundown in compressed time against a private headless OBS, with
faults injected on a schedule, and a report. `python -m control.drill` or scripts/drill.
An orchestrator like the wiring (control/wiring/): it may use every adapter.

  run.py       the drill: parts up, the show with each fault at its time, parts down
  faults/      the faults, one small class each, in a table (faults.FAULTS)
  final.py     the final hard start, measured from outside
  report.py    the as-run check, the verdicts, drill.json and drill.md
  process.py   the controller as its own process; watch.py the console and OBS as seen
  probes.py    conditions on the controller to wait for; wait.py the one way to wait
  readmodel.py reading the read model and the journal; result.py a fault's result
  guests.py    the guests' browsers (Chromium, a loopback-only namespace); relay.py the
               lossy UDP relay
  hostile.py   hostile websocket clients (the flood fault; bench/flood.py runs them too)
  tls.py       the drill's own CA: the controller on HTTPS, its certificate renewed
  cli.py       the command line
"""

from .cli import main
from .run import Drill

__all__ = ["Drill", "main"]
