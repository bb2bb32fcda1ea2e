"""kubectl against the emulator: apply, get by short name and category, label selectors, wait.

Needs `.tools/bin/kubectl` (`bash hack/tools.sh` provides it); skipped loudly otherwise.
A few calls keep `--validate=false` (still accepted); test_kubectl_first_day.py runs without it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from kubernetes import client

from certsync_devkit.k8s_thread import CRD_GROUP, CRD_VERSION
from netscaler_certsync.k8s import keys

KUBECTL = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "kubectl"

pytestmark = pytest.mark.skipif(
    not KUBECTL.exists(),
    reason=f"SKIPPED: no kubectl at {KUBECTL}; run `bash hack/tools.sh` to fetch it",
)

MANIFEST = f"""
apiVersion: {CRD_GROUP}/{CRD_VERSION}
kind: CertificateSync
metadata:
  name: cs-a
spec:
  autoSync: true
---
apiVersion: {CRD_GROUP}/{CRD_VERSION}
kind: NetScalerConnection
metadata:
  name: adc
spec:
  endpoint: https://127.0.0.1:1
---
apiVersion: v1
kind: Secret
metadata:
  name: web-tls
  labels: {{netscaler.certsync.dev/sync: "true"}}
type: kubernetes.io/tls
data: {{tls.crt: Q1JU, tls.key: S0VZ}}
"""


def kubectl(kubeconfig: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", kubeconfig, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)} failed: {done.stderr}"
    return done.stdout


def test_apply_get_and_wait(kubeconfig: str, crs: client.CustomObjectsApi) -> None:
    applied = kubectl(kubeconfig, "apply", "--validate=false", "-f", "-", stdin=MANIFEST)
    assert "certificatesync.netscaler.certsync.dev/cs-a created" in applied
    assert kubectl(kubeconfig, "get", "certsync", "-o", "name").split() == [
        "certificatesync.netscaler.certsync.dev/cs-a"
    ]
    assert sorted(kubectl(kubeconfig, "get", "netscaler", "-o", "name").split()) == [
        "certificatesync.netscaler.certsync.dev/cs-a",
        "netscalerconnection.netscaler.certsync.dev/adc",
    ]
    selected = kubectl(kubeconfig, "get", "secrets", "-l", "netscaler.certsync.dev/sync=true", "-o", "name")
    assert selected.split() == ["secret/web-tls"]
    ready = {
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Synced", "message": ""}]}
    }
    crs.patch_namespaced_custom_object_status(
        CRD_GROUP, CRD_VERSION, "default", "certificatesyncs", "cs-a", ready
    )
    waited = kubectl(kubeconfig, "wait", "--for=condition=Ready", "certsync/cs-a", "--timeout=10s")
    assert "condition met" in waited
    again = kubectl(kubeconfig, "apply", "--validate=false", "-f", "-", stdin=MANIFEST)
    assert "certificatesync.netscaler.certsync.dev/cs-a unchanged" in again


def test_manual_sync_annotation_and_delete_waits_for_the_finalizer(
    kubeconfig: str, crs: client.CustomObjectsApi
) -> None:
    kubectl(kubeconfig, "apply", "--validate=false", "-f", "-", stdin=MANIFEST)
    trigger = f"{keys.SYNC_REQUESTED_AT}=2026-11-27T12:00:00Z"
    kubectl(kubeconfig, "annotate", "certsync/cs-a", trigger, "--overwrite")
    obj = crs.get_namespaced_custom_object(CRD_GROUP, CRD_VERSION, "default", "certificatesyncs", "cs-a")
    assert obj["metadata"]["annotations"][keys.SYNC_REQUESTED_AT] == "2026-11-27T12:00:00Z"
    assert obj["metadata"]["generation"] == 1  # an annotation is not a spec change
    finalizer = {"metadata": {"finalizers": [keys.FINALIZER]}}
    crs.patch_namespaced_custom_object(
        CRD_GROUP, CRD_VERSION, "default", "certificatesyncs", "cs-a", finalizer
    )
    # `kubectl delete --wait=false` returns at once; the object is only marked while the finalizer holds.
    kubectl(kubeconfig, "delete", "certsync/cs-a", "--wait=false")
    held = kubectl(kubeconfig, "get", "certsync/cs-a", "-o", "jsonpath={.metadata.deletionTimestamp}")
    assert held.strip(), "deletionTimestamp must be set while the finalizer holds the object"
    release = {"metadata": {"finalizers": None}}
    crs.patch_namespaced_custom_object(CRD_GROUP, CRD_VERSION, "default", "certificatesyncs", "cs-a", release)
    kubectl(kubeconfig, "wait", "--for=delete", "certsync/cs-a", "--timeout=10s")


def test_server_side_apply_and_diff_do_what_they_say(kubeconfig: str, crs: client.CustomObjectsApi) -> None:
    cr = MANIFEST.split("---")[0]
    kubectl(kubeconfig, "apply", "--server-side", "--validate=false", "-f", "-", stdin=cr)
    changed = cr.replace("autoSync: true", "autoSync: false")
    kubectl(kubeconfig, "apply", "--server-side", "--validate=false", "-f", "-", stdin=changed)
    obj = crs.get_namespaced_custom_object(CRD_GROUP, CRD_VERSION, "default", "certificatesyncs", "cs-a")
    assert obj["spec"] == {"autoSync": False} and obj["metadata"]["generation"] == 2
    # `kubectl diff` sends a dry-run patch: it must show the change and persist nothing.
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", kubeconfig, "diff", "-f", "-"],
        input=cr,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1 and "+  autoSync: true" in done.stdout, done.stderr
    obj = crs.get_namespaced_custom_object(CRD_GROUP, CRD_VERSION, "default", "certificatesyncs", "cs-a")
    assert obj["spec"] == {"autoSync": False}
