"""Builders for planner tables: desired certificates, appliance snapshots and records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from certsync_devkit.pki import Issued, pem_bundle
from netscaler_certsync.domain import (
    CertInfo,
    LeafFiles,
    ca_certkey_name,
    ca_file_name,
    cert_info,
    cluster_tag,
    leaf_file_names,
    owner_tag,
    parse_material,
)
from netscaler_certsync.engine import (
    ApplianceState,
    BindingSpec,
    CertRecord,
    DesiredCertificate,
    Plan,
    Records,
    SyncOptions,
    plan,
)
from netscaler_certsync.nitro import CertBinding, CertKey

OWNER = "shop/web-certs"
CLUSTER = "cluster-a"
OWNER_ID = owner_tag(CLUSTER, OWNER)
CLUSTER_TAG = cluster_tag(CLUSTER)


def want(
    leaf: Issued,
    chain: Sequence[Issued] = (),
    *,
    id: str = "shop/web-tls",
    name: str = "www-cert",
    bindings: Iterable[BindingSpec] = (),
) -> DesiredCertificate:
    material = parse_material(pem_bundle([leaf, *chain]), leaf.key_pem, allow_expired=True)
    return DesiredCertificate(id, name, material, tuple(bindings))


def leaf_files(leaf: Issued, owner: str = OWNER_ID) -> LeafFiles:
    material = parse_material(leaf.cert_pem, leaf.key_pem, allow_expired=True)
    return leaf_file_names(owner, material.fingerprint, material.key_id)


def leaf_certkey(name: str, leaf: Issued, *, linked_to: str | None = None, owner: str = OWNER_ID) -> CertKey:
    files = leaf_files(leaf, owner)
    return CertKey(
        name,
        cert=files.cert,
        key=files.key,
        serial=leaf.serial_hex,
        subject=f"CN={leaf.common_name}",
        linked_to=linked_to,
        certificate_types=("SRVR_CERT",),
    )


def _ca(ca: Issued) -> CertInfo:
    return cert_info(ca.cert)


def ca_name(ca: Issued) -> str:
    return ca_certkey_name(ca.fingerprint_sha256)


def ca_certkey(
    ca: Issued, *, linked_to: str | None = None, name: str | None = None, file: str | None = None
) -> CertKey:
    info = _ca(ca)
    return CertKey(
        name or ca_name(ca),
        cert=file or ca_file_name(ca.fingerprint_sha256, CLUSTER_TAG),
        key=None,
        serial=info.serial,
        subject=info.subject,
        issuer=info.issuer,
        linked_to=linked_to,
        certificate_types=("INTM_CERT",),
    )


def record(d: DesiredCertificate, name: str | None = None, **kw: object) -> CertRecord:
    m = d.material
    assert m is not None
    files = leaf_file_names(OWNER_ID, m.fingerprint, m.key_id)
    base: dict[str, object] = dict(
        id=d.id,
        certkey=name or d.name,
        fingerprint=m.fingerprint,
        serial=m.leaf.serial,
        not_after=m.leaf.not_after.isoformat(),
        files=(files.cert, files.key),
        bindings=d.bindings,
    )
    base.update(kw)
    return CertRecord(**base)  # type: ignore[arg-type]


def bound(vserver: str, certkey: str, sni: bool = False) -> CertBinding:
    return CertBinding(vserver, certkey, sni=sni)


def snapshot(
    *certkeys: CertKey,
    bindings: Iterable[CertBinding] = (),
    vservers: Iterable[str] | None = ("vs_https", "vs_two", "vs_sni"),
    files: Iterable[str] | None = None,
) -> ApplianceState:
    return ApplianceState.of(certkeys, bindings, vservers=vservers, files=files)


def make_plan(
    desired: Sequence[DesiredCertificate],
    state: ApplianceState,
    records: Iterable[CertRecord] = (),
    **options: object,
) -> Plan:
    options.setdefault("cluster", CLUSTER)
    return plan(desired, state, Records(tuple(records)), SyncOptions(owner=OWNER, **options))  # type: ignore[arg-type]


def kinds(p: Plan) -> list[str]:
    return [str(op.kind) for op in p.operations]
