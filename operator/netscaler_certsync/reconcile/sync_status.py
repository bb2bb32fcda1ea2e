"""Turn a CertificateSync's per-connection engine results into status, conditions and Events.

Status reports what was applied, never what was intended: a connection that could not be synced
keeps the entries of its last successful sync. Events are posted for changes (Synced, Renewed,
Removed) and for failures whose reason or message changed, so a failure that persists does not
flood `kubectl describe`. A certificate that is deployed but not served as deployed (post-deploy
verification: ServedCertificateMismatch, ChainIncomplete, Unreachable) makes Ready False with that
reason and is retried after `VERIFY_RETRY_SECONDS`: the appliance may need a moment (HA sync).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netscaler_certsync.domain import reasons
from netscaler_certsync.engine import ApplianceResult, BoundCA, CertState, Records
from netscaler_certsync.engine.verify import Verification
from netscaler_certsync.nitro import CertKey
from netscaler_certsync.reconcile import conditions
from netscaler_certsync.reconcile import reasons as k8s_reasons
from netscaler_certsync.reconcile.conditions import (
    CERTIFICATES_BOUND,
    CERTIFICATES_UPLOADED,
    SECRETS_VALID,
    Condition,
)
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.errors import ReconcileError, stalled, transient
from netscaler_certsync.reconcile.failures import HUMAN_RETRY, failure, fixed_by_input
from netscaler_certsync.reconcile.outcome import Event, Outcome
from netscaler_certsync.reconcile.request import SyncRequest
from netscaler_certsync.reconcile.sources import SourceCertificate
from netscaler_certsync.reconcile.specs import SyncSpec
from netscaler_certsync.timestamps import rfc3339

#: Bounds of the CRD's status schema: a longer list or message would get the status patch refused.
MAX_ENTRIES, MAX_PLAN, MAX_MESSAGE = 1024, 256, 4096
#: Bytes for status.certificates: with the records and conditions the object stays well under
#: etcd's 1.5 MiB request limit (measured on the real API server tier).
STATUS_BUDGET = 700_000

#: A failed verification is retried after this long (a timed retry, never a busy loop).
VERIFY_RETRY_SECONDS = 10.0


@dataclass(frozen=True)
class ConnectionRun:
    name: str
    records: Records
    result: ApplianceResult | None
    error: ReconcileError | None
    #: the sync's certkeys as the appliance reported them after the apply
    deployed: Mapping[str, CertKey] = field(default_factory=dict)
    #: per certificate id: what a handshake (or NITRO read-back) found after the apply
    verifications: Mapping[str, Verification] = field(default_factory=dict)


def _secret_name(cert_id: str) -> str:
    return cert_id.split("/", 1)[1]


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _entries(run: ConnectionRun, previous: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if run.result is None:
        return [dict(e) for e in previous if e.get("connection") == run.name]
    out = []
    for c in (*run.result.certificates, *run.result.superseded):
        if c.state == CertState.REMOVED:
            continue
        entry: dict[str, Any] = {
            "connection": run.name,
            "secretName": _secret_name(c.id),
            "state": c.state,
            "reason": c.reason,
            "message": _clip(c.message),
            "boundVServers": [{"vserver": b.vserver, "sni": b.sni} for b in c.bound],
        }
        for key, value in (
            ("certKeyName", c.certkey),
            ("serial", c.serial),
            ("notAfter", c.not_after),
            ("fingerprintSHA256", c.fingerprint),
        ):
            if value:
                entry[key] = value
        if c.adopted:
            entry["adopted"] = True
        check = run.verifications.get(c.id) if c.state != CertState.SUPERSEDED else None
        if check is not None:
            entry.update(verified=check.verified, verifiedBy=check.method, verificationReason=check.reason)
            entry["verificationMessage"] = _clip(check.message)
            if check.observed_serial:
                entry["observedSerial"] = check.observed_serial
            if check.chain_depth is not None:
                entry["chainDepth"] = check.chain_depth
        out.append(entry)
    return out


def fit_entries(entries: list[dict[str, Any]], budget: int = STATUS_BUDGET) -> list[dict[str, Any]]:
    """Keep the entries' JSON under `budget` bytes: etcd refuses objects over 1.5 MiB, and a status
    that cannot be written would hide every other result. Messages give way first (shortened,
    then dropped from healthy entries); names, serials and reasons always stay."""
    for limit in (MAX_MESSAGE, 512, 128):
        if len(json.dumps(entries)) <= budget:
            return entries
        for entry in entries:
            for key in ("message", "verificationMessage"):
                if isinstance(entry.get(key), str) and len(entry[key]) > limit:
                    entry[key] = entry[key][: limit - 1] + "…"
    for entry in entries:
        if len(json.dumps(entries)) <= budget:
            break
        if entry.get("state") != CertState.FAILED:
            entry.pop("message", None)
            entry.pop("verificationMessage", None)
    return entries


def _events(runs: Sequence[ConnectionRun], previous: Mapping[str, Any]) -> list[Event]:
    before = {
        (e.get("connection"), e.get("secretName")): (e.get("reason"), e.get("message"))
        for e in previous.get("certificates") or ()
        if e.get("state") != CertState.SUPERSEDED
    }
    checked_before = {
        (e.get("connection"), e.get("secretName")): (
            e.get("verificationReason"),
            e.get("verificationMessage"),
        )
        for e in previous.get("certificates") or ()
        if e.get("state") != CertState.SUPERSEDED
    }
    conn_before = {
        c.get("name"): (c.get("reason"), c.get("message")) for c in previous.get("connections") or ()
    }
    events: list[Event] = []
    for run in runs:
        if run.error is not None:
            if conn_before.get(run.name) != (run.error.reason, run.error.message):
                events.append(Event("Warning", run.error.reason, f"{run.name}: {run.error.message}"))
            continue
        assert run.result is not None
        for c in run.result.certificates:
            what = f"{run.name}: {c.certkey or _secret_name(c.id)}"
            if c.state == CertState.FAILED:
                if before.get((run.name, _secret_name(c.id))) != (c.reason, c.message):
                    events.append(Event("Warning", c.reason, f"{what}: {c.message}"))
            elif c.changed and c.reason in (
                reasons.Synced,
                reasons.Renewed,
                reasons.Removed,
                reasons.Adopted,
            ):
                serial = f" (serial {c.serial})" if c.serial else ""
                events.append(Event("Normal", c.reason, f"{what}{serial}: {c.message}"))
            elif c.reason == reasons.AdoptedKept and before.get((run.name, _secret_name(c.id))) != (
                c.reason,
                c.message,
            ):
                events.append(Event("Normal", c.reason, f"{what}: {c.message}"))
            check = run.verifications.get(c.id)
            key = (run.name, _secret_name(c.id))
            if (
                check is not None
                and not check.verified
                and checked_before.get(key) != (check.reason, check.message)
            ):
                events.append(Event("Warning", check.reason, f"{what}: {check.message}"))
        events += _client_auth_events(run, previous)
        for warning in run.result.warnings:
            events.append(Event("Warning", k8s_reasons.CleanupFailed, f"{run.name}: {warning}"))
        if run.result.not_saved is not None:
            events.append(Event("Warning", k8s_reasons.ConfigNotSaved, f"{run.name}: {run.result.not_saved}"))
    return events


def _client_auth_entries(run: ConnectionRun) -> list[dict[str, Any]]:
    """`status.connections[].clientAuth`: per vserver, the client CAs NITRO shows bound."""
    assert run.result is not None
    return [
        {
            "vserver": r.vserver,
            "clientCAs": list(r.bound),
            "checks": [_checks(c) for c in r.checks],
            "reason": r.reason,
            "message": _clip(r.message),
        }
        for r in run.result.client_auth
    ]


def _checks(c: BoundCA) -> dict[str, str]:
    """A bound CA's `-crlCheck` / `-ocspCheck` as NITRO shows them (a check it shows none of: left out)."""
    shown = {"certkey": c.certkey, "crlCheck": c.crlcheck, "ocspCheck": c.ocspcheck}
    return {k: v for k, v in shown.items() if v}


