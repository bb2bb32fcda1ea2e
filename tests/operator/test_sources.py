"""Certificates from Opaque Secrets and PKCS#12 keystores, end to end (issue 20, "Sources").

Each source deploys and renews in place; a bad keystore is reported with its reason while the
other certificate still syncs; fixing a password Secret alone re-syncs (it is watched by name);
and no Secret list or watch the operator makes lacks a selector, with unrelated Opaque Secrets
present.
"""

from __future__ import annotations

from typing import Any

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import unselected_secret_reads, wait_for
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import Issued, pkcs12_keystore
from tests.operator.harness import NS, Cluster, condition

PEM_SOURCE = {"certificateKey": "cert.pem", "privateKeyKey": "key.pem"}
P12_SOURCE = {"format": "PKCS12", "keystoreKey": "site.pfx", "passwordSecretRef": {"name": "p12-pass"}}


def _entry(obj: dict[str, Any], secret: str) -> dict[str, Any]:
    return next(e for e in obj["status"]["certificates"] if e["secretName"] == secret)


def _pem_data(cluster: Cluster, leaf: Issued) -> dict[str, bytes]:
    return {"cert.pem": leaf.cert_pem + cluster.pki.intermediate.cert_pem, "key.pem": leaf.key_pem}


def _wait_serial(cluster: Cluster, certkey: str, serial: str) -> None:
    wait_for(
        lambda: (cluster.certkey(certkey) or {}).get("serial") == serial,
        timeout=10,
        what=f"serial {serial} on {certkey}",
    )


