"""Planning one active certificate: named cases tried in order; the first that applies decides.

1. `shared`: the wanted name holds the same certificate, deployed by another CertificateSync of
   this operator — bind it, touch nothing else (or refuse when it holds another certificate);
2. `same_content`: a certkey of ours already holds exactly this certificate (its file name is
   content-addressed) — relink and rebind; finish a replacement an interrupted apply began;
3. `issuer_swap`: with `preserveOnRenewal`, a renewal whose issuer changed is not done in place
   when a new certkey can take over without a gap (bound only as default certificate, only by
   us): the new certkey is linked, bound in place of the old one, and the old one is deleted
   after (`retire_group`). The successor keeps its name at later renewals (its record remembers
   the rendered `base` name);
4. `in_place`: with `preserveOnRenewal`, renewed with `update` (new files first, old files
   deleted after);
5. `create_or_replace`: a new certkey — the first deployment, a rename (certKeyName edited, moved
   at a renewal), or a renewal beside the old certkey, which is kept until removal.

0. `adopt`: `certificates[].adopt` names an existing certkey not yet ours — update it in place
   (`plan_adopt`), or refuse with `AdoptionRefused`;

Each case returns a `Decision` (or a `Refusal`, or None when it does not apply); `plan_desired`
turns the decision into operations, records and the certificate's plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from netscaler_certsync.domain import leaf_file_fingerprint, reasons
from netscaler_certsync.engine.model import CertRecord, DesiredCertificate
from netscaler_certsync.engine.operations import Kind, Operation
from netscaler_certsync.engine.plan_adopt import adopt_ops, found, refusal
from netscaler_certsync.engine.plan_certificate import Handover, Situation, situation
from netscaler_certsync.engine.plan_chain import link_ops
from netscaler_certsync.engine.plan_cleanup import retire_group
from netscaler_certsync.engine.plan_types import Action, CertPlan, PlanContext


@dataclass(frozen=True)
class Refusal:
    """The certificate cannot be synced now: nothing is planned, its deployment is kept."""

    reason: str
    message: str


@dataclass(frozen=True)
class Decision:
    """The certkey a certificate ends on, the operations that get it there, and its predecessor's fate."""

    certkey: str
    ops: tuple[Operation, ...]
    action: Action
    reason: str
    message: str
    kept: CertRecord | None = None
    """A predecessor kept beside the certkey (superseded) until removal or expiry."""
    retiring: CertRecord | None = None
    """A predecessor deleted in its own group once the certkey is in place."""
    shared: bool = False
    adopted: bool = False
    """The certkey is an adopted one (taken over now or earlier)."""
    found: str = ""
    """What an adoption found on the certkey (for status and the dry run)."""


Case = Callable[[Situation], Decision | Refusal | None]


def _touched(ops: list[Operation]) -> tuple[Action, str]:
    return (Action.UPDATE, reasons.Synced) if ops else (Action.UNCHANGED, reasons.Unchanged)


def _cn(dn: str | None) -> str:
    """The CN of a distinguished name (NetScaler's comma-joined form or RFC 4514), else all of it."""
    parts = [p.strip() for p in (dn or "").split(",")]
    return next((p[3:].strip() for p in parts if p.upper().startswith("CN=")), (dn or "?").strip())


def adopt(s: Situation) -> Decision | Refusal | None:
    """`adopt` names a certkey not yet ours: take it over in place (see `plan_adopt`)."""
    if s.desired.adopt is None or s.holder is not None or s.predecessor is not None:
        return None
    why = refusal(s)
    if why is not None:
        return Refusal(reasons.AdoptionRefused, why)
    name = s.desired.adopt.certkey
    held = found(s, name)
    message = (
        f"certkey {name} adopted and updated in place to serial {s.material.leaf.serial} (it held {held})"
    )
    change = _issuer_change_in_place(s, name)
    if change is not None:
        message += (
            f"; the issuer changed ({change}) and an adopted certkey is never replaced (its references "
            "stay on it), so clients without the new intermediate may have failed for the moment "
            "between update and link"
        )
    ops = adopt_ops(s, name)
    return Decision(name, tuple(ops), Action.ADOPT, reasons.Adopted, message, adopted=True, found=held)


