"""What a plan is made of (`Plan`, `CertPlan`, `Action`) and the planner's working context.

`PlanContext` carries the inputs, what has been decided so far, and the ownership rules
(docs/decisions/090-cluster-identity-in-file-names.md):
- a leaf certkey is ours when its certificate file carries our owner tag (this cluster and this
  CertificateSync, `domain.owner_tag`), or an earlier version's tag of this CertificateSync (no
  cluster in it) and our records list it;
- a CA certkey is ours to relink or remove when its name follows the CA scheme and its file was
  added by this cluster or by an earlier version;
- anything tagged by another cluster is foreign: never changed, unlinked, unbound or deleted.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from netscaler_certsync.domain import cluster_tag, file_tag, is_ca_certkey_name, owner_id, owner_tag
from netscaler_certsync.engine.model import BindingSpec, CertRecord, DesiredCertificate, Records, SyncOptions
from netscaler_certsync.engine.operations import Group, Operation
from netscaler_certsync.engine.state import ApplianceState


class Action(enum.StrEnum):
    """What the plan does for one certificate (or one leftover)."""

    CREATE = "create"
    RENEW = "renew"
    ADOPT = "adopt"
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
    group: Group
    action: Action
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
    """False for internal clean-up (leftovers, unused CAs): not reported as a certificate."""
    found: str = ""
    """What an adoption takes over (serial, subject, bindings, link), for the dry run to show."""


@dataclass(frozen=True)
class Plan:
    operations: tuple[Operation, ...]
    certificates: tuple[CertPlan, ...]
    mismatch: bool = False
    """Records and appliance disagree (an interrupted apply or a change by hand): look for leftovers."""


def render_plan(plan: Plan) -> list[str]:
    """The plan as readable lines, one per operation (the dry run's output)."""
    return [op.describe() for op in plan.operations]


@dataclass
class PlanContext:
    desired: Sequence[DesiredCertificate]
    state: ApplianceState
    previous: Records
    options: SyncOptions
    now: dt.datetime
    owner: str
    """Our owner tag in leaf file names (`domain.owner_tag`)."""
    cluster: str = ""
    """Our cluster tag (`domain.cluster_tag`)."""
    legacy_owner: str = ""
    """The owner tag an earlier version wrote for this CertificateSync (no cluster in it)."""
    ops: list[Operation] = field(default_factory=list)
    certs: list[CertPlan] = field(default_factory=list)
    ca_names: dict[str, str] = field(default_factory=dict)
    """CA fingerprint → the certkey name it has (or will have) on the appliance."""
    ca_failed: dict[str, str] = field(default_factory=dict)
    """CA fingerprint → why it cannot be installed."""
    used_names: set[str] = field(default_factory=set)
    """Leaf certkeys claimed by a certificate of this plan (never adopted by another, never removed)."""
    new_files: set[str] = field(default_factory=set)
    dropped_files: set[str] = field(default_factory=set)
    mismatch: bool = False
    recorded_certkeys: frozenset[str] = frozenset()
    recorded_files: frozenset[str] = frozenset()

    @classmethod
    def start(
        cls,
        desired: Sequence[DesiredCertificate],
        state: ApplianceState,
        previous: Records,
        options: SyncOptions,
        now: dt.datetime,
    ) -> PlanContext:
        return cls(
            desired,
            state,
            previous,
            options,
            now,
            owner_tag(options.cluster, options.owner),
            cluster=cluster_tag(options.cluster),
            legacy_owner=owner_id(options.owner),
            recorded_certkeys=frozenset(r.certkey for r in previous.certificates),
            recorded_files=frozenset(f for r in previous.certificates for f in r.files),
        )

    def owned(self, name: str | None) -> bool:
        file = self.state.cert_file(name) if name else None
        tag = file_tag(file) if file else None
        if tag is None or tag.scope is None:
            return False
        if tag.owner == self.owner:
            return True
        # An earlier version's certkey stays managed by the cluster whose records list it.
        return tag.cluster is None and tag.scope == self.legacy_owner and name in self.recorded_certkeys

    def owned_ca(self, name: str) -> bool:
        """A CA certkey this cluster (or an earlier version, which shared them all) added."""
        file = self.state.cert_file(name)
        tag = file_tag(file) if file else None
        return (
            is_ca_certkey_name(name)
            and tag is not None
            and tag.scope is None
            and tag.cluster in (self.cluster, None)
        )

    def owns_file(self, file: str) -> bool:
        """Whether `file` is ours to delete once nothing loads it."""
        tag = file_tag(file)
        if tag is None:
            return False
        if tag.scope is None:  # a CA file: this cluster's, or an earlier version's (shared by all)
            return tag.cluster in (self.cluster, None)
        return tag.owner == self.owner or (tag.cluster is None and file in self.recorded_files)

    def same_cluster(self, name: str) -> bool:
        """A leaf certkey of another CertificateSync of this cluster (one our records list, for an
        earlier version's, which names no cluster)."""
        tag = file_tag(self.state.cert_file(name) or "")
        if tag is None or tag.scope is None:
            return False
        return tag.cluster == self.cluster or (tag.cluster is None and name in self.recorded_certkeys)

    def other_clusters(self, name: str) -> bool:
        """A leaf certkey that another cluster's operator deployed (an earlier version's, which
        names no cluster, counts unless our records list it: see the module doc)."""
        tag = file_tag(self.state.cert_file(name) or "")
        if tag is None or tag.scope is None or self.owned(name):
            return False
        if tag.cluster is None:
            return name not in self.recorded_certkeys
        return tag.cluster != self.cluster

    def whose(self, name: str) -> str:
        """Who holds certkey `name`, which is not ours, as a NameCollision message says it."""
        tag = file_tag(self.state.cert_file(name) or "")
        if tag is None:
            return "was not created by this operator"
        if tag.cluster is None:
            return (
                "was deployed by an earlier version of this operator and this cluster's records "
                "do not list it"
            )
        if tag.cluster != self.cluster:
            return f"belongs to another cluster (cluster tag {tag.cluster}; this cluster's is {self.cluster})"
        return "belongs to another CertificateSync of this cluster"

    def used_elsewhere(self, file: str, besides: str) -> bool:
        """Whether a certkey other than `besides` loads `file` (two certificates may share a key)."""
        return bool(self.state.users_of(file) - {besides})

    def has_file(self, name: str) -> bool:
        return self.state.files is not None and name in self.state.files

    def ours_to_take(self, cert_id: str, name: str) -> bool:
        """Whether certificate `cert_id` may use our certkey `name` (not claimed by another one)."""
        if not self.owned(name) or name in self.used_names:
            return False
        return self.previous.ids_of(name) <= {cert_id}

    def fail(self, d: DesiredCertificate, reason: str, message: str) -> None:
        """`d` cannot be synced now: plan nothing for it and keep what it has deployed."""
        keep = tuple(self.previous.for_id(d.id))
        self.used_names.update(r.certkey for r in keep)
        if d.name and self.ours_to_take(d.id, d.name):
            self.used_names.add(d.name)  # a deployment from an interrupted apply: not a leftover
        current = next((r for r in keep if not r.superseded), None)
        self.certs.append(
            CertPlan(
                d.id,
                Group.cert(d.id),
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
