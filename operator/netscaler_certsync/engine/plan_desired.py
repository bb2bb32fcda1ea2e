"""Planning one active certificate: create, renew (in place or beside), relink, rebind — or nothing.

Which certkey is "the" deployment of a certificate: the one its record names, else the rendered
name, else the successor name (`preserveOnRenewal: false`) — among certkeys that are ours and not
claimed by another certificate. If one of them already holds exactly this certificate (its file
name is content-addressed), nothing is uploaded; otherwise the deployment is renewed: in place
with `update` (new files first, old files deleted after), or as a new certkey bound in place of
the old one, which is kept (unbound) until it expires.

With `preserveOnRenewal`, a renewal whose issuer changed is not done in place when a new certkey
can take over without a gap (bound only as default certificate, only by us): the new certkey is
linked, bound in place of the old one, and the old one is deleted after (`retire_group`). The
successor keeps its name at later renewals (its record remembers the rendered `base` name).
"""

from __future__ import annotations

from dataclasses import dataclass

from netscaler_certsync.domain import (
    CertificateMaterial,
    LeafFiles,
    leaf_file_fingerprint,
    leaf_file_names,
    leaf_file_owner,
    reasons,
)
from netscaler_certsync.domain import successor_name as successor
from netscaler_certsync.engine.model import BindingSpec, CertRecord, DesiredCertificate
from netscaler_certsync.engine.operations import Kind, Operation
from netscaler_certsync.engine.plan_chain import link_ops
from netscaler_certsync.engine.plan_cleanup import retire_group
from netscaler_certsync.engine.plan_types import Action, CertPlan, PlanContext


@dataclass
class _Cert:
    """One certificate's planning inputs, gathered once."""

    ctx: PlanContext
    d: DesiredCertificate
    m: CertificateMaterial
    files: LeafFiles
    needs: tuple[str, ...]
    active: CertRecord | None
    recorded: set[BindingSpec]
    wanted: set[BindingSpec]

    def uploads(self) -> list[Operation]:
        out = []
        for name, content in ((self.files.cert, self.m.leaf.pem), (self.files.key, self.m.key_pem)):
            self.ctx.new_files.add(name)
            if not self.ctx.has_file(name):
                out.append(
                    Operation(Kind.UPLOAD, self.d.id, name, needs=self.needs, content=content.encode())
                )
        return out

    def rebind(self, name: str, current: set[BindingSpec], removable: set[BindingSpec]) -> list[Operation]:
        """Bind what is wanted and missing; unbind what we bound and is no longer wanted."""
        out = [
            Operation(Kind.BIND, self.d.id, name, needs=self.needs, vserver=b.vserver, sni=b.sni)
            for b in sorted(self.wanted - current)
        ]
        out += [
            Operation(Kind.UNBIND, self.d.id, name, vserver=b.vserver, sni=b.sni)
            for b in sorted((current - self.wanted) & removable)
        ]
        return out

    def retire(self, name: str) -> tuple[list[Operation], list[Operation], CertRecord]:
        """Unbind a predecessor where its successor takes over: (before the binds, after, record).

        SNI bindings go first (NetScaler refuses two SNI certificates for one domain, 1674); a
        default binding is replaced by the successor's bind and unbound after, so there is no gap.
        """
        state = self.ctx.state
        bound = state.bindings_of(name)
        pre = [
            Operation(Kind.UNBIND, self.d.id, name, vserver=b.vserver, sni=b.sni)
            for b in sorted(bound & self.wanted)
            if b.sni
        ]
        post = [
            Operation(Kind.UNBIND, self.d.id, name, vserver=b.vserver, sni=b.sni)
            for b in sorted(bound & (self.wanted | self.recorded))
            if not b.sni
        ]
        prev = self.active if self.active and self.active.certkey == name else None
        ck = state.certkeys[name]
        record = CertRecord(
            id=self.d.id,
            certkey=name,
            fingerprint=prev.fingerprint if prev else "",
            serial=prev.serial if prev else (ck.serial or ""),
            not_after=prev.not_after if prev else (ck.not_after.isoformat() if ck.not_after else ""),
            files=tuple(f for f in (state.cert_file(name), state.key_file(name)) if f),
            superseded=True,
        )
        return pre, post, record