def shared(s: Situation) -> Decision | Refusal | None:
    """The wanted name is another CertificateSync's certkey (of this operator): share it if it
    holds the same certificate (NetScaler holds one certkey per certificate)."""
    state, name = s.ctx.state, s.desired.name
    if s.holder is not None or s.predecessor is not None or name not in state.certkeys or s.ctx.owned(name):
        return None
    if not s.ctx.same_cluster(name):
        return None  # someone else's, another cluster's included: `create_or_replace` reports it
    file = state.cert_file(name) or ""
    if leaf_file_fingerprint(file) != s.material.fingerprint[:40]:
        return Refusal(
            reasons.NameCollision,
            f"certkey {name} belongs to another CertificateSync of this operator and holds another "
            f"certificate (serial {state.certkeys[name].serial}); it is shared once both hold the same one",
        )
    ops = s.rebind(name, state.bindings_of(name), s.recorded_on(name))
    message = f"certkey {name} is shared with another CertificateSync; bindings managed here"
    return Decision(name, tuple(ops), *_touched(ops), message, shared=True)


def same_content(s: Situation) -> Decision | None:
    """A certkey of ours holds exactly this certificate: relink, rebind, finish a replacement."""
    name = s.holder
    if name is None:
        return None
    before, after = link_ops(s.ctx, s.desired, name, new=False)
    ops = [*_rekey(s, name), *before, *after]
    handover = s.hand_over(s.predecessor) if s.predecessor is not None else None  # interrupted
    if handover is not None:
        ops += handover.before
    ops += s.rebind(name, s.ctx.state.bindings_of(name), s.recorded_on(name))
    if handover is not None:
        ops += handover.after
    message = f"certkey {name}: links or bindings updated" if ops else f"certkey {name} is up to date"
    wanted = s.desired.name
    # A successor (issuer change) keeps its name: it is where the wanted name lives now.
    settled = (s.active is not None and s.active.certkey == name and s.active.base_name == wanted) or (
        name == s.successor
    )
    if s.ctx.options.preserve_on_renewal and name != wanted and not settled:
        message += f"; it becomes {wanted} at the next renewal"
    return _decided(name, ops, *_touched(ops), message, handover)


def _rekey(s: Situation, name: str) -> list[Operation]:
    """The same certificate whose key must be encrypted with another passphrase (the passphrase
    changed, or `encryptKey` was turned on): upload the new key file and `update` in place with
    `passplain`; the old key file goes after. A key to be stored unencrypted is left as it is."""
    ctx = s.ctx
    current = ctx.state.key_file(name)
    if s.material.passplain is None or current is None or current == s.files.key:
        return []
    stale = ctx.owns_file(current) and not ctx.used_elsewhere(current, name)
    if stale:
        ctx.dropped_files.add(current)
    change = s.update(name)
    return [*s.uploads(), change, *([Operation(Kind.DELETE_FILE, s.group, current)] if stale else [])]


def _issuer_change(s: Situation, old: str) -> str | None:
    """ "old issuer → new issuer" when renewing `old` in place would have to change its CA link and
    a new certkey can take over without a gap, else None.

    A certkey links to one CA at a time and `update` cannot carry a link, so in place the new leaf
    is served without its chain between `update` and `link`. A new certkey bound as default
    replaces the old one atomically; an SNI binding cannot be (NetScaler refuses two SNI
    certificates for one domain, 1674), nor can a binding someone else made be moved by us.
    """
    before, after = link_ops(s.ctx, s.desired, old, new=False)
    if not before or not after:
        return None
    state = s.ctx.state
    if any(b.sni for b in state.bindings_of(old)) or s.foreign_bindings(old):
        return None
    ck = state.certkeys[old]
    ca = state.certkeys.get(ck.linked_to or "")
    was = _cn(ck.issuer) if ck.issuer else _cn(ca.subject) if ca and ca.subject else ck.linked_to or "?"
    return f"{was} → {_cn(s.material.leaf.issuer)}"


def _issuer_change_in_place(s: Situation, name: str) -> str | None:
    """ "old issuer → new issuer" when updating `name` in place must change its CA link, else None."""
    before, after = link_ops(s.ctx, s.desired, name, new=False)
    if not before or not after:
        return None
    ck = s.ctx.state.certkeys[name]
    return f"{_cn(ck.issuer) if ck.issuer else ck.linked_to or '?'} → {_cn(s.material.leaf.issuer)}"


def issuer_swap(s: Situation) -> Decision | Refusal | None:
    """The issuer changed and the old certkey can be replaced without a gap: a new certkey."""
    old = s.predecessor
    change = _issuer_change(s, old) if s.in_place and old is not None and not s.adopted else None
    if change is None:
        return None
    return _new_certkey(
        s,
        Action.REPLACE,
        reasons.Renewed,
        lambda name: (
            f"new certkey {name} (serial {s.material.leaf.serial}) replaces {old}: the issuer changed "
            f"({change}), and an in-place update would serve the new certificate without its chain "
            "for a moment"
        ),
    )


