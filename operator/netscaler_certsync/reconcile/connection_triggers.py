"""What makes a NetScalerConnection look again, and what it hands on when it turns Ready.

- The Secrets a connection references (credentials, CA) are watched by name
  (`k8s.NamedSecretWatch`); a change sets `secret-changed` on each connection that references
  the Secret, and the connection's handler checks it again (a fixed password is Ready in seconds).
- `sync-requested-at` on a connection asks for a check now, like on a CertificateSync.
- When a check finds the appliance again (not Ready before, Ready now), every CertificateSync
  that uses the connection and whose last sync failed gets `connection-ready`, and its handler syncs it:
  a sync that failed on the connection recovers with it, not at its next timed re-check.
- A transient failure (the appliance unreachable) is retried with a backoff that starts at
  `FIRST_RETRY_SECONDS` and doubles up to the failure table's delay for the reason.

Annotations, not direct calls, so kopf's rule of one handler at a time per object holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.errors import ReconcileError
from netscaler_certsync.reconcile.triggers import SECRET_CHANGED

logger = logging.getLogger(__name__)

#: Set on a CertificateSync when a connection it uses turned Ready; the value names the
#: connection and the check that found it Ready.
CONNECTION_READY: Final = f"{keys.PREFIX}connection-ready"

#: The first retry of a transient connection failure; it doubles up to the reason's delay.
FIRST_RETRY_SECONDS: Final = 2.0

Key = tuple[str, str]


@dataclass(frozen=True)
class SyncUse:
    """One CertificateSync that uses a connection, as the connection's handlers see it."""

    name: str
    failed: bool
    """Its last sync ended not Ready (one that was never synced yet is being synced anyway)."""
    deleting: bool = False


def referenced_secrets(namespace: str, spec: Mapping[str, Any]) -> set[Key]:
    """The Secrets a NetScalerConnection's spec references (credentials, CA), in its namespace."""
    names = {
        (spec.get("credentialsSecretRef") or {}).get("name"),
        ((spec.get("tls") or {}).get("caSecretRef") or {}).get("name"),
    }
    return {(namespace, str(n)) for n in names if isinstance(n, str) and n}


def connections_of(spec: Mapping[str, Any]) -> set[str]:
    """The connections a CertificateSync's spec names."""
    return {
        str(ref["name"])
        for ref in spec.get("connectionRefs") or ()
        if isinstance(ref, Mapping) and isinstance(ref.get("name"), str) and ref["name"]
    }


def track_connection(ctx: OperatorContext, namespace: str, name: str, spec: Mapping[str, Any] | None) -> None:
    """Follow the Secrets of this connection (spec None: the connection is gone)."""
    if ctx.secret_refs is not None:
        ctx.secret_refs.set_references((namespace, name), referenced_secrets(namespace, spec or {}))


async def secret_changed(ctx: OperatorContext, namespace: str, secret: str, version: str) -> list[str]:
    """Mark every connection that references the Secret; returns their names."""
    owners = ctx.secret_refs.owners_of((namespace, secret)) if ctx.secret_refs is not None else ()
    names = sorted(name for ns, name in owners if ns == namespace)
    for name in names:
        try:
            await ctx.annotate(keys.CONNECTION_PLURAL, namespace, name, SECRET_CHANGED, f"{secret}@{version}")
        except Exception:  # one failed patch must not stop the others; the periodic check catches up
            logger.exception(
                "could not mark NetScalerConnection %s/%s for Secret %s", namespace, name, secret
            )
    return names


async def connection_ready(
    ctx: OperatorContext, namespace: str, connection: str, users: Iterable[SyncUse], checked: str
) -> list[str]:
    """The connection turned Ready: mark the syncs that use it and failed; their names."""
    names = sorted({u.name for u in users if u.failed and not u.deleting})
    for name in names:
        try:
            await ctx.annotate(keys.SYNC_PLURAL, namespace, name, CONNECTION_READY, f"{connection}@{checked}")
        except Exception:  # the sync's own retry or re-check still comes, later
            logger.exception(
                "could not mark CertificateSync %s/%s after %s turned Ready", namespace, name, connection
            )
    if names:
        logger.info("NetScalerConnection %s/%s is Ready: syncing %s", namespace, connection, ", ".join(names))
    return names


def backoff(error: ReconcileError, streak: int) -> ReconcileError:
    """A transient failure retried after 2, 4, 8... seconds, up to the failure table's delay."""
    if error.stalled or error.retry_after is None or streak < 1:
        return error
    delay = min(error.retry_after, FIRST_RETRY_SECONDS * 2 ** (streak - 1))
    return ReconcileError(error.reason, error.message, stalled=False, retry_after=delay)