def _cn(dn: str | None) -> str:
    """The CN of a distinguished name (NetScaler's comma-joined form or RFC 4514), else all of it."""
    parts = [p.strip() for p in (dn or "").split(",")]
    return next((p[3:].strip() for p in parts if p.upper().startswith("CN=")), (dn or "?").strip())


def _has_sni(c: _Cert, name: str) -> bool:
    return any(b.sni for b in c.ctx.state.bindings_of(name))


def _issuer_swap(c: _Cert, old: str) -> str | None:
    """ "old issuer → new issuer" when renewing `old` in place would have to change its CA link and
    a new certkey can take over without a gap, else None.

    A certkey links to one CA at a time and `update` cannot carry a link, so in place the new leaf
    is served without its chain between `update` and `link`. A new certkey bound as default
    replaces the old one atomically; an SNI binding cannot be (NetScaler refuses two SNI
    certificates for one domain, 1674), nor can a binding someone else made be moved by us.
    """
    before, after = link_ops(c.ctx, c.d, old, new=False)
    if not before or not after:
        return None
    state = c.ctx.state
    bound = state.bindings_of(old)
    if any(b.sni for b in bound) or bound - c.wanted - c.recorded:
        return None
    ck = state.certkeys[old]
    ca = state.certkeys.get(ck.linked_to or "")
    was = _cn(ck.issuer) if ck.issuer else _cn(ca.subject) if ca and ca.subject else ck.linked_to or "?"
    return f"{was} → {_cn(c.m.leaf.issuer)}"


def _precheck(ctx: PlanContext, d: DesiredCertificate, m: CertificateMaterial) -> bool:
    """Fail `d` before any write when its chain or a vserver cannot be had; True when it may go on."""
    if ctx.options.link_chain:
        missing = [ctx.ca_failed[c.fingerprint] for c in m.chain if c.fingerprint in ctx.ca_failed]
        if missing:
            ctx.fail(d, reasons.NameCollision, missing[0])
            return False
    if ctx.state.vservers is not None:
        known = ctx.state.bound_vservers() | ctx.state.vservers
        unknown = sorted({b.vserver for b in d.bindings if b.vserver not in known})
        if unknown:
            ctx.fail(d, reasons.VServerNotFound, f"no SSL virtual server named {', '.join(unknown)}")
            return False
    if d.name in ctx.used_names:
        ctx.fail(
            d, reasons.NameCollision, f"certkey name {d.name} is used by another certificate of this sync"
        )
        return False
    return True