def in_place(s: Situation) -> Decision | None:
    """Renew the deployment under its name: upload, `update`, link; the old files go after."""
    name = s.predecessor
    if not s.in_place or name is None:
        return None
    ctx = s.ctx
    before, after = link_ops(ctx, s.desired, name, new=False)
    stale = {f for f in (ctx.state.cert_file(name), ctx.state.key_file(name)) if f}
    stale = {f for f in stale if ctx.owns_file(f) and not ctx.used_elsewhere(f, name)}
    stale -= {s.files.cert, s.files.key}  # a renewal that keeps its key keeps its key file
    ctx.dropped_files |= stale
    change = s.update(name)
    # No unlink before the update: NetScaler breaks a link that no longer fits the new leaf
    # itself (warning 1587), and an unlink first would serve the old leaf without its chain
    # too. The link follows at once (apply unlinks and retries should an old link remain).
    # Without a new issuer to link to, the old link is dropped after the update.
    ops = [*s.uploads(), change, *(after or before), *s.rebind(name, ctx.state.bindings_of(name), s.recorded)]
    ops += [Operation(Kind.DELETE_FILE, s.group, f) for f in sorted(stale)]
    message = f"certkey {name} updated in place to serial {s.material.leaf.serial}"
    if before and after:
        sni = any(b.sni for b in ctx.state.bindings_of(name))
        why = "it has an SNI binding" if sni else "someone else bound it too"
        message += (
            f"; the issuer changed and {why}, so it was not replaced by a new certkey: clients "
            "without the intermediate may have failed for the moment between update and link"
        )
    return Decision(name, tuple(ops), Action.RENEW, reasons.Renewed, message)


def create_or_replace(s: Situation) -> Decision | Refusal:
    """A new certkey: the first deployment, a rename at renewal, or a renewal beside the old one."""
    old, serial = s.predecessor, s.material.leaf.serial
    if old is None:
        return _new_certkey(
            s, Action.CREATE, reasons.Synced, lambda name: f"certkey {name} created (serial {serial})"
        )
    # A rename: the renewal is the moment to move (NetScaler will not load the same certificate
    # twice, so earlier it would take an outage). Else `preserveOnRenewal: false`.
    how = " (renamed)" if s.renaming else ", kept until removal"
    return _new_certkey(
        s,
        Action.REPLACE,
        reasons.Renewed,
        lambda name: f"new certkey {name} (serial {serial}) replaces {old}{how}",
    )


CASES: tuple[Case, ...] = (adopt, shared, same_content, issuer_swap, in_place, create_or_replace)
"""Tried in order; `create_or_replace` always decides."""


def _new_certkey(
    s: Situation, action: Action, reason: str, describe: Callable[[str], str]
) -> Decision | Refusal:
    """Add a new certkey (under the wanted name, else the successor name while the predecessor
    holds it), link it, bind it, and hand the predecessor's bindings over to it."""
    ctx, wanted, old = s.ctx, s.desired.name, s.predecessor
    name = s.successor if old is not None and wanted in ctx.state.certkeys else wanted
    if name in ctx.state.certkeys or name in ctx.used_names:
        return Refusal(
            reasons.NameCollision,
            f"certkey {name} already exists on the appliance and {ctx.whose(name)}; "
            "it is left as it is and this certificate is not deployed",
        )
    _, link = link_ops(ctx, s.desired, name, new=True)
    ops = [*s.uploads(), s.add(name), *link]
    handover = s.hand_over(old) if old is not None else None
    ops += handover.before if handover else ()
    ops += s.rebind(name, set(), set())
    ops += handover.after if handover else ()
    return _decided(name, ops, action, reason, describe(name), handover)


def _decided(
    name: str, ops: list[Operation], action: Action, reason: str, message: str, handover: Handover | None
) -> Decision:
    """A decision whose predecessor (if any) is deleted after, or kept beside, as `handover` says."""
    if handover is None:
        return Decision(name, tuple(ops), action, reason, message)
    if handover.deleted:
        return Decision(name, tuple(ops), action, reason, message, retiring=handover.record)
    return Decision(name, tuple(ops), action, reason, message, kept=handover.record)


#: How many existing vserver names a VServerNotFound message lists (a large appliance has thousands).
NAMES_LISTED = 10


def _no_such_vserver(unknown: list[str], known: frozenset[str]) -> str:
    """Which names are unknown, and which SSL vservers the appliance does have (a typo shows)."""
    names = sorted(known)
    listed = ", ".join(names[:NAMES_LISTED]) + (
        f" and {len(names) - NAMES_LISTED} more" if len(names) > NAMES_LISTED else ""
    )
    there = f"the SSL vservers there are {listed}" if names else "the appliance has no SSL vserver"
    return f"no SSL virtual server named {', '.join(unknown)}; {there}"


