"""One active certificate as the planner sees it (`Situation`), and the operations its cases build.

A `Situation` is gathered once per certificate: the material, its content-addressed file names,
its records, and which of our certkeys matter — the `holder` (already holds exactly this
certificate) and the `predecessor` (the deployment this certificate renews). Which certkey is the
deployment: the one its record names, else the rendered name, else the successor name
(`preserveOnRenewal: false`, issuer changes) — among certkeys that are ours and not claimed by
another certificate.
"""

from __future__ import annotations

from dataclasses import dataclass

from netscaler_certsync.domain import CertificateMaterial, LeafFiles, leaf_file_names
from netscaler_certsync.domain import successor_name as successor_of
from netscaler_certsync.engine.model import BindingSpec, CertRecord, DesiredCertificate
from netscaler_certsync.engine.operations import Group, Kind, Operation
from netscaler_certsync.engine.plan_types import PlanContext


@dataclass(frozen=True)
class Handover:
    """How a predecessor makes way for the certkey that takes over from it."""

    before: tuple[Operation, ...]
    """Unbinds that must precede the successor's binds (SNI: NetScaler refuses a second one, 1674)."""
    after: tuple[Operation, ...]
    """Unbinds after the successor's binds (a default binding is replaced without a gap)."""
    record: CertRecord
    """The predecessor as a superseded record."""
    deleted: bool
    """Deleted after the successor is in place (its own group); else kept beside it until removal."""


@dataclass(frozen=True)
class Situation:
    """One active certificate's planning inputs, gathered once (see the module doc)."""

    ctx: PlanContext
    desired: DesiredCertificate
    material: CertificateMaterial
    files: LeafFiles
    needs: tuple[Group, ...]
    """The CA groups this certificate's operations wait for."""
    records: tuple[CertRecord, ...]
    active: CertRecord | None
    """The record of the current (not superseded) deployment."""
    successor: str
    """The name a new certkey takes when the rendered one is still in use."""
    holder: str | None
    """A certkey of ours that already holds exactly this certificate."""
    predecessor: str | None
    """The deployment this certificate renews (another certkey of ours than `holder`)."""
    renaming: bool
    """The wanted name changed (certKeyName edited): the renewal moves the deployment to it."""

    @property
    def recorded(self) -> set[BindingSpec]:
        """Bindings this operator made for the current deployment."""
        return set(self.active.bindings) if self.active else set()

    @property
    def wanted(self) -> set[BindingSpec]:
        return set(self.desired.bindings)

    @property
    def adopted(self) -> bool:
        """The current deployment is a certkey this operator adopted (`plan_adopt`)."""
        return bool(self.active and self.active.adopted)

    @property
    def in_place(self) -> bool:
        """Renewed with `update` under the predecessor's name (`preserveOnRenewal`, no rename);
        an adopted certkey always (a new certkey would leave its references on the old one)."""
        if self.holder is None and self.predecessor is not None and self.adopted:
            return self.predecessor == self.active.certkey  # type: ignore[union-attr]
        return (
            self.holder is None
            and self.predecessor is not None
            and self.ctx.options.preserve_on_renewal
            and not self.renaming
        )

    def recorded_on(self, name: str) -> set[BindingSpec]:
        """Our recorded bindings when `name` is the current deployment (only these are undone)."""
        return self.recorded if self.active and self.active.certkey == name else set()

    def foreign_bindings(self, name: str) -> set[BindingSpec]:
        """Bindings of `name` this operator neither made nor wants: someone else's."""
        return self.ctx.state.bindings_of(name) - self.wanted - self.recorded

    def uploads(self) -> list[Operation]:
        """Upload the certificate and key files the appliance lacks (content-addressed names)."""
        out = []
        contents = (
            (self.files.cert, self.material.leaf.pem),
            (self.files.key, self.material.upload_key_pem()),
        )
        for name, content in contents:
            self.ctx.new_files.add(name)
            if not self.ctx.has_file(name):
                out.append(
                    Operation(Kind.UPLOAD, self.group, name, needs=self.needs, content=content.encode())
                )
        return out

    @property
    def group(self) -> Group:
        return Group.cert(self.desired.id)

    def add(self, name: str) -> Operation:
        return self._load(Kind.ADD, name)

    def update(self, name: str) -> Operation:
        """`update` certkey `name` in place to this certificate's files (an encrypted key with
        its passplain, which NetScaler asks for on update as on add)."""
        return self._load(Kind.CHANGE, name)

    def _load(self, kind: Kind, name: str) -> Operation:
        return Operation(
            kind,
            self.group,
            name,
            needs=self.needs,
            cert=self.files.cert,
            key=self.files.key,
            passplain=self.material.passplain,
        )

    def rebind(self, name: str, current: set[BindingSpec], removable: set[BindingSpec]) -> list[Operation]:
        """Bind what is wanted and missing; unbind what we bound and is no longer wanted."""
        out = [
            Operation(Kind.BIND, self.group, name, needs=self.needs, vserver=b.vserver, sni=b.sni)
            for b in sorted(self.wanted - current)
        ]
        out += [
            Operation(Kind.UNBIND, self.group, name, vserver=b.vserver, sni=b.sni)
            for b in sorted((current - self.wanted) & removable)
        ]
        return out

    def hand_over(self, name: str) -> Handover:
        """Unbind predecessor `name` where its successor takes over, and say what becomes of it.

        SNI bindings go first (NetScaler refuses two SNI certificates for one domain, 1674), a
        default binding after the successor's bind replaced it (no gap). With `preserveOnRenewal`
        the predecessor is deleted afterwards, unless someone else bound it too (then it is kept,
        as on removal); without, it is kept until removal.
        """
        state = self.ctx.state
        # Every binding we made or want goes, also one the spec dropped in the same change: the
        # predecessor's record keeps no bindings, so one left here would be taken for foreign.
        ours = state.bindings_of(name) & (self.wanted | self.recorded)
        before = tuple(
            Operation(Kind.UNBIND, self.group, name, vserver=b.vserver, sni=b.sni)
            for b in sorted(ours)
            if b.sni
        )
        after = tuple(
            Operation(Kind.UNBIND, self.group, name, vserver=b.vserver, sni=b.sni)
            for b in sorted(ours)
            if not b.sni
        )
        prev = self.active if self.active and self.active.certkey == name else None
        ck = state.certkeys[name]
        record = CertRecord(
            id=self.desired.id,
            certkey=name,
            fingerprint=prev.fingerprint if prev else "",
            serial=prev.serial if prev else (ck.serial or ""),
            not_after=prev.not_after if prev else (ck.not_after.isoformat() if ck.not_after else ""),
            files=tuple(f for f in (state.cert_file(name), state.key_file(name)) if f),
            superseded=True,
        )
        deleted = self.ctx.options.preserve_on_renewal and not self.foreign_bindings(name)
        return Handover(before, after, record, deleted)


