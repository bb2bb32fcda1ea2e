"""Write one benchmark's Markdown section into docs/benchmarks.md, replacing its previous result.

Sections are delimited by `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, so each benchmark
owns its own part of the file and reruns replace rather than pile up.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Written by `make bench` (`python -m bench`); each section is replaced when its benchmark reruns.
Numbers are from the machine named in the section: wall times are noisy, request counts are exact.
"""


def _commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            # The results file itself changes with every section written: not a code change.
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/benchmarks.md"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit += "+dirty" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return commit


def provenance() -> str:
    """Date, machine and commit, for the line under each section heading."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return f"_{now}; {machine}; commit {_commit()}_"


HISTORY = "history"
_HISTORY_HEAD = (
    "## History\n\nOne line per run of a benchmark that reports a headline, oldest first (the sections"
    " above hold only the latest run).\n\n| date | commit | benchmark | headline |\n|---|---|---|---|"
)


def append_history(name: str, headline: str, path: Path = RESULTS) -> None:
    """Add one line for this run to the history table at the end of the results file."""
    begin, end = f"<!-- bench:{HISTORY} -->", f"<!-- /bench:{HISTORY} -->"
    text = path.read_text() if path.exists() else HEADER
    if begin not in text:
        text = text.rstrip() + f"\n\n{begin}\n{_HISTORY_HEAD}\n{end}\n"
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    row = f"| {now} | {_commit()} | {name} | {headline} |"
    head, rest = text.split(end, 1)
    path.write_text(head.rstrip("\n") + "\n" + row + "\n" + end + rest)


def write_section(name: str, title: str, body: str, path: Path = RESULTS) -> None:
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    section = f"{begin}\n## {title}\n\n{provenance()}\n\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else HEADER
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