def plan_desired(ctx: PlanContext, d: DesiredCertificate) -> list[CertRecord]:
    """Plan one active certificate; returns its superseded records that are due for removal."""
    m = d.material
    assert m is not None
    if not _precheck(ctx, d, m):
        return []
    records = ctx.previous.for_id(d.id)
    active = next((r for r in records if not r.superseded), None)
    c = _Cert(
        ctx,
        d,
        m,
        leaf_file_names(ctx.owner, m.fingerprint, m.key_id),
        tuple(f"ca:{ca.fingerprint}" for ca in m.chain) if ctx.options.link_chain else (),
        active,
        set(active.bindings) if active else set(),
        set(d.bindings),
    )
    limit = ctx.options.name_limit
    candidates = ([active.certkey] if active else []) + [d.name, successor(d.name, m.fingerprint, limit)]
    takeable = [n for n in dict.fromkeys(candidates) if ctx.ours_to_take(d.id, n)]
    same = next((n for n in takeable if ctx.state.cert_file(n) == c.files.cert), None)
    # The deployment to renew: the recorded one, else one under the rendered name (records lost).
    retired = {r.certkey for r in records if r.superseded}
    olds = ([active.certkey] if active else []) + ([d.name] if d.name not in retired else [])
    old = next((n for n in olds if n in takeable and n != same), None)
    extra: list[CertRecord] = []
    ops: list[Operation]
    shared = False
    retiring: tuple[str, CertRecord] | None = None  # a predecessor deleted in its own group, after
    # The name the deployment was rendered from: a successor (issuer change) keeps its own name.
    base = active.base_name if active and active.certkey == old else old
    # A deployed certkey keeps its name when the wanted name changes (certKeyName edited): it moves
    # at the next renewal, to the new name if that is free.
    renaming = (
        ctx.options.preserve_on_renewal
        and old is not None
        and old != d.name
        and base != d.name
        and d.name not in ctx.state.certkeys
    )
    in_place = same is None and old is not None and ctx.options.preserve_on_renewal and not renaming
    swap = _issuer_swap(c, old) if in_place and old is not None else None

    if same is None and old is None and d.name in ctx.state.certkeys and not ctx.owned(d.name):
        other_owner = leaf_file_owner(ctx.state.cert_file(d.name) or "")
        if other_owner is not None:
            if leaf_file_fingerprint(ctx.state.cert_file(d.name) or "") != m.fingerprint[:40]:
                serial = ctx.state.certkeys[d.name].serial
                ctx.fail(
                    d,
                    reasons.NameCollision,
                    f"certkey {d.name} belongs to another CertificateSync of this operator and holds another "
                    f"certificate (serial {serial}); it is shared once both hold the same one",
                )
                return []
            shared = True

    if shared:
        # The same certificate, deployed by another CertificateSync: bind it, touch nothing else.
        name = d.name
        removable = c.recorded if active and active.certkey == name else set()
        ops = c.rebind(name, ctx.state.bindings_of(name), removable)
        action = Action.UPDATE if ops else Action.UNCHANGED
        reason = reasons.Synced if ops else reasons.Unchanged
        message = f"certkey {name} is shared with another CertificateSync; bindings managed here"
    elif same is not None:
        name = same
        before, after = link_ops(ctx, d, name, new=False)
        pre: list[Operation] = []
        post: list[Operation] = []
        if old is not None:  # a replacement or a rename that was interrupted
            pre, post, record = c.retire(old)
            foreign = ctx.state.bindings_of(old) - c.wanted - c.recorded
            if ctx.options.preserve_on_renewal and not foreign:
                retiring = (old, record)  # a rename or an issuer change: the old certkey goes
            else:
                extra.append(record)  # kept beside its successor until it expires
        removable = c.recorded if active and active.certkey == name else set()
        ops = before + after + pre + c.rebind(name, ctx.state.bindings_of(name), removable) + post
        action = Action.UPDATE if ops else Action.UNCHANGED
        reason = reasons.Synced if ops else reasons.Unchanged
        message = f"certkey {name}: links or bindings updated" if ops else f"certkey {name} is up to date"
        # A successor (issuer change) keeps its name: it is where `d.name` lives now.
        settled = (active is not None and active.certkey == name and active.base_name == d.name) or (
            name == successor(d.name, m.fingerprint, limit)
        )
        if ctx.options.preserve_on_renewal and name != d.name and not settled:
            message += f"; it becomes {d.name} at the next renewal"
    elif old is not None and swap is not None:
        # The issuer changed and the old certkey is bound only as default certificate, only by us:
        # a new certkey, linked first, then bound in its place (atomic), so no handshake ever sees
        # the new leaf without its chain; the old certkey goes afterwards.
        name = d.name if d.name not in ctx.state.certkeys else successor(d.name, m.fingerprint, limit)
        if name in ctx.state.certkeys or name in ctx.used_names:
            ctx.fail(
                d,
                reasons.NameCollision,
                f"certkey {name} already exists on the appliance and was not created by this operator",
            )
            return []
        _, after = link_ops(ctx, d, name, new=True)
        add = Operation(Kind.ADD, d.id, name, needs=c.needs, cert=c.files.cert, key=c.files.key)
        _, post, record = c.retire(old)
        ops = [*c.uploads(), add, *after, *c.rebind(name, set(), set()), *post]
        retiring = (old, record)
        action, reason = Action.REPLACE, reasons.Renewed
        message = (
            f"new certkey {name} (serial {m.leaf.serial}) replaces {old}: the issuer changed ({swap}), "
            "and an in-place update would serve the new certificate without its chain for a moment"
        )
    elif in_place and old is not None:
        name = old
        before, after = link_ops(ctx, d, name, new=False)
        stale = {f for f in (ctx.state.cert_file(name), ctx.state.key_file(name)) if f}
        stale = {f for f in stale if leaf_file_owner(f) == ctx.owner and not ctx.used_elsewhere(f, name)}
        stale -= {c.files.cert, c.files.key}  # a renewal that keeps its key keeps its key file
        ctx.dropped_files |= stale
        change = Operation(Kind.CHANGE, d.id, name, needs=c.needs, cert=c.files.cert, key=c.files.key)
        # No unlink before the update: NetScaler breaks a link that no longer fits the new leaf
        # itself (warning 1587), and an unlink first would serve the old leaf without its chain
        # too. The link follows at once (apply unlinks and retries should an old link remain).
        # Without a new issuer to link to, the old link is dropped after the update.
        ops = [
            *c.uploads(),
            change,
            *(after or before),
            *c.rebind(name, ctx.state.bindings_of(name), c.recorded),
        ]
        ops += [Operation(Kind.DELETE_FILE, d.id, f) for f in sorted(stale)]
        action, reason = Action.RENEW, reasons.Renewed
        message = f"certkey {name} updated in place to serial {m.leaf.serial}"
        if before and after:
            why = "it has an SNI binding" if _has_sni(c, name) else "someone else bound it too"
            message += (
                f"; the issuer changed and {why}, so it was not replaced by a new certkey: clients "
                "without the intermediate may have failed for the moment between update and link"
            )
    else:
        name = d.name
        if old is not None and d.name in ctx.state.certkeys:
            name = successor(d.name, m.fingerprint, limit)
        if name in ctx.state.certkeys or name in ctx.used_names:
            ctx.fail(
                d,
                reasons.NameCollision,
                f"certkey {name} already exists on the appliance and was not created by this operator",
            )
            return []
        _, after = link_ops(ctx, d, name, new=True)
        add = Operation(Kind.ADD, d.id, name, needs=c.needs, cert=c.files.cert, key=c.files.key)
        ops = [*c.uploads(), add, *after]
        if old is not None and renaming:
            # The name changed: the renewal is the moment to move (NetScaler will not load the same
            # certificate twice, so earlier it would take an outage). The old certkey goes after.
            pre, post, record = c.retire(old)
            ops += pre + c.rebind(name, set(), set()) + post
            leftover = ctx.state.bindings_of(old) - c.wanted - c.recorded
            if leftover:
                extra.append(record)  # bound by someone else: kept, as on removal
            else:
                retiring = (old, record)
            action, reason = Action.REPLACE, reasons.Renewed
            message = f"new certkey {name} (serial {m.leaf.serial}) replaces {old} (renamed)"
        elif old is not None:
            pre, post, record = c.retire(old)
            extra.append(record)
            ops += pre + c.rebind(name, set(), set()) + post
            action, reason = Action.REPLACE, reasons.Renewed
            message = f"new certkey {name} (serial {m.leaf.serial}) replaces {old}, kept until removal"
        else:
            ops += c.rebind(name, set(), set())
            action, reason = Action.CREATE, reasons.Synced
            message = f"certkey {name} created (serial {m.leaf.serial})"

    superseded = [r for r in records if r.superseded and r.certkey != name]
    due = [r for r in superseded if ctx.options.remove_inactive and r.expired(ctx.now)]
    kept = [r for r in superseded if r not in due and all(r.certkey != e.certkey for e in extra)]
    ctx.used_names.add(name)
    ctx.used_names.update(r.certkey for r in extra + kept)
    ctx.ops.extend(ops)
    if retiring is not None:
        retire_group(ctx, d.id, *retiring, successor=name)
    record = CertRecord(
        id=d.id,
        certkey=name,
        fingerprint=m.fingerprint,
        serial=m.leaf.serial,
        not_after=m.leaf.not_after.isoformat(),
        files=(c.files.cert, c.files.key),
        bindings=tuple(sorted(c.wanted)),
        shared=shared,
        base=d.name if name != d.name and not shared else "",
    )
    ctx.certs.append(
        CertPlan(
            d.id,
            d.id,
            action,
            reason,
            message,
            certkey=name,
            desired=d,
            bindings=tuple(sorted(c.wanted)),
            records_ok=(record, *extra, *kept),
            records_failed=tuple(records),
        )
    )
    return due
