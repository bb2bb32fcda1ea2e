"""What one reconcile produced: conditions, other status fields, Events, and how to go on.

Reconcile code returns an `Outcome` and never talks to kopf; the handlers write it (status patch,
Events) and turn `error` into kopf's retry semantics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from netscaler_certsync.reconcile import conditions
from netscaler_certsync.reconcile.errors import ReconcileError


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class Outcome:
    conditions: Sequence[conditions.Condition]
    status: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[Event] = ()
    error: ReconcileError | None = None


def from_error(error: ReconcileError, status: Mapping[str, Any] | None = None) -> Outcome:
    """The outcome of a reconcile that failed as a whole."""
    conds = (
        conditions.stalled(error.reason, error.message)
        if error.stalled
        else conditions.progressing(error.reason, error.message)
    )
    return Outcome(
        conditions=conds,
        status=status or {},
        events=[Event("Warning", error.reason, error.message)],
        error=error,
    )
