"""Planning removal and clean-up: inactive certificates, leftovers, unused CAs, orphaned files.

Removal unbinds only what this operator bound; a certkey someone else has bound is kept (and
said so). Leftovers are our certkeys no record explains (an apply interrupted before it could
report them): only a tag of this cluster and this CertificateSync makes one, never a tag of
another cluster or an earlier version's. CA certkeys this cluster added that no certkey on the
appliance (of any owner) links to any more are collected, children before parents. Files are
collected only when they are ours (`PlanContext.owns_file`) and no certkey uses them.
"""

from __future__ import annotations

from dataclasses import replace

from netscaler_certsync.domain import reasons
from netscaler_certsync.engine.model import CertRecord
from netscaler_certsync.engine.operations import Group, Kind, Operation
from netscaler_certsync.engine.plan_types import Action, CertPlan, PlanContext


def delete_ops(ctx: PlanContext, group: Group, name: str) -> list[Operation]:
    """Unlink, delete a certkey, and delete its files when they are ours."""
    ops = []
    if ctx.state.certkeys[name].linked_to:
        ops.append(Operation(Kind.UNLINK, group, name))
    ops.append(Operation(Kind.DELETE, group, name))
    for f in (ctx.state.cert_file(name), ctx.state.key_file(name)):
        if f and ctx.owns_file(f) and not ctx.used_elsewhere(f, name):
            ctx.dropped_files.add(f)
            ops.append(Operation(Kind.DELETE_FILE, group, f))
    return ops


def retire_group(ctx: PlanContext, cert_id: str, name: str, record: CertRecord, successor: str) -> None:
    """Delete predecessor `name` of `successor` in a clean-up group of its own, after the certificate.

    Its own group, because a refusal (1541: still referenced by something we cannot see) must not
    fail the certificate, which is served by its successor by then: the predecessor is then kept
    as a superseded record (and removed once expired) and the result carries a warning. It needs
    the certificate's group: nothing is deleted unless the successor is in place.
    """
    group = Group.retire(name)
    ctx.used_names.add(name)
    ctx.ops.extend(
        replace(op, group=group, needs=(Group.cert(cert_id),)) for op in delete_ops(ctx, group, name)
    )
    ctx.certs.append(
        CertPlan(
            cert_id,
            group,
            Action.CLEANUP,
            reasons.Removed,
            f"certkey {name}, replaced by {successor}, could not be deleted and is kept until it expires",
            certkey=name,
            records_failed=(replace(record, superseded=True, bindings=()),),
            visible=False,
        )
    )


def plan_removal(ctx: PlanContext, r: CertRecord, cause: str, *, visible: bool = True) -> None:
    group, name = Group.remove(r.certkey), r.certkey

    def note(action: Action, reason: str, message: str, **kw: object) -> None:
        ctx.certs.append(CertPlan(r.id, group, action, reason, message, certkey=name, visible=visible, **kw))  # type: ignore[arg-type]

    if r.shared:
        # Another CertificateSync's certkey: undo our bindings, never delete it.
        ours = ctx.state.bindings_of(name) & set(r.bindings) if name in ctx.state.certkeys else set()
        ctx.ops.extend(
            Operation(Kind.UNBIND, group, name, vserver=b.vserver, sni=b.sni) for b in sorted(ours)
        )
        note(Action.REMOVE, reasons.Removed, f"no longer using certkey {name} (shared)", records_failed=(r,))
        return
    if r.adopted and not r.delete_on_removal and ctx.owned(name):
        # Adopted: its references are the user's. Left in place with the last certificate and
        # its bindings; the record stays, so it is never taken for a leftover of ours.
        ctx.used_names.add(name)
        note(
            Action.KEEP,
            reasons.AdoptedKept,
            f"certkey {name} was adopted and is left in place with serial {r.serial} and its bindings "
            "(set adopt.deleteOnRemoval to delete it); it is no longer renewed",
            bindings=r.bindings,
            records_ok=(r,),
            records_failed=(r,),
        )
        return
    if not ctx.owned(name):
        # Gone already (or replaced by someone else's object, which we leave alone).
        note(Action.REMOVE, reasons.Removed, f"certkey {name} is no longer on the appliance")
        return
    if not ctx.options.remove_inactive:
        ctx.used_names.add(name)
        note(
            Action.KEEP,
            cause,
            f"certkey {name} is inactive and kept (removeInactive is off)",
            bindings=r.bindings,
            records_ok=(r,),
            records_failed=(r,),
        )
        return
    bound = ctx.state.bindings_of(name)
    ours = bound & set(r.bindings)
    ops = [Operation(Kind.UNBIND, group, name, vserver=b.vserver, sni=b.sni) for b in sorted(ours)]
    others = bound - ours
    if others:
        ctx.used_names.add(name)
        ctx.ops.extend(ops)
        where = ", ".join(b.describe() for b in sorted(others))
        note(
            Action.KEEP,
            cause,
            f"certkey {name} is inactive but still bound to {where}, not by this operator; kept",
            records_ok=(replace(r, bindings=()),),
            records_failed=(r,),
        )
        return
    ctx.ops.extend(ops + delete_ops(ctx, group, name))
    why = "no longer selected"
    if cause == reasons.CertificateExpired:
        why = f"expired on {r.not_after[:10]}" if r.not_after else "expired"
    note(Action.REMOVE, reasons.Removed, f"certkey {name} removed ({why})", records_failed=(r,))


