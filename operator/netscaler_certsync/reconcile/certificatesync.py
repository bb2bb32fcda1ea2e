"""CertificateSync: gather Secrets and connections from Kubernetes, run the engine per appliance.

Per connection (fan-out): resolve the appliance, hand the engine the desired certificates and the
records of the last sync, keep what it reports, and verify what the appliance serves (a TLS
handshake where a binding names its address, else the certkey read back through NITRO). A failing
connection or certificate never blocks the others; `sync_status` turns the results into status,
conditions and Events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from netscaler_certsync.domain import (
    DomainError,
    NamingError,
    reasons,
    render_certkey_name,
    validate_name,
)
from netscaler_certsync.engine import (
    ApplianceResult,
    BindingSpec,
    ClientAuth,
    DesiredCertificate,
    Priority,
    Records,
    SyncAborted,
    SyncOptions,
    appliance_key,
    sync_appliance,
)
from netscaler_certsync.engine.verify import verify_deployed
from netscaler_certsync.k8s import keys
from netscaler_certsync.logs import object_ref
from netscaler_certsync.nitro.errors import NitroError
from netscaler_certsync.reconcile import reasons as k8s_reasons
from netscaler_certsync.reconcile.binding_conflicts import hold_back_default_conflicts
from netscaler_certsync.reconcile.claims import bound_defaults
from netscaler_certsync.reconcile.client_auth import client_auth_wants
from netscaler_certsync.reconcile.connection import ApplianceTarget, resolve_target
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.errors import ReconcileError, transient
from netscaler_certsync.reconcile.failures import appliance_failure, failure
from netscaler_certsync.reconcile.intent import IntentWriter
from netscaler_certsync.reconcile.outcome import Event, Outcome, from_error
from netscaler_certsync.reconcile.request import SyncRequest
from netscaler_certsync.reconcile.sources import SourceCertificate, gather_sources
from netscaler_certsync.reconcile.specs import SyncSpec, parse_connection, parse_sync
from netscaler_certsync.reconcile.sync_status import ConnectionRun, build_outcome

logger = logging.getLogger(__name__)

#: (namespace, name) -> {"spec": ..., "status": ...} of each NetScalerConnection (a kopf index).
Connections = Mapping[tuple[str, str], Mapping[str, Any]]

#: Whose turn comes first when reconciles queue for one appliance: a renewal is what users wait
#: for; the drift re-check of every CertificateSync comes last (see engine/locks.py).
_PRIORITY = {"secret": Priority.RENEWAL, "manual": Priority.RENEWAL, "drift": Priority.BACKGROUND}


def desired_certificates(
    namespace: str, spec: SyncSpec, sources: Sequence[SourceCertificate]
) -> list[DesiredCertificate]:
    bindings = tuple(BindingSpec(b.vserver, b.sni) for b in spec.bindings)
    adopts = {ref.secret_name: ref.adopt for ref in spec.certificates if ref.adopt is not None}
    desired = []
    for src in sources:
        cert_id = f"{namespace}/{src.secret_name}"
        problem: DomainError | None = None
        if src.material is None:
            problem = DomainError(src.reason or k8s_reasons.SecretNotFound, src.message)
        name = src.certkey_name or ""
        try:
            if src.certkey_name is not None:
                validate_name(src.certkey_name, spec.name_max_length)
            else:
                name = render_certkey_name(
                    spec.name_template,
                    namespace=namespace,
                    secret_name=src.secret_name,
                    common_name=src.material.leaf.common_name if src.material else "",
                    limit=spec.name_max_length,
                )
        except NamingError as exc:
            problem = problem or exc
        adopt = adopts.get(src.secret_name)
        desired.append(DesiredCertificate(cert_id, name, src.material, bindings, problem, adopt))
    return desired


def _previous_records(status: Mapping[str, Any], connection: str) -> Records:
    for entry in status.get("connections") or ():
        if entry.get("name") == connection:
            return Records.from_dict(entry.get("records"))
    return Records()


def _snapshot_max_age(ctx: OperatorContext, request: SyncRequest, spec: SyncSpec) -> float:
    """How old a shared listing of the appliance this reconcile may start from (engine/snapshot.py).

    A removal always looks afresh: it is rare, and it deletes. So does a manual request: a user who
    asks for a sync wants the appliance as it is now, not as a listing of a few seconds ago left it
    (a binding removed by hand meanwhile must be seen and repaired, not reported as in place). A
    drift check never trusts a listing older than its own interval, so a short interval still
    means a short one."""
    if request.trigger in ("delete", "manual"):
        return 0.0
    if request.trigger == "drift" and spec.drift_check_interval_seconds > 0:
        return min(ctx.options.snapshot_max_age_seconds, spec.drift_check_interval_seconds)
    return ctx.options.snapshot_max_age_seconds


def _endpoint(target: ApplianceTarget, connection: Mapping[str, Any]) -> str:
    """The node to write to: the primary of an HA pair, as the connection's health check found it."""
    if len(target.endpoints) == 1:
        return target.endpoints[0]
    primary = (connection.get("status") or {}).get("primaryEndpoint")
    if primary in target.endpoints:
        return str(primary)
    raise failure(
        k8s_reasons.ConnectionNotReady,
        f"NetScalerConnection {target.namespace}/{target.name} has not found the primary node yet",
    )


