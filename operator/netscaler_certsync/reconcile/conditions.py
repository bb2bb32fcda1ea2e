"""Status conditions in the `metav1.Condition` shape, with kstatus semantics.

`Ready` is the summary (normal-true); `Reconciling` and `Stalled` are abnormal-true so kstatus,
Flux and Argo CD can tell progress from failure. `lastTransitionTime` changes only when a
condition's status flips, and every condition carries the generation it was computed from.
The whole list is always written (kopf sends status as a merge-patch, which replaces lists).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from netscaler_certsync.timestamps import rfc3339, utc_now

Status = Literal["True", "False", "Unknown"]

# Condition types: the kstatus summary of both kinds ...
READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"
# ... the NetScalerConnection's detail ...
TLS_VERIFIED = "TLSVerified"  # is the appliance's own certificate verified (False: skipped, http, failed)
AUTHENTICATED = "Authenticated"  # did the appliance accept the credentials (Unknown: not reached)
# ... and the CertificateSync's details.
SECRETS_VALID = "SecretsValid"  # every selected Secret holds usable material
CERTIFICATES_UPLOADED = "CertificatesUploaded"  # every certificate is on every appliance
CERTIFICATES_BOUND = "CertificatesBound"  # every requested binding is in place

_REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
_MAX_MESSAGE = 32768

#: Injected in tests; UTC, whole seconds as the API server stores them.
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Condition:
    """One condition as we mean it; `merge_conditions` turns it into the API shape."""

    type: str
    status: Status
    reason: str
    message: str = ""

    def __post_init__(self) -> None:
        if not _REASON.match(self.reason):
            raise ValueError(f"condition reason {self.reason!r} is not a CamelCase word")


def merge_conditions(
    existing: Sequence[Mapping[str, Any]] | None,
    wanted: Iterable[Condition],
    generation: int | None,
    clock: Clock = utc_now,
) -> list[dict[str, Any]]:
    """The full new list: wanted conditions upserted by type, others kept as they were.

    `lastTransitionTime` is kept from the existing condition of the same type unless its
    status changed, as the Kubernetes API conventions require.
    """
    by_type = {c.get("type"): dict(c) for c in existing or () if c.get("type")}
    now = rfc3339(clock())
    for cond in wanted:
        old = by_type.get(cond.type)
        changed = old is None or old.get("status") != cond.status
        by_type[cond.type] = {
            "type": cond.type,
            "status": cond.status,
            "reason": cond.reason,
            "message": cond.message[:_MAX_MESSAGE],
            "lastTransitionTime": now if changed else old.get("lastTransitionTime", now),
            **({"observedGeneration": generation} if generation is not None else {}),
        }
    order = {READY: 0, RECONCILING: 1, STALLED: 2}
    return sorted(by_type.values(), key=lambda c: (order.get(c["type"], 3), c["type"]))


def ready(reason: str, message: str) -> list[Condition]:
    """All is well: Ready=True, and the abnormal-true conditions False."""
    return [
        Condition(READY, "True", reason, message),
        Condition(RECONCILING, "False", reason, ""),
        Condition(STALLED, "False", reason, ""),
    ]


def progressing(reason: str, message: str) -> list[Condition]:
    """Work in progress or a retryable failure: kstatus InProgress."""
    return [
        Condition(READY, "False", reason, message),
        Condition(RECONCILING, "True", reason, message),
        Condition(STALLED, "False", reason, ""),
    ]


def stalled(reason: str, message: str) -> list[Condition]:
    """A failure that retrying will not fix until the spec or its inputs change: kstatus Failed."""
    return [
        Condition(READY, "False", reason, message),
        Condition(RECONCILING, "False", reason, ""),
        Condition(STALLED, "True", reason, message),
    ]


def idle(reason: str, message: str) -> list[Condition]:
    """Nothing to do and nothing wrong, but not what the spec asks deployed (a dry run): Ready=False
    says it is not deployed; no Reconciling, no Stalled (kstatus: Current, Argo CD: Suspended)."""
    return [
        Condition(READY, "False", reason, message),
        Condition(RECONCILING, "False", reason, ""),
        Condition(STALLED, "False", reason, ""),
    ]


def get(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions or () if c.get("type") == type_), None)