def plan_leftovers(ctx: PlanContext) -> None:
    recorded = {r.certkey for r in ctx.previous.certificates}
    for name in sorted(ctx.state.owned_by(ctx.owner)):
        if name in recorded or name in ctx.used_names:
            continue
        ctx.mismatch = True
        if not ctx.options.remove_inactive:
            continue
        group = Group.orphan(name)
        ops = [
            Operation(Kind.UNBIND, group, name, vserver=b.vserver, sni=b.sni)
            for b in sorted(ctx.state.bindings_of(name))
        ]
        ctx.ops.extend(ops + delete_ops(ctx, group, name))
        ctx.certs.append(
            CertPlan(name, group, Action.CLEANUP, reasons.Removed, f"leftover certkey {name}", visible=False)
        )


def plan_unused_cas(ctx: PlanContext) -> None:
    links = dict(ctx.state.links_to())  # how many certkeys link to each one...
    now: dict[str, str | None] = {}  # ...once the plan has run; certkey -> its link, where changed

    def relink(name: str, target: str | None) -> None:
        old = now[name] if name in now else (ck.linked_to if (ck := ctx.state.certkeys.get(name)) else None)
        if old:
            links[old] = links.get(old, 0) - 1
        if target:
            links[target] = links.get(target, 0) + 1
        now[name] = target

    for op in ctx.ops:
        if op.kind in (Kind.UNLINK, Kind.DELETE):
            relink(op.name, None)
        elif op.kind is Kind.LINK:
            relink(op.name, op.link_to)
    needed = set(ctx.ca_names.values())
    # Whoever links to a CA certkey keeps it: `links` counts every certkey on the appliance. Only
    # this cluster's (and an earlier version's) are candidates; another cluster removes its own.
    # A CA bound with -CA trusts client certificates: engine/client_ca decides when it goes.
    candidates = {n for n in ctx.state.operator_cas() if ctx.owned_ca(n)} - needed - ctx.state.ca_bound()
    while True:
        free = sorted(n for n in candidates if links.get(n, 0) <= 0)
        if not free:
            return
        for name in free:
            candidates.discard(name)
            group = Group.gc(name)
            ctx.ops.extend(delete_ops(ctx, group, name))
            relink(name, None)  # a deleted intermediate no longer holds its root
            ctx.certs.append(
                CertPlan(
                    name, group, Action.CLEANUP, reasons.Removed, f"unused CA certkey {name}", visible=False
                )
            )


def _loaded_after(ctx: PlanContext) -> set[str]:
    """The files some certkey loads once every operation of the plan has run: those of the
    certkeys the plan leaves alone (from the state's index, not a pass over every certkey) and
    those the plan's certkeys load at its end."""
    final: dict[str, tuple[str | None, str | None] | None] = {}
    for op in ctx.ops:
        if op.kind in (Kind.ADD, Kind.CHANGE):
            final[op.name] = (op.cert, op.key)
        elif op.kind is Kind.DELETE:
            final[op.name] = None
    loaded = set(ctx.state.referenced_files())
    for name in final:
        for f in (ctx.state.cert_file(name), ctx.state.key_file(name)):
            if f and ctx.state.users_of(f) <= final.keys():
                loaded.discard(f)
    return loaded | {f for pair in final.values() if pair for f in pair if f}


def settle_files(ctx: PlanContext) -> None:
    """Judge every file deletion against the appliance as the plan leaves it, not as it is.

    A deletion planned beside a certkey's keeps a file the plan goes on loading (a successor or
    another certificate that reuses the key: the key file is content-addressed, so it is reused,
    not uploaded again). A file of ours that several certkeys load, all deleted by the plan, goes
    once the last of them is gone: in a group of its own that needs every group deleting them.
    """
    loaded = _loaded_after(ctx)
    ctx.ops[:] = [op for op in ctx.ops if op.kind is not Kind.DELETE_FILE or op.name not in loaded]
    deleting: dict[str, Group] = {op.name: op.group for op in ctx.ops if op.kind is Kind.DELETE}
    planned = {op.name for op in ctx.ops if op.kind is Kind.DELETE_FILE}
    ctx.dropped_files = set(planned)
    users = {f for name in deleting for f in (ctx.state.cert_file(name), ctx.state.key_file(name)) if f}
    for f in sorted(users - loaded - planned):
        if not ctx.owns_file(f):
            continue
        needs = tuple(dict.fromkeys(deleting[u] for u in sorted(ctx.state.users_of(f))))
        ctx.ops.append(Operation(Kind.DELETE_FILE, Group.gc(f), f, needs=needs))
        ctx.dropped_files.add(f)


def plan_orphan_files(ctx: PlanContext) -> None:
    if ctx.state.files is None:
        return
    referenced = ctx.state.referenced_files() - ctx.dropped_files
    for f in ctx.state.files_maybe_of(ctx.owner, ctx.cluster):
        if ctx.owns_file(f) and f not in referenced and f not in ctx.new_files and f not in ctx.dropped_files:
            ctx.ops.append(Operation(Kind.DELETE_FILE, Group.gc(), f))