def situation(ctx: PlanContext, desired: DesiredCertificate) -> Situation:
    material = desired.material
    assert material is not None
    records = tuple(ctx.previous.for_id(desired.id))
    active = next((r for r in records if not r.superseded), None)
    files = leaf_file_names(ctx.owner, material.fingerprint, material.key_file_id)
    successor = successor_of(desired.name, material.fingerprint, ctx.options.name_limit)
    candidates = ([active.certkey] if active else []) + [desired.name, successor]
    takeable = [n for n in dict.fromkeys(candidates) if ctx.ours_to_take(desired.id, n)]
    holder = next((n for n in takeable if ctx.state.cert_file(n) == files.cert), None)
    # The deployment to renew: the recorded one, else one under the rendered name (records lost),
    # unless that one is a predecessor kept beside (superseded).
    retired = {r.certkey for r in records if r.superseded}
    olds = ([active.certkey] if active else []) + ([desired.name] if desired.name not in retired else [])
    predecessor = next((n for n in olds if n in takeable and n != holder), None)
    # The name the deployment was rendered from: a successor (issuer change) keeps its own name.
    base = active.base_name if active and active.certkey == predecessor else predecessor
    # A deployed certkey keeps its name when the wanted name changes (certKeyName edited): it moves
    # at the next renewal, to the new name if that is free.
    renaming = (
        ctx.options.preserve_on_renewal
        and predecessor is not None
        and desired.name not in (predecessor, base)
        and desired.name not in ctx.state.certkeys
    )
    needs = tuple(Group.ca(ca.fingerprint) for ca in material.chain) if ctx.options.link_chain else ()
    return Situation(
        ctx, desired, material, files, needs, records, active, successor, holder, predecessor, renaming
    )
