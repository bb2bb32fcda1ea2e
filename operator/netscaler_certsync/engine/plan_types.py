"""What a plan is made of (`Plan`, `CertPlan`, `Action`) and the planner's working context.

`PlanContext` carries the inputs, what has been decided so far, and the ownership rules: a leaf
certkey is ours when its certificate file carries our owner tag (`domain.leaf_file_names`); a CA
certkey when both its name and its file follow the CA scheme.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from netscaler_certsync.domain import is_ca_certkey_name, is_ca_file_name, leaf_file_owner
from netscaler_certsync.engine.model import BindingSpec, CertRecord, DesiredCertificate, Records, SyncOptions
from netscaler_certsync.engine.operations import Group, Operation
from netscaler_certsync.engine.state import ApplianceState


class Action(enum.StrEnum):
    """What the plan does for one certificate (or one leftover)."""

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

    def owned(self, name: str | None) -> bool:
        file = self.state.cert_file(name) if name else None
        return file is not None and leaf_file_owner(file) == self.owner

    def owned_ca(self, name: str) -> bool:
        file = self.state.cert_file(name)
        return is_ca_certkey_name(name) and file is not None and is_ca_file_name(file)

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
