"""Run a whole plan: CA groups first, then the certificates (concurrently, new ones in bulk), then clean-up.

Operations of one group always run in order. Groups of different certificates are independent:
they run up to the client's concurrency at a time, and brand-new certificates (upload, add,
link, bind and nothing else) are added and bound with one bulk request per hundred. Clean-up runs
last because it relies on the unlinks before it (an unused CA is deleted only once nothing links
to it); a predecessor replaced by a new certkey (`retire` groups) goes there too, after its successor.
"""

from __future__ import annotations

from netscaler_certsync.engine.apply import ApplyOutcome, run_concurrently, run_group
from netscaler_certsync.engine.bulk import bulkable, run_bulk
from netscaler_certsync.engine.operations import Group, GroupKind, Operation
from netscaler_certsync.engine.plan_types import Plan
from netscaler_certsync.engine.state import Counter
from netscaler_certsync.nitro import NitroClient

BULK_MIN = 2
"""Fewer new certificates than this go one request per operation (each with its read-back)."""


_PHASE = {GroupKind.CA: 0, GroupKind.GC: 2, GroupKind.RETIRE: 2}
"""CAs before the certificates they issue; clean-up and predecessors' deletions after (phase 1: the rest)."""


def _phase(group: Group) -> int:
    return _PHASE.get(group.kind, 1)


async def apply_plan(
    client: NitroClient,
    plan: Plan,
    counter: Counter,
    location: str,
    *,
    concurrency: int = 1,
    out: ApplyOutcome | None = None,
) -> ApplyOutcome:
    """Run `plan.operations` (see `apply` for how failures and aborts are handled)."""
    out = out if out is not None else ApplyOutcome()
    groups: dict[Group, list[Operation]] = {}
    for op in plan.operations:
        groups.setdefault(op.group, []).append(op)
    for phase in (0, 1, 2):
        batch = [ops for group, ops in groups.items() if _phase(group) == phase]
        if phase != 1:
            for ops in batch:
                await run_group(client, ops, out, counter, location)
            continue
        new = [ops for ops in batch if bulkable(ops)]
        if len(new) >= BULK_MIN:
            batch = [ops for ops in batch if not bulkable(ops)]
            await run_bulk(client, new, out, counter, location, concurrency)
        await run_concurrently(client, batch, out, counter, location, max(concurrency, 1))
    return out
