"""Bad input: a named reason in the conditions and the certificate's status, an Event, and
nothing else disturbed — the other certificate of the same sync still reaches the appliance."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from certsync_devkit import k8s_builders as build
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import make_leaf
from tests.operator.harness import NS, Cluster, admin, condition, nitro


def _entry(obj: dict[str, Any], secret: str) -> dict[str, Any]:
    return next(e for e in obj["status"]["certificates"] if e["secretName"] == secret)


def _bad_secret(cluster: Cluster, kind: str) -> None:
    pki = cluster.pki
    leaf = pki.leaf("bad.example.com")
    if kind == "InvalidPEM":
        cluster.core.create_namespaced_secret(
            NS, build.tls_secret("bad", b"-----BEGIN CERTIFICATE-----\nnot base64\n", leaf.key_pem)
        )
    elif kind == "KeyMismatch":
        other = pki.leaf("other.example.com")
        cluster.core.create_namespaced_secret(NS, build.tls_secret("bad", leaf.cert_pem, other.key_pem))
    elif kind == "EncryptedKey":
        cluster.core.create_namespaced_secret(
            NS, build.tls_secret("bad", leaf.cert_pem, leaf.key_pem_encrypted())
        )
    elif kind == "CertificateExpired":
        old = make_leaf(
            pki.intermediate,
            "bad.example.com",
            not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=100),
            not_after=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
        )
        cluster.core.create_namespaced_secret(NS, build.tls_secret("bad", old.cert_pem, old.key_pem))
    elif kind == "WrongSecretType":
        cluster.core.create_namespaced_secret(
            NS, build.opaque_secret("bad", {"tls.crt": leaf.cert_pem, "tls.key": leaf.key_pem})
        )
    elif kind == "SecretNotFound":
        pass
    else:  # pragma: no cover
        raise AssertionError(kind)


@pytest.mark.parametrize(
    "reason",
    ["InvalidPEM", "KeyMismatch", "EncryptedKey", "CertificateExpired", "WrongSecretType", "SecretNotFound"],
)
def test_bad_secret_is_reported_and_the_good_one_still_syncs(
    cluster: Cluster, operator: OperatorThread, reason: str
) -> None:
    cluster.connection()
    good = cluster.tls_secret("good")
    _bad_secret(cluster, reason)
    cluster.sync(
        "mixed",
        certificates=[{"secretName": "good"}, {"secretName": "bad"}],
        bindings=[{"vserver": "cs_sni", "sni": True}],
    )

    obj = cluster.wait_reason("mixed", reason)
    assert condition(obj, "Ready")["status"] == "False"
    assert condition(obj, "Stalled")["status"] == "True", (
        "bad material needs a human: Stalled, not a busy retry"
    )
    assert condition(obj, "Reconciling")["status"] == "False"
    assert condition(obj, "SecretsValid")["status"] == "False"
    assert _entry(obj, "bad")["state"] == "Failed" and _entry(obj, "bad")["reason"] == reason
    assert _entry(obj, "good")["state"] == "Synced"
    assert cluster.certkey("default-good")["serial"] == good.serial_hex
    assert cluster.bound("cs_sni") == [("default-good", True)]
    assert cluster.certkey("default-bad") is None
    cluster.wait_event("mixed", reason)
    assert cluster.invariants() == []


def test_fixing_the_secret_recovers_without_a_spec_change(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.sync("www", certificates=[{"secretName": "www"}])
    cluster.wait_reason("www", "SecretNotFound")
    leaf = cluster.tls_secret("www")
    obj = cluster.wait_ready("www")
    assert obj["status"]["certificates"][0]["serial"] == leaf.serial_hex


def test_unknown_vserver(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_nope"}])
    obj = cluster.wait_reason("www", "VServerNotFound")
    assert condition(obj, "CertificatesBound")["status"] == "False"
    assert condition(obj, "Stalled")["status"] == "True"
    cluster.wait_event("www", "VServerNotFound")


def test_missing_connection(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}])
    obj = cluster.wait_reason("www", "ConnectionNotFound")
    assert condition(obj, "Reconciling")["status"] == "True", "a connection may still be created: keep trying"
    cluster.wait_event("www", "ConnectionNotFound")
    cluster.connection()
    cluster.wait_ready("www", timeout=30)


def test_name_too_long(cluster: Cluster, operator: OperatorThread) -> None:
    # A real API server refuses this spec (CEL); the operator must still hold the line on its own.
    cluster.connection()
    cluster.tls_secret("www")
    long_name = "www-example-com-production-certificate"  # 38 characters, limit 31
    cluster.sync("www", certificates=[{"secretName": "www", "certKeyName": long_name}])
    obj = cluster.wait_reason("www", "NameTooLong")
    assert condition(obj, "Stalled")["status"] == "True"
    assert "31" in condition(obj, "Ready")["message"]
    assert cluster.certkey(long_name) is None
    cluster.wait_event("www", "NameTooLong")


def test_long_rendered_names_are_shortened_deterministically(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    cluster.tls_secret("a-secret-with-a-rather-long-name-one")
    cluster.tls_secret("a-secret-with-a-rather-long-name-two")
    names = ["a-secret-with-a-rather-long-name-one", "a-secret-with-a-rather-long-name-two"]
    cluster.sync("long", certificates=[{"secretName": n} for n in names])
    obj = cluster.wait_ready("long")
    rendered = [e["certKeyName"] for e in obj["status"]["certificates"]]
    assert len(set(rendered)) == 2 and all(len(n) <= 31 for n in rendered), rendered
    for name in rendered:
        assert cluster.certkey(name) is not None


def test_refused_save_is_not_ready(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    admin(
        cluster.simulator,
        "POST",
        "faults",
        {
            "kind": "error",
            "resource": "nsconfig",
            "status": 599,
            "errorcode": 3000,  # 1461 (another save in progress) is waited out, see engine/saves.py
            "message": "Simulated: the configuration could not be written to flash",
            "times": 1,
        },
    )
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}])
    obj = cluster.wait_reason("www", "ConfigNotSaved")
    assert condition(obj, "Reconciling")["status"] == "True"
    obj = cluster.wait_ready("www", timeout=45)  # the retry saves
    assert cluster.appliance()["configchanged"] is False


def test_collision_with_a_foreign_certkey(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    foreign = cluster.pki.leaf("foreign.example.com")

    async def add_by_hand(client: Any) -> None:
        await client.upload_file("foreign.crt", foreign.cert_pem)
        await client.upload_file("foreign.key", foreign.key_pem)
        await client.add_certkey("default-www", "foreign.crt", "foreign.key")

    nitro(cluster.simulator, add_by_hand)
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    obj = cluster.wait_reason("www", "NameCollision")
    assert condition(obj, "Stalled")["status"] == "True"
    # The foreign certkey is untouched: same certificate, same files, not bound by us.
    assert cluster.certkey("default-www")["serial"] == foreign.serial_hex
    assert cluster.certkey("default-www")["cert"] == "foreign.crt"
    assert cluster.bound("vs_https") == []
    cluster.wait_event("www", "NameCollision")

    # Deleting the sync leaves the foreign object alone as well.
    cluster.crs.delete_namespaced_custom_object(
        "netscaler.certsync.dev", "v1alpha1", NS, "certificatesyncs", "www"
    )
    from certsync_devkit.k8s_thread import wait_for

    wait_for(lambda: cluster.get("certificatesyncs", "www") is None, timeout=10, what="deletion")
    assert cluster.certkey("default-www")["serial"] == foreign.serial_hex
