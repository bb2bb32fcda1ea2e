"""Time as the Kubernetes API writes it: UTC, whole seconds, RFC 3339 with a `Z`.

The one home of the format and of "now" for every layer (conditions, status times, Events, the
drift and health-check schedules) and for the tools around the operator (demo, bench, test
emulator). It imports nothing of the package, so any module may import it.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

#: `metav1.Time` as the API server serialises it, e.g. 2026-11-27T12:00:00Z.
RFC3339: Final = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> dt.datetime:
    """Now, in UTC and whole seconds (what a timestamp written to the API can hold)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime(RFC3339)


def parse_rfc3339(text: str) -> dt.datetime:
    """The inverse of `rfc3339`; raises ValueError for any other shape."""
    return dt.datetime.strptime(text, RFC3339).replace(tzinfo=dt.UTC)
