"""What one reconcile of a CertificateSync is asked to do: the object as kopf saw it, and why.

Its own module because both the reconcile (`certificatesync`) and the status it produces
(`sync_status`) read it, and neither may import the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SyncRequest:
    namespace: str
    name: str
    generation: int | None
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    trigger: str  # spec | manual | secret | drift | delete
    sync_request: str | None = None  # the sync-requested-at annotation's value, when manual
    created: str = ""  # metadata.creationTimestamp: the earliest sync wins a default binding

    @classmethod
    def of(cls, body: Mapping[str, Any], trigger: str, sync_request: str | None = None) -> SyncRequest:
        """The request for a CertificateSync as the API returned it (kopf's body or a fresh GET)."""
        meta = body.get("metadata") or {}
        return cls(
            namespace=meta["namespace"],
            name=meta["name"],
            generation=meta.get("generation"),
            spec=body.get("spec") or {},
            status=body.get("status") or {},
            trigger=trigger,
            sync_request=sync_request,
            created=str(meta.get("creationTimestamp", "")),
        )
