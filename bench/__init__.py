"""Benchmarks against the real parts; `python -m bench` runs them all into one report."""