def _client_auth_events(run: ConnectionRun, previous: Mapping[str, Any]) -> list[Event]:
    """A Warning for a client-auth failure that is new or changed; a Normal one for a change."""
    assert run.result is not None
    old = next((c for c in previous.get("connections") or () if c.get("name") == run.name), {})
    before = {e.get("vserver"): (e.get("reason"), e.get("message")) for e in old.get("clientAuth") or ()}
    events = []
    for r in run.result.client_auth:
        what = f"{run.name}: {r.vserver} client authentication"
        if r.failed and before.get(r.vserver) != (r.reason, _clip(r.message)):
            events.append(Event("Warning", r.reason, f"{what}: {r.message}"))
        elif not r.failed and r.changed:
            events.append(Event("Normal", r.reason, f"{what}: {r.message}"))
    return events


#: Plan lines a dry-run Event quotes (the whole plan is in status.connections[].plan).
EVENT_PLAN_LINES = 5


def _dry_run_events(runs: Sequence[ConnectionRun], previous: Mapping[str, Any]) -> list[Event]:
    """One Event per connection whose dry-run plan is new or changed: what the sync would do."""
    plans_before = {c.get("name"): c.get("plan") for c in previous.get("connections") or ()}
    events = []
    for run in runs:
        if run.result is None:
            continue
        lines = list(run.result.operations[:MAX_PLAN])
        if plans_before.get(run.name) == lines:
            continue
        if not lines:
            events.append(Event("Normal", k8s_reasons.DryRun, f"{run.name}: dry run: nothing would change"))
            continue
        shown = "; ".join(lines[:EVENT_PLAN_LINES])
        more = f"; and {len(lines) - EVENT_PLAN_LINES} more" if len(lines) > EVENT_PLAN_LINES else ""
        message = f"{run.name}: dry run: would make {_count(len(lines), 'change')}: {shown}{more}"
        events.append(Event("Normal", k8s_reasons.DryRun, _clip(message)))
    return events