def _precheck(ctx: PlanContext, d: DesiredCertificate) -> Refusal | None:
    """Why `d` must fail before any write (its chain or a vserver cannot be had), if it must."""
    assert d.material is not None
    if ctx.options.link_chain:
        missing = [ctx.ca_failed[c.fingerprint] for c in d.material.chain if c.fingerprint in ctx.ca_failed]
        if missing:
            return Refusal(reasons.NameCollision, missing[0])
    if ctx.state.vservers is not None:
        known = ctx.state.bound_vservers() | ctx.state.vservers
        unknown = sorted({b.vserver for b in d.bindings if b.vserver not in known})
        if unknown:
            return Refusal(reasons.VServerNotFound, _no_such_vserver(unknown, known))
    if d.name in ctx.used_names:
        return Refusal(
            reasons.NameCollision, f"certkey name {d.name} is used by another certificate of this sync"
        )
    return _foreign_default(ctx, d)


def _foreign_default(ctx: PlanContext, d: DesiredCertificate) -> Refusal | None:
    """A default binding would replace another cluster's default certificate of the same key type
    (NetScaler swaps the default on bind): refused before any write. A hand-made (untagged) one
    is replaced: that is how a vserver is moved to the operator."""
    assert d.material is not None
    family = d.material.key_type.split("-", 1)[0]
    for b in d.bindings:
        if b.sni:
            continue
        # A clash on the wanted name itself is a NameCollision, which says whose the name is.
        for name in sorted(ctx.state.defaults_of(b.vserver) - {d.name}):
            kind = ctx.state.certkeys[name].key_type if name in ctx.state.certkeys else None
            if kind in (None, family) and ctx.other_clusters(name):
                return Refusal(
                    reasons.BindingConflict,
                    f"vserver {b.vserver}'s default {family} certificate is certkey {name}, which "
                    f"{ctx.whose(name).removeprefix('belongs to ')}; it is never replaced, so this "
                    "certificate is not deployed (bind it as SNI, or to another vserver)",
                )
    return None


def plan_desired(ctx: PlanContext, desired: DesiredCertificate) -> list[CertRecord]:
    """Plan one active certificate; returns its superseded records that are due for removal."""
    refused = _precheck(ctx, desired)
    if refused is None:
        s = situation(ctx, desired)
        decided = next(outcome for case in CASES if (outcome := case(s)) is not None)
        if isinstance(decided, Decision):
            return _commit(s, decided)
        refused = decided
    ctx.fail(desired, refused.reason, refused.message)
    return []


def _commit(s: Situation, decision: Decision) -> list[CertRecord]:
    """Add the decision's operations and the certificate's plan to the context."""
    ctx, desired, material, name = s.ctx, s.desired, s.material, decision.certkey
    beside = [decision.kept] if decision.kept else []
    superseded = [r for r in s.records if r.superseded and r.certkey != name]
    due = [r for r in superseded if ctx.options.remove_inactive and r.expired(ctx.now)]
    kept = [r for r in superseded if r not in due and all(r.certkey != b.certkey for b in beside)]
    ctx.used_names.add(name)
    ctx.used_names.update(r.certkey for r in beside + kept)
    ctx.ops.extend(decision.ops)
    record = CertRecord(
        id=desired.id,
        certkey=name,
        fingerprint=material.fingerprint,
        serial=material.leaf.serial,
        not_after=material.leaf.not_after.isoformat(),
        files=(s.files.cert, s.files.key),
        bindings=tuple(sorted(s.wanted)),
        shared=decision.shared,
        base=desired.name if name != desired.name and not decision.shared else "",
        adopted=decision.adopted or s.adopted,
        delete_on_removal=bool(desired.adopt and desired.adopt.delete_on_removal),
    )
    ctx.certs.append(
        CertPlan(
            desired.id,
            s.group,
            decision.action,
            decision.reason,
            decision.message,
            certkey=name,
            desired=desired,
            bindings=tuple(sorted(s.wanted)),
            records_ok=(record, *beside, *kept),
            records_failed=s.records,
            found=decision.found,
        )
    )
    # After the certificate's plan: should the certificate fail, its records (the predecessor,
    # still bound, as the current deployment) come first and the retirement's superseded,
    # unbound copy of the predecessor is dropped as a duplicate (`sync._records`).
    if decision.retiring is not None:
        retire_group(ctx, desired.id, decision.retiring.certkey, decision.retiring, successor=name)
    return due
