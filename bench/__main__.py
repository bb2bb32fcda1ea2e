"""Run every benchmark (or those named) and write their sections into docs/benchmarks.md.

Usage: python -m bench [--quick] [NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

from bench.report import append_history, write_section


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("names", nargs="*", help="benchmark modules (bench_*) to run; default all")
    args = parser.parse_args(argv)
    names = args.names or discover()
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}", flush=True)
        result = module.run(quick=args.quick)
        if inspect.isawaitable(result):
            result = asyncio.run(result)
        title, body, *headline = result  # a benchmark may add a one-line headline for the history
        write_section(name.removeprefix("bench_"), title, body)
        if headline and not args.quick:
            append_history(name.removeprefix("bench_"), headline[0])
        print(body, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
