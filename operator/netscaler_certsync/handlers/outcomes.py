"""Write a reconcile `Outcome` through kopf: status patch, Events, and retry semantics.

The only place that turns `ReconcileError` into kopf's terms: retryable failures become
`kopf.TemporaryError` (kopf retries after the delay, without sleeping in the handler); stalled
failures end the handler normally, with a timed re-check when the fix may come from outside
Kubernetes (see `finish`), so kopf never waits out a delay while a newer spec is pending.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import kopf

from netscaler_certsync.k8s.errors import KubernetesError
from netscaler_certsync.reconcile import conditions
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.outcome import Outcome


def status_patch(
    outcome: Outcome, body: Mapping[str, Any], status: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The `status` the outcome writes: its fields, merged conditions, the generation observed."""
    generation = body.get("metadata", {}).get("generation")
    patch: dict[str, Any] = dict(outcome.status)
    patch["conditions"] = conditions.merge_conditions(
        (status or {}).get("conditions"), outcome.conditions, generation
    )
    if generation is not None:
        patch["observedGeneration"] = generation
    return patch


def write_status(
    outcome: Outcome, *, body: kopf.Body, patch: kopf.Patch, status: Mapping[str, Any] | None
) -> None:
    for key, value in status_patch(outcome, body, status).items():
        patch.status[key] = value


def post_events(outcome: Outcome, body: kopf.Body) -> None:
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


def account(
    outcome: Outcome,
    *,
    body: Mapping[str, Any],
    ctx: OperatorContext,
    started: float,
    recheck_transient: bool = False,
) -> None:
    """Metrics of a finished reconcile, and its timed re-check when the fix may come from outside
    Kubernetes (`recheck_transient`: of transient failures too, for checks no kopf retry repeats)."""
    metrics = ctx.metrics
    kind, meta = body.get("kind", ""), body.get("metadata", {})
    error = outcome.error
    result = "success" if error is None else ("error" if error.stalled else "retry")
    metrics.reconcile_total.labels(kind, result).inc()
    metrics.reconcile_duration.labels(kind).observe(time.monotonic() - started)
    is_ready = any(c.type == conditions.READY and c.status == "True" for c in outcome.conditions)
    metrics.ready.labels(kind, meta.get("namespace", ""), meta.get("name", "")).set(1 if is_ready else 0)
    recheck = error.retry_after if error is not None and (error.stalled or recheck_transient) else None
    ctx.schedule_recheck(kind, meta.get("namespace", ""), meta.get("name", ""), recheck)


def finish(
    outcome: Outcome,
    *,
    body: kopf.Body,
    patch: kopf.Patch,
    status: Mapping[str, Any] | None,
    ctx: OperatorContext,
    started: float,
    recheck_transient: bool = False,
) -> None:
    """Write status, Events and metrics, then raise what kopf needs to retry (or not).

    Only transient failures go through kopf's retry (`TemporaryError`, short delays): kopf does
    not look at a newer spec while a handler waits out its delay, so a long delay would also
    delay the user's fix. Stalled failures end the handler; a spec or Secret change re-triggers
    it, and when the fix may come from elsewhere (the appliance, a credentials Secret) the
    periodic check looks again after `retry_after` (see `OperatorContext.recheck_due`).
    `recheck_transient`: a timer's kopf retry only runs if its check is due, so transient
    failures of a timer-driven kind (NetScalerConnection) schedule their re-check too.
    """
    write_status(outcome, body=body, patch=patch, status=status)
    post_events(outcome, body)
    account(outcome, body=body, ctx=ctx, started=started, recheck_transient=recheck_transient)
    error = outcome.error
    if error is not None and not error.stalled:
        raise kopf.TemporaryError(str(error), delay=retry_delay(ctx, error.retry_after or 10))


def retry_delay(ctx: OperatorContext, seconds: float) -> float:
    """The delay kopf waits before retrying a transient failure, within the operator's cap."""
    cap = ctx.options.max_retry_delay_seconds
    return seconds if cap is None else min(seconds, cap)


#: Seconds before kopf retries a handler whose Kubernetes API call failed.
KUBERNETES_RETRY_SECONDS = 10


@contextmanager
def kubernetes_failures_are_temporary() -> Iterator[None]:
    """A Kubernetes API call that failed under a handler (the API server restarting, a reset
    connection, the operator's own client closed at shutdown while a timer still ran) is retried
    by kopf like any transient failure: one log line, no traceback, no crash."""
    try:
        yield
    except KubernetesError as exc:
        raise kopf.TemporaryError(f"Kubernetes API: {exc}", delay=KUBERNETES_RETRY_SECONDS) from exc
