"""`sync_appliance()`: gather → plan → apply → result, for one appliance, under its lock."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from netscaler_certsync.domain import cluster_tag, reasons
from netscaler_certsync.engine import snapshot as snapshots
from netscaler_certsync.engine.appliances import Appliance, Appliances
from netscaler_certsync.engine.apply import ApplyOutcome
from netscaler_certsync.engine.client_ca import plan_client_auth, sync_client_auth
from netscaler_certsync.engine.errors import to_aborted
from netscaler_certsync.engine.locks import Priority, appliance_key
from netscaler_certsync.engine.model import (
    ApplianceResult,
    BindingSpec,
    CertificateResult,
    CertRecord,
    CertState,
    ClientAuth,
    ClientAuthResult,
    ClientCARecord,
    DesiredCertificate,
    Records,
    SyncOptions,
)
from netscaler_certsync.engine.operations import Group, GroupKind, Kind, Operation
from netscaler_certsync.engine.planner import Action, CertPlan, Plan, plan, render_plan
from netscaler_certsync.engine.runner import apply_plan
from netscaler_certsync.engine.state import ApplianceState, Counter, read_files, read_state, read_vservers
from netscaler_certsync.nitro import CertKey, NitroClient
from netscaler_certsync.nitro import errors as ne

_STATE_OF = {
    Action.CREATE: CertState.SYNCED,
    Action.RENEW: CertState.SYNCED,
    Action.ADOPT: CertState.SYNCED,
    Action.REPLACE: CertState.SYNCED,
    Action.UPDATE: CertState.SYNCED,
    Action.UNCHANGED: CertState.SYNCED,
    Action.REMOVE: CertState.REMOVED,
    Action.KEEP: CertState.KEPT,
    Action.FAILED: CertState.FAILED,
}


#: Stores the records an apply may end with before it writes (see `sync_appliance`).
IntentCallback = Callable[[Records], Awaitable[None]]


def intent_records(previous: Records, p: Plan) -> Records:
    """`previous` plus everything `p` may create: the bindings it may make, added to the record of
    the same certkey, and the records of certkeys it may add (or adopt), after them.

    A superset of what the apply will report however it ends, so that a crash at any point leaves
    nothing of ours unaccounted for: bindings cannot carry an owner tag on the appliance, so a
    binding is ours only if a record says so. Records of `previous` keep their fields and their
    place (the first unsuperseded record of a certificate stays its active one), so an intent whose
    writes never happened plans the same as `previous` would; deletions are not applied here.
    """
    merged = {(r.id, r.certkey): r for r in previous.certificates}
    for r in (r for cp in p.certificates for r in cp.records_ok):
        key = (r.id, r.certkey)
        old = merged.get(key)
        if old is None:
            merged[key] = r
        elif extra := set(r.bindings) - set(old.bindings):
            merged[key] = replace(old, bindings=tuple(sorted(set(old.bindings) | extra)))
    return replace(previous, certificates=tuple(merged.values()))


async def gather_and_plan(
    client: NitroClient,
    desired: Sequence[DesiredCertificate],
    previous: Records,
    options: SyncOptions,
    counter: Counter,
    *,
    scan_files: bool = False,
    reuse: ApplianceState | None = None,
) -> tuple[ApplianceState, Plan]:
    """Read as little as the plan needs: vservers only for new bindings, files only when needed.

    From `reuse`, a snapshot (see `engine/snapshot.py`), only what it lacks is read: the vservers when a
    wanted one is not known to exist, the files when it has none (or `options.scan_files`)."""
    state = reuse if reuse is not None else await read_state(client, counter)
    wanted = {b.vserver for d in desired for b in d.bindings}
    if wanted - state.bound_vservers() - (state.vservers or frozenset()):
        state = state.with_extra(vservers=await read_vservers(client, counter))
    result = plan(desired, state, previous, options)
    if (scan_files or options.scan_files or result.operations or result.mismatch) and (
        state.files is None or options.scan_files
    ):
        state = state.with_extra(
            files=await read_files(client, counter, options.file_location or client.ssl_dir)
        )
        result = plan(desired, state, previous, options)  # with the files: leftovers to clean up
    return state, result


#: What a dry run says of each action: the plan's messages say what was done, and a dry run did none of it.
_WOULD = {
    Action.CREATE: "would create certkey {name}",
    Action.RENEW: "would renew certkey {name}",
    Action.ADOPT: "would adopt certkey {name} and update it in place",
    Action.REPLACE: "would replace certkey {name} with a new certkey",
    Action.UPDATE: "would update the links or bindings of certkey {name}",
    Action.REMOVE: "would remove certkey {name}",
}


def _would(cp: CertPlan) -> str:
    text = _WOULD[cp.action].format(name=cp.certkey or cp.id)
    serial = cp.desired.material.leaf.serial if cp.desired and cp.desired.material else None
    if serial and cp.action is not Action.REMOVE:
        text += f" (serial {serial})"
    if cp.found:
        text += f"; it holds {cp.found}"
    return f"dry run: {text}; nothing was written"


def _result(
    cp: CertPlan, outcome: ApplyOutcome | None, planned: set[Group] | None = None
) -> CertificateResult:
    """`planned`: in a dry run, the groups the plan has operations for (None: not a dry run)."""
    failure = outcome.failed.get(cp.group) if outcome else None
    d = cp.desired
    m = d.material if d else None
    if failure is not None:
        state, (reason, message) = CertState.FAILED, failure
    elif planned is not None and cp.group in planned and cp.action in _WOULD:
        state, reason, message = CertState.PLANNED, reasons.Planned, _would(cp)
    else:
        state, reason, message = _STATE_OF.get(cp.action, CertState.SYNCED), cp.reason, cp.message
    # Report what is deployed: the new certificate only when its operations took effect.
    shown = cp.records_ok if state in (CertState.SYNCED, CertState.KEPT) else cp.records_failed
    current = next((r for r in shown if not r.superseded), None)
    if state == CertState.SYNCED and m is not None:
        serial, not_after, fp = m.leaf.serial, m.leaf.not_after.isoformat(), m.fingerprint
    elif current is not None:
        serial, not_after, fp = current.serial, current.not_after, current.fingerprint
    else:
        serial = not_after = fp = None
    bound = cp.bindings if state == CertState.SYNCED else (current.bindings if current else ())
    return CertificateResult(
        id=cp.id,
        certkey=(current.certkey if current and state != CertState.SYNCED else cp.certkey),
        state=state,
        reason=reason,
        message=message,
        serial=serial,
        not_after=not_after,
        fingerprint=fp,
        bound=tuple(bound),
        changed=bool(outcome and cp.group in outcome.done),
        adopted=bool(current and current.adopted),
    )


def _needs_save(*, wrote: bool, previous: Records, entry: Appliance) -> bool:
    """Save when this apply sent a write, when an apply of this process wrote here and did not
    save (it was cut short), or when the records say an earlier one may not have saved: its save
    failed (`unsaved`), or it stored its intent and never reported (`pending`, a process that
    stopped mid-apply). The appliance is never asked (`show ns config` is not in the documented
    least-privilege policy, docs/decisions/110-save-without-asking.md)."""
    return wrote or previous.unsaved or previous.pending or entry.saves.unsaved


def _partial(
    cp: CertPlan, applied: Sequence[Operation], uncertain: Sequence[Operation] = ()
) -> list[CertRecord]:
    """Records of a group that failed half-way: what it had, plus the certkeys it added and the
    bindings it made (so that a later removal knows to undo them), minus what it deleted. An add
    or bind whose outcome is unknown counts as made: claiming it costs a removal that finds it
    gone; not claiming it leaves it to be taken for someone else's forever."""
    recs = {r.certkey: r for r in cp.records_failed}
    planned = {r.certkey: r for r in cp.records_ok}
    for op in [*applied, *(op for op in uncertain if op.kind in (Kind.ADD, Kind.BIND))]:
        if op.kind is Kind.ADD and op.name not in recs and op.name in planned:
            recs[op.name] = replace(planned[op.name], bindings=())
        elif op.kind is Kind.DELETE:
            recs.pop(op.name, None)
        elif op.kind in (Kind.BIND, Kind.UNBIND) and op.name in recs and op.vserver is not None:
            r = recs[op.name]
            b = BindingSpec(op.vserver, op.sni)
            now = set(r.bindings) | {b} if op.kind is Kind.BIND else set(r.bindings) - {b}
            recs[op.name] = replace(r, bindings=tuple(sorted(now)))
    return list(recs.values())


