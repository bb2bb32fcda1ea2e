"""Encrypted private keys end to end (issue 20, "Encrypted keys").

An encrypted PEM key (its passphrase in another Secret) and an unencrypted one with `encryptKey`
are deployed with their key files encrypted on the appliance and `passplain` on add and update;
the simulator refuses an encrypted key without the right passplain (1537/1614) as 12.1 does, so a
renewal in place that lands proves the update carried it. Bad inputs get named reasons, and
fixing the passphrase Secret alone re-syncs.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import Issued
from tests.operator.harness import NS, Cluster, condition

ENC_SOURCE = {"passwordSecretRef": {"name": "key-pass", "key": "passphrase"}}
ENCRYPT_SOURCE = {**ENC_SOURCE, "encryptKey": True}


def _entry(obj: dict[str, Any], secret: str) -> dict[str, Any]:
    return next(e for e in obj["status"]["certificates"] if e["secretName"] == secret)


def _traditional(leaf: Issued, password: bytes) -> bytes:
    return leaf.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(password),
    )


def _tls(cluster: Cluster, leaf: Issued, key: bytes) -> dict[str, str]:
    return {
        "tls.crt": build.b64(leaf.cert_pem + cluster.pki.intermediate.cert_pem),
        "tls.key": build.b64(key),
    }


def _wait_certkey(cluster: Cluster, name: str, what: str, pred: Any) -> dict[str, Any]:
    return wait_for(lambda: (c := cluster.certkey(name)) is not None and pred(c) and c, timeout=10, what=what)


def test_encrypted_and_encrypt_key_deploy_encrypted_and_renew_in_place(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    cluster.core.create_namespaced_secret(NS, build.opaque_secret("key-pass", {"passphrase": b"pp-1\n"}))
    enc = cluster.pki.leaf("enc.example.com", key_type="rsa")
    cluster.core.create_namespaced_secret(
        NS,
        build.tls_secret(
            "enc", enc.cert_pem + cluster.pki.intermediate.cert_pem, enc.key_pem_encrypted(b"pp-1")
        ),
    )
    plain = cluster.tls_secret("plain")
    cluster.sync(
        "keys",
        certificates=[
            {"secretName": "enc", "source": ENC_SOURCE},
            {"secretName": "plain", "source": ENCRYPT_SOURCE},
        ],
        bindings=[{"vserver": "cs_sni", "sni": True}],
    )
    cluster.wait_ready("keys")
    for name, leaf in (("default-enc", enc), ("default-plain", plain)):
        certkey = cluster.certkey(name)
        assert certkey is not None and certkey["serial"] == leaf.serial_hex
        assert certkey["key_encrypted"] is True, f"{name}'s key is not encrypted on the appliance"
    assert cluster.bound("cs_sni") == [("default-enc", True), ("default-plain", True)]

    # Renewal in place with a new key in the other PEM form: update carries passplain.
    enc_next = cluster.pki.leaf("enc.example.com", key_type="rsa")
    cluster.core.patch_namespaced_secret(
        "enc", NS, {"data": _tls(cluster, enc_next, _traditional(enc_next, b"pp-1"))}
    )
    _wait_certkey(cluster, "default-enc", "renewed enc", lambda c: c["serial"] == enc_next.serial_hex)
    plain_next = cluster.renew("plain")
    _wait_certkey(cluster, "default-plain", "renewed plain", lambda c: c["serial"] == plain_next.serial_hex)
    assert (
        cluster.certkey("default-enc")["key_encrypted"] and cluster.certkey("default-plain")["key_encrypted"]
    )

    # A new passphrase alone (encryptKey's key is the same): a new key file, updated in place.
    old_key_file = cluster.certkey("default-plain")["key"]
    cluster.core.patch_namespaced_secret(
        "enc", NS, {"data": _tls(cluster, enc_next, enc_next.key_pem_encrypted(b"pp-2"))}
    )
    cluster.core.patch_namespaced_secret("key-pass", NS, {"data": {"passphrase": build.b64(b"pp-2")}})
    _wait_certkey(
        cluster, "default-plain", "a key file for the new passphrase", lambda c: c["key"] != old_key_file
    )
    cluster.wait_ready("keys")
    assert cluster.certkey("default-plain")["serial"] == plain_next.serial_hex
    assert cluster.certkey("default-enc")["serial"] == enc_next.serial_hex
    assert cluster.bound("cs_sni") == [("default-enc", True), ("default-plain", True)]
    assert cluster.invariants() == []


def test_missing_and_wrong_passphrases_are_named_and_fixing_the_secret_alone_syncs(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    good = cluster.tls_secret("good")
    cluster.core.create_namespaced_secret(NS, build.opaque_secret("key-pass", {"passphrase": b"Bad-Qx7"}))
    leaves = {n: cluster.pki.leaf(f"{n}.example.com") for n in ("nopass", "wrongpass", "nosecret")}
    for name, leaf in leaves.items():
        key = leaf.key_pem_encrypted(b"Good-Zk9")
        cluster.core.create_namespaced_secret(
            NS, build.tls_secret(name, leaf.cert_pem + cluster.pki.intermediate.cert_pem, key)
        )
    cluster.sync(
        "bad",
        certificates=[
            {"secretName": "good"},
            {"secretName": "nopass"},
            {"secretName": "wrongpass", "source": ENC_SOURCE},
            {"secretName": "nosecret", "source": {"passwordSecretRef": {"name": "absent"}}},
        ],
        bindings=[{"vserver": "cs_sni", "sni": True}],
    )
    expected = {"nopass": "EncryptedKey", "wrongpass": "WrongPassword", "nosecret": "SecretNotFound"}
    obj = cluster.wait_sync(
        "bad",
        lambda o: (
            len(o.get("status", {}).get("certificates", [])) >= 4
            and all(_entry(o, n).get("reason") == r for n, r in expected.items())
        ),
        "every bad passphrase reported",
    )
    assert _entry(obj, "good")["state"] == "Synced"
    assert condition(obj, "Ready")["status"] == "False"
    assert "passwordSecretRef" in _entry(obj, "nopass")["message"]
    assert cluster.bound("cs_sni") == [("default-good", True)]
    assert cluster.certkey("default-good")["serial"] == good.serial_hex
    for name in expected:
        assert cluster.certkey(f"default-{name}") is None
    event = cluster.wait_event("bad", "WrongPassword")
    assert "Good-Zk9" not in (event.message or "") and "Bad-Qx7" not in (event.message or "")

    cluster.core.patch_namespaced_secret("key-pass", NS, {"data": {"passphrase": build.b64(b"Good-Zk9")}})
    _wait_certkey(
        cluster,
        "default-wrongpass",
        "wrongpass deployed",
        lambda c: c["serial"] == leaves["wrongpass"].serial_hex,
    )
    assert cluster.certkey("default-wrongpass")["key_encrypted"] is True
