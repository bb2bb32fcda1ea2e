"""Many new certificates at once: one bulk request adds up to a hundred certkeys, one binds them.

A group qualifies when it only uploads, adds one leaf certkey, links it and binds it. Uploads and
links stay one request each (NITRO has no bulk form the client offers for them). An item the
appliance refuses in a bulk request is retried alone through the ordinary path, which knows how
to tell "already done" from a real failure and gives the failure its reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from netscaler_certsync.engine.apply import ApplyOutcome, log, run_concurrently
from netscaler_certsync.engine.errors import aborts, to_aborted
from netscaler_certsync.engine.operations import Kind, Operation
from netscaler_certsync.engine.state import Counter
from netscaler_certsync.nitro import BulkResult, CertBinding, NewCertKey, NitroClient
from netscaler_certsync.nitro import errors as ne

CHUNK = 100
_SHAPE = {Kind.UPLOAD: 0, Kind.ADD: 1, Kind.LINK: 2, Kind.BIND: 3}


def bulkable(ops: Sequence[Operation]) -> bool:
    """Uploads, then exactly one leaf add, then at most a link, then binds: a brand-new certificate."""
    if any(op.kind not in _SHAPE for op in ops) or sum(op.kind is Kind.ADD for op in ops) != 1:
        return False
    order = [_SHAPE[op.kind] for op in ops]
    add = next(op for op in ops if op.kind is Kind.ADD)
    return order == sorted(order) and add.key is not None and order.count(2) <= 1


async def _bulk(
    client: NitroClient,
    ops: list[Operation],
    out: ApplyOutcome,
    counter: Counter,
    location: str,
    concurrency: int,
) -> None:
    """One bulk request per chunk; items it could not do go again one by one."""
    for start in range(0, len(ops), CHUNK):
        chunk = ops[start : start + CHUNK]
        results: list[BulkResult]
        try:
            if chunk[0].kind is Kind.ADD:
                results = await client.add_certkeys(
                    [NewCertKey(op.name, op.cert or "", op.key, passplain=op.passplain) for op in chunk]
                )
            else:
                results = await client.bind_certkeys(
                    [CertBinding(op.vserver or "", op.name, sni=op.sni) for op in chunk]
                )
        except ne.NitroError as exc:
            if aborts(exc):
                raise to_aborted(exc) from exc
            results = [BulkResult(i, -1, str(exc)) for i in range(len(chunk))]
        again = []
        for op, result in zip(chunk, results, strict=False):
            if result.ok:
                out.took_effect(op)
                out.done.add(op.group)
                log.debug("%s", op.describe())
            else:
                again.append([op])
        await run_concurrently(client, again, out, counter, location, concurrency)


async def run_bulk(
    client: NitroClient,
    groups: list[list[Operation]],
    out: ApplyOutcome,
    counter: Counter,
    location: str,
    concurrency: int,
) -> None:
    def stage(kinds: set[Kind]) -> list[list[Operation]]:
        return [[op for op in ops if op.kind in kinds] for ops in groups if ops[0].group not in out.failed]

    await run_concurrently(client, stage({Kind.UPLOAD}), out, counter, location, concurrency)
    await _bulk(client, [ops[0] for ops in stage({Kind.ADD}) if ops], out, counter, location, concurrency)
    await run_concurrently(client, stage({Kind.LINK}), out, counter, location, concurrency)
    binds = [op for ops in stage({Kind.BIND}) for op in ops]
    await _bulk(client, binds, out, counter, location, concurrency)
