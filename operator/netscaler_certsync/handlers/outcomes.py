"""Write a reconcile `Outcome` through kopf: status patch, Events, and retry semantics.

The only place that turns `ReconcileError` into kopf errors: retryable failures become
`kopf.TemporaryError` (kopf retries after the delay, without sleeping in the handler); failures
only a spec change can fix become `kopf.PermanentError` (no busy retry).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from netscaler_certsync.reconcile import conditions
from netscaler_certsync.reconcile.outcome import Outcome


def write_status(
    outcome: Outcome, *, body: kopf.Body, patch: kopf.Patch, status: Mapping[str, Any] | None
) -> None:
    generation = body.get("metadata", {}).get("generation")
    for key, value in outcome.status.items():
        patch.status[key] = value
    patch.status["conditions"] = conditions.merge_conditions(
        (status or {}).get("conditions"), outcome.conditions, generation
    )
    if generation is not None:
        patch.status["observedGeneration"] = generation


def post_events(outcome: Outcome, body: kopf.Body) -> None:
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


def finish(outcome: Outcome, *, body: kopf.Body, patch: kopf.Patch, status: Mapping[str, Any] | None) -> None:
    """Write status and Events, then raise what kopf needs to retry (or not)."""
    write_status(outcome, body=body, patch=patch, status=status)
    post_events(outcome, body)
    error = outcome.error
    if error is None:
        return
    if error.retry_after is None:
        raise kopf.PermanentError(str(error))
    raise kopf.TemporaryError(str(error), delay=error.retry_after)
