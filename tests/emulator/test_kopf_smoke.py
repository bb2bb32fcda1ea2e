"""A tiny kopf operator runs its whole lifecycle against the emulator.

Vanilla kmock 0.8 fails this (kopf's finalizer JSON-patch carries a `test` op on
resourceVersion, so no handler ever runs); this is the guard that our subclass keeps it working.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import kopf
import pytest
from kopf.testing import KopfRunner
from kubernetes import client
from kubernetes.client.rest import ApiException

from certsync_devkit.k8s_thread import CRD_GROUP, CRD_VERSION, EmulatorThread, wait_for

G, V, P = CRD_GROUP, CRD_VERSION, "certificatesyncs"
FINALIZER = "netscaler.certsync.dev/cleanup"


def build_registry(removed: list[str]) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    # A fresh registry has no login handler; kubeconfig is read at call time (the fixture's one).
    kopf.on.login(registry=registry)(kopf.login_with_kubeconfig)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = FINALIZER
        settings.posting.level = logging.INFO
        settings.watching.reconnect_backoff = 0.2

    @kopf.on.create(G, V, P, registry=registry)
    def created(body: kopf.Body, patch: kopf.Patch, meta: kopf.Meta, **_: Any) -> None:
        patch.status["conditions"] = [{"type": "Ready", "status": "True", "reason": "Synced", "message": ""}]
        patch.status["observedGeneration"] = meta.get("generation")
        kopf.info(body, reason="Synced", message="smoke test handler ran")

    @kopf.on.delete(G, V, P, registry=registry)
    def deleted(name: str, **_: Any) -> None:
        removed.append(name)

    return registry


def kopf_is_watching(emulator: EmulatorThread) -> bool:
    return any(r.is_watch and r.path.startswith(f"/apis/{G}/{V}/") for r in emulator.requests())


# Cluster-wide, and limited to a namespace: kopf then lists and watches v1/namespaces.
@pytest.mark.parametrize(
    "scope", [["--all-namespaces"], ["--namespace", "default"]], ids=["all", "namespaced"]
)
def test_kopf_lifecycle(
    scope: list[str],
    emulator: EmulatorThread,
    kubeconfig: str,
    core: client.CoreV1Api,
    crs: client.CustomObjectsApi,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    removed: list[str] = []
    args = ["run", "--standalone", *scope, "--verbose"]
    with KopfRunner(args, registry=build_registry(removed), timeout=30) as runner:
        wait_for(lambda: kopf_is_watching(emulator), what="kopf to watch certificatesyncs")
        if "--namespace" in scope:  # kopf found "default" by scanning v1/namespaces
            assert any(r.path == "/api/v1/namespaces" for r in emulator.requests())

        def create(name: str) -> None:
            body = {
                "apiVersion": f"{G}/{V}",
                "kind": "CertificateSync",
                "metadata": {"name": name},
                "spec": {},
            }
            crs.create_namespaced_custom_object(G, V, "default", P, body)

        def ready(name: str) -> dict[str, Any] | None:
            obj = crs.get_namespaced_custom_object(G, V, "default", P, name)
            conditions = (obj.get("status") or {}).get("conditions") or []
            return obj if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions) else None

        create("cs1")
        obj = wait_for(lambda: ready("cs1"), what="Ready=True")
        assert FINALIZER in obj["metadata"]["finalizers"]
        assert obj["status"]["observedGeneration"] == 1
        status_patches = [
            r for r in emulator.requests() if r.method == "PATCH" and r.path.endswith("/status")
        ]
        assert status_patches, "kopf must write status through the status subresource"
        synced = wait_for(
            lambda: [e for e in core.list_namespaced_event("default").items if e.reason == "Synced"],
            what="the Synced event",
        )
        assert synced[0].involved_object.name == "cs1"

        # The API server drops its watch history: kopf gets an in-stream 410, lists again, goes on.
        watches_before = sum(r.is_watch for r in emulator.requests())
        emulator.call(lambda: emulator.k.expire_watches())
        create("cs2")
        wait_for(lambda: ready("cs2"), what="Ready=True after the 410")
        assert sum(r.is_watch for r in emulator.requests()) > watches_before

        crs.delete_namespaced_custom_object(G, V, "default", P, "cs1")

        def gone() -> bool:
            try:
                crs.get_namespaced_custom_object(G, V, "default", P, "cs1")
            except ApiException as e:
                return e.status == 404
            return False

        wait_for(gone, what="the finalizer to be released")
    assert removed == ["cs1"]
    assert runner.exception is None
    noisy = [
        line for line in runner.output.splitlines() if "Request attempt" in line or "APIServerError" in line
    ]
    assert not noisy, noisy[:5]
