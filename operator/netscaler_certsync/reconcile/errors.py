"""The one error type reconcile code raises: a named reason, a message, and how to go on.

Handlers map it to kopf and to conditions:
- `stalled=False`: a retryable failure (appliance unreachable, 5xx): `Reconciling=True`, retried
  with kopf's backoff after `retry_after` seconds.
- `stalled=True`: retrying will not help until the spec or an input changes (bad spec, bad
  material, bad credentials): `Stalled=True`. When the fix may come from something we do not
  watch (a credentials Secret, the appliance's own configuration) we still look again, slowly,
  after `retry_after`; when only a spec change can fix it, `retry_after` is None.
Messages must never contain key material or passwords.
"""

from __future__ import annotations


class ReconcileError(Exception):
    def __init__(self, reason: str, message: str, *, stalled: bool, retry_after: float | None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.stalled = stalled
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


def invalid(reason: str, message: str) -> ReconcileError:
    """Only a spec change can fix it."""
    return ReconcileError(reason, message, stalled=True, retry_after=None)


def stalled(reason: str, message: str, retry_after: float = 120.0) -> ReconcileError:
    """Needs a human, but the fix may land outside what we watch: look again slowly."""
    return ReconcileError(reason, message, stalled=True, retry_after=retry_after)


def transient(reason: str, message: str, retry_after: float = 10.0) -> ReconcileError:
    return ReconcileError(reason, message, stalled=False, retry_after=retry_after)
