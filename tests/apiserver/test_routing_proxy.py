"""The routing proxy: one cluster URL, our kinds enforced by the real server, core/v1 emulated.

This is the harness for running the operator's lifecycle tests with real CRD enforcement (see
apiserver_proxy.py). These tests prove the plumbing with the Python client, kubectl and a small
kopf operator: discovery is merged, writes land on the right backend, watches stream through, and
a CR the real schema refuses is refused through the proxy too.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import kopf
import pytest
import yaml
from kopf.testing import KopfRunner
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from certsync_devkit.k8s_thread import EmulatorThread, wait_for
from tests.apiserver.apiserver_kube import GROUP, VERSION, Kube, certificate_sync, connection
from tests.apiserver.apiserver_proxy import ProxyThread

PLURAL = "certificatesyncs"
FINALIZER = "netscaler.certsync.dev/cleanup"


def test_writes_land_on_the_backend_that_serves_them(
    via_proxy: client.ApiClient, kube: Kube, emulator: EmulatorThread, namespace: str
) -> None:
    core = client.CoreV1Api(via_proxy)
    crs = client.CustomObjectsApi(via_proxy)
    secret = client.V1Secret(
        metadata=client.V1ObjectMeta(name="web-tls", labels={"certsync": "yes"}), type="Opaque"
    )
    core.create_namespaced_secret(namespace, secret)
    crs.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, certificate_sync("web"))

    listed = core.list_namespaced_secret(namespace, label_selector="certsync=yes")
    assert [s.metadata.name for s in listed.items] == ["web-tls"]
    # The CertificateSync is on the real server (with its defaults); the Secret is not.
    assert kube.get("CertificateSync", "web", namespace)["spec"]["deletionPolicy"] == "Delete"
    with pytest.raises(ApiException) as missing:
        client.CoreV1Api(kube.api_client).read_namespaced_secret("web-tls", namespace)
    assert missing.value.status == 404


def test_the_real_schema_is_enforced_through_the_proxy(via_proxy: client.ApiClient, namespace: str) -> None:
    crs = client.CustomObjectsApi(via_proxy)
    bad = certificate_sync("bad", deletionPolicy="Destroy")
    with pytest.raises(ApiException) as refused:
        crs.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, bad)
    assert refused.value.status == 422
    assert 'Unsupported value: "Destroy"' in json.loads(refused.value.body)["message"]


def test_kubectl_sees_one_cluster(kube: Kube, proxy_kubeconfig: str, namespace: str) -> None:
    env = {"KUBECONFIG": proxy_kubeconfig}
    resources = kube.kubectl("api-resources", "-o", "name", env=env).stdout.split()
    assert {"secrets", "events", f"certificatesyncs.{GROUP}", f"netscalerconnections.{GROUP}"} <= set(
        resources
    )
    manifest = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "adc-login"},
            "stringData": {"username": "u"},
        },
        connection("adc"),
    ]
    # (kubectl's typed `create secret` speaks protobuf, which the emulator does not; apply sends JSON.)
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(manifest), env=env)
    got = kube.kubectl("get", "secrets,netscaler", "-n", namespace, "-o", "name", env=env).stdout.split()
    assert got == ["secret/adc-login", f"netscalerconnection.{GROUP}/adc"]


def _registry(deleted: list[str]) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    kopf.on.login(registry=registry)(kopf.login_with_kubeconfig)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = FINALIZER
        settings.posting.level = logging.INFO
        settings.watching.reconnect_backoff = 0.2

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    def created(body: kopf.Body, patch: kopf.Patch, meta: kopf.Meta, **_: Any) -> None:
        patch.status["conditions"] = [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Synced",
                "message": "through the proxy",
                "lastTransitionTime": "2026-11-27T12:00:00Z",
            }
        ]
        patch.status["observedGeneration"] = meta.get("generation")
        kopf.info(body, reason="Synced", message="handler ran")

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    def removed(name: str, **_: Any) -> None:
        deleted.append(name)

    return registry


def test_a_kopf_operator_runs_its_lifecycle_through_the_proxy(
    kube: Kube,
    proxy: ProxyThread,
    proxy_kubeconfig: str,
    emulator: EmulatorThread,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBECONFIG", proxy_kubeconfig)
    deleted: list[str] = []
    watch_path = f"/apis/{GROUP}/{VERSION}/{PLURAL}"
    args = ["run", "--standalone", "--all-namespaces"]
    with KopfRunner(args, registry=_registry(deleted), timeout=60) as runner:
        wait_for(lambda: ("real", "GET", watch_path) in proxy.proxy.routed, timeout=30, what="kopf to watch")
        kube.create(certificate_sync("lifecycle"), namespace)  # straight to the real server

        def ready() -> dict[str, Any] | None:
            obj = kube.get("CertificateSync", "lifecycle", namespace)
            conditions = (obj.get("status") or {}).get("conditions") or []
            return obj if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions) else None

        obj = wait_for(ready, timeout=30, what="Ready=True written by kopf through the proxy")
        assert FINALIZER in obj["metadata"]["finalizers"]
        assert obj["status"]["observedGeneration"] == 1

        events = client.CoreV1Api(config.new_client_from_config(config_file=proxy_kubeconfig))
        posted = wait_for(
            lambda: [e for e in events.list_namespaced_event(namespace).items if e.reason == "Synced"],
            what="the handler's Event in the emulator",
        )
        assert posted[0].involved_object.name == "lifecycle"

        kube.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "lifecycle")

        def gone() -> bool:
            try:
                kube.get("CertificateSync", "lifecycle", namespace)
            except ApiException as exc:
                return exc.status == 404
            return False

        wait_for(gone, timeout=30, what="the finalizer to be released and the object deleted")
    assert runner.exception is None
    assert deleted == ["lifecycle"]


def test_the_proxy_notices_fields_the_server_drops(
    via_proxy: client.ApiClient, proxy: ProxyThread, namespace: str
) -> None:
    # What test_operator_on_real_server relies on: a status field the schema does not declare is
    # dropped with a Warning header (not an error), and the proxy records it.
    crs = client.CustomObjectsApi(via_proxy)
    crs.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, certificate_sync("pruned"))
    patch = {"status": {"certificateCount": 1, "certificateCuont": 2}}
    stored = crs.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL, "pruned", patch)
    assert stored["status"] == {"certificateCount": 1}
    noticed = [c for c in proxy.proxy.complaints if f"/namespaces/{namespace}/" in c[1]]
    assert (
        len(noticed) == 1 and "unknown field" in noticed[0][3] and "status.certificateCuont" in noticed[0][3]
    )
