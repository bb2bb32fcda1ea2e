"""What is on the appliance: every certkey with its owner, expiry, bindings and links, and the
files nobody uses — computed from listings the engine makes anyway (`engine/state.py`).

Ownership comes from the tag in the certkey's certificate file name (`domain.file_tag`):

* `this`: tagged with this cluster's tag (`domain.cluster_tag` of the cluster identity);
* `other`: tagged by an operator of another cluster, or by an earlier version of the operator
  that wrote no cluster into its names (nothing proves it is ours, so it is never claimed);
* `none`: no tag at all — installed by hand, by scripts, by other tools.

`build()` makes no request: it reads an `ApplianceState`; `read()` makes the listings for a caller
that has none (the `inventory` command): certkeys, bindings and files, three requests.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from dataclasses import dataclass, field
from typing import Any

from netscaler_certsync.domain import file_tag
from netscaler_certsync.engine.state import ApplianceState, Counter, read_files, read_state
from netscaler_certsync.nitro import NitroClient

__all__ = ["EXPIRING_DAYS", "OWNERS", "Inventory", "InventoryRow", "build", "owner_of", "read"]

#: A certkey whose certificate ends within this many days counts as expiring.
EXPIRING_DAYS = 30
#: The owner values, a bounded set (the `managed` label of the expiry gauge uses them).
OWNERS = ("this", "other", "none")


def owner_of(cert_file: str | None, cluster_tag: str | None) -> str:
    """`this`, `other` or `none` for a certkey loading `cert_file` (see the module docstring)."""
    tag = file_tag(cert_file or "")
    if tag is None:
        return "none"
    if cluster_tag and tag.cluster == cluster_tag:
        return "this"
    return "other"


@dataclass(frozen=True)
class InventoryRow:
    name: str
    owner: str
    ca: bool
    subject: str | None
    serial: str | None
    not_after: dt.datetime | None
    days_left: int | None
    bound_to: tuple[str, ...]
    """`vserver`, `vserver (SNI)` or `vserver (CA)` for each binding."""
    linked_to: str | None
    linked_from: tuple[str, ...]
    """The certkeys that link to this one as their CA."""

    @property
    def unused(self) -> bool:
        return not self.bound_to and not self.linked_from

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "ca": self.ca,
            "subject": self.subject,
            "serial": self.serial,
            "notAfter": self.not_after.isoformat() if self.not_after else None,
            "daysLeft": self.days_left,
            "boundTo": list(self.bound_to),
            "linkedTo": self.linked_to,
            "linkedFrom": list(self.linked_from),
        }


@dataclass(frozen=True)
class Inventory:
    rows: tuple[InventoryRow, ...]
    orphan_files: tuple[str, ...] | None
    """Files in the SSL directory that no certkey loads; None when the files were not listed."""
    _counts: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def counts(self) -> dict[str, Any]:
        """As `NetScalerConnection.status.inventory` shows them (docs/api.md)."""
        owners = {o: sum(1 for r in self.rows if r.owner == o) for o in OWNERS}
        unmanaged = [r for r in self.rows if r.owner == "none" and r.not_after is not None]
        soonest = min(unmanaged, key=lambda r: r.not_after or dt.datetime.max, default=None)
        out: dict[str, Any] = {
            "certKeys": len(self.rows),
            "managedHere": owners["this"],
            "managedElsewhere": owners["other"],
            "unmanaged": owners["none"],
            "caCertKeys": sum(1 for r in self.rows if r.ca),
            "expiringWithin30Days": sum(
                1 for r in self.rows if r.days_left is not None and r.days_left < EXPIRING_DAYS
            ),
            "unused": sum(1 for r in self.rows if r.unused),
        }
        if self.orphan_files is not None:
            out["orphanFiles"] = len(self.orphan_files)
        if soonest is not None and soonest.not_after is not None:
            out["soonestUnmanagedExpiry"] = {
                "certKey": soonest.name,
                "notAfter": soonest.not_after.isoformat(),
            }
        return out


def _days_left(not_after: dt.datetime | None, fallback: int | None, now: dt.datetime) -> int | None:
    if not_after is None:
        return fallback
    if not_after.tzinfo is None:
        not_after = not_after.replace(tzinfo=dt.UTC)
    return (not_after - now).days


def build(state: ApplianceState, cluster_tag: str | None, now: dt.datetime) -> Inventory:
    """The inventory of `state` as seen by the cluster with `cluster_tag` (None: nothing is `this`)."""
    bound: dict[str, list[str]] = {}
    for b in sorted(state.bindings, key=lambda b: (b.vserver, b.sni, b.ca)):
        suffix = " (CA)" if b.ca else " (SNI)" if b.sni else ""
        bound.setdefault(b.certkey, []).append(b.vserver + suffix)
    linked_from: dict[str, list[str]] = {}
    for ck in state.certkeys.values():
        if ck.linked_to:
            linked_from.setdefault(ck.linked_to, []).append(ck.name)
    rows = tuple(
        InventoryRow(
            name=ck.name,
            owner=owner_of(ck.cert, cluster_tag),
            ca=ck.is_ca,
            subject=ck.subject,
            serial=ck.serial,
            not_after=ck.not_after,
            days_left=_days_left(ck.not_after, ck.days_to_expiration, now),
            bound_to=tuple(bound.get(ck.name, ())),
            linked_to=ck.linked_to,
            linked_from=tuple(sorted(linked_from.get(ck.name, ()))),
        )
        for ck in sorted(state.certkeys.values(), key=lambda c: c.name)
    )
    orphans = None
    if state.files is not None:
        used = {posixpath.basename(f) for f in state.referenced_files()}
        orphans = tuple(sorted(f for f in state.files if f not in used))
    return Inventory(rows, orphans)


async def read(client: NitroClient, location: str) -> ApplianceState:
    """Certkeys, bindings and the files in `location`: three read requests, no write."""
    counter = Counter()
    state = await read_state(client, counter)
    return state.with_extra(files=await read_files(client, counter, location))
