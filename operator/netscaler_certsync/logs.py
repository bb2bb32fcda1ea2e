"""Log set-up: kopf's handler and format, and which of kopf's routine lines reach INFO.

At INFO the operator says one line per sync (`reconcile/certificatesync.log_sync`) and one per
connection check outcome; appliance operations and NITRO calls are at DEBUG. kopf itself logs a
line at INFO for every handler and timer that succeeds: with many CertificateSyncs and a drift
timer ticking for each, that is many lines a second saying nothing, so those go only to
`--verbose` output (docs/decisions/015-log-lines.md). Failures, retries and everything kopf logs
above INFO stay.
"""

from __future__ import annotations

import logging
import re

import kopf

__all__ = ["PLAIN_FORMAT", "RoutineKopfLines", "configure"]

#: kopf's FULL format cuts logger names to 20 characters ("netscaler_certsync.r"); ours does not.
#: kopf adds "[namespace/name] " before the message of lines about one object.
PLAIN_FORMAT = "[%(asctime)s] %(levelname)-7s %(name)s: %(message)s"

_ROUTINE = re.compile(
    r"^(Timer|Handler|Daemon) '[^']*' succeeded\.$"
    r"|^(Creation|Update|Resuming|Deletion) is processed: \d+ succeeded; 0 failed\.$"
)


class RoutineKopfLines(logging.Filter):
    """Drops kopf's INFO lines that only say a handler or timer succeeded."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not record.name.startswith("kopf."):
            return True
        return _ROUTINE.match(record.getMessage()) is None


def configure(*, log_format: str = "plain", verbose: bool = False) -> None:
    """Plain text (time, level, logger, object, message) or JSON; `verbose` is everything at DEBUG."""
    json_format = log_format == "json"
    kopf.configure(
        verbose=verbose,
        log_format=kopf.LogFormat.JSON if json_format else PLAIN_FORMAT,  # type: ignore[arg-type]
        log_prefix=not json_format,  # JSON carries the object as its own field
    )
    # Per-request lines come from our NITRO client (DEBUG); httpx/httpcore would repeat them.
    for noisy in ("httpx", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not verbose:
        for handler in logging.getLogger().handlers:
            handler.addFilter(RoutineKopfLines())
