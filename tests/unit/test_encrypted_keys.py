"""Encrypted private keys (issue 20): opened with the spec's passphrase, kept encrypted for the appliance.

A user notices: an encrypted key deploys once its passphrase is named; a missing or wrong one is a
named reason that quotes neither the passphrase nor the key; the key file on the appliance is
encrypted (and opens with the passphrase sent as `passplain`); a new passphrase gives a new key file.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from certsync_devkit.pki import TestPKI
from netscaler_certsync.domain import MaterialError, parse_material, reasons
from netscaler_certsync.k8s.secrets import SecretSource
from netscaler_certsync.reconcile.errors import ReconcileError
from netscaler_certsync.reconcile.specs import parse_source

PASS = b"Key-Pa55phrase"


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI.create()


def _traditional(leaf, password: bytes) -> bytes:  # type: ignore[no-untyped-def]
    return leaf.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(password),
    )


@pytest.mark.parametrize("form", ["pkcs8", "traditional"])
def test_an_encrypted_key_opens_with_its_passphrase_and_stays_encrypted(pki: TestPKI, form: str) -> None:
    leaf = pki.leaf(key_type="rsa")
    key = leaf.key_pem_encrypted(PASS) if form == "pkcs8" else _traditional(leaf, PASS)
    mat = parse_material(leaf.cert_pem, key, passphrase=PASS)
    assert mat.passplain == PASS.decode()
    uploaded = mat.upload_key_pem().encode()
    assert b"Proc-Type: 4,ENCRYPTED" in uploaded and b"AES-256-CBC" in uploaded
    opened = serialization.load_pem_private_key(uploaded, PASS)
    assert opened.private_numbers() == leaf.key.private_numbers()  # type: ignore[union-attr]
    assert PASS.decode() not in repr(mat)


def test_encrypt_key_encrypts_an_unencrypted_key_and_nothing_else_does(pki: TestPKI) -> None:
    leaf = pki.leaf()
    plain = parse_material(leaf.cert_pem, leaf.key_pem, passphrase=PASS)
    assert plain.passplain is None and b"ENCRYPTED" not in plain.upload_key_pem().encode()
    enc = parse_material(leaf.cert_pem, leaf.key_pem, passphrase=PASS, encrypt_key=True)
    assert enc.passplain == PASS.decode()
    assert serialization.load_pem_private_key(enc.upload_key_pem().encode(), PASS) is not None


def test_the_key_file_name_follows_the_passphrase(pki: TestPKI) -> None:
    leaf = pki.leaf()
    plain = parse_material(leaf.cert_pem, leaf.key_pem)
    one = parse_material(leaf.cert_pem, leaf.key_pem_encrypted(PASS), passphrase=PASS)
    again = parse_material(leaf.cert_pem, leaf.key_pem_encrypted(PASS), passphrase=PASS)
    other = parse_material(leaf.cert_pem, leaf.key_pem_encrypted(b"other"), passphrase=b"other")
    assert plain.key_file_id == plain.key_id
    assert one.key_file_id == again.key_file_id  # same key and passphrase: the file is reused
    assert len({plain.key_file_id, one.key_file_id, other.key_file_id}) == 3


@pytest.mark.parametrize(
    ("passphrase", "reason"),
    [(None, reasons.EncryptedKey), (b"not-it", reasons.WrongPassword), (b"", reasons.EncryptedKey)],
)
def test_a_missing_or_wrong_passphrase_is_a_named_reason(
    pki: TestPKI, passphrase: bytes | None, reason: str
) -> None:
    leaf = pki.leaf()
    with pytest.raises(MaterialError) as err:
        parse_material(leaf.cert_pem, leaf.key_pem_encrypted(PASS), passphrase=passphrase)
    assert err.value.reason == reason
    assert PASS.decode() not in str(err.value) and "PRIVATE KEY" not in str(err.value)
    if passphrase:
        assert passphrase.decode() not in str(err.value)


def test_encrypt_key_without_a_passphrase_or_with_an_unusable_one_is_refused(pki: TestPKI) -> None:
    leaf = pki.leaf()
    with pytest.raises(MaterialError) as err:
        parse_material(leaf.cert_pem, leaf.key_pem, encrypt_key=True)
    assert err.value.reason == reasons.EncryptedKey
    with pytest.raises(MaterialError) as err:
        parse_material(leaf.cert_pem, leaf.key_pem, passphrase=b"qz\tqz", encrypt_key=True)
    assert err.value.reason == reasons.WrongPassword and "qz" not in str(err.value)


def test_the_spec_takes_a_passphrase_for_pem_and_encrypt_key_needs_one() -> None:
    source = parse_source({"passwordSecretRef": {"name": "pp", "key": "passphrase"}, "encryptKey": True}, "s")
    assert source == SecretSource(password_secret="pp", password_key="passphrase", encrypt_key=True)
    with pytest.raises(ReconcileError) as exc:
        parse_source({"encryptKey": True}, "s")
    assert "s.encryptKey needs passwordSecretRef" in str(exc.value)
