"""Benchmarks for netscaler-certsync; `make bench` runs them all (`python -m bench`).

Each benchmark module has `run(quick: bool) -> (title, markdown)` (sync or async); `report.py`
writes it into docs/benchmarks.md between that benchmark's markers, with date, machine and commit.
"""