def _look_again_at_the_others(
    ctx: OperatorContext, appliance: str, owner: str, result: ApplianceResult
) -> None:
    """Certkeys this sync had deployed were gone: the appliance may have lost its configuration
    (a reboot before a save, a restore). The other CertificateSyncs that applied there are looked
    at again at once (a wake), not at the end of their own interval: the first drift
    check to notice (whichever sync's comes first) repairs every sync on the appliance."""
    others = sorted(ctx.appliances[appliance].owners - {owner})
    logger.warning(
        "%s: certkeys %s recorded by %s are gone from the appliance; looking again at %d other "
        "CertificateSync(s) there",
        appliance,
        ", ".join(result.vanished),
        owner,
        len(others),
    )
    for other in others:
        namespace, name = other.split("/", 1)
        ctx.wake(keys.SYNC_KIND, namespace, name)


async def sync_connection(
    ctx: OperatorContext,
    request: SyncRequest,
    spec: SyncSpec,
    connection_name: str,
    connections: Connections,
    desired: Sequence[DesiredCertificate],
    intents: IntentWriter,
    client_auth: Sequence[ClientAuth] = (),
) -> ConnectionRun:
    namespace = request.namespace
    previous = _previous_records(request.status, connection_name)
    try:
        connection = connections.get((namespace, connection_name))
        if connection is None:
            where = "" if ctx.options.shard is None else f" in shard {ctx.options.shard}"
            raise failure(
                k8s_reasons.ConnectionNotFound,
                f"NetScalerConnection {namespace}/{connection_name} does not exist{where}"
                + (
                    f" (label it {keys.SHARD_LABEL}={ctx.options.shard}, like this CertificateSync)"
                    if where
                    else ""
                ),
            )
        conn_spec = parse_connection(connection.get("spec") or {})
        target = await resolve_target(namespace, connection_name, conn_spec, ctx.connection_secret)
        endpoint = _endpoint(target, connection)
        appliance = appliance_key(target.endpoints, target.partition)  # the pair, not its primary
        if request.trigger != "delete":  # other syncs' default bindings (reconcile/claims.py)
            desired = ctx.claims.claim(
                f"{namespace}/{request.name}",
                request.created,
                connection_name,
                appliance,
                desired,
                bound_defaults(request.status, namespace, connection_name),
            )
        options = SyncOptions(
            owner=f"{namespace}/{request.name}",
            cluster=ctx.cluster.id,
            preserve_on_renewal=spec.preserve_on_renewal,
            remove_inactive=spec.remove_inactive,
            link_chain=spec.link_chain,
            dry_run=spec.dry_run,
            name_limit=spec.name_max_length,
            snapshot_max_age=_snapshot_max_age(ctx, request, spec),
            priority=_PRIORITY.get(request.trigger, Priority.CHANGE),
        )
        hook = ctx.metrics.nitro_hook(target.namespace, target.name)
        try:
            # The operator's one shared session to this appliance (see reconcile/sessions.py).
            client = ctx.sessions.client(target, endpoint, on_request=[hook])
            result: ApplianceResult = await sync_appliance(
                client,
                desired,
                previous,
                options,
                appliances=ctx.appliances,
                appliance=appliance,
                on_applied=ctx.applied,
                on_intent=intents.for_connection(connection_name),
                client_auth=client_auth,
            )
            await ctx.sessions.close_retired()
            if result.vanished:
                _look_again_at_the_others(ctx, appliance, options.owner, result)
            targets = [b.verify for b in spec.bindings if b.verify is not None]
            seen = await verify_deployed(
                client, result, desired, targets, link_chain=spec.link_chain, verify=not spec.dry_run
            )
        except (SyncAborted, NitroError, OSError) as exc:  # e.g. a CA bundle that cannot be loaded
            raise appliance_failure(exc, endpoint) from exc
    except ReconcileError as error:
        # Intent stored and then the apply failed: it may have created any of it (reconcile/intent.py),
        # and not saved it: still pending, so the next apply saves.
        stored = intents.stored.get(connection_name)
        records = previous if stored is None else replace(stored, pending=True)
        return ConnectionRun(connection_name, records, None, error)
    return ConnectionRun(connection_name, result.records, result, None, seen.certkeys, seen.verifications)


