"""Save the appliance's configuration once for every apply that queued up behind each other.

`save ns config` writes the whole running configuration to flash; on a real appliance with a
large configuration it takes seconds, and NetScaler refuses concurrent saves (errorcode 1461).
One save per apply made 1,000 new CertificateSyncs cost 1,000 saves, and a burst of renewals
wait for each other's saves in turn.

So saves are committed in groups, as a database commits transactions: an apply that changed
something releases the appliance's lock and joins the pending save of its appliance and priority
(creating it, and the task that will make it, if there is none). That task queues for the lock
like any apply, so every apply already queued ahead of it at that priority writes first and
joins the same save; when the task's turn comes it saves once and tells every member. An apply
with nobody queued behind it is saved straight away, as before.

Each member waits for the save and reports its outcome (saved, or the save's error) as if it had
saved alone. A member that is cancelled while waiting does not stop the save for the others: the
save goes through the client of a member still waiting.

The queue also knows whether this process wrote to the appliance since its last save (`unsaved`):
an apply cut short after writing never saves, and the next apply there must. That is how the
operator decides to save without asking the appliance (`show ns config`, which the documented
least-privilege command policy does not allow; docs/decisions/110-save-without-asking.md).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from netscaler_certsync.engine.locks import ApplianceLock, Priority
from netscaler_certsync.nitro import NitroClient
from netscaler_certsync.nitro import errors as ne

__all__ = ["SaveQueue"]


@dataclass
class _Batch:
    done: asyncio.Future[None]
    clients: list[NitroClient] = field(default_factory=list)
    """The clients of the members still waiting: the save goes through one of them."""


#: Waits before saving again when the appliance says another save is in progress (1461): one
#: made by someone else, or ours from a client that went away mid-request. ~15 s in all.
BUSY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


async def _save_through_a_member(batch: _Batch) -> bool:
    """Save with the newest member's client; if that member was cancelled meanwhile (and so may
    have closed its client), try the next one. False: nobody was left to save through."""
    busy = iter(BUSY_DELAYS)
    while batch.clients:
        client = batch.clients[-1]
        try:
            await client.save_config()
            return True
        except ne.APIError as exc:
            if exc.errorcode == ne.ErrorCode.SAVE_IN_PROGRESS and (delay := next(busy, None)) is not None:
                await asyncio.sleep(delay)
                continue
            if client in batch.clients or not batch.clients:
                raise
        except Exception:
            if client in batch.clients or not batch.clients:
                raise
    # Every member was cancelled: nobody to tell. The queue still counts their writes as unsaved,
    # so the next apply to this appliance saves them.
    return False


class SaveQueue:
    """One appliance's pending group saves, one per priority, made under its `lock`."""

    def __init__(self, name: str, lock: ApplianceLock) -> None:
        self._name = name
        self._lock = lock
        self._pending: dict[Priority, _Batch] = {}
        self._running: set[asyncio.Task[None]] = set()
        """Commit tasks in flight (asyncio keeps only weak references to tasks)."""
        self.saving = False
        """A save is being made (under the lock): for tests and diagnostics."""
        self._written = 0
        """Applies of this process that sent a write here."""
        self._covered = 0
        """How many of those a save made, or one queued, covers."""
        self._saved = 0
        """How many of those the last successful save covered."""

    def wrote(self) -> None:
        """An apply sent at least one write (whether or not it went on to save)."""
        self._written += 1

    @property
    def unsaved(self) -> bool:
        """This process wrote here and no save made or queued since covers it."""
        return self._written > self._covered

    def _forget(self, priority: Priority, batch: _Batch) -> None:
        if self._pending.get(priority) is batch:
            del self._pending[priority]

    async def _commit(self, priority: Priority, batch: _Batch) -> None:
        try:
            async with self._lock.turn(priority):
                self._forget(priority, batch)  # from here on, an apply wanting a save starts the next group
                self.saving = True
                upto = self._written  # under the lock: every write so far is in this save
                try:
                    if await _save_through_a_member(batch):
                        self._saved = max(self._saved, upto)
                    else:
                        self._covered = self._saved
                finally:
                    self.saving = False
        except Exception as exc:  # every member hears how the save ended
            self._covered = self._saved  # what it was to cover is unsaved again
            batch.done.set_exception(exc)
        except BaseException:  # cancelled: the operator is stopping
            self._covered = self._saved
            batch.done.cancel()
            raise
        else:
            batch.done.set_result(None)
        finally:
            self._forget(priority, batch)

    async def save(self, client: NitroClient, priority: Priority = Priority.CHANGE) -> None:
        """Have the configuration saved after this apply's writes. Raises what the save raised (a
        NitroError), to every member alike.

        Call it after releasing the appliance's lock: the save is made under the lock, by a task
        that queues for it (see the module docstring)."""
        batch = self._pending.get(priority)
        if batch is None:
            batch = _Batch(asyncio.get_running_loop().create_future())
            # Read the exception once so that a batch whose members were all cancelled logs nothing.
            batch.done.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._pending[priority] = batch
            task = asyncio.create_task(self._commit(priority, batch), name=f"save:{self._name}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        batch.clients.append(client)
        self._covered = max(self._covered, self._written)
        try:
            await asyncio.shield(batch.done)
        except asyncio.CancelledError:
            if client in batch.clients:
                batch.clients.remove(client)
            raise

    def cancel(self) -> None:
        """Stop the commits in flight (their members hear they were cancelled)."""
        for task in list(self._running):
            task.cancel()