def _unrecorded_uploads(records: Records, outcome: ApplyOutcome) -> bool:
    named = {f for r in records.certificates for f in r.files}
    written = [*outcome.applied, *outcome.uncertain]
    return any(
        op.kind is Kind.UPLOAD and op.group in outcome.failed and op.name not in named for op in written
    )


def _blocked_retirement(cp: CertPlan, outcome: ApplyOutcome) -> bool:
    """A predecessor's deletion that never ran because its certificate's own group failed."""
    return cp.group.kind is GroupKind.RETIRE and Group.cert(cp.id) in outcome.failed


def _records(p: Plan, outcome: ApplyOutcome) -> Records:
    out: list[CertRecord] = []
    for cp in p.certificates:
        if cp.group in outcome.failed:
            out.extend(
                _partial(
                    cp,
                    [op for op in outcome.applied if op.group == cp.group],
                    [op for op in outcome.uncertain if op.group == cp.group],
                )
            )
        else:
            out.extend(cp.records_ok)
    # A predecessor whose certificate failed is still that certificate's record (first): its
    # retirement group must not add it a second time as superseded.
    seen: set[tuple[str, str]] = set()
    unique = []
    for r in out:
        if (r.id, r.certkey) not in seen:
            seen.add((r.id, r.certkey))
            unique.append(r)
    return Records(tuple(unique))


