"""Client-authentication CA bundles: the CA certificates a vserver trusts for client certificates.

A bundle is PEM text from a Secret key or a ConfigMap key (trust-manager writes `Bundle`s as
ConfigMaps): one or more CA certificates, in any order, duplicates ignored. Each becomes a CA
certkey named by its fingerprint (`ca_certkey_name`), the same name a chain CA gets, so one
certificate is on the appliance once whoever needs it.
"""

from __future__ import annotations

from netscaler_certsync.domain import reasons
from netscaler_certsync.domain.errors import MaterialError
from netscaler_certsync.domain.material import CertInfo, _as_bytes, _load_certs, cert_info

#: More CAs than an appliance binds to one vserver in practice; a bundle past this is a mistake.
MAX_BUNDLE_CERTIFICATES = 100


def parse_ca_bundle(data: bytes | str | None, what: str = "the CA bundle") -> tuple[CertInfo, ...]:
    """The distinct CA certificates of a PEM bundle, ordered by fingerprint (a stable order, so a
    reordered bundle is no change), or `MaterialError` naming what is wrong."""
    raw = _as_bytes(data)
    if not raw.strip():
        raise MaterialError(reasons.MissingData, f"{what} is empty")
    certs = _load_certs(raw, what)
    if len(certs) > MAX_BUNDLE_CERTIFICATES:
        raise MaterialError(
            reasons.ChainInvalid, f"{what} holds more than {MAX_BUNDLE_CERTIFICATES} certificates"
        )
    infos = {info.fingerprint: info for info in map(cert_info, certs)}
    leaves = [info.subject for info in infos.values() if not info.is_ca]
    if leaves:  # a client certificate is never a trust anchor: binding it as -CA trusts nothing useful
        raise MaterialError(reasons.ChainInvalid, f"{what} holds a certificate that is not a CA: {leaves[0]}")
    return tuple(infos[fp] for fp in sorted(infos))
