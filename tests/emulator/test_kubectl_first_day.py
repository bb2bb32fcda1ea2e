"""kubectl as a new user runs it against the emulated API: no flags a real cluster would not need.

`kubectl create secret tls` / `create namespace` (protobuf bodies), `kubectl apply` without
`--validate=false` (OpenAPI v3 discovery), `kubectl wait --for=condition=Established` on our CRDs,
the CRDs' printer columns, and errors that never echo a request body (the private key).
Needs `.tools/bin/kubectl` (`bash hack/tools.sh`); skipped loudly otherwise.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from kubernetes import client

from certsync_devkit.k8s_thread import CRD_GROUP, CRD_VERSION, EmulatorThread
from certsync_devkit.pki import TestPKI
from tests.emulator.test_kubectl import KUBECTL, MANIFEST, kubectl

pytestmark = pytest.mark.skipif(
    not KUBECTL.exists(),
    reason=f"SKIPPED: no kubectl at {KUBECTL}; run `bash hack/tools.sh` to fetch it",
)

CRDS = Path(__file__).resolve().parents[2] / "crds"


def _tls_files(tmp_path: Path) -> tuple[Path, Path, bytes]:
    pki = TestPKI.create()
    leaf = pki.leaf("shop.example.com")
    crt, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    crt.write_bytes(leaf.cert_pem)
    key.write_bytes(leaf.key_pem)
    return crt, key, leaf.key_pem


def test_create_namespace_secret_tls_and_configmap(
    kubeconfig: str, core: client.CoreV1Api, tmp_path: Path
) -> None:
    crt, key, key_pem = _tls_files(tmp_path)
    assert "namespace/web created" in kubectl(kubeconfig, "create", "namespace", "web")
    assert "secret/shop-tls created" in kubectl(
        kubeconfig, "-n", "web", "create", "secret", "tls", "shop-tls", f"--cert={crt}", f"--key={key}"
    )
    kubectl(kubeconfig, "-n", "web", "create", "configmap", "settings", "--from-literal=mode=test")
    secret = core.read_namespaced_secret("shop-tls", "web")
    assert secret.type == "kubernetes.io/tls"
    assert base64.b64decode(secret.data["tls.key"]) == key_pem
    assert base64.b64decode(secret.data["tls.crt"]) == crt.read_bytes()
    assert core.read_namespaced_config_map("settings", "web").data == {"mode": "test"}
    assert core.read_namespace("web").status.phase == "Active"


def test_an_error_never_echoes_the_request_body(emulator: EmulatorThread, tmp_path: Path) -> None:
    _, _, key_pem = _tls_files(tmp_path)
    secret_line = key_pem.decode().splitlines()[1]  # a line of the key's base64
    bodies = {
        # a protobuf body of a kind the emulator does not decode
        "application/vnd.kubernetes.protobuf": b"k8s\x00\n\x14\n\x07apps/v1\x12\tDeployment\x12\xff\x01"
        + key_pem,
        # a protobuf envelope that is cut short, with the key inside
        "application/vnd.kubernetes.protobuf; x=1": b"k8s\x00\x12\xff\xff\x03" + key_pem,
        # bytes that are neither JSON nor UTF-8
        "application/json": b"\xff\xfe{" + key_pem,
    }
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        for content_type, body in bodies.items():
            answer = http.post(
                "/api/v1/namespaces/web/secrets", content=body, headers={"Content-Type": content_type}
            )
            assert answer.status_code >= 400, content_type
            assert "PRIVATE KEY" not in answer.text and secret_line not in answer.text, content_type
            assert "Traceback" not in answer.text, content_type
            assert json.loads(answer.text)["kind"] == "Status"


def test_apply_needs_no_validate_false(kubeconfig: str) -> None:
    applied = kubectl(kubeconfig, "apply", "-f", "-", stdin=MANIFEST)
    assert "certificatesync.netscaler.certsync.dev/cs-a created" in applied
    assert "secret/web-tls created" in applied
    again = kubectl(
        kubeconfig, "apply", "-f", "-", stdin=MANIFEST.replace("autoSync: true", "autoSync: false")
    )
    assert "certificatesync.netscaler.certsync.dev/cs-a configured" in again


def test_crds_become_established_and_print_their_columns(
    kubeconfig: str, crs: client.CustomObjectsApi
) -> None:
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(CRDS))
    waited = kubectl(
        kubeconfig,
        "wait",
        "--for=condition=Established",
        f"crd/netscalerconnections.{CRD_GROUP}",
        f"crd/certificatesyncs.{CRD_GROUP}",
        "--timeout=10s",
    )
    assert waited.count("condition met") == 2
    kubectl(kubeconfig, "apply", "-f", "-", stdin=MANIFEST)
    status = {
        "status": {
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "VServerNotFound", "message": "no vs"}
            ],
            "connectionCount": 1,
            "certificateCount": 2,
        }
    }
    crs.patch_namespaced_custom_object_status(
        CRD_GROUP, CRD_VERSION, "default", "certificatesyncs", "cs-a", status
    )
    lines = kubectl(kubeconfig, "get", "certsync").splitlines()
    assert lines[0].split() == ["NAME", "READY", "REASON", "CONNECTIONS", "CERTIFICATES", "EXPIRES", "AGE"]
    assert lines[1].split()[:5] == ["cs-a", "False", "VServerNotFound", "1", "2"]
    wide = kubectl(kubeconfig, "get", "certsync", "cs-a", "-o", "wide").splitlines()
    assert "MESSAGE" in wide[0].split() and "no vs" in wide[1]
    conn = kubectl(kubeconfig, "get", "nsconn").splitlines()
    assert conn[0].split() == ["NAME", "READY", "REASON", "ENDPOINT", "HA", "AGE"]
