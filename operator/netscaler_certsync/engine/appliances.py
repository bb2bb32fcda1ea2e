"""The engine's coordination state: one `Appliances` object per operator, one entry per appliance.

Everything an apply shares with the other applies of the same operator lives here, and nowhere
else: per appliance its lock (`engine/locks.py`), the snapshot the last apply left
(`engine/snapshot.py`), the group saves waiting for their turn (`engine/saves.py`), and the owners
whose last apply there finished cleanly (no leftovers to look for, see `engine/sync.py`).

The operator creates one with its `OperatorContext` and passes it to every `sync_appliance`; a test
makes a fresh one, so two operators (or two tests) in one process never share a lock or a
snapshot. It reads time only through the monotonic `clock` it is given, so snapshot ages can be
tested on a fake clock. It belongs to one event loop (its locks and saves are asyncio objects).

Ownership is not kept here: it is in the records the caller stores (and the intent it stores
before the first write, see `sync_appliance`'s `on_intent`), so losing this object costs reads,
never knowledge. That makes `reset()` the one call a lost leadership needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from netscaler_certsync.engine.locks import ApplianceLock
from netscaler_certsync.engine.saves import SaveQueue
from netscaler_certsync.engine.snapshot import SnapshotSlot
from netscaler_certsync.engine.state import ApplianceState

__all__ = ["Appliance", "Appliances", "Clock"]

#: Seconds on a monotonic scale (`time.monotonic` in production, a fake in tests).
Clock = Callable[[], float]


@dataclass
class Appliance:
    """What the applies of one operator to one appliance (endpoint and partition) share."""

    key: str
    lock: ApplianceLock
    snapshot: SnapshotSlot
    saves: SaveQueue
    listing: ApplianceState | None = None
    """The appliance as the last apply here listed it (and its own writes changed it): what the
    connection's inventory shows (engine/inventory.py) without a request of its own. Never planned
    from: that is the snapshot's job, with its age and failure rules."""
    node: str | None = None
    """The endpoint the last apply wrote through. An HA pair's key names both nodes; when the
    primary switches, what was read from the old one is not trusted on the new one."""
    owners: set[str] = field(default_factory=set)
    """Owners that applied here in this process: who to look again when one apply finds
    certkeys recorded by it gone (the appliance lost its configuration, see `ApplianceResult.vanished`)."""
    clean: set[str] = field(default_factory=set)
    """Owners whose last apply here finished without failure: the next one need not look for
    leftover files. Leftover files are invisible in the certkey list: they are looked for (one
    extra read) when the plan writes anything, when records and appliance disagree, and when the
    owner's previous apply did not finish cleanly — cancelled, aborted, failed, or not run yet by
    this operator."""


class Appliances:
    """The per-appliance state of one operator, created on first use of each appliance key."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[str, Appliance] = {}

    def __getitem__(self, key: str) -> Appliance:
        entry = self._entries.get(key)
        if entry is None:
            lock = ApplianceLock()
            entry = Appliance(key, lock, SnapshotSlot(self.clock), SaveQueue(key, lock))
            self._entries[key] = entry
        return entry

    def peek(self, key: str) -> Appliance | None:
        """The entry of `key` if an apply has used it, without creating one."""
        return self._entries.get(key)

    def __iter__(self) -> Iterator[Appliance]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def forget_owner(self, owner: str) -> None:
        """`owner` is gone (its CertificateSync was deleted): drop what was kept for it."""
        for entry in self._entries.values():
            entry.clean.discard(owner)
            entry.owners.discard(owner)

    def reset(self) -> None:
        """Forget every snapshot and clean mark: every next apply lists and checks afresh.

        Locks and queued saves stay (their holders are running); the knowledge of what is ours
        is not here (see the module docstring), so nothing is lost but reads."""
        for entry in self._entries.values():
            entry.snapshot.drop()
            entry.clean.clear()
