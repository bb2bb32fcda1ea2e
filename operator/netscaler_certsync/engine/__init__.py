"""The appliance sync engine: gather appliance state, plan (pure), apply, report. No Kubernetes.

Public surface::

    appliances = Appliances()  # one per operator: locks, snapshots, saves (engine/appliances.py)
    result = await sync_appliance(client, desired, previous_records, SyncOptions(owner="ns/name"),
                                  appliances=appliances, appliance=appliance_key(url, partition),
                                  on_intent=store_records)

- `DesiredCertificate(id, name, material, bindings, problem)`: what should be deployed; build
  `material` with `domain.parse_material()` and `name` with `domain.render_certkey_name()`.
- `Records`: what the last apply reported (store `result.records.to_dict()`, pass
  `Records.from_dict(...)` next time); with the owner tag in file names it decides ownership.
  `on_intent(records)` is awaited before the first write of an apply that may create what no
  record names yet (a certkey, a binding): store those records the same way before returning,
  marked `pending` (`Records.pending`: the next apply then saves, whatever the apply did).
- `ApplianceResult`: per-certificate `CertificateResult`s (certkey, serial, notAfter,
  fingerprint, bound vservers, state, reason, message), `changed`, `saved`, request counts,
  the new records, the plan as lines (`operations`), clean-up `warnings`, and `not_saved` (why
  the configuration is not saved, when it is not).
- `SyncAborted(reason, message, error)`: the appliance could not be worked with; which NITRO
  errors abort and with which reason is the table `errors.FAILURES`. Per-certificate failures
  never raise.
- `plan()` (pure) and `render_plan()`: the dry run's building blocks; `SyncOptions(dry_run=True)`
  does the same through `sync_appliance` without writing.

What it guarantees (each has a test in tests/unit or tests/engine):
- ownership from the appliance plus the records: our files carry the owner's tag
  (`cs-<owner>-<fingerprint>.crt`, `cs-<owner>-<public-key hash>.key`), CA certkeys are
  `csca-<fingerprint>`; nothing else is ever changed or deleted, and a foreign certkey holding
  the wanted name is reported as NameCollision;
- an unchanged certificate costs no write; the configuration is saved only after changes, once
  for every group of applies that queued behind each other (`engine/saves.py`), and each apply
  reports that save's outcome;
- applies to one appliance take turns by `Priority` (`engine/locks.py`), and may start from the
  state the previous one left instead of listing everything (`SyncOptions.snapshot_max_age`,
  `engine/snapshot.py`); anything that goes wrong makes the next one list afresh;
- renewal is make-before-break: new files, `update` (or a new certkey bound in place of the old),
  then the old files go; a failing certificate never stops the others;
- a renewal to a new issuer never serves the leaf without its chain where that can be avoided:
  with `preserve_on_renewal`, a certkey bound only as default and only by us is replaced by a new
  one, linked before it is bound (the old one is deleted after, in a group of its own); with an
  SNI or foreign binding it is updated, then linked, and the result says so;
- convergence: an apply cut short anywhere (error, abort, cancellation, a killed process) is
  completed by the next one, leftovers included: what it may have created is in the records
  stored through `on_intent` before its first write (`sync.intent_records`).
"""

from netscaler_certsync.engine.appliances import Appliances
from netscaler_certsync.engine.errors import SyncAborted
from netscaler_certsync.engine.locks import Priority, appliance_key
from netscaler_certsync.engine.model import (
    Adoption,
    ApplianceResult,
    BindingSpec,
    BoundCA,
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
from netscaler_certsync.engine.operations import Kind, Operation
from netscaler_certsync.engine.planner import Action, CertPlan, Plan, plan, render_plan
from netscaler_certsync.engine.state import ApplianceState
from netscaler_certsync.engine.sync import IntentCallback, intent_records, sync_appliance

__all__ = [
    "Action",
    "Adoption",
    "ApplianceResult",
    "ApplianceState",
    "Appliances",
    "BindingSpec",
    "BoundCA",
    "CertPlan",
    "CertRecord",
    "CertState",
    "CertificateResult",
    "ClientAuth",
    "ClientAuthResult",
    "ClientCARecord",
    "DesiredCertificate",
    "IntentCallback",
    "Kind",
    "Operation",
    "Plan",
    "Priority",
    "Records",
    "SyncAborted",
    "SyncOptions",
    "appliance_key",
    "intent_records",
    "plan",
    "render_plan",
    "sync_appliance",
]