def _failure(runs: Sequence[ConnectionRun]) -> ReconcileError | None:
    """The one error that decides Reconciling vs Stalled: transient beats stalled beats fixed-by-input."""
    errors = [r.error for r in runs if r.error is not None]
    for err in errors:
        if not err.stalled:
            return err
    if errors:
        return errors[0]
    unsaved = [r.result for r in runs if r.result is not None and r.result.records.unsaved]
    if unsaved:
        why = unsaved[0].not_saved or "the save failed"
        name = next(r.name for r in runs if r.result is unsaved[0])
        return failure(
            k8s_reasons.ConfigNotSaved,
            f"{name}: the changes are live but not saved, so a reboot would lose them ({why})",
        )
    failed = [(r.name, c) for r in runs if r.result for c in r.result.failed]
    if not failed:
        return _client_auth_failure(runs) or _unverified(runs)
    name, first = failed[0]
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    message = f"{name}: {first.certkey or _secret_name(first.id)}: {first.message}{more}"
    if fixed_by_input(first.reason) and not all(fixed_by_input(c.reason) for _, c in failed):
        # Another certificate's failure needs the appliance looked at again: so does this one.
        return stalled(first.reason, message, retry_after=HUMAN_RETRY)
    return failure(first.reason, message)


def _client_auth_failure(runs: Sequence[ConnectionRun]) -> ReconcileError | None:
    """The first vserver whose client CAs are not as asked (a bad bundle, a refused bind)."""
    bad = [(r.name, a) for r in runs if r.result for a in r.result.client_auth if a.failed]
    if not bad:
        return None
    name, first = bad[0]
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return failure(first.reason, f"{name}: {first.vserver} client authentication: {first.message}{more}")


def _unverified(runs: Sequence[ConnectionRun]) -> ReconcileError | None:
    """The first certificate the appliance does not serve as deployed: retried after a while."""
    bad = [(r.name, i, v) for r in runs for i, v in r.verifications.items() if not v.verified]
    if not bad:
        return None
    name, cert_id, check = bad[0]
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    message = f"{name}: {_secret_name(cert_id)} is deployed but not served as deployed: {check.message}{more}"
    return transient(check.reason, message, retry_after=VERIFY_RETRY_SECONDS)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _detail_conditions(
    spec: SyncSpec, sources: Sequence[SourceCertificate], runs: Sequence[ConnectionRun]
) -> list[Condition]:
    """SecretsValid, CertificatesUploaded and CertificatesBound, each True only when it holds for
    every certificate on every appliance: a certificate that failed for any reason (a missing
    Secret, a name that does not fit) is neither uploaded nor bound, and a dry run did neither."""
    bad = [s for s in sources if s.material is None]
    if bad:
        secrets = Condition(
            SECRETS_VALID, "False", bad[0].reason or k8s_reasons.SecretNotFound, bad[0].message
        )
    else:
        held = "holds a usable certificate" if len(sources) == 1 else "hold usable certificates"
        secrets = Condition(
            SECRETS_VALID, "True", k8s_reasons.Valid, f"{_count(len(sources), 'Secret')} {held}"
        )
    failed = [(r.name, c) for r in runs if r.result for c in r.result.failed]
    planned = [c for r in runs if r.result for c in r.result.certificates if c.state == CertState.PLANNED]
    errors = [r.error for r in runs if r.error is not None]
    not_synced = len(failed) + len(errors)
    if not_synced:
        parts = [f"{_count(len(failed), 'certificate')} failed"] if failed else []
        parts += [f"{_count(len(errors), 'appliance')} not synced"] if errors else []
        uploaded = Condition(CERTIFICATES_UPLOADED, "False", k8s_reasons.NotSynced, "; ".join(parts))
    elif planned:
        uploaded = Condition(
            CERTIFICATES_UPLOADED,
            "False",
            k8s_reasons.DryRun,
            f"dry run: {_count(len(planned), 'certificate')} would be changed; nothing was written",
        )
    else:
        uploaded = Condition(
            CERTIFICATES_UPLOADED, "True", reasons.Synced, "Every certificate is on every appliance"
        )
    if not spec.bindings:
        bound = Condition(
            CERTIFICATES_BOUND, "True", k8s_reasons.Bound, "No bindings requested (upload only)"
        )
    elif failed:
        name, first = failed[0]
        bound = Condition(
            CERTIFICATES_BOUND,
            "False",
            first.reason,
            f"{name}: {first.certkey or _secret_name(first.id)}: {first.message}",
        )
    elif errors:  # whether the appliance still has the bindings is not known
        bound = Condition(CERTIFICATES_BOUND, "Unknown", errors[0].reason, errors[0].message)
    elif planned:
        bound = Condition(CERTIFICATES_BOUND, "False", k8s_reasons.DryRun, "dry run: nothing was bound")
    else:
        bound = Condition(
            CERTIFICATES_BOUND, "True", k8s_reasons.Bound, "Every requested binding is in place"
        )
    return [secrets, uploaded, bound]


