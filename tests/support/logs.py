"""Capturing the operator's log lines in a test, whatever pytest's own logging plugin does."""

from __future__ import annotations

import logging


class LogRecorder(logging.Handler):
    """Every log line of the run at DEBUG, formatted, whatever pytest's own logging plugin does."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