@dataclass(frozen=True)
class _Applied:
    """What an apply did under the lock, and whether the configuration must now be saved."""

    result: ApplianceResult
    needs_save: bool
    clean: bool
    """No failure and no warning: nothing for the next apply to look for (`Appliance.clean`)."""


async def _keep_snapshot(
    client: NitroClient,
    entry: Appliance,
    state: ApplianceState,
    p: Plan,
    options: SyncOptions,
    listed_at: float,
) -> Mapping[str, CertKey]:
    """Leave the next apply this appliance's state as this one's operations made it; returns the
    certkeys read back for it after the writes (verify reads them again only if they are not here)."""
    if options.snapshot_max_age <= 0:
        return {}  # nobody would use it
    with contextlib.suppress(ne.NitroError):  # the sync succeeded; the next apply lists afresh
        after, listed, fresh = await snapshots.refresh(client, state, p.operations)
        entry.snapshot.store(after, entry.snapshot.now() if listed else listed_at)
        entry.listing = after
        return fresh
    return {}


def _vanished(previous: Records, state: ApplianceState) -> tuple[str, ...]:
    """Recorded certkeys the appliance does not have (records of a `pending` intent excepted:
    their apply may never have created them)."""
    if previous.pending:
        return ()
    return tuple(sorted({r.certkey for r in previous.certificates} - set(state.certkeys)))


def _save_failed(exc: ne.NitroError) -> str:
    """Why the configuration is not saved, after a save failed; trouble with the whole appliance
    (transport, authentication) aborts instead."""
    if isinstance(exc, ne.TransportError | ne.AuthenticationError):
        raise to_aborted(exc) from exc
    return f"saving the configuration failed: {exc}"


