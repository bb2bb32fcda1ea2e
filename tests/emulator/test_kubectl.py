"""kubectl against the emulator: apply, get by short name and category, label selectors, wait.

Needs `.tools/bin/kubectl` (`bash hack/tools.sh` provides it); skipped loudly otherwise.
`--validate=false` everywhere: the emulator serves no OpenAPI schema.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from kubernetes import client

from netscaler_certsync.testing.k8s_thread import CRD_GROUP, CRD_VERSION

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
