"""Reuse one appliance's state between applies: list everything at most once per `max_age`.

Listing every certkey and every binding costs two requests whose replies grow with the appliance;
with one reconcile per CertificateSync, N syncs on one appliance cost N full listings, each parsed
under the appliance's lock, so new syncs were slow to become Ready and renewals queued behind the
listings (docs/decisions/010-shared-appliance-snapshot.md; costs in docs/benchmarks.md).

So an apply may start from the snapshot the previous one left, if that snapshot grew from a full
listing made less than `max_age` seconds ago and nothing since went wrong:

* only under the appliance's lock (`engine/locks.py`), so no apply of this process is missed;
* after an apply without failures, the certkeys it touched are read again by name (the
  appliance's own answer: serial, files, link; more than a few are listed all over again), its
  binds and unbinds are applied to the binding set, its uploads and file deletions to the file
  list; nothing is kept (or read) when reuse is off (`max_age` 0);
* any failure, abort or cancellation drops the snapshot: the next apply lists everything again.

What it cannot see is a change made on the appliance by someone else within those `max_age`
seconds; such a change is noticed by the first apply that lists afresh (a drift re-check at the
latest). Writes stay safe against it: the appliance itself refuses to add a name that exists or to
delete a certkey that is still bound, and a refused write drops the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from netscaler_certsync.engine.operations import Kind, Operation
from netscaler_certsync.engine.state import ApplianceState, Counter, read_state
from netscaler_certsync.nitro import CertBinding, CertKey, NitroClient

__all__ = ["SnapshotSlot", "refresh"]

_CERTKEY_CHANGES = (Kind.ADD, Kind.CHANGE, Kind.LINK, Kind.UNLINK)


@dataclass(frozen=True)
class _Entry:
    state: ApplianceState
    listed_at: float
    """The clock's reading at the full listing this state grew from."""


class SnapshotSlot:
    """The one snapshot an appliance may have, aged on the operator's monotonic clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entry: _Entry | None = None

    def now(self) -> float:
        return self._clock()

    def take(self, max_age: float) -> tuple[ApplianceState, float] | None:
        """Remove and return the snapshot and when it was listed, if it is younger than `max_age`
        seconds (an apply that does not `store` one back leaves none)."""
        entry, self._entry = self._entry, None
        if entry is None or max_age <= 0 or self._clock() - entry.listed_at >= max_age:
            return None
        return entry.state, entry.listed_at

    def store(self, state: ApplianceState, listed_at: float) -> None:
        self._entry = _Entry(state, listed_at)

    def drop(self) -> None:
        self._entry = None


#: An apply that touched more certkeys than this lists them all again instead (two requests).
REREAD_BY_NAME = 8


async def refresh(
    client: NitroClient, state: ApplianceState, done: Iterable[Operation]
) -> tuple[ApplianceState, bool, dict[str, CertKey]]:
    """`state` after the operations `done` (all of them took effect), whether it was listed
    afresh, and the certkeys read after the operations (the ones they touched, read by name; every
    certkey when there were many and all were listed again)."""
    ops = list(done)
    if not ops:
        return state, False, {}
    changed: dict[str, CertKey | None] = {}
    bind: set[CertBinding] = set()
    unbind: set[CertBinding] = set()
    add_files: set[str] = set()
    drop_files: set[str] = set()
    reread: list[str] = []
    for op in ops:
        if op.kind in _CERTKEY_CHANGES and op.name not in reread:
            reread.append(op.name)
        elif op.kind is Kind.DELETE:
            changed[op.name] = None
            if op.name in reread:
                reread.remove(op.name)
            for b in [b for b in (*state.bindings, *bind) if b.certkey == op.name]:
                bind.discard(b)
                unbind.add(b)
        elif op.kind in (Kind.BIND, Kind.UNBIND) and op.vserver is not None:
            binding = CertBinding(op.vserver, op.name, sni=op.sni)
            (unbind if op.kind is Kind.BIND else bind).discard(binding)
            (bind if op.kind is Kind.BIND else unbind).add(binding)
        elif op.kind is Kind.UPLOAD:
            drop_files.discard(op.name)
            add_files.add(op.name)
        elif op.kind is Kind.DELETE_FILE:
            add_files.discard(op.name)
            drop_files.add(op.name)
    if len(reread) > REREAD_BY_NAME:
        listed = await read_state(client, Counter())
        files = state.files
        if files is not None:
            files = (files - drop_files) | add_files
        after = ApplianceState.of(
            listed.certkeys.values(), listed.bindings, vservers=state.vservers, files=files
        )
        return after, True, dict(listed.certkeys)
    fresh: dict[str, CertKey] = {}
    for name in reread:
        found = await client.get_certkey(name)
        changed[name] = found  # None: e.g. a CA the appliance already held under another name
        if found is not None:
            fresh[name] = found
    after = state.changed(changed, bind=bind, unbind=unbind, add_files=add_files, drop_files=drop_files)
    return after, False, fresh