def _connection_summary(
    result: ApplianceResult, verifications: Mapping[str, Verification], dry_run: bool
) -> tuple[bool, str, str]:
    """`ready`, `reason` and `message` of one connection's entry after its apply."""
    failed = result.failed
    if failed:
        return (
            False,
            failed[0].reason,
            f"{len(failed)} of {_count(len(result.certificates), 'certificate')} failed",
        )
    auth = [a for a in result.client_auth if a.failed]
    if auth:
        return False, auth[0].reason, _clip(f"{auth[0].vserver} client authentication: {auth[0].message}")
    unverified = [v for v in verifications.values() if not v.verified]
    if unverified:
        message = f"{_count(len(unverified), 'certificate')} not served as deployed: {unverified[0].message}"
        return False, unverified[0].reason, _clip(message)
    if dry_run:
        return (
            False,
            k8s_reasons.DryRun,
            f"dry run: {_count(len(result.operations), 'operation')} planned, nothing written",
        )
    saved = "saved" if result.saved else "nothing to save"
    return (
        True,
        reasons.Synced,
        f"{_count(len(result.certificates), 'certificate')}; {_count(result.writes, 'write')}, {saved}",
    )


def build_outcome(
    ctx: OperatorContext,
    request: SyncRequest,
    spec: SyncSpec,
    sources: Sequence[SourceCertificate],
    runs: Sequence[ConnectionRun],
) -> Outcome:
    now = rfc3339(ctx.clock())
    previous = request.status
    prev_entries = previous.get("certificates") or []
    entries = [e for run in runs for e in _entries(run, prev_entries)]
    connections = []
    for run in runs:
        item: dict[str, Any] = {"name": run.name, "records": run.records.to_dict()}
        if run.error is not None:
            item.update(ready=False, reason=run.error.reason, message=_clip(run.error.message))
            old = next((c for c in previous.get("connections") or () if c.get("name") == run.name), {})
            for key in ("lastSyncTime", "clientAuth"):  # what the last sync that ran found
                if old.get(key):
                    item[key] = old[key]
        else:
            assert run.result is not None
            ready, reason, message = _connection_summary(run.result, run.verifications, spec.dry_run)
            item.update(
                ready=ready,
                reason=reason,
                message=message,
                lastSyncTime=now,
            )
            if spec.dry_run:
                item["plan"] = list(run.result.operations[:MAX_PLAN])
            if run.result.client_auth:
                item["clientAuth"] = _client_auth_entries(run)
        connections.append(item)
    expiries = sorted(
        e["notAfter"] for e in entries if e.get("notAfter") and e.get("state") == CertState.SYNCED
    )
    status: dict[str, Any] = {
        "certificates": fit_entries(entries[:MAX_ENTRIES]),
        "connections": connections,
        "connectionCount": len(runs),
        "certificateCount": len(sources),
        "soonestExpiry": expiries[0] if expiries else None,
    }
    if any(r.result is not None for r in runs):
        status["lastSyncTime"] = now
    if request.sync_request:
        status["lastHandledSyncRequest"] = request.sync_request
    error = _failure(runs)
    events = _events(runs, previous)
    if spec.dry_run:
        events += _dry_run_events(runs, previous)
    if error is not None:
        summary = (
            conditions.progressing(error.reason, error.message)
            if not error.stalled
            else conditions.stalled(error.reason, error.message)
        )
    elif spec.dry_run:
        # Nothing is deployed by a dry run: never Ready, or GitOps would show it Healthy.
        planned = sum(len(r.result.operations) for r in runs if r.result)
        summary = conditions.idle(
            k8s_reasons.DryRun,
            f"dry run: {_count(planned, 'operation')} planned on {_count(len(runs), 'appliance')}, "
            "nothing written; set dryRun to false to deploy",
        )
    else:
        synced = sum(1 for e in entries if e.get("state") == CertState.SYNCED)
        summary = conditions.ready(
            reasons.Synced, f"{_count(synced, 'certificate')} on {_count(len(runs), 'appliance')}"
        )
    return Outcome(
        conditions=[*summary, *_detail_conditions(spec, sources, runs)],
        status=status,
        events=events,
        error=error,
    )
