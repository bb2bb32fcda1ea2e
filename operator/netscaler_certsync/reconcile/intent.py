"""Store what an apply may create before it writes: its intended records, in the sync's status.

Bindings carry no owner tag on the appliance: only the records say which ones this operator made,
and records reach `status.connections[].records` when a reconcile ends. An apply killed before
that (or whose status patch then failed) would leave bindings that every later apply takes for
someone else's. So before the first write of an apply that may create something no record names
yet, the engine hands its intended records (`engine.intent_records`: the previous records plus
everything the plan may add or bind) to `IntentWriter.store`, which patches them into the status,
marked `pending`, and returns once the API server has them; if it cannot, nothing is written. The
next apply starts from those records like from any others, and the reconcile's final status
replaces them with what the apply reports (docs/decisions/060-intent-before-writes.md).

`status.connections` is an atomic list, so a patch carries all of it: one writer per reconcile
keeps each connection's latest intent, and patches one at a time (connections run concurrently).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from netscaler_certsync.engine import Records
from netscaler_certsync.reconcile import reasons as k8s_reasons
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.errors import transient

#: An intent that could not be stored is retried like any transient failure (nothing was written).
RETRY_SECONDS = 10.0


class IntentWriter:
    """The intents of one reconcile of one CertificateSync, stored in its status."""

    def __init__(self, ctx: OperatorContext, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self._patch = ctx.patch_sync_status
        self._echoes = ctx.echoes
        self._namespace = namespace
        self._name = name
        self._connections = [dict(c) for c in status.get("connections") or ()]
        self._lock = asyncio.Lock()
        self.stored: dict[str, Records] = {}
        """Per connection, the records last stored: what a connection that fails after its
        intent was stored reports as its records (a superset of what its apply did)."""

    def for_connection(self, connection: str) -> Callable[[Records], Awaitable[None]]:
        async def store(records: Records) -> None:
            await self.store(connection, records)

        return store

    async def store(self, connection: str, records: Records) -> None:
        async with self._lock:
            entries = [dict(c) for c in self._connections]
            entry = next((e for e in entries if e.get("name") == connection), None)
            if entry is None:
                entry = {"name": connection}
                entries.append(entry)
            entry["records"] = {**records.to_dict(), "pending": True}
            # the version this write makes is only an echo to kopf (reconcile/echoes.py)
            write = self._echoes.sending(self._namespace, self._name, entries)
            version = None
            try:
                version = await self._patch(self._namespace, self._name, {"connections": entries})
            except Exception as exc:
                raise transient(
                    k8s_reasons.IntentNotStored,
                    f"cannot record in the status what this sync is about to create, so nothing was "
                    f"written: {exc}",
                    retry_after=RETRY_SECONDS,
                ) from exc
            finally:
                self._echoes.sent(self._namespace, self._name, write, version)
            self._connections = entries
            self.stored[connection] = records
