"""The real operator, through the routing proxy: our kinds on the real API server, Secrets emulated.

The `operator` tier proves the lifecycle against the emulated API, which keeps any status the
operator writes. Here every write to a NetScalerConnection or CertificateSync goes through the
real server, which prunes fields its schema does not know and refuses values it forbids. So this
is where "the operator writes a status field the CRD does not declare" (silently lost), or "the
internal records are pruned" (the operator forgets what it owns), shows up.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kubernetes import client

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import TestPKI, make_ca
from netscaler_certsync.k8s import ClusterAccess
from netscaler_certsync.reconcile.context import OperatorOptions
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread
from tests.apiserver.apiserver_kube import Kube, certificate_sync, connection
from tests.apiserver.apiserver_proxy import ProxyThread


@pytest.fixture
def simulator() -> Iterator[SimulatorThread]:
    sim = SimulatorThread(SimulatorConfig(ssl_vservers=("vs_https",))).start()
    yield sim
    sim.stop()


@pytest.fixture
def operator(proxy: ProxyThread, via_proxy: client.ApiClient, namespace: str) -> Iterator[OperatorThread]:
    # Watching only this test's namespace: the real server also holds other tests' objects. kopf
    # waits for a namespace it is told to serve to exist; namespaces live on the emulated side.
    core = client.CoreV1Api(via_proxy)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    # Every cluster has kube-system; its UID is the operator's default cluster identity.
    if not [n for n in core.list_namespace().items if n.metadata.name == "kube-system"]:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="kube-system")))
    options = OperatorOptions(health_check_tick_seconds=0.5, drift_check_tick_seconds=0.5)
    op = OperatorThread(
        ClusterAccess(server=proxy.url, token="operator-token"), options, namespaces=[namespace]
    )
    op.start()
    yield op
    op.stop()
    assert op.error is None, op.error


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or () if c["type"] == type_), {})


def _appliance(simulator: SimulatorThread) -> dict[str, Any]:
    trust = ssl.create_default_context(cadata=simulator.ca_pem.decode())
    reply = httpx.get(f"{simulator.url}/_simulator/state", verify=trust, timeout=10)
    reply.raise_for_status()
    return reply.json()


def test_a_certificate_reaches_the_appliance_and_status_survives_the_real_schema(
    kube: Kube,
    via_proxy: client.ApiClient,
    proxy: ProxyThread,
    simulator: SimulatorThread,
    operator: OperatorThread,
    namespace: str,
) -> None:
    del operator  # running
    core = client.CoreV1Api(via_proxy)
    pki = TestPKI.create("Real Server Test")
    leaf = pki.leaf("www.example.com")
    core.create_namespaced_secret(
        namespace, build.credentials_secret("adc-login", "nsroot", "nsroot", namespace=namespace)
    )
    core.create_namespaced_secret(
        namespace, build.opaque_secret("adc-ca", {"ca.crt": simulator.ca_pem}, namespace=namespace)
    )
    core.create_namespaced_secret(
        namespace,
        build.tls_secret("www", leaf.cert_pem + pki.intermediate.cert_pem, leaf.key_pem, namespace=namespace),
    )
    kube.create(connection("adc", endpoint=simulator.url, tls={"caSecretRef": {"name": "adc-ca"}}), namespace)
    kube.create(
        certificate_sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}]),
        namespace,
    )

    def ready() -> dict[str, Any] | None:
        obj = kube.get("CertificateSync", "www", namespace)
        return obj if _condition(obj, "Ready").get("status") == "True" else None

    ours = f"/namespaces/{namespace}/"
    try:
        obj = wait_for(ready, timeout=30, what="CertificateSync Ready=True, as stored by the real server")
    except AssertionError as exc:  # say what the server holds and what it refused, not just "timed out"
        stored = {
            k: kube.get(k, n, namespace).get("status")
            for k, n in (("CertificateSync", "www"), ("NetScalerConnection", "adc"))
        }
        complaints = [c for c in proxy.proxy.complaints if ours in c[1]]
        raise AssertionError(f"{exc}\nstored status: {stored}\nrefused or warned: {complaints}") from None
    status = obj["status"]
    entry = status["certificates"][0]
    certkey = f"{namespace}-www"
    # Every field the operator reports survived the server's pruning, with the right values.
    assert entry["certKeyName"] == certkey
    assert entry["serial"] == leaf.serial_hex
    assert entry["fingerprintSHA256"] == leaf.fingerprint_sha256
    assert entry["state"] == "Synced"
    assert entry["boundVServers"] == [{"vserver": "vs_https", "sni": False}]
    assert status["certificateCount"] == 1 and status["connectionCount"] == 1
    assert status["soonestExpiry"] == entry["notAfter"]
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    # The operator's memory of what it owns is kept (x-kubernetes-preserve-unknown-fields).
    assert status["connections"][0]["records"], status["connections"][0]

    conn = kube.get("NetScalerConnection", "adc", namespace)
    assert _condition(conn, "Ready").get("status") == "True", conn.get("status")

    appliance = _appliance(simulator)
    assert appliance["certkeys"][certkey]["serial"] == leaf.serial_hex
    assert [b["certkey"] for b in appliance["bindings"] if b["vserver"] == "vs_https"] == [certkey]

    # None of the operator's writes was refused, or accepted with fields dropped (a Warning).
    writes = [r for r in proxy.proxy.routed if r[0] == "real" and r[1] != "GET" and ours in r[2]]
    assert any(path.endswith("/status") for _, _, path in writes), writes
    assert [c for c in proxy.proxy.complaints if ours in c[1]] == []

    printed = kube.kubectl("get", "certsync", "www", "-n", namespace).stdout.splitlines()
    assert printed[1].split()[:5] == ["www", "True", status["conditions"][0]["reason"], "1", "1"]


def test_client_auth_status_and_records_survive_the_real_schema(
    kube: Kube,
    via_proxy: client.ApiClient,
    proxy: ProxyThread,
    simulator: SimulatorThread,
    operator: OperatorThread,
    namespace: str,
) -> None:
    """`bindings[].clientAuth` is accepted as written, and what the operator reports of it
    (`connections[].clientAuth`) and records (its CA bindings) is not pruned by the server."""
    del operator  # running
    core = client.CoreV1Api(via_proxy)
    pki = TestPKI.create("Real Server Client Auth")
    leaf = pki.leaf("www.example.com")
    core.create_namespaced_secret(
        namespace, build.credentials_secret("adc-login", "nsroot", "nsroot", namespace=namespace)
    )
    core.create_namespaced_secret(
        namespace, build.opaque_secret("adc-ca", {"ca.crt": simulator.ca_pem}, namespace=namespace)
    )
    core.create_namespaced_secret(
        namespace,
        build.tls_secret("www", leaf.cert_pem + pki.intermediate.cert_pem, leaf.key_pem, namespace=namespace),
    )
    bundle = {"trust-bundle.pem": make_ca("Client CA").cert_pem.decode()}
    core.create_namespaced_config_map(
        namespace, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "trust"}, "data": bundle}
    )
    kube.create(connection("adc", endpoint=simulator.url, tls={"caSecretRef": {"name": "adc-ca"}}), namespace)
    ca_from = {"configMapKeyRef": {"name": "trust", "key": "trust-bundle.pem"}}
    kube.create(
        certificate_sync(
            "www",
            certificates=[{"secretName": "www"}],
            bindings=[{"vserver": "vs_https", "clientAuth": {"caFrom": ca_from, "crlCheck": "Optional"}}],
        ),
        namespace,
    )

    def ready() -> dict[str, Any] | None:
        obj = kube.get("CertificateSync", "www", namespace)
        return obj if _condition(obj, "Ready").get("status") == "True" else None

    obj = wait_for(ready, timeout=30, what="CertificateSync Ready=True, as stored by the real server")
    assert obj["spec"]["bindings"][0]["clientAuth"] == {"caFrom": ca_from, "crlCheck": "Optional"}
    [conn] = obj["status"]["connections"]
    bound = [
        b["certkey"] for b in _appliance(simulator)["bindings"] if b["vserver"] == "vs_https" and b["ca"]
    ]
    assert len(bound) == 1
    assert [(e["vserver"], e["clientCAs"], e["reason"]) for e in conn["clientAuth"]] == [
        ("vs_https", bound, "Synced")
    ]
    # The checks NITRO shows, kept by the real server's schema (not pruned).
    assert conn["clientAuth"][0]["checks"] == [{"certkey": bound[0], "crlCheck": "Optional"}]
    assert conn["records"]["clientCAs"] == [{"vserver": "vs_https", "certkey": bound[0]}]
    ours = f"/namespaces/{namespace}/"
    assert [c for c in proxy.proxy.complaints if ours in c[1]] == []