async def sync_appliance(
    client: NitroClient,
    desired: Sequence[DesiredCertificate],
    previous: Records,
    options: SyncOptions,
    *,
    appliances: Appliances,
    appliance: str | None = None,
    on_applied: Callable[[], None] | None = None,
    on_intent: IntentCallback | None = None,
    client_auth: Sequence[ClientAuth] = (),
) -> ApplianceResult:
    """Bring one appliance to the desired certificates; see `netscaler_certsync.engine`.

    `appliances` is the operator's engine state (`engine/appliances.py`); `appliance` keys its
    entry (lock, snapshot, saves), by default the client's endpoint and partition. `on_applied`
    is called once the writes are done and the lock is released, before the wait for the (shared)
    configuration save.

    `on_intent` stores ownership before it exists: after planning and before the first write, it
    is awaited with `intent_records(previous, plan)` whenever those differ from `previous` (the
    plan may add a certkey or a binding no record names yet). It must return only once the records
    are stored where the next apply's `previous` comes from; if it raises, nothing is written and
    the exception propagates. Without it, what an apply cut short (cancelled, aborted, or its
    result never stored) bound is unknown to the next one, which then leaves it as someone else's.

    `client_auth`: the vservers' client-authentication CAs (`engine/client_ca.py`), kept after
    the certificates under the same lock; CA bindings the records name and nothing asks for any
    more are removed (pass `()` on deletion). A dry run plans them with the same planner and
    lists their operations after the certificates' (`ApplianceResult.operations`).
    """
    key = appliance or appliance_key(client.endpoint, client.partition)
    entry = appliances[key]
    entry.owners.add(options.owner)
    counter = Counter()
    async with entry.lock.turn(options.priority):
        if entry.node != client.endpoint:  # an HA pair switched roles: read the new primary afresh
            entry.snapshot.drop()
            entry.clean.clear()
            entry.node = client.endpoint
        client.on_request.append(counter)
        try:
            applied = await _sync(client, desired, previous, options, counter, entry, on_intent, client_auth)
        finally:
            client.on_request.remove(counter)
            if counter.writes:
                entry.saves.wrote()  # unsaved until a save covers it, however this apply ends
    # The lock is released: the save is shared with the applies queued behind this one.
    if on_applied is not None:
        on_applied()
    result = applied.result
    if applied.needs_save:
        result = await _save(client, entry, options.priority, result)
    if applied.clean and not result.records.unsaved:
        entry.clean.add(options.owner)
    return result


async def _save(
    client: NitroClient, entry: Appliance, priority: Priority, result: ApplianceResult
) -> ApplianceResult:
    """Save the configuration (with whoever else queued meanwhile: engine/saves.py)."""
    try:
        await entry.saves.save(client, priority)
    except ne.NitroError as exc:
        entry.snapshot.drop()  # live but unsaved: a restart would bring back what the snapshot lacks
        return replace(result, records=replace(result.records, unsaved=True), not_saved=_save_failed(exc))
    return replace(result, saved=True, writes=result.writes + 1)


