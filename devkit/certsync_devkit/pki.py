"""A throw-away PKI for tests, the demo and the benchmarks.

Certificates are built by the simulator's own PKI (`netscaler_certsync.simulator.pki`, the one
home of that code, shipped because the simulator makes its TLS certificate with it); this module
re-exports it and adds `TestPKI`, a root and an intermediate issuing leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from netscaler_certsync.simulator.pki import (
    Issued,
    PrivateKey,
    make_ca,
    make_leaf,
    new_key,
    pem_bundle,
    server_certificate,
)

__all__ = [
    "Issued",
    "PrivateKey",
    "TestPKI",
    "make_ca",
    "make_leaf",
    "new_key",
    "pem_bundle",
    "pkcs12_keystore",
    "server_certificate",
]


def pkcs12_keystore(
    key: PrivateKey | None,
    cert: x509.Certificate | None,
    others: Sequence[x509.Certificate] = (),
    password: bytes | None = b"changeit",
) -> bytes:
    """A PKCS#12 keystore as cert-manager or Keyfactor writes one (None password: unencrypted)."""
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(b"certsync", key, cert, list(others) or None, encryption)


@dataclass(frozen=True)
class TestPKI:
    """A root and one intermediate, and a way to issue leaves under the intermediate."""

    __test__ = False  # not a pytest test class

    root: Issued
    intermediate: Issued

    @classmethod
    def create(cls, name: str = "Certsync Test", key_type: str = "ec") -> TestPKI:
        root = make_ca(f"{name} Root CA", key_type=key_type)
        intermediate = make_ca(f"{name} Intermediate CA", issuer=root, key_type=key_type, path_length=0)
        return cls(root, intermediate)

    def leaf(self, cn: str = "www.example.com", **kwargs: object) -> Issued:
        return make_leaf(self.intermediate, cn, **kwargs)  # type: ignore[arg-type]

    def tls_secret_data(self, leaf: Issued, *, with_chain: bool = True) -> dict[str, bytes]:
        """What a `kubernetes.io/tls` Secret holds for `leaf` (raw bytes, not base64)."""
        crt = pem_bundle([leaf, self.intermediate] if with_chain else [leaf])
        return {"tls.crt": crt, "tls.key": leaf.key_pem, "ca.crt": self.root.cert_pem}

    def keystore(self, leaf: Issued, password: bytes | None = b"changeit") -> bytes:
        """`leaf`, its key and the intermediate as a PKCS#12 keystore (cert-manager's keystore.p12)."""
        return pkcs12_keystore(leaf.key, leaf.cert, [self.intermediate.cert], password)
