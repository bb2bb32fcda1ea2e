"""The pure planner: desired certificates + appliance state + previous records → ordered operations.

No I/O: everything it knows is in its arguments, so every scenario is a table row in
`tests/unit`. The plan runs, in order:

1. CA certificates of every active chain (`plan_chain`);
2. each desired certificate, alone in its group (`plan_desired`);
3. inactive certificates — deleted, deselected, expired — when removal is on (`plan_cleanup`);
4. clean-up: leftovers of interrupted applies, unused CA certkeys of ours, orphaned files of ours;
5. every file deletion judged against the appliance as the plan leaves it (`settle_files`).

A certificate whose Secret cannot be used (bad PEM, name too long...) keeps its deployment
untouched; an expired one is inactive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from netscaler_certsync.domain import reasons
from netscaler_certsync.engine.model import DesiredCertificate, Records, SyncOptions
from netscaler_certsync.engine.operations import Group
from netscaler_certsync.engine.plan_chain import plan_cas
from netscaler_certsync.engine.plan_cleanup import (
    plan_leftovers,
    plan_orphan_files,
    plan_removal,
    plan_unused_cas,
    settle_files,
)
from netscaler_certsync.engine.plan_desired import plan_desired
from netscaler_certsync.engine.plan_types import Action, CertPlan, Plan, PlanContext, render_plan
from netscaler_certsync.engine.state import ApplianceState


def _expired(d: DesiredCertificate) -> str:
    """Which certificate expired, and when: the user compares it with the Secret."""
    if d.material is not None:
        leaf = d.material.leaf
        return f"certificate {leaf.common_name!r} (serial {leaf.serial}) expired on {leaf.not_after:%Y-%m-%d}"
    return d.problem.message if d.problem is not None else "the certificate has expired"


def plan(
    desired: Sequence[DesiredCertificate],
    state: ApplianceState,
    previous: Records,
    options: SyncOptions,
) -> Plan:
    """The operations that bring the appliance from `state` to `desired` (see the module doc)."""
    now = options.now or dt.datetime.now(dt.UTC)
    ctx = PlanContext.start(desired, state, previous, options, now)
    ctx.mismatch = any(state.cert_file(r.certkey) not in r.files for r in previous.certificates)

    active: list[DesiredCertificate] = []
    broken: list[DesiredCertificate] = []
    inactive: dict[str, str] = {}
    expiries: dict[str, str] = {}
    seen: set[str] = set()
    for d in desired:
        if d.id in seen:
            continue
        seen.add(d.id)
        expired = (d.problem is not None and d.problem.reason == reasons.CertificateExpired) or (
            d.material is not None and d.material.leaf.expired(now)
        )
        if expired:
            inactive[d.id] = reasons.CertificateExpired
            expiries[d.id] = _expired(d)
        elif d.material is None or d.problem is not None:
            broken.append(d)
        else:
            active.append(d)

    if options.link_chain:
        plan_cas(ctx, active)
    for d in broken:  # first, so that their deployments are claimed and never taken as leftovers
        p = d.problem
        ctx.fail(d, p.reason if p else reasons.MissingData, p.message if p else "no certificate material")
    due = []
    for d in active:
        due += plan_desired(ctx, d)
    for r in due:
        plan_removal(ctx, r, reasons.CertificateExpired, visible=False)
    handled = {d.id for d in active} | {d.id for d in broken}
    for r in previous.certificates:
        if r.id not in handled:
            plan_removal(ctx, r, inactive.get(r.id, reasons.Removed))
    for cert_id in inactive:
        if not previous.for_id(cert_id):
            ctx.certs.append(
                CertPlan(
                    cert_id,
                    Group.remove(cert_id),
                    Action.FAILED,
                    reasons.CertificateExpired,
                    f"{expiries[cert_id]}; not deployed",
                )
            )
    plan_leftovers(ctx)
    if options.remove_inactive:
        plan_unused_cas(ctx)
    settle_files(ctx)
    plan_orphan_files(ctx)
    return Plan(tuple(ctx.ops), tuple(ctx.certs), ctx.mismatch)


__all__ = ["Action", "CertPlan", "Plan", "plan", "render_plan"]