async def reconcile_sync(ctx: OperatorContext, request: SyncRequest, connections: Connections) -> Outcome:
    owner = f"{request.namespace}/{request.name}"
    try:
        spec = parse_sync(request.spec)
        sources = await gather_sources(ctx, request.namespace, spec)
        client_auth = await client_auth_wants(ctx, request.namespace, spec)
    except ReconcileError as error:
        ctx.claims.reconciled(owner)  # its claims, if any, stand; it cannot make new ones
        return from_error(error)
    ctx.claims.keep_connections(owner, spec.connections)
    desired = hold_back_default_conflicts(desired_certificates(request.namespace, spec, sources))
    intents = IntentWriter(ctx, request.namespace, request.name, request.status)
    # Fan-out: appliances are independent, so they are synced concurrently.
    runs = await asyncio.gather(
        *(
            sync_connection(ctx, request, spec, name, connections, desired, intents, client_auth)
            for name in spec.connections
        )
    )
    ctx.claims.reconciled(owner)
    record_expiries(ctx, request, runs)
    outcome = build_outcome(ctx, request, spec, sources, runs)
    log_sync(request, runs, outcome)
    return outcome


def log_sync(request: SyncRequest, runs: Sequence[ConnectionRun], outcome: Outcome) -> None:
    """One INFO line per sync (NITRO calls are logged one per line at DEBUG by the client)."""
    parts = []
    for run in runs:
        if run.result is None:
            parts.append(f"{run.name}: {run.error.reason if run.error else 'not run'}")
        else:
            r = run.result
            saved = "saved" if r.saved else "no save"
            parts.append(f"{run.name}: {len(r.certificates)} certs, {r.writes} writes, {saved}")
    state = outcome.error.reason if outcome.error else "ok"
    logger.info(
        "sync %s/%s (%s): %s; %s",
        request.namespace,
        request.name,
        request.trigger,
        state,
        "; ".join(parts),
        extra=object_ref(keys.SYNC_KIND, request.namespace, request.name),  # `object` in JSON
    )