def test_opaque_pem_and_pkcs12_deploy_and_renew_in_place(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    pem_leaf, p12_leaf = cluster.pki.leaf("pem.example.com"), cluster.pki.leaf("p12.example.com")
    cluster.core.create_namespaced_secret(NS, build.opaque_secret("pem", _pem_data(cluster, pem_leaf)))
    cluster.core.create_namespaced_secret(NS, build.opaque_secret("p12-pass", {"password": b"pw-1"}))
    cluster.core.create_namespaced_secret(
        NS, build.opaque_secret("p12", {"site.pfx": cluster.pki.keystore(p12_leaf, b"pw-1")})
    )
    cluster.sync(
        "mixed",
        certificates=[
            {"secretName": "pem", "source": PEM_SOURCE},
            {"secretName": "p12", "source": P12_SOURCE},
        ],
        bindings=[{"vserver": "cs_sni", "sni": True}],
    )
    cluster.wait_ready("mixed")
    assert cluster.certkey("default-pem")["serial"] == pem_leaf.serial_hex
    assert cluster.certkey("default-p12")["serial"] == p12_leaf.serial_hex
    assert cluster.bound("cs_sni") == [("default-p12", True), ("default-pem", True)]

    # Renewal of each: the Opaque Secrets are watched by name, so a change re-syncs at once.
    pem_next, p12_next = cluster.pki.leaf("pem.example.com"), cluster.pki.leaf("p12.example.com")
    data = {k: build.b64(v) for k, v in _pem_data(cluster, pem_next).items()}
    cluster.core.patch_namespaced_secret("pem", NS, {"data": data})
    _wait_serial(cluster, "default-pem", pem_next.serial_hex)
    keystore = cluster.pki.keystore(p12_next, b"pw-1")
    cluster.core.patch_namespaced_secret("p12", NS, {"data": {"site.pfx": build.b64(keystore)}})
    _wait_serial(cluster, "default-p12", p12_next.serial_hex)
    assert cluster.bound("cs_sni") == [("default-p12", True), ("default-pem", True)]
    assert cluster.invariants() == []
    assert unselected_secret_reads(cluster.emulator.requests()) == []


def test_a_wrong_password_is_named_and_fixing_the_password_secret_alone_syncs(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    good = cluster.tls_secret("good")
    leaf = cluster.pki.leaf("p12.example.com")
    cluster.core.create_namespaced_secret(NS, build.opaque_secret("p12-pass", {"password": b"wrong"}))
    cluster.core.create_namespaced_secret(
        NS, build.opaque_secret("p12", {"site.pfx": cluster.pki.keystore(leaf, b"right-pw")})
    )
    cluster.sync(
        "mixed",
        certificates=[{"secretName": "good"}, {"secretName": "p12", "source": P12_SOURCE}],
        bindings=[{"vserver": "cs_sni", "sni": True}],
    )
    obj = cluster.wait_reason("mixed", "WrongPassword")
    assert condition(obj, "Stalled")["status"] == "True"
    assert _entry(obj, "p12")["state"] == "Failed" and _entry(obj, "p12")["reason"] == "WrongPassword"
    assert _entry(obj, "good")["state"] == "Synced"
    assert cluster.certkey("default-good")["serial"] == good.serial_hex
    assert cluster.certkey("default-p12") is None
    event = cluster.wait_event("mixed", "WrongPassword")
    assert "right-pw" not in (event.message or "") and "wrong" not in (event.message or "")

    cluster.core.patch_namespaced_secret("p12-pass", NS, {"data": {"password": build.b64(b"right-pw")}})
    cluster.wait_ready("mixed")
    assert cluster.certkey("default-p12")["serial"] == leaf.serial_hex


def test_bad_keystores_are_reported_and_change_nothing_else(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    good = cluster.tls_secret("good")
    leaf, second = cluster.pki.leaf("bad.example.com"), cluster.pki.leaf("second.example.com")
    cluster.core.create_namespaced_secret(NS, build.opaque_secret("p12-pass", {"password": b"pw"}))
    bad = {
        "nokey": pkcs12_keystore(None, leaf.cert, [], b"pw"),
        "twoleaves": pkcs12_keystore(leaf.key, leaf.cert, [second.cert], b"pw"),
        "notp12": leaf.cert_pem,
    }
    for name, data in bad.items():
        cluster.core.create_namespaced_secret(NS, build.opaque_secret(name, {"site.pfx": data}))
    cluster.sync(
        "mixed",
        certificates=[{"secretName": "good"}] + [{"secretName": name, "source": P12_SOURCE} for name in bad],
        bindings=[{"vserver": "cs_sni", "sni": True}],
    )
    expected = {"nokey": "MissingKey", "twoleaves": "MultipleLeaves", "notp12": "InvalidKeystore"}
    obj = cluster.wait_sync(
        "mixed",
        lambda o: (
            all(_entry(o, n).get("reason") == r for n, r in expected.items())
            if len(o.get("status", {}).get("certificates", [])) >= 4
            else False
        ),
        "every bad keystore reported",
    )
    assert _entry(obj, "good")["state"] == "Synced"
    assert cluster.bound("cs_sni") == [("default-good", True)]
    assert cluster.certkey("default-good")["serial"] == good.serial_hex
    for name, reason in expected.items():
        assert cluster.certkey(f"default-{name}") is None
        cluster.wait_event("mixed", reason)


def test_a_selector_with_a_source_reads_opaque_secrets_and_nothing_unrelated(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    for i in range(50):  # unrelated Opaque Secrets: never listed without a selector
        cluster.core.create_namespaced_secret(NS, build.opaque_secret(f"other-{i}", {"x": b"y"}))
    leaf = cluster.pki.leaf("sel.example.com")
    cluster.core.create_namespaced_secret(
        NS, build.opaque_secret("sel", _pem_data(cluster, leaf), labels={"app": "web"})
    )
    cluster.sync("bysel", secretSelector={"matchLabels": {"app": "web"}}, secretSource=PEM_SOURCE)
    cluster.wait_ready("bysel")
    assert cluster.certkey("default-sel")["serial"] == leaf.serial_hex
    renewed = cluster.pki.leaf("sel.example.com")
    data = {k: build.b64(v) for k, v in _pem_data(cluster, renewed).items()}
    cluster.core.patch_namespaced_secret("sel", NS, {"data": data})
    _wait_serial(cluster, "default-sel", renewed.serial_hex)
    assert unselected_secret_reads(cluster.emulator.requests()) == []
