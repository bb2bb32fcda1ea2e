"""The engine's inputs and outputs: desired certificates, options, records, results.

Records are what the engine reported last time (the operator stores them in CR status and hands
them back): with the owner tag in our file names they decide, together with the appliance state,
what this operator created and may therefore change or delete. They round-trip through plain
JSON (`Records.to_dict()` / `Records.from_dict()`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netscaler_certsync.domain import DEFAULT_NAME_LIMIT, CertificateMaterial, CertInfo, DomainError, reasons
from netscaler_certsync.engine.locks import Priority
from netscaler_certsync.nitro import CertKey


@dataclass(frozen=True, order=True)
class BindingSpec:
    """A binding of a certificate to an SSL vserver, as default (server) or SNI certificate."""

    vserver: str
    sni: bool = False

    def describe(self) -> str:
        return f"{self.vserver}{' (SNI)' if self.sni else ''}"


@dataclass(frozen=True)
class Adoption:
    """`certificates[].adopt`: take over the existing certkey `certkey` in place (docs/api.md)."""

    certkey: str
    delete_on_removal: bool = False
    """Delete the certkey when the certificate is deselected or the sync deleted (else it stays)."""


@dataclass(frozen=True)
class DesiredCertificate:
    """One certificate that should be on the appliance.

    `id` is stable per Secret (e.g. `namespace/secretName`). `name` is the certkey name the
    operator rendered from the template (`domain.render_certkey_name`). When the Secret could not
    be used, `material` is None and `problem` says why: the deployed certificate, if any, is kept
    as it is — except for `CertificateExpired`, which makes the certificate inactive.
    """

    id: str
    name: str
    material: CertificateMaterial | None
    bindings: tuple[BindingSpec, ...] = ()
    problem: DomainError | None = None
    adopt: Adoption | None = None
    """Take over an existing certkey (then `name` is its name) instead of creating one."""


@dataclass(frozen=True)
class ClientAuth:
    """The CA certificates one vserver should trust for client certificates (`bindings[].clientAuth`).

    `cas` come from `domain.client_ca.parse_ca_bundle`. When the bundle could not be used,
    `problem` says why and the CAs bound before stay as they are (nothing of them is changed).
    """

    vserver: str
    cas: tuple[CertInfo, ...] = ()
    crlcheck: str | None = None
    ocspcheck: str | None = None
    problem: DomainError | None = None


@dataclass(frozen=True)
class SyncOptions:
    """How to sync; `owner` is the deploying scope (one CertificateSync) and `cluster` the
    identity of the cluster it lives in: both are tagged into file names (`domain.owner_tag`)."""

    owner: str
    cluster: str = ""
    """The cluster identity (reconcile passes the operator's); objects tagged with another are
    never changed. Left empty, every apply is of one anonymous cluster."""
    preserve_on_renewal: bool = True
    remove_inactive: bool = True
    link_chain: bool = True
    dry_run: bool = False
    name_limit: int = DEFAULT_NAME_LIMIT
    file_location: str | None = None
    """Where certificate files go; None: the client's admin partition's own SSL directory
    (`/nsconfig/ssl`, or `/nsconfig/partitions/<name>/ssl` in an admin partition)."""
    scan_files: bool = False
    """List files on every apply (finds leftovers even when nothing else looks wrong)."""
    snapshot_max_age: float = 0.0
    """Start from the appliance state an earlier apply left, if it grew from a full listing made
    less than this many seconds ago (0: always list afresh); see `engine/snapshot.py`."""
    priority: Priority = Priority.CHANGE
    """Whose turn comes first when applies queue for the same appliance (`engine/locks.py`)."""
    now: dt.datetime | None = None
    """For tests: the time against which expiry is judged."""


@dataclass(frozen=True)
class CertRecord:
    """What this operator deployed for one certificate on one appliance."""

    id: str
    certkey: str
    fingerprint: str
    serial: str
    not_after: str  # ISO 8601
    files: tuple[str, ...]
    bindings: tuple[BindingSpec, ...] = ()
    """Bindings this operator made (only these are ever removed)."""
    superseded: bool = False
    """A predecessor kept beside its successor (`preserveOnRenewal: false`) until removal."""
    shared: bool = False
    """A certkey another CertificateSync of this operator deployed with the same certificate (NetScaler
    holds one certkey per certificate): we only bind and unbind it, never change or delete it."""
    base: str = ""
    """The certkey name rendered for this certificate when it was deployed, when the certkey carries
    another one (a successor name): a later renewal then keeps the certkey's name instead of taking
    it for an edited `certKeyName` and moving back (empty: the certkey's own name)."""
    adopted: bool = False
    """A certkey this operator took over (`adopt`): renewed in place, never deleted on removal
    unless `delete_on_removal` (its references are the user's)."""
    delete_on_removal: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "certkey": self.certkey,
            "fingerprint": self.fingerprint,
            "serial": self.serial,
            "notAfter": self.not_after,
            "files": list(self.files),
            "bindings": [{"vserver": b.vserver, "sni": b.sni} for b in self.bindings],
        }
        if self.superseded:
            out["superseded"] = True
        if self.shared:
            out["shared"] = True
        if self.base and self.base != self.certkey:
            out["base"] = self.base
        if self.adopted:
            out["adopted"] = True
        if self.delete_on_removal:
            out["deleteOnRemoval"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CertRecord:
        return cls(
            id=str(data["id"]),
            certkey=str(data["certkey"]),
            fingerprint=str(data.get("fingerprint", "")),
            serial=str(data.get("serial", "")),
            not_after=str(data.get("notAfter", "")),
            files=tuple(str(f) for f in data.get("files", ())),
            bindings=tuple(
                BindingSpec(str(b["vserver"]), bool(b.get("sni", False))) for b in data.get("bindings", ())
            ),
            superseded=bool(data.get("superseded", False)),
            shared=bool(data.get("shared", False)),
            base=str(data.get("base", "")),
            adopted=bool(data.get("adopted", False)),
            delete_on_removal=bool(data.get("deleteOnRemoval", False)),
        )

    @property
    def base_name(self) -> str:
        return self.base or self.certkey

    def expired(self, now: dt.datetime) -> bool:
        try:
            return dt.datetime.fromisoformat(self.not_after) <= now
        except ValueError:
            return False


@dataclass(frozen=True, order=True)
class ClientCARecord:
    """A CA binding (`-CA`) this operator made on a vserver: the only kind it ever unbinds."""

    vserver: str
    certkey: str


@dataclass(frozen=True)
class Records:
    certificates: tuple[CertRecord, ...] = ()
    client_cas: tuple[ClientCARecord, ...] = ()
    """The client-authentication CA bindings this operator made (`engine/client_ca.py`)."""
    unsaved: bool = False
    """The last apply changed the appliance but could not save: the next one saves."""
    pending: bool = False
    """An intent stored before an apply wrote, which no result has replaced: that apply may have
    written without saving (the process stopped, or it failed), so the next one saves."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"certificates": [r.to_dict() for r in self.certificates]}
        if self.client_cas:
            out["clientCAs"] = [{"vserver": r.vserver, "certkey": r.certkey} for r in self.client_cas]
        if self.unsaved:
            out["unsaved"] = True
        if self.pending:
            out["pending"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Records:
        data = data or {}
        return cls(
            tuple(CertRecord.from_dict(r) for r in data.get("certificates", ())),
            tuple(
                sorted(
                    ClientCARecord(str(r["vserver"]), str(r["certkey"])) for r in data.get("clientCAs", ())
                )
            ),
            bool(data.get("unsaved", False)),
            bool(data.get("pending", False)),
        )

    def for_id(self, cert_id: str) -> list[CertRecord]:
        return list(self._by_id().get(cert_id, ()))

    def ids_of(self, certkey: str) -> set[str]:
        """The certificates whose records name `certkey`."""
        return {r.id for r in self._by_certkey().get(certkey, ())}

    # Indexes, built on first use (the records are immutable): planning stays linear in their number.
    def _by_id(self) -> dict[str, list[CertRecord]]:
        return self._index("_id_index", lambda r: r.id)

    def _by_certkey(self) -> dict[str, list[CertRecord]]:
        return self._index("_certkey_index", lambda r: r.certkey)

    def _index(self, attr: str, key: Callable[[CertRecord], str]) -> dict[str, list[CertRecord]]:
        found: dict[str, list[CertRecord]] | None = self.__dict__.get(attr)
        if found is None:
            found = {}
            for r in self.certificates:
                found.setdefault(key(r), []).append(r)
            object.__setattr__(self, attr, found)
        return found


class CertState(enum.StrEnum):
    """Values of `CertificateResult.state` (and of a status entry's `state`)."""

    SYNCED = "Synced"
    FAILED = "Failed"
    REMOVED = "Removed"
    KEPT = "Kept"
    PLANNED = "Planned"
    SUPERSEDED = "Superseded"
    """A predecessor kept beside its successor until removal (`ApplianceResult.superseded`)."""


@dataclass(frozen=True)
class CertificateResult:
    """What happened to one certificate on one appliance (the operator turns it into status)."""

    id: str
    certkey: str | None
    state: CertState
    reason: str
    message: str
    serial: str | None = None
    not_after: str | None = None
    fingerprint: str | None = None
    bound: tuple[BindingSpec, ...] = ()
    changed: bool = False
    adopted: bool = False
    """The certkey is one this operator adopted (`certificates[].adopt`) and does not delete."""


@dataclass(frozen=True)
class BoundCA:
    """One CA binding's checks as NITRO shows them (None: NITRO shows none)."""

    certkey: str
    crlcheck: str | None = None
    ocspcheck: str | None = None


@dataclass(frozen=True)
class ClientAuthResult:
    """What one vserver's client-authentication CAs are after an apply (`ClientAuth`)."""

    vserver: str
    bound: tuple[str, ...]
    """The CA certkeys of the bundle that NITRO shows bound with `-CA` after the run (with a
    `problem`: those of ours still bound from before)."""
    reason: str
    message: str
    failed: bool = False
    changed: bool = False
    checks: tuple[BoundCA, ...] = ()
    """The `-crlCheck` / `-ocspCheck` NITRO shows on each CA of `bound`, in its order."""


@dataclass(frozen=True)
class ApplianceResult:
    """What happened on one appliance during one apply."""

    certificates: tuple[CertificateResult, ...]
    records: Records
    changed: bool
    saved: bool
    reads: int
    writes: int
    operations: tuple[str, ...] = ()
    """The plan as readable lines (what a dry run would do, or what this apply attempted)."""
    warnings: tuple[str, ...] = field(default=())
    """Clean-up that failed without affecting any certificate (e.g. an unused CA still referenced)."""
    vanished: tuple[str, ...] = ()
    """Certkeys the records said were deployed here that the appliance did not have when this
    apply listed it: its configuration was lost (a reboot before a save, a restore) or changed
    by hand. This apply puts them back; the other owners there may have lost theirs too."""
    client_auth: tuple[ClientAuthResult, ...] = ()
    """Per vserver with `clientAuth` asked (or ours to remove): the CAs bound for client certificates."""
    not_saved: str | None = None
    """Why the configuration is not saved (the save failed):
    the changes are live, but a reboot of the appliance would lose them. None when saved."""
    read_back: Mapping[str, CertKey] = field(default_factory=dict, compare=False)
    """Certkeys this apply read from the appliance by name after its writes (to keep the
    appliance's snapshot, engine/snapshot.py): the verification takes them as read back."""

    @property
    def failed(self) -> list[CertificateResult]:
        return [c for c in self.certificates if c.state == CertState.FAILED]

    @property
    def superseded(self) -> list[CertificateResult]:
        """Predecessors kept beside their successor (`preserveOnRenewal: false`, or a predecessor
        the appliance would not let go), as the records after this apply hold them.

        Apart from `certificates`: they are shown, not verified, listed or counted.
        """
        current = {r.id: r.certkey for r in self.records.certificates if not r.superseded}
        return [
            CertificateResult(
                id=r.id,
                certkey=r.certkey,
                state=CertState.SUPERSEDED,
                reason=reasons.Renewed,
                message=f"certkey {r.certkey} was replaced by {current.get(r.id, 'a new certkey')} at a "
                "renewal and is kept until it is removed as inactive",
                serial=r.serial or None,
                not_after=r.not_after or None,
                fingerprint=r.fingerprint or None,
                bound=r.bindings,
            )
            for r in self.records.certificates
            if r.superseded
        ]