async def _sync(
    client: NitroClient,
    desired: Sequence[DesiredCertificate],
    previous: Records,
    options: SyncOptions,
    counter: Counter,
    entry: Appliance,
    on_intent: IntentCallback | None,
    client_auth: Sequence[ClientAuth] = (),
) -> _Applied:
    scan = options.owner not in entry.clean
    entry.clean.discard(options.owner)
    # Taken, not read: whatever way this apply ends other than below, the next one lists afresh.
    # After a failed save nothing in memory can be trusted: a restart since brought back the saved
    # configuration (issue 16 #12), so this apply looks at the appliance.
    reused = entry.snapshot.take(0 if previous.unsaved else options.snapshot_max_age)
    listed_at = reused[1] if reused else entry.snapshot.now()
    try:
        state, p = await gather_and_plan(
            client, desired, previous, options, counter, scan_files=scan, reuse=reused and reused[0]
        )
        entry.listing = state
        # A snapshot vouches for the appliance's state, not for this client's access: an apply that
        # would send nothing proves its session (perhaps with credentials the appliance refuses)
        # with one read; one that writes logs in with its first write.
        if not client.logged_in and (not p.operations or options.dry_run):
            await client.version()
    except ne.NitroError as exc:
        raise to_aborted(exc) from exc
    lines = tuple(render_plan(p))
    if options.dry_run:
        entry.snapshot.store(state, listed_at)
        if not scan:
            entry.clean.add(options.owner)  # nothing was written: as clean as before
        ca_ops, auth = await _preview_client_auth(client, client_auth, previous, options, p)
        lines += tuple(op.describe() for op in ca_ops)
        dry = ApplianceResult(
            vanished=_vanished(previous, state),
            certificates=tuple(
                _result(cp, None, {op.group for op in p.operations}) for cp in p.certificates if cp.visible
            ),
            records=previous,
            changed=False,
            saved=False,
            reads=counter.reads,
            writes=0,
            operations=lines,
            client_auth=auth,
        )
        return _Applied(dry, needs_save=False, clean=False)
    if on_intent is not None and p.operations:
        intent = intent_records(previous, p)
        if intent != previous:
            await on_intent(intent)
    outcome = ApplyOutcome()
    await apply_plan(
        client,
        p,
        counter,
        options.file_location or client.ssl_dir,
        concurrency=client.max_concurrency,
        out=outcome,
    )
    records = replace(_records(p, outcome), client_cas=previous.client_cas)
    if _unrecorded_uploads(records, outcome):
        # A file is on the appliance (or may be) that no record names: uploaded for a certkey that
        # was never added. Keep the records pending, as an interrupted apply's intent is, so the
        # next apply saves and a deletion still reaches the appliance to find it by its owner tag.
        records = replace(records, pending=True)
    clean_certs = not outcome.failed
    read_back = await _keep_snapshot(client, entry, state, p, options, listed_at) if clean_certs else {}
    auth, records = await _client_auth(client, client_auth, records, options, counter, entry, on_intent)
    changed = bool(outcome.done) or any(r.changed for r in auth)
    warnings = [
        f"{cp.message.replace(' removed', '')}: {outcome.failed[cp.group][1]}"
        for cp in p.certificates
        if not cp.visible and cp.group in outcome.failed and not _blocked_retirement(cp, outcome)
    ]
    if Group.gc() in outcome.failed:
        warnings.append(f"clean-up of leftover files failed: {outcome.failed[Group.gc()][1]}")
    needs_save = _needs_save(wrote=counter.writes > 0, previous=previous, entry=entry)
    clean = clean_certs and not warnings and not any(r.failed for r in auth)
    result = ApplianceResult(
        vanished=_vanished(previous, state),
        certificates=tuple(_result(cp, outcome) for cp in p.certificates if cp.visible),
        records=records,
        changed=changed,
        saved=False,
        reads=counter.reads,
        writes=counter.writes,
        operations=lines,
        warnings=tuple(warnings),
        client_auth=auth,
        read_back=read_back,
    )
    return _Applied(result, needs_save, clean)


async def _preview_client_auth(
    client: NitroClient,
    wants: Sequence[ClientAuth],
    previous: Records,
    options: SyncOptions,
    p: Plan,
) -> tuple[tuple[Operation, ...], tuple[ClientAuthResult, ...]]:
    """A dry run's client-CA operations: the apply's own planner, reads only (see `_client_auth`)."""
    if not wants and not previous.client_cas:
        return (), ()
    adding = frozenset(op.name for op in p.operations if op.kind is Kind.ADD and op.key is None)
    try:
        return await plan_client_auth(
            client,
            wants,
            previous.client_cas,
            cluster=cluster_tag(options.cluster),
            name_limit=options.name_limit,
            adding=adding,
        )
    except ne.NitroError as exc:
        raise to_aborted(exc) from exc


async def _client_auth(
    client: NitroClient,
    wants: Sequence[ClientAuth],
    records: Records,
    options: SyncOptions,
    counter: Counter,
    entry: Appliance,
    on_intent: IntentCallback | None,
) -> tuple[tuple[ClientAuthResult, ...], Records]:
    """The client CAs, after the certificates (a chain CA they share is then already there)."""
    if not wants and not records.client_cas:
        return (), records

    async def store(cas: tuple[ClientCARecord, ...]) -> None:
        if on_intent is not None:
            await on_intent(replace(records, client_cas=cas))

    writes = counter.writes
    try:
        auth, cas = await sync_client_auth(
            client,
            wants,
            records.client_cas,
            cluster=cluster_tag(options.cluster),  # the tag in file names, as the planner's
            name_limit=options.name_limit,
            on_intent=store,
        )
    finally:
        if counter.writes != writes:
            entry.snapshot.drop()  # the snapshot knows nothing of these writes: the next apply lists
    return auth, replace(records, client_cas=cas)
