"""Which objects are being deleted: once deletion begins, only the delete handler may touch one.

kopf runs field handlers (and their pending retries) inside an object's deletion cycle, and a
periodic check may already be waiting for the object lock when the delete handler takes it. If
either reconciled after the removal, it would deploy everything again, and kopf would then
remove the finalizer: objects on the appliance that no CertificateSync owns. Every handler other
than the delete handler therefore asks `deleting()` right before it reconciles, inside the
object lock, so a reconcile queued before the removal cannot run after it.

Keyed by uid: a new object with the same name is a different object. An entry lives from the
start of deletion until kopf reports the object gone, so memory follows in-flight deletions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DeletionGuard:
    def __init__(self) -> None:
        self._uids: set[str] = set()

    def __len__(self) -> int:
        return len(self._uids)

    def begin(self, body: Mapping[str, Any]) -> None:
        uid = (body.get("metadata") or {}).get("uid")
        if uid:
            self._uids.add(str(uid))

    def gone(self, body: Mapping[str, Any]) -> None:
        self._uids.discard(str((body.get("metadata") or {}).get("uid")))

    def deleting(self, body: Mapping[str, Any]) -> bool:
        """True once the object's deletion was requested (seen by kopf or begun by us)."""
        meta = body.get("metadata") or {}
        return bool(meta.get("deletionTimestamp")) or str(meta.get("uid")) in self._uids
