"""Certificates from Opaque Secrets and PKCS#12 keystores (issue 20, "Sources").

A declared `source` reads PEM under the keys it names, or a PKCS#12 keystore with the password
from another Secret. Each bad input has its own reason and a message naming the Secret and the
key, never the content or the password; every good input yields the same material a
`kubernetes.io/tls` Secret with the same certificate would.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from certsync_devkit import k8s_builders as build
from certsync_devkit.pki import TestPKI, pkcs12_keystore
from netscaler_certsync.k8s import SecretSource
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.errors import ReconcileError
from netscaler_certsync.reconcile.sources import SourceCertificate, to_source
from netscaler_certsync.reconcile.specs import parse_sync

PASSWORD = b"changeit"


async def _none(*_: object) -> None:
    return None


NOW = dt.datetime.now(dt.UTC)
CTX = OperatorContext(get_secret=_none, list_secrets=_none, clock=lambda: NOW)
P12 = SecretSource(format="PKCS12", password_secret="p12-pass")


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI.create()


def _password(value: bytes = PASSWORD, key: str = "password") -> dict[str, Any]:
    return build.opaque_secret("p12-pass", {key: value})


def _read(
    secret: dict[str, Any] | None,
    source: SecretSource | None,
    password: dict[str, Any] | None = None,
    include_ca_crt: bool = False,
) -> SourceCertificate:
    return to_source("default", "web", secret, None, CTX, include_ca_crt, source, password)


def _problem(source: SourceCertificate) -> tuple[str | None, str]:
    return source.reason, source.message


def test_opaque_pem_under_configured_keys_is_the_same_material(pki: TestPKI) -> None:
    leaf = pki.leaf("www.example.com")
    tls = _read(build.tls_secret("web", leaf.cert_pem + pki.intermediate.cert_pem, leaf.key_pem), None)
    data = {"cert.pem": leaf.cert_pem + pki.intermediate.cert_pem, "key.pem": leaf.key_pem}
    source = SecretSource(certificate_key="cert.pem", private_key_key="key.pem", ca_key="root.pem")
    opaque = _read(build.opaque_secret("web", data | {"root.pem": pki.root.cert_pem}), source, None, True)
    assert opaque.reason is None and opaque.material is not None and tls.material is not None
    assert opaque.material.leaf == tls.material.leaf and opaque.material.chain == tls.material.chain
    assert opaque.material.key_pem == tls.material.key_pem
    assert (
        opaque.material.root is not None
        and opaque.material.root.subject == pki.root.cert.subject.rfc4514_string()
    )


def test_opaque_with_default_keys_as_cert_manager_names_them(pki: TestPKI) -> None:
    leaf = pki.leaf("www.example.com")
    secret = build.opaque_secret("web", {"tls.crt": leaf.cert_pem, "tls.key": leaf.key_pem})
    assert _read(secret, SecretSource()).material is not None


def test_a_message_names_the_configured_key(pki: TestPKI) -> None:
    leaf, other = pki.leaf("www.example.com"), pki.leaf("other.example.com")
    secret = build.opaque_secret("web", {"cert.pem": leaf.cert_pem, "key.pem": other.key_pem})
    source = SecretSource(certificate_key="cert.pem", private_key_key="key.pem")
    assert _problem(_read(secret, source)) == (
        "KeyMismatch",
        "Secret default/web: key.pem does not match any certificate in cert.pem",
    )


def test_other_secret_types_are_refused_even_with_a_source(pki: TestPKI) -> None:
    leaf = pki.leaf("www.example.com")
    secret = build.opaque_secret("web", {"tls.crt": leaf.cert_pem, "tls.key": leaf.key_pem})
    secret["type"] = "kubernetes.io/basic-auth"
    assert _read(secret, SecretSource()).reason == "WrongSecretType"


def test_a_keystore_with_its_password_is_the_same_material(pki: TestPKI) -> None:
    leaf = pki.leaf("www.example.com")
    tls = _read(build.tls_secret("web", leaf.cert_pem + pki.intermediate.cert_pem, leaf.key_pem), None)
    # cert-manager writes keystore.p12 into the kubernetes.io/tls Secret beside tls.crt.
    secret = build.tls_secret("web", b"", b"")
    secret["data"] = build.opaque_secret("x", {"keystore.p12": pki.keystore(leaf)})["data"]
    p12 = _read(secret, P12, _password())
    assert p12.reason is None and p12.material is not None and tls.material is not None
    assert (p12.material.leaf, p12.material.chain) == (tls.material.leaf, tls.material.chain)
    assert p12.material.key_id == tls.material.key_id


def test_a_keystore_in_an_opaque_secret_under_another_key(pki: TestPKI) -> None:
    # Keyfactor's K8SPKCS12 Secrets are Opaque; the key is configurable.
    leaf = pki.leaf("www.example.com")
    secret = build.opaque_secret("web", {"site.pfx": pki.keystore(leaf, b"pfx-pass")})
    source = SecretSource(
        format="PKCS12", keystore_key="site.pfx", password_secret="p12-pass", password_key="pw"
    )
    # A password written with `echo pw | base64` ends in a newline that is not part of it.
    source_cert = _read(secret, source, _password(b"pfx-pass\n", key="pw"))
    assert source_cert.reason is None and source_cert.material is not None


def test_an_unencrypted_keystore_needs_no_password(pki: TestPKI) -> None:
    leaf = pki.leaf("www.example.com")
    secret = build.opaque_secret("web", {"keystore.p12": pki.keystore(leaf, None)})
    assert _read(secret, SecretSource(format="PKCS12")).material is not None


def _keystore_secret(data: bytes) -> dict[str, Any]:
    return build.opaque_secret("web", {"keystore.p12": data})


def _self_signed(key: ed25519.Ed25519PrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ed.example.com")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .sign(key, None)
    )


def test_bad_keystores_have_named_reasons(pki: TestPKI) -> None:
    leaf, second = pki.leaf("www.example.com"), pki.leaf("second.example.com")
    ed_key = ed25519.Ed25519PrivateKey.generate()
    cases = {
        "WrongPassword": (pki.keystore(leaf, b"another"), "the password does not open keystore.p12"),
        "InvalidKeystore": (b"-----BEGIN CERTIFICATE-----\n", "keystore.p12 is not a PKCS#12 keystore"),
        "MissingKey": (pkcs12_keystore(None, leaf.cert, [], PASSWORD), "keystore.p12 holds no private key"),
        "MultipleLeaves": (
            pkcs12_keystore(leaf.key, leaf.cert, [second.cert], PASSWORD),
            "keystore.p12 holds 2 end-entity certificates; expected one",
        ),
        "UnsupportedKey": (
            pkcs12_keystore(ed_key, _self_signed(ed_key), [], PASSWORD),
            "Ed25519/Ed448 key type is not supported by NetScaler",
        ),
    }
    for reason, (data, fragment) in cases.items():
        got = _read(_keystore_secret(data), P12, _password())
        assert got.reason == reason, (reason, got.message)
        assert got.message.startswith("Secret default/web: ") and fragment in got.message
        assert got.material is None


def test_a_keystore_key_that_is_absent_is_missing_data(pki: TestPKI) -> None:
    got = _read(build.opaque_secret("web", {"other": b"x"}), P12, _password())
    assert _problem(got) == ("MissingData", "Secret default/web: has no 'keystore.p12' key")


def test_a_missing_password_secret_or_key_is_named(pki: TestPKI) -> None:
    secret = _keystore_secret(pki.keystore(pki.leaf("www.example.com")))
    assert _problem(_read(secret, P12, None)) == (
        "SecretNotFound",
        "Secret default/p12-pass with the password of default/web does not exist",
    )
    assert _problem(_read(secret, P12, _password(key="other"))) == (
        "MissingData",
        "Secret default/p12-pass: has no 'password' key",
    )


def test_no_message_or_repr_holds_the_password(pki: TestPKI) -> None:
    secret = _keystore_secret(pki.keystore(pki.leaf("www.example.com"), b"Sup3r-Secret-PW"))
    for password in (b"Sup3r-Secret-PW", b"Sup3r-Secret-pw"):
        got = _read(secret, P12, _password(password))
        assert "Sup3r" not in got.message and "Sup3r" not in repr(got)


def test_the_spec_declares_sources() -> None:
    spec = parse_sync(
        {
            "connectionRefs": [{"name": "adc"}],
            "certificates": [
                {"secretName": "tls"},
                {"secretName": "pem", "source": {"certificateKey": "cert.pem", "privateKeyKey": "key.pem"}},
                {
                    "secretName": "p12",
                    "source": {"format": "PKCS12", "passwordSecretRef": {"name": "p12-pass"}},
                },
            ],
            "secretSelector": {"matchLabels": {"app": "web"}},
            "secretSource": {"format": "PKCS12", "keystoreKey": "site.pfx"},
        }
    )
    assert [c.source for c in spec.certificates] == [
        None,
        SecretSource(certificate_key="cert.pem", private_key_key="key.pem"),
        SecretSource(format="PKCS12", password_secret="p12-pass"),
    ]
    assert spec.secret_source == SecretSource(format="PKCS12", keystore_key="site.pfx")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"format": "JKS"}, "certificates[0].source.format must be PEM or PKCS12, not 'JKS'"),
        ({"encryptKey": True}, "certificates[0].source.encryptKey needs passwordSecretRef (the passphrase)"),
        ({"certificateKey": "a/b"}, "certificates[0].source.certificateKey must be a Secret data key"),
    ],
)
def test_a_wrong_source_is_an_invalid_spec(source: dict[str, Any], message: str) -> None:
    with pytest.raises(ReconcileError) as exc:
        parse_sync(
            {"connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": "x", "source": source}]}
        )
    assert exc.value.reason == "InvalidSpec" and message in str(exc.value)