def record_expiries(ctx: OperatorContext, request: SyncRequest, runs: Sequence[ConnectionRun]) -> None:
    """The expiry metric of each certificate, from what the appliance reported after the sync."""
    keep: set[tuple[str, str]] = set()
    for run in runs:
        if run.result is None:  # unknown now: keep the last known series of this connection
            keep |= {(c, k) for (c, k) in _known_series(ctx, request) if c == run.name}
            continue
        secrets = {c.certkey: c.id.split("/", 1)[-1] for c in run.result.certificates if c.certkey}
        for name, certkey in run.deployed.items():
            secret = secrets.get(name, "")
            ctx.metrics.record_expiry(
                request.namespace, request.name, run.name, name, certkey.not_after, secret=secret
            )
            keep.add((run.name, name))
    ctx.metrics.forget_expiry(request.namespace, request.name, keep)


def _known_series(ctx: OperatorContext, request: SyncRequest) -> set[tuple[str, str]]:
    return ctx.metrics.expiry_series(request.namespace, request.name)


async def finalize_sync(ctx: OperatorContext, request: SyncRequest, connections: Connections) -> Outcome:
    """The CertificateSync is being deleted: remove what it deployed, or leave it (Orphan).

    A deletion that cannot reach its appliance is retried; the documented way out for an appliance
    that is gone for good is `kubectl patch certsync NAME --type merge -p
    '{"spec":{"deletionPolicy":"Orphan"}}'`, which lets the finalizer go without touching it.
    """
    try:
        spec = parse_sync(request.spec)
    except ReconcileError:
        spec = None
    if spec is None or spec.deletion_policy == "Orphan":
        message = "deletionPolicy is Orphan: the appliance is left as it is"
        if spec is None:
            message = "the spec is invalid, so nothing is known to remove: the appliance is left as it is"
        ctx.appliances.forget_owner(f"{request.namespace}/{request.name}")
        ctx.claims.gone(f"{request.namespace}/{request.name}")
        return Outcome(conditions=[], events=[Event("Normal", k8s_reasons.Orphaned, message)])
    removal = replace(spec, dry_run=False, remove_inactive=True)
    intents = IntentWriter(ctx, request.namespace, request.name, request.status)
    # Records are stored before an apply's first write (reconcile/intent.py), so a connection
    # without any never got a write from this sync: nothing to remove, no need to reach it (it
    # may be unreachable or gone, which must not hold the deletion).
    deployed = [name for name in spec.connections if _previous_records(request.status, name) != Records()]
    runs = await asyncio.gather(
        *(sync_connection(ctx, request, removal, name, connections, (), intents) for name in deployed)
    )
    errors = [r.error for r in runs if r.error is not None]
    failed = [(r.name, c) for r in runs if r.result for c in r.result.failed]
    if errors or failed:
        detail = errors[0].message if errors else f"{failed[0][0]}: {failed[0][1].message}"
        reason = errors[0].reason if errors else failed[0][1].reason
        message = (
            f"cannot remove the certificates yet ({detail}); to leave the appliance as it is, "
            "set spec.deletionPolicy to Orphan"
        )
        return Outcome(
            conditions=[],
            events=[Event("Warning", k8s_reasons.CleanupFailed, message)],
            error=transient(reason, message, retry_after=30),
        )
    removed = sum(1 for r in runs if r.result for c in r.result.certificates if c.changed)
    ctx.appliances.forget_owner(f"{request.namespace}/{request.name}")
    ctx.claims.gone(f"{request.namespace}/{request.name}")  # after the removal: a loser may bind now
    # Adopted certkeys stay (their references are the user's): each one is said once, here.
    kept = [
        Event("Normal", reasons.AdoptedKept, f"{r.name}: {c.message}")
        for r in runs
        if r.result
        for c in r.result.certificates
        if c.reason == reasons.AdoptedKept
    ]
    return Outcome(
        conditions=[],
        events=[
            Event(
                "Normal",
                k8s_reasons.Deleting,
                f"removed {removed} certificate(s) from {len(runs)} appliance(s)",
            ),
            *kept,
        ],
    )
