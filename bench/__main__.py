"""`python -m bench`: every benchmark into one report (see bench/report.py)."""

from __future__ import annotations

from bench.report import main

if __name__ == "__main__":
    raise SystemExit(main())
