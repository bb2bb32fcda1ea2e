"""Certificate material parsing: what a user with a broken or unusual Secret would notice."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization

from certsync_devkit.pki import TestPKI, make_ca, make_leaf, new_key, pem_bundle
from netscaler_certsync.domain import MaterialError, parse_material, reasons


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI.create()


def test_leaf_first_bundle_gives_leaf_chain_and_facts(pki: TestPKI) -> None:
    leaf = pki.leaf("www.example.com", sans=["www.example.com", "example.com"])
    mat = parse_material(pem_bundle([leaf, pki.intermediate]), leaf.key_pem, pki.root.cert_pem)
    assert mat.leaf.fingerprint == leaf.fingerprint_sha256
    assert mat.leaf.serial == leaf.serial_hex
    assert mat.leaf.common_name == "www.example.com"
    assert mat.leaf.sans == ("www.example.com", "example.com")
    assert [c.fingerprint for c in mat.chain] == [pki.intermediate.fingerprint_sha256]
    assert mat.root is not None and mat.root.fingerprint == pki.root.fingerprint_sha256
    assert 88 <= mat.days_left() <= 90


def test_bundle_in_any_order_is_reordered_by_issuer() -> None:
    root = make_ca("Root")
    mid1 = make_ca("Mid 1", issuer=root)
    mid2 = make_ca("Mid 2", issuer=mid1)
    leaf = make_leaf(mid2, "app.example.com")
    mat = parse_material(pem_bundle([mid1, root, leaf, mid2]), leaf.key_pem)
    assert [c.common_name for c in mat.chain] == ["Mid 2", "Mid 1"]
    assert mat.root is not None and mat.root.common_name == "Root"


@pytest.mark.parametrize("fmt", ["pkcs8", "traditional"])
@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_key_formats_are_accepted_and_normalised(pki: TestPKI, fmt: str, key_type: str) -> None:
    leaf = pki.leaf("k.example.com", key_type=key_type)
    key = leaf.key_pem if fmt == "pkcs8" else leaf.key_pem_traditional
    mat = parse_material(leaf.cert_pem, key)
    # The same key always gives the same bytes: file names on the appliance are content-addressed.
    assert mat.key_pem == leaf.key_pem.decode()
    assert mat.key_type.startswith("RSA-2048" if key_type == "rsa" else "EC-secp256r1")


def test_encrypted_key_is_rejected_with_its_own_reason(pki: TestPKI) -> None:
    leaf = pki.leaf()
    with pytest.raises(MaterialError) as err:
        parse_material(leaf.cert_pem, leaf.key_pem_encrypted(b"hunter2"))
    assert err.value.reason == reasons.EncryptedKey


def test_key_mismatch(pki: TestPKI) -> None:
    leaf, other = pki.leaf(), pki.leaf()
    with pytest.raises(MaterialError) as err:
        parse_material(leaf.cert_pem, other.key_pem)
    assert err.value.reason == reasons.KeyMismatch
    assert "PRIVATE KEY" not in str(err.value)


@pytest.mark.parametrize(
    ("crt", "key", "reason"),
    [
        (b"", b"k", reasons.MissingData),
        (b"not a pem", None, reasons.InvalidPEM),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", None, reasons.InvalidPEM),
    ],
)
def test_unreadable_certificate(pki: TestPKI, crt: bytes, key: bytes | None, reason: str) -> None:
    with pytest.raises(MaterialError) as err:
        parse_material(crt, key or pki.leaf().key_pem)
    assert err.value.reason == reason


def test_garbled_key_message_never_echoes_the_key(pki: TestPKI) -> None:
    leaf = pki.leaf()
    garbled = leaf.key_pem.replace(b"\n", b"\nZZ", 2)
    with pytest.raises(MaterialError) as err:
        parse_material(leaf.cert_pem, garbled)
    assert err.value.reason == reasons.InvalidPEM
    body = garbled.decode().splitlines()[1]
    assert body not in str(err.value) and body not in repr(err.value)


def test_expired_leaf_reports_reason_and_date(pki: TestPKI) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
    leaf = pki.leaf(not_before=start, days=10)
    with pytest.raises(MaterialError) as err:
        parse_material(leaf.cert_pem, leaf.key_pem)
    assert err.value.reason == reasons.CertificateExpired
    assert leaf.serial_hex in err.value.message
    mat = parse_material(leaf.cert_pem, leaf.key_pem, allow_expired=True)
    assert mat.leaf.expired() and mat.days_left() < 0


def test_chain_with_foreign_certificate_is_invalid(pki: TestPKI) -> None:
    leaf = pki.leaf()
    stranger = make_ca("Unrelated CA")
    with pytest.raises(MaterialError) as err:
        parse_material(pem_bundle([leaf, pki.intermediate, stranger]), leaf.key_pem)
    assert err.value.reason == reasons.ChainInvalid
    assert "Unrelated CA" in err.value.message


def test_intermediate_with_right_name_but_wrong_signature_is_invalid(pki: TestPKI) -> None:
    leaf = pki.leaf()
    # Same subject as the real intermediate, different key: a name match alone is not a link.
    impostor = make_ca(pki.intermediate.common_name, issuer=pki.root, key=new_key())
    with pytest.raises(MaterialError) as err:
        parse_material(pem_bundle([leaf, impostor]), leaf.key_pem)
    assert err.value.reason == reasons.ChainInvalid


def test_ca_crt_continues_the_chain(pki: TestPKI) -> None:
    leaf = pki.leaf()
    mat = parse_material(leaf.cert_pem, leaf.key_pem, pem_bundle([pki.intermediate, pki.root]))
    assert [c.fingerprint for c in mat.chain] == [pki.intermediate.fingerprint_sha256]
    assert mat.root is not None


def test_ca_crt_that_did_not_issue_the_chain_is_invalid(pki: TestPKI) -> None:
    leaf = pki.leaf()
    other_root = make_ca(pki.root.common_name)  # same name, other key
    with pytest.raises(MaterialError) as err:
        parse_material(pem_bundle([leaf, pki.intermediate]), leaf.key_pem, other_root.cert_pem)
    assert err.value.reason == reasons.ChainInvalid


def test_weak_rsa_key_is_unsupported(pki: TestPKI) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point of the test
    leaf = make_leaf(pki.intermediate, "weak.example.com", key=key)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(MaterialError) as err:
        parse_material(leaf.cert_pem, pem)
    assert err.value.reason == reasons.UnsupportedKey


def test_oversized_input_is_rejected(pki: TestPKI) -> None:
    with pytest.raises(MaterialError) as err:
        parse_material(b"-----BEGIN CERTIFICATE-----" + b"A" * (3 * 1024 * 1024), pki.leaf().key_pem)
    assert err.value.reason == reasons.MaterialTooLarge
