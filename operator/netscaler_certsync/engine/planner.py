"""The pure planner: desired certificates + appliance state + previous records → ordered operations.

No I/O: everything it knows is in its arguments, so every scenario is a table row in
`tests/unit`. The rules, in the order the plan runs them:

1. CA certificates of every active chain: reuse one already on the appliance (ours by name, or
   anyone's with the same serial and subject), else upload `cs-ca-<fp>.crt` and add `csca-<fp>`;
   link each of *our* CA certkeys to its issuer. Foreign CA certkeys are never changed.
2. Each desired certificate, alone in its group: create, renew (in place with `update` or beside
   the old one), relink, rebind — or nothing at all when the appliance already matches.
3. Inactive certificates (deleted, deselected, expired) when removal is on: unbind what we bound,
   unlink, delete the certkey and its files. A certkey still bound by someone else is kept.
4. Clean-up: our certkeys no record explains (left by an interrupted apply), CA certkeys of ours
   nothing links to any more, and files of ours that no certkey uses.

Ownership: a leaf certkey is ours when its certificate file carries our owner tag
(`domain.leaf_file_names`); a CA certkey when both its name and file follow the CA scheme.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from netscaler_certsync.domain import (
    CertInfo,
    ca_certkey_name,
    ca_file_name,
    is_ca_certkey_name,
    is_ca_file_name,
    leaf_file_names,
    leaf_file_owner,
    owner_id,
    reasons,
    successor_name,
)
from netscaler_certsync.engine.model import BindingSpec, CertRecord, DesiredCertificate, Records, SyncOptions
from netscaler_certsync.engine.operations import Kind, Operation
from netscaler_certsync.engine.state import ApplianceState


class Action:
    CREATE = "create"
    RENEW = "renew"
    REPLACE = "replace"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    REMOVE = "remove"
    KEEP = "keep"
    FAILED = "failed"
    CLEANUP = "cleanup"


@dataclass(frozen=True)
class CertPlan:
    """The intent for one certificate (or one leftover), and the records either way it ends."""

    id: str
    group: str
    action: str
    reason: str
    message: str
    certkey: str | None = None
    desired: DesiredCertificate | None = None
    bindings: tuple[BindingSpec, ...] = ()
    records_ok: tuple[CertRecord, ...] = ()
    """Records if every operation of the group succeeds."""
    records_failed: tuple[CertRecord, ...] = ()
    """Records if the group fails: what we still know we own."""
    visible: bool = True
    """False for internal clean-up (orphans): not reported as a certificate."""


@dataclass(frozen=True)
class Plan:
    operations: tuple[Operation, ...]
    certificates: tuple[CertPlan, ...]
    mismatch: bool = False
    """Records and appliance disagree (an interrupted apply or a change by hand): look for leftovers."""

    @property
    def writes(self) -> int:
        return len(self.operations)


def render_plan(plan: Plan) -> list[str]:
    """The plan as readable lines, one per operation (the dry run's output)."""
    return [op.describe() for op in plan.operations]


def _norm_dn(dn: str | None) -> frozenset[str]:
    return frozenset(p.strip().replace(" = ", "=") for p in (dn or "").split(",") if p.strip())


@dataclass
class _Planner:
    desired: Sequence[DesiredCertificate]
    state: ApplianceState
    previous: Records
    options: SyncOptions
    now: dt.datetime
    owner: str = ""
    ops: list[Operation] = field(default_factory=list)
    certs: list[CertPlan] = field(default_factory=list)
    ca_names: dict[str, str] = field(default_factory=dict)  # fingerprint → certkey name
    ca_failed: dict[str, str] = field(default_factory=dict)  # fingerprint → message
    used_names: set[str] = field(default_factory=set)  # leaf certkeys the desired set uses
    new_files: set[str] = field(default_factory=set)
    dropped_files: set[str] = field(default_factory=set)
    mismatch: bool = False

    # --- ownership ---------------------------------------------------------------------------

    def owned(self, name: str | None) -> bool:
        file = self.state.cert_file(name) if name else None
        return file is not None and leaf_file_owner(file) == self.owner

    def owned_ca(self, name: str) -> bool:
        file = self.state.cert_file(name)
        return is_ca_certkey_name(name) and file is not None and is_ca_file_name(file)

    def has_file(self, name: str) -> bool:
        return self.state.files is not None and name in self.state.files

    # --- 1. CA certificates ------------------------------------------------------------------

    def find_ca(self, ca: CertInfo) -> tuple[str, bool] | None:
        """(name, exists) for a CA certificate, or None when its name is taken by something else."""
        name = ca_certkey_name(ca.fingerprint, self.options.name_limit)
        ck = self.state.certkeys.get(name)
        if ck is not None:
            same = (
                self.state.cert_file(name) == ca_file_name(ca.fingerprint) or (ck.serial or "") == ca.serial
            )
            return (name, True) if same else None
        for other in self.state.certkeys.values():
            if (
                other.key is None
                and (other.serial or "").upper() == ca.serial
                and other.subject
                and _norm_dn(other.subject) == _norm_dn(ca.subject)
            ):
                return other.name, True
        return name, False

    def plan_cas(self, active: list[DesiredCertificate]) -> None:
        chains: dict[str, tuple[CertInfo, CertInfo | None]] = {}
        for d in active:
            assert d.material is not None
            chain = d.material.chain
            for i, ca in enumerate(chain):
                chains.setdefault(ca.fingerprint, (ca, chain[i + 1] if i + 1 < len(chain) else None))
        # Upload issuers before the certificates they issue (the link needs both present).
        order = sorted(chains, key=lambda fp: -_depth(fp, chains))
        for fp in order:
            ca, _ = chains[fp]
            found = self.find_ca(ca)
            if found is None:
                self.ca_failed[fp] = (
                    f"CA certkey name {ca_certkey_name(fp, self.options.name_limit)} is taken by another "
                    "certificate not created by this operator"
                )
                continue
            name, exists = found
            self.ca_names[fp] = name
            if not exists:
                file = ca_file_name(fp)
                if not self.has_file(file):
                    self.ops.append(
                        Operation(Kind.UPLOAD, f"ca:{fp}", file, content=ca.pem.encode(), cert=file)
                    )
                self.new_files.add(file)
                self.ops.append(Operation(Kind.ADD, f"ca:{fp}", name, cert=file, ca_fp=fp))
        for fp in order:
            ca, parent = chains[fp]
            name = self.ca_names.get(fp)
            if name is None or parent is None or parent.fingerprint not in self.ca_names:
                continue
            new = name not in self.state.certkeys
            if not new and not self.owned_ca(name):
                continue  # someone else's CA certkey: its links are theirs
            target = self.ca_names[parent.fingerprint]
            current = None if new else self.state.certkeys[name].linked_to
            if current == target:
                continue
            needs = (f"ca:{parent.fingerprint}",)
            if current:
                self.ops.append(Operation(Kind.UNLINK, f"ca:{fp}", name, needs=needs))
            self.ops.append(
                Operation(
                    Kind.LINK, f"ca:{fp}", name, needs=needs, link_to=target, link_to_fp=parent.fingerprint
                )
            )

    # --- 2. desired certificates -------------------------------------------------------------

    def fail(self, d: DesiredCertificate, reason: str, message: str) -> None:
        keep = tuple(self.previous.for_id(d.id))
        self.used_names.update(r.certkey for r in keep)
        current = next((r for r in keep if not r.superseded), None)
        self.certs.append(
            CertPlan(
                d.id,
                d.id,
                Action.FAILED,
                reason,
                message,
                certkey=current.certkey if current else d.name,
                desired=d,
                bindings=current.bindings if current else (),
                records_ok=keep,
                records_failed=keep,
            )
        )

    def link_ops(
        self, d: DesiredCertificate, name: str, *, new: bool
    ) -> tuple[list[Operation], list[Operation]]:
        """(before-change, after-change) operations that make `name` link to its issuer."""
        assert d.material is not None
        if not self.options.link_chain:
            return [], []
        chain = d.material.chain
        target = self.ca_names.get(chain[0].fingerprint) if chain else None
        current = None if new else self.state.certkeys[name].linked_to
        if current == target:
            return [], []
        before = [Operation(Kind.UNLINK, d.id, name)] if current else []
        after = (
            [Operation(Kind.LINK, d.id, name, link_to=target, link_to_fp=chain[0].fingerprint)]
            if target
            else []
        )
        return before, after

    def plan_desired(self, d: DesiredCertificate) -> None:
        m = d.material
        assert m is not None
        recs = self.previous.for_id(d.id)
        active_rec = next((r for r in recs if not r.superseded), None)
        superseded = [r for r in recs if r.superseded]
        limit = self.options.name_limit
        files = leaf_file_names(self.owner, m.fingerprint)
        needs = tuple(f"ca:{c.fingerprint}" for c in m.chain) if self.options.link_chain else ()
        missing_ca = [self.ca_failed[c.fingerprint] for c in m.chain if c.fingerprint in self.ca_failed]
        if self.options.link_chain and missing_ca:
            self.fail(d, reasons.NameCollision, missing_ca[0])
            return
        known = self.state.bound_vservers() | (self.state.vservers or set())
        unknown = [
            b.vserver for b in d.bindings if self.state.vservers is not None and b.vserver not in known
        ]
        if unknown:
            self.fail(
                d, reasons.VServerNotFound, f"no SSL virtual server named {', '.join(sorted(set(unknown)))}"
            )
            return

        candidates = [active_rec.certkey] if active_rec else []
        candidates += [d.name, successor_name(d.name, m.fingerprint, limit)]
        same = next((c for c in candidates if self.owned(c) and self.state.cert_file(c) == files.cert), None)
        old = active_rec.certkey if active_rec and self.owned(active_rec.certkey) else None
        if old is None and self.owned(d.name) and d.name != same:
            old = d.name
        if old == same:
            old = None
        recorded = set(active_rec.bindings) if active_rec else set()
        desired_b = set(d.bindings)
        ops: list[Operation] = []
        record_base = dict(
            id=d.id,
            fingerprint=m.fingerprint,
            serial=m.leaf.serial,
            not_after=m.leaf.not_after.isoformat(),
            files=(files.cert, files.key),
            bindings=tuple(sorted(desired_b)),
        )
        kept_superseded = [
            r for r in superseded if not (self.options.remove_inactive and r.expired(self.now))
        ]
        removed_superseded = [r for r in superseded if r not in kept_superseded]

        def uploads() -> list[Operation]:
            out = []
            for fname, content in ((files.cert, m.leaf.pem.encode()), (files.key, m.key_pem.encode())):
                self.new_files.add(fname)
                if not self.has_file(fname):
                    out.append(Operation(Kind.UPLOAD, d.id, fname, needs=needs, content=content, cert=fname))
            return out

        def rebind(name: str, current: set[BindingSpec], remove_from: set[BindingSpec]) -> list[Operation]:
            out = [
                Operation(Kind.BIND, d.id, name, needs=needs, vserver=b.vserver, sni=b.sni)
                for b in sorted(desired_b - current)
            ]
            out += [
                Operation(Kind.UNBIND, d.id, name, vserver=b.vserver, sni=b.sni)
                for b in sorted((current - desired_b) & remove_from)
            ]
            return out

        def retire(name: str) -> tuple[list[Operation], list[Operation], CertRecord]:
            """Unbind a predecessor where its successor takes over: (before binds, after binds, record)."""
            bound = self.state.bindings_of(name)
            pre = [
                Operation(Kind.UNBIND, d.id, name, vserver=b.vserver, sni=b.sni)
                for b in sorted(bound & desired_b)
                if b.sni
            ]  # NetScaler refuses two SNI certs for a domain
            post = [
                Operation(Kind.UNBIND, d.id, name, vserver=b.vserver, sni=b.sni)
                for b in sorted(bound & (desired_b | recorded))
                if not b.sni
            ]
            prev = active_rec if active_rec and active_rec.certkey == name else None
            rec = CertRecord(
                id=d.id,
                certkey=name,
                fingerprint=prev.fingerprint if prev else "",
                serial=prev.serial if prev else (self.state.certkeys[name].serial or ""),
                not_after=prev.not_after if prev else _iso(self.state.certkeys[name].not_after),
                files=tuple(f for f in (self.state.cert_file(name), self.state.key_file(name)) if f),
                superseded=True,
            )
            return pre, post, rec

        extra_records: list[CertRecord] = []
        if same is not None:
            name = same
            before, after = self.link_ops(d, name, new=False)
            current_b = self.state.bindings_of(name)
            from_rec = recorded if active_rec and active_rec.certkey == name else set()
            pre: list[Operation] = []
            post: list[Operation] = []
            if old is not None:  # a replacement that was interrupted, or records from before it
                pre, post, rec = retire(old)
                extra_records.append(rec)
            ops = before + after + pre + rebind(name, current_b, from_rec) + post
            action = Action.UPDATE if ops else Action.UNCHANGED
            reason = reasons.Synced if ops else reasons.Unchanged
            message = (
                f"certkey {name} is up to date" if not ops else f"certkey {name}: links or bindings updated"
            )
        elif old is not None and self.options.preserve_on_renewal:
            name = old
            before, after = self.link_ops(d, name, new=False)
            old_files = {
                f
                for f in (self.state.cert_file(name), self.state.key_file(name))
                if f and leaf_file_owner(f) == self.owner
            } - {files.cert, files.key}
            self.dropped_files |= old_files
            ops = (
                uploads()
                + before
                + [Operation(Kind.CHANGE, d.id, name, needs=needs, cert=files.cert, key=files.key)]
                + after
                + rebind(name, self.state.bindings_of(name), recorded)
            )
            ops += [Operation(Kind.DELETE_FILE, d.id, f) for f in sorted(old_files)]
            action, reason = Action.RENEW, reasons.Renewed
            message = f"certkey {name} updated in place to serial {m.leaf.serial}"
        else:
            if old is not None:
                name = (
                    d.name
                    if d.name not in self.state.certkeys
                    else successor_name(d.name, m.fingerprint, limit)
                )
            else:
                name = d.name
            if name in self.state.certkeys:
                self.fail(
                    d,
                    reasons.NameCollision,
                    f"certkey {name} already exists on the appliance and was not created by this operator",
                )
                return
            if name in self.used_names:
                self.fail(
                    d,
                    reasons.NameCollision,
                    f"certkey name {name} is used by another certificate of this sync",
                )
                return
            _, after = self.link_ops(d, name, new=True)
            ops = [
                *uploads(),
                Operation(Kind.ADD, d.id, name, needs=needs, cert=files.cert, key=files.key),
                *after,
            ]
            if old is not None:
                pre, post, rec = retire(old)
                extra_records.append(rec)
                ops += pre + rebind(name, set(), set()) + post
                action, reason = Action.REPLACE, reasons.Renewed
                message = (
                    f"new certkey {name} (serial {m.leaf.serial}) replaces {old}, which is kept until removal"
                )
            else:
                ops += rebind(name, set(), set())
                action, reason = Action.CREATE, reasons.Synced
                message = f"certkey {name} created (serial {m.leaf.serial})"
        self.used_names.add(name)
        self.used_names.update(r.certkey for r in extra_records + kept_superseded)
        self.ops.extend(ops)
        record = CertRecord(certkey=name, **record_base)  # type: ignore[arg-type]
        self.certs.append(
            CertPlan(
                d.id,
                d.id,
                action,
                reason,
                message,
                certkey=name,
                desired=d,
                bindings=tuple(sorted(desired_b)),
                records_ok=(record, *extra_records, *kept_superseded),
                records_failed=tuple(recs) if recs else (),
            )
        )
        for r in removed_superseded:
            self.plan_removal(r, reasons.CertificateExpired, visible=False)

    # --- 3. removal --------------------------------------------------------------------------

    def plan_removal(self, r: CertRecord, cause: str, *, visible: bool = True) -> None:
        group = f"remove:{r.certkey}"
        name = r.certkey
        if not self.owned(name):
            # Gone already (or replaced by someone else's object, which we leave alone).
            self.certs.append(
                CertPlan(
                    r.id,
                    group,
                    Action.REMOVE,
                    reasons.Removed,
                    f"certkey {name} is no longer on the appliance",
                    certkey=name,
                    visible=visible,
                )
            )
            return
        if not self.options.remove_inactive:
            self.used_names.add(name)
            self.certs.append(
                CertPlan(
                    r.id,
                    group,
                    Action.KEEP,
                    cause,
                    f"certkey {name} is inactive and kept (removeInactive is off)",
                    certkey=name,
                    bindings=r.bindings,
                    records_ok=(r,),
                    records_failed=(r,),
                    visible=visible,
                )
            )
            return
        bound = self.state.bindings_of(name)
        ours = bound & set(r.bindings)
        ops = [Operation(Kind.UNBIND, group, name, vserver=b.vserver, sni=b.sni) for b in sorted(ours)]
        others = bound - ours
        if others:
            self.used_names.add(name)
            self.ops.extend(ops)
            kept = CertRecord(**{**r.__dict__, "bindings": ()})
            where = ", ".join(b.describe() for b in sorted(others))
            self.certs.append(
                CertPlan(
                    r.id,
                    group,
                    Action.KEEP,
                    cause,
                    f"certkey {name} is inactive but still bound to {where}, not by this operator; kept",
                    certkey=name,
                    records_ok=(kept,),
                    records_failed=(r,),
                    visible=visible,
                )
            )
            return
        ops += self.delete_ops(group, name)
        self.ops.extend(ops)
        msg = "expired" if cause == reasons.CertificateExpired else "no longer selected"
        self.certs.append(
            CertPlan(
                r.id,
                group,
                Action.REMOVE,
                reasons.Removed,
                f"certkey {name} removed ({msg})",
                certkey=name,
                records_failed=(r,),
                visible=visible,
            )
        )

    def delete_ops(self, group: str, name: str) -> list[Operation]:
        ops = []
        if self.state.certkeys[name].linked_to:
            ops.append(Operation(Kind.UNLINK, group, name))
        ops.append(Operation(Kind.DELETE, group, name))
        for f in (self.state.cert_file(name), self.state.key_file(name)):
            if f and (leaf_file_owner(f) == self.owner or is_ca_file_name(f)):
                self.dropped_files.add(f)
                ops.append(Operation(Kind.DELETE_FILE, group, f))
        return ops

    # --- 4. clean-up -------------------------------------------------------------------------

    def plan_orphans(self) -> None:
        recorded = {r.certkey for r in self.previous.certificates}
        for name in sorted(self.state.certkeys):
            if not self.owned(name) or name in recorded or name in self.used_names:
                continue
            self.mismatch = True
            if not self.options.remove_inactive:
                continue
            group = f"orphan:{name}"
            ops = [
                Operation(Kind.UNBIND, group, name, vserver=b.vserver, sni=b.sni)
                for b in sorted(self.state.bindings_of(name))
            ]
            self.ops.extend(ops + self.delete_ops(group, name))
            self.certs.append(
                CertPlan(
                    name,
                    group,
                    Action.CLEANUP,
                    reasons.Removed,
                    f"leftover certkey {name} removed",
                    certkey=name,
                    visible=False,
                )
            )

    def plan_ca_cleanup(self) -> None:
        links = {n: ck.linked_to for n, ck in self.state.certkeys.items()}
        for op in self.ops:
            if op.kind is Kind.UNLINK:
                links[op.name] = None
            elif op.kind is Kind.LINK:
                links[op.name] = op.link_to
            elif op.kind is Kind.ADD:
                links.setdefault(op.name, None)
            elif op.kind is Kind.DELETE:
                links.pop(op.name, None)
        needed = set(self.ca_names.values())
        candidates = {n for n in self.state.certkeys if self.owned_ca(n) and n not in needed}
        while True:
            linked = {t for n, t in links.items() if t}
            free = sorted(n for n in candidates if n not in linked)
            if not free:
                return
            for name in free:
                candidates.discard(name)
                group = f"gc:{name}"
                self.ops.extend(self.delete_ops(group, name))
                links.pop(name, None)
                self.certs.append(
                    CertPlan(
                        name,
                        group,
                        Action.CLEANUP,
                        reasons.Removed,
                        f"unused CA certkey {name} removed",
                        certkey=name,
                        visible=False,
                    )
                )

    def plan_orphan_files(self) -> None:
        if self.state.files is None:
            return
        referenced = self.state.referenced_files() - self.dropped_files
        for f in sorted(self.state.files):
            ours = leaf_file_owner(f) == self.owner or is_ca_file_name(f)
            if ours and f not in referenced and f not in self.new_files and f not in self.dropped_files:
                self.ops.append(Operation(Kind.DELETE_FILE, "gc", f))

    def check_records(self) -> None:
        for r in self.previous.certificates:
            if self.state.cert_file(r.certkey) not in r.files:
                self.mismatch = True

    def run(self) -> Plan:
        self.owner = owner_id(self.options.owner)
        self.check_records()
        active, seen = [], set()
        inactive: dict[str, str] = {}
        for d in self.desired:
            if d.id in seen:
                continue
            seen.add(d.id)
            expired = (d.problem is not None and d.problem.reason == reasons.CertificateExpired) or (
                d.material is not None and d.material.leaf.expired(self.now)
            )
            if expired:
                inactive[d.id] = reasons.CertificateExpired
            elif d.material is None or d.problem is not None:
                pass
            else:
                active.append(d)
        if self.options.link_chain:
            self.plan_cas(active)
        for d in self.desired:
            if d.id in inactive:
                continue
            if d.material is None or d.problem is not None:
                p = d.problem
                self.fail(
                    d, p.reason if p else reasons.MissingData, p.message if p else "no certificate material"
                )
        for d in active:
            self.plan_desired(d)
        handled = {d.id for d in active} | {d.id for d in self.desired if d.id not in inactive}
        for r in self.previous.certificates:
            if r.id not in handled:
                self.plan_removal(r, inactive.get(r.id, reasons.Removed))
        for cid, cause in inactive.items():
            if not self.previous.for_id(cid):
                self.certs.append(
                    CertPlan(
                        cid,
                        f"remove:{cid}",
                        Action.REMOVE,
                        cause,
                        "certificate expired; not deployed",
                        certkey=None,
                    )
                )
        self.plan_orphans()
        if self.options.remove_inactive:
            self.plan_ca_cleanup()
        self.plan_orphan_files()
        return Plan(tuple(self.ops), tuple(self.certs), self.mismatch)


def _depth(fp: str, chains: dict[str, tuple[CertInfo, CertInfo | None]]) -> int:
    depth, seen = 0, set()
    while fp in chains and fp not in seen:
        seen.add(fp)
        parent = chains[fp][1]
        if parent is None:
            break
        fp, depth = parent.fingerprint, depth + 1
    return -depth


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value else ""


def plan(
    desired: Sequence[DesiredCertificate],
    state: ApplianceState,
    previous: Records,
    options: SyncOptions,
) -> Plan:
    """The operations that bring the appliance from `state` to `desired` (pure; see module doc)."""
    now = options.now or dt.datetime.now(dt.UTC)
    return _Planner(desired, state, previous, options, now).run()


__all__ = ["Action", "CertPlan", "Plan", "plan", "render_plan"]
