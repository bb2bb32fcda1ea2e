"""At most one default certificate per (appliance, vserver, key type) across all CertificateSyncs.

`binding_conflicts` settles clashes inside one sync; this index settles them between syncs, in
the same or different namespaces, that deploy to the same appliance (same endpoint and admin
partition, whichever NetScalerConnection names it). Each reconcile, once its Secrets are read
(key type known) and its connection resolved (appliance known), replaces the default-binding
claims of its certificates on that appliance. The earliest CertificateSync (creationTimestamp,
then namespace/name) wins a slot; a certificate of a later one that asks for a held slot gets the
problem `BindingConflict` naming the winning sync and certificate, so it is left as it is on the
appliance (no writes for it, nothing flaps) and its sync reports Ready False with a Warning Event.

Winners are chosen greedily in that order: a certificate held back claims nothing, so a slot is
held only by a certificate that is deployed. Whenever a change of the claims changes which
certificates of other syncs are held back (a claim released, a sync with an earlier timestamp
taking its slot), those syncs are looked at again (`requeue`), so a loser binds, or a displaced
holder reports the conflict, within one reconcile.

After a restart the index starts empty. A sync's own earlier result still counts: until a sync
that was created earlier has reconciled since the start (`known` lists every sync, from kopf's
listing), a later certificate that its last status does not show bound as that default does not
take the slot (it waits, held back, and is looked at again when the earlier syncs have reported).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from netscaler_certsync.domain import DomainError, reasons
from netscaler_certsync.engine import DesiredCertificate

__all__ = ["ClaimIndex", "Slot", "bound_defaults", "default_slots"]

#: (appliance key, vserver, key family): one default certificate each.
Slot = tuple[str, str, str]
#: (namespace/name of the CertificateSync, connection name)
_Holder = tuple[str, str]


def _family(d: DesiredCertificate) -> str:
    """RSA or EC: the appliance keeps one default per family (`RSA-2048` and `RSA-4096` clash)."""
    return d.material.key_type.split("-", 1)[0] if d.material else ""


def default_slots(appliance: str, d: DesiredCertificate) -> frozenset[Slot]:
    return frozenset((appliance, b.vserver, _family(d)) for b in d.bindings if not b.sni)


def bound_defaults(status: Mapping[str, Any], namespace: str, connection: str) -> dict[str, list[str]]:
    """Certificate id -> the vservers the sync's last status shows it bound to as the default."""
    out: dict[str, list[str]] = {}
    for entry in status.get("certificates") or ():
        if isinstance(entry, Mapping) and entry.get("connection") == connection:
            vservers = [str(b.get("vserver")) for b in entry.get("boundVServers") or () if not b.get("sni")]
            out.setdefault(f"{namespace}/{entry.get('secretName')}", []).extend(vservers)
    return out


@dataclass(frozen=True)
class _Claims:
    order: tuple[str, str]  # (creationTimestamp, namespace/name): earliest first
    certs: Mapping[str, frozenset[Slot]]  # certificate id -> the default slots it asks for


@dataclass(frozen=True)
class _Loss:
    slot: Slot
    sync: str
    cert: str


