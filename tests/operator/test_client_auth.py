"""Client-authentication CA bundles through the operator (issue 20, "Client-auth CA bundles").

A binding's `clientAuth` names a PEM bundle in a ConfigMap key (as trust-manager writes it) or a
Secret key: its CAs are bound to the vserver with `-CA`, status lists what the appliance shows,
a bundle change binds the new CA before the old one is unbound, and removing `clientAuth` or the
CertificateSync unbinds and deletes what the operator bound. Bad bundles are named and change
nothing else.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import Issued, make_ca, make_leaf
from netscaler_certsync.domain import ca_certkey_name
from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.triggers import SECRET_CHANGED
from tests.operator.harness import NS, Cluster, condition, nitro

BUNDLE_KEY = "trust-bundle.pem"  # the key a trust-manager Bundle target writes


def ca_name(ca: Issued) -> str:
    return ca_certkey_name(ca.cert.fingerprint(hashes.SHA256()).hex())


def bundle_configmap(cluster: Cluster, name: str, pem: bytes, key: str = BUNDLE_KEY) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {key: pem.decode()}}
    cluster.core.create_namespaced_config_map(NS, body)


def set_bundle(cluster: Cluster, name: str, pem: bytes | str, key: str = BUNDLE_KEY) -> None:
    text = pem.decode() if isinstance(pem, bytes) else pem
    cluster.core.patch_namespaced_config_map(name, NS, {"data": {key: text}})


def client_auth_binding(ca_from: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    return [{"vserver": "vs_https", "clientAuth": {"caFrom": ca_from, **extra}}]


def from_configmap(name: str = "trust", key: str = BUNDLE_KEY) -> dict[str, Any]:
    return {"configMapKeyRef": {"name": name, "key": key}}


def ca_bindings(cluster: Cluster, vserver: str = "vs_https") -> list[str]:
    bindings = cluster.appliance()["bindings"]
    return sorted(b["certkey"] for b in bindings if b["vserver"] == vserver and b["ca"])


def client_auth_status(obj: dict[str, Any]) -> list[dict[str, Any]]:
    [connection] = obj["status"]["connections"]
    return connection.get("clientAuth") or []


def shows(cas: list[str]) -> Any:
    return lambda o: [(e["vserver"], e["clientCAs"]) for e in client_auth_status(o)] == [("vs_https", cas)]


def www_trusting_a_configmap_bundle(cluster: Cluster) -> tuple[Issued, Issued, dict[str, Any]]:
    """`www` with a ConfigMap bundle of one CA bound (crlCheck Optional), Ready; two CAs made."""
    cluster.connection()
    cluster.tls_secret("www")
    first, second = make_ca("Client CA 1"), make_ca("Client CA 2")
    bundle_configmap(cluster, "trust", first.cert_pem)
    cluster.sync(
        "www",
        certificates=[{"secretName": "www"}],
        bindings=client_auth_binding(from_configmap(), crlCheck="Optional"),
    )
    return first, second, cluster.wait_ready("www")


def test_configmap_bundle_bound_rotated_make_before_break_removed_and_cleaned(
    cluster: Cluster, operator: OperatorThread
) -> None:
    first, second, obj = www_trusting_a_configmap_bundle(cluster)
    assert ca_bindings(cluster) == [ca_name(first)]
    assert ("default-www", False) in cluster.bound("vs_https")  # the server certificate as before
    [entry] = client_auth_status(obj)
    assert (entry["vserver"], entry["clientCAs"], entry["reason"]) == ("vs_https", [ca_name(first)], "Synced")

    # The bundle changes (trust-manager rewrote the ConfigMap): the watch by name re-syncs at once
    # (the drift check is 600 s away), and the new CA is bound before the old one is unbound.
    seen = len(cluster.simulator.requests)
    set_bundle(cluster, "trust", second.cert_pem)
    obj = cluster.wait_sync("www", shows([ca_name(second)]), "the new CA in status")
    assert obj["metadata"]["annotations"][SECRET_CHANGED].startswith("configmap/trust@")
    assert ca_bindings(cluster) == [ca_name(second)]
    writes = [
        (r.method, r.resource, r.action)
        for r in cluster.simulator.requests[seen:]
        if r.is_write and r.resource != "nsconfig"
    ]
    binding = "sslvserver_sslcertkey_binding"
    assert writes == [
        ("POST", "systemfile", None),  # the new CA's file
        ("POST", "sslcertkey", None),  # its certkey
        ("PUT", binding, None),  # bound: both CAs are trusted now
        ("DELETE", binding, None),  # only then the old CA is unbound
        ("DELETE", "sslcertkey", None),  # and its certkey and file deleted (ours, unused)
        ("DELETE", "systemfile", None),
    ], writes
    assert ca_name(first) not in cluster.appliance()["certkeys"]

    # clientAuth removed from the binding: ours unbound and deleted, the certificate stays bound.
    cluster.patch_sync("www", {"spec": {"bindings": [{"vserver": "vs_https"}]}})
    wait_for(lambda: ca_bindings(cluster) == [], what="the CA unbound")
    # Its certkey is deleted by the next request of the same apply: wait for it, not for status.
    wait_for(lambda: ca_name(second) not in cluster.appliance()["certkeys"], what="the CA certkey deleted")
    assert ("default-www", False) in cluster.bound("vs_https")
    cluster.wait_ready("www")

    # Back again, then the CertificateSync is deleted: the finalizer removes the CA too.
    cluster.patch_sync("www", {"spec": {"bindings": client_auth_binding(from_configmap())}})
    wait_for(lambda: ca_bindings(cluster) == [ca_name(second)], what="the CA bound again")
    cluster.crs.delete_namespaced_custom_object(keys.GROUP, keys.VERSION, NS, keys.SYNC_PLURAL, "www")
    wait_for(lambda: cluster.get(keys.SYNC_PLURAL, "www") is None, what="the CertificateSync gone")
    left = [n for n, c in cluster.appliance()["certkeys"].items() if not c.get("builtin")]
    assert left == [] and ca_bindings(cluster) == []
    assert cluster.invariants() == []


def test_a_ca_bound_by_hand_is_never_unbound(cluster: Cluster, operator: OperatorThread) -> None:
    """The bundle names a CA someone bound to the vserver by hand: it is listed as bound, but
    removing clientAuth leaves it (the operator never made that binding)."""
    cluster.connection()
    cluster.tls_secret("www")
    ca = make_ca("Shared Client CA")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_ready("www")

    async def bind_by_hand(client: Any) -> None:
        await client.upload_file("hand.crt", ca.cert_pem)
        await client.add_certkey(ca_name(ca), "hand.crt")
        await client.bind_certkey("vs_https", ca_name(ca), ca=True)

    nitro(cluster.simulator, bind_by_hand)
    bundle_configmap(cluster, "trust", ca.cert_pem)
    cluster.patch_sync("www", {"spec": {"bindings": client_auth_binding(from_configmap())}})
    cluster.wait_sync("www", shows([ca_name(ca)]), "the hand-bound CA listed")
    cluster.patch_sync("www", {"spec": {"bindings": [{"vserver": "vs_https"}]}})
    cluster.wait_sync("www", lambda o: client_auth_status(o) == [], "clientAuth gone from status")
    assert ca_bindings(cluster) == [ca_name(ca)]
    assert ca_name(ca) in cluster.appliance()["certkeys"]


def test_bad_bundles_are_named_and_change_nothing_else(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    good = make_ca("Client CA")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=client_auth_binding(from_configmap()))
    # No ConfigMap yet: named, with a Warning Event; the certificate is deployed and bound anyway.
    obj = cluster.wait_reason("www", "ConfigMapNotFound")
    assert "ConfigMap default/trust" in condition(obj, "Ready")["message"]
    cluster.wait_event("www", "ConfigMapNotFound")
    wait_for(lambda: ("default-www", False) in cluster.bound("vs_https"), what="the certificate bound")
    assert ca_bindings(cluster) == []

    # It appears without the key, then with something that is not PEM, then with a client
    # certificate instead of a CA: each named.
    cluster.core.create_namespaced_config_map(
        NS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "trust"}, "data": {"other": "x"}}
    )
    cluster.wait_reason("www", "MissingData")
    set_bundle(cluster, "trust", "not a certificate")
    cluster.wait_reason("www", "InvalidPEM")
    set_bundle(cluster, "trust", make_leaf(good, "alice", client=True).cert_pem)
    cluster.wait_reason("www", "ChainInvalid")
    cluster.wait_event("www", "ChainInvalid")
    assert ca_bindings(cluster) == []

    # A good bundle, then a broken one: the CA bound before stays bound, and status says both.
    set_bundle(cluster, "trust", good.cert_pem)
    cluster.wait_ready("www")
    set_bundle(cluster, "trust", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    obj = cluster.wait_reason("www", "InvalidPEM")
    [entry] = client_auth_status(obj)
    assert (entry["clientCAs"], entry["reason"]) == ([ca_name(good)], "InvalidPEM")
    assert ca_bindings(cluster) == [ca_name(good)]

    # A Secret that does not exist.
    cluster.patch_sync(
        "www",
        {"spec": {"bindings": client_auth_binding({"secretKeyRef": {"name": "client-ca", "key": "ca.crt"}})}},
    )
    cluster.wait_reason("www", "SecretNotFound")
    # ...until it is created (watched by name, any type): the CA of the Secret is bound.
    cluster.core.create_namespaced_secret(NS, build.opaque_secret("client-ca", {"ca.crt": good.cert_pem}))
    cluster.wait_ready("www")
    assert ca_bindings(cluster) == [ca_name(good)]
    assert cluster.invariants() == []


def ca_checks(cluster: Cluster, vserver: str = "vs_https") -> dict[str, tuple[str | None, str | None]]:
    """The CA bindings' checks as NITRO shows them to an administrator."""

    async def read(client: Any) -> dict[str, tuple[str | None, str | None]]:
        return {b.certkey: (b.crlcheck, b.ocspcheck) for b in await client.list_bindings(vserver) if b.ca}

    result: dict[str, tuple[str | None, str | None]] = nitro(cluster.simulator, read)
    return result


def status_checks(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for e in client_auth_status(obj) for c in e.get("checks") or ()]


def test_a_changed_crl_check_reaches_the_bound_ca_and_a_dry_run_shows_a_bundle_change(
    cluster: Cluster, operator: OperatorThread
) -> None:
    first, second, obj = www_trusting_a_configmap_bundle(cluster)
    assert status_checks(obj) == [{"certkey": ca_name(first), "crlCheck": "Optional"}]

    # crlCheck Optional -> Mandatory: the CA bound before is bound again with it; status shows
    # what the appliance now enforces.
    cluster.patch_sync(
        "www", {"spec": {"bindings": client_auth_binding(from_configmap(), crlCheck="Mandatory")}}
    )
    mandatory = [{"certkey": ca_name(first), "crlCheck": "Mandatory"}]
    obj = cluster.wait_sync("www", lambda o: status_checks(o) == mandatory, "Mandatory in status")
    assert ca_checks(cluster) == {ca_name(first): ("Mandatory", None)}
    assert condition(obj, "Ready")["status"] == "True"

    # A dry run of a bundle change: the plan in status names the add, bind, unbind and delete;
    # the appliance is left exactly as it was and the request log holds no write.
    cluster.patch_sync("www", {"spec": {"dryRun": True}})
    cluster.wait_reason("www", "DryRun")
    before, seen = cluster.appliance(), len(cluster.simulator.requests)
    set_bundle(cluster, "trust", second.cert_pem)
    new, old = ca_name(second), ca_name(first)
    bind = f"bind CA certkey {new} to vserver vs_https for client authentication (crlCheck Mandatory)"
    obj = cluster.wait_sync(
        "www", lambda o: bind in o["status"]["connections"][0].get("plan", []), "the plan"
    )
    plan = obj["status"]["connections"][0]["plan"]
    assert [line.split(" ")[0] for line in plan] == ["upload", "add", "bind", "unbind", "delete", "delete"], (
        plan
    )
    assert plan[1].startswith(f"add CA certkey {new} from ") and plan[2] == bind
    assert plan[3] == f"unbind CA certkey {old} from vserver vs_https (client authentication)"
    assert plan[4] == f"delete certkey {old}"
    [entry] = client_auth_status(obj)
    assert entry["reason"] == "Planned" and entry["clientCAs"] == []  # the new CA is not bound: not claimed
    assert [r for r in cluster.simulator.requests[seen:] if r.is_write] == []
    assert cluster.appliance() == before and ca_checks(cluster) == {old: ("Mandatory", None)}