class ClaimIndex:
    def __init__(self) -> None:
        self._claims: dict[_Holder, _Claims] = {}
        #: every CertificateSync the operator has seen listed: namespace/name -> creationTimestamp
        self._known: dict[str, str] = {}
        #: syncs that have reported their claims since the operator started
        self._reported: set[str] = set()
        #: certificates held back until earlier syncs report: sync -> its creationTimestamp
        self._waiting: dict[str, str] = {}
        self.requeue: Callable[[str], None] = lambda sync: None
        """Looks at a CertificateSync (namespace/name) again; set by the OperatorContext."""

    def known(self, sync: str, created: str) -> None:
        self._known[sync] = created

    def gone(self, sync: str) -> None:
        """The CertificateSync is deleted: its claims go, and whoever it held back is looked at."""
        self._known.pop(sync, None)
        self._waiting.pop(sync, None)
        self._update([h for h in self._claims if h[0] == sync], {})
        self._wake_waiting()

    def reconciled(self, sync: str) -> None:
        """The sync has had its turn since the start (claims made, or none it could make)."""
        self._reported.add(sync)
        self._wake_waiting()

    def keep_connections(self, sync: str, connections: Iterable[str]) -> None:
        """Drop the claims of connections the sync no longer names."""
        keep = set(connections)
        self._update([h for h in self._claims if h[0] == sync and h[1] not in keep], {})

    def claim(
        self,
        sync: str,
        created: str,
        connection: str,
        appliance: str,
        desired: Sequence[DesiredCertificate],
        bound: Mapping[str, Iterable[str]] | None = None,
    ) -> list[DesiredCertificate]:
        """`desired` as this sync may deploy it to `appliance`: each certificate whose default slot
        an earlier sync's certificate holds turned into a `BindingConflict` problem.

        `bound`: certificate id -> vservers its last status shows it bound to as the default here
        (what it already holds: kept across a restart, see the module docstring)."""
        certs = {
            d.id: slots
            for d in desired
            if d.material is not None and d.problem is None and (slots := default_slots(appliance, d))
        }
        holder = (sync, connection)
        self._known.setdefault(sync, created)
        self._reported.add(sync)
        self._update([holder], {holder: _Claims((created, sync), certs)} if certs else {})
        self._wake_waiting()
        losses = {cert: loss for (h, cert), loss in self._losses().items() if h == holder}
        # Only a sync that wants a default slot waits for earlier ones (a pass over every sync).
        early = (
            [s for s, c in self._known.items() if s not in self._reported and (c, s) < (created, sync)]
            if certs
            else []
        )
        held: dict[str, DomainError] = {}
        for d in desired:
            if d.id in losses:
                held[d.id] = _conflict(losses[d.id])
            elif early and d.id in certs:
                already = set((bound or {}).get(d.id, ()))
                if not {vs for (_, vs, _) in certs[d.id]} <= already:
                    held[d.id] = _waiting(early)
        if any(d.id in held for d in desired if d.id not in losses):
            self._waiting[sync] = created
        else:
            self._waiting.pop(sync, None)
        return [replace(d, problem=held[d.id]) if d.id in held else d for d in desired]

    def _losses(self) -> dict[tuple[_Holder, str], _Loss]:
        """Greedy in order of the syncs: each certificate takes its slots unless one is held."""
        held: dict[Slot, tuple[str, str]] = {}
        losses: dict[tuple[_Holder, str], _Loss] = {}
        for holder, claims in sorted(self._claims.items(), key=lambda kv: (kv[1].order, kv[0][1])):
            for cert, slots in sorted(claims.certs.items()):
                taken = sorted(s for s in slots if s in held and held[s] != (holder[0], cert))
                if taken:
                    losses[(holder, cert)] = _Loss(taken[0], *held[taken[0]])
                else:
                    held.update(dict.fromkeys(slots, (holder[0], cert)))
        return losses

    def _update(self, drop: Sequence[_Holder], put: Mapping[_Holder, _Claims]) -> None:
        """Replace claims; every other sync whose held-back certificates change is looked at again."""
        before = self._losses()
        for holder in drop:
            self._claims.pop(holder, None)
        self._claims.update(put)
        after = self._losses()
        changed = {h[0] for (h, _) in before.keys() ^ after.keys()}
        changed |= {key[0][0] for key, loss in after.items() if key in before and before[key] != loss}
        for sync in sorted(changed - {h[0] for h in [*drop, *put]}):
            self.requeue(sync)

    def _wake_waiting(self) -> None:
        """Syncs waiting for earlier ones to report, now that none of those is left: look again."""
        for sync, created in list(self._waiting.items()):
            if not any(s not in self._reported and (c, s) < (created, sync) for s, c in self._known.items()):
                del self._waiting[sync]
                self.requeue(sync)


def _conflict(loss: _Loss) -> DomainError:
    appliance, vserver, family = loss.slot
    return DomainError(
        reasons.BindingConflict,
        f"vserver {vserver} on {appliance.partition('#')[0]} already gets {loss.cert} as its default "
        f"{family} certificate from CertificateSync {loss.sync}, created earlier; a vserver has one "
        "default certificate per key type, so this one is not deployed (bind it as SNI, or to "
        "another vserver)",
    )


def _waiting(early: Sequence[str]) -> DomainError:
    return DomainError(
        reasons.BindingConflict,
        f"waiting for {len(early)} CertificateSync(s) created earlier (e.g. {sorted(early)[0]}) to "
        "report their default certificates since the operator started, before taking a default "
        "binding",
    )
