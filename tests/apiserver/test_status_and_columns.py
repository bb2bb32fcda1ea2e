"""The status subresource, the status schema, and what `kubectl get` shows from it.

The operator writes status only through /status and users write spec only through the main
resource; a real server enforces that split (and `generation` follows spec only), validates
status against its schema (conditions in metav1.Condition shape), and renders the printer columns
users read. The emulated tier reproduces none of these from the CRD.
"""

from __future__ import annotations

import json
from typing import Any

from tests.apiserver.apiserver_kube import Kube, certificate_sync, connection

NOW = "2026-11-27T12:00:00Z"


def _ready(
    status: str = "True", reason: str = "Synced", message: str = "all certificates deployed"
) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": NOW,
    }


def _message(refusal: Any) -> str:
    return str(json.loads(refusal.body)["message"])


def test_status_sent_with_the_object_is_ignored(kube: Kube, namespace: str) -> None:
    body = certificate_sync("sneaky")
    body["status"] = {"conditions": [_ready()], "certificateCount": 7}
    created = kube.create(body, namespace)
    assert "status" not in created or created["status"] == {}


def test_status_is_written_only_through_the_subresource(kube: Kube, namespace: str) -> None:
    created = kube.create(certificate_sync("split"), namespace)
    generation = created["metadata"]["generation"]

    kube.patch_status(
        "CertificateSync", "split", namespace, {"status": {"conditions": [_ready()], "observedGeneration": 1}}
    )
    stored = kube.get("CertificateSync", "split", namespace)
    assert stored["status"]["conditions"][0]["reason"] == "Synced"
    assert stored["metadata"]["generation"] == generation  # a status write is not a new generation

    # A status change through the main resource is dropped, a spec change through /status too.
    kube.patch("CertificateSync", "split", namespace, {"status": {"certificateCount": 99}})
    kube.patch_status("CertificateSync", "split", namespace, {"spec": {"dryRun": True}})
    stored = kube.get("CertificateSync", "split", namespace)
    assert "certificateCount" not in stored["status"]
    assert stored["spec"]["dryRun"] is False
    assert stored["metadata"]["generation"] == generation


def test_status_is_validated_against_its_schema(kube: Kube, namespace: str) -> None:
    kube.create(connection("status-schema"), namespace)
    bad_status = _ready(status="Maybe")
    refusal = kube.rejection(
        kube.patch_status,
        "NetScalerConnection",
        "status-schema",
        namespace,
        {"status": {"conditions": [bad_status]}},
    )
    assert refusal.status == 422
    assert 'Unsupported value: "Maybe"' in _message(refusal)

    no_reason = _ready()
    del no_reason["reason"]
    refusal = kube.rejection(
        kube.patch_status,
        "NetScalerConnection",
        "status-schema",
        namespace,
        {"status": {"conditions": [no_reason]}},
    )
    assert "status.conditions[0].reason: Required value" in _message(refusal)


def test_conditions_are_a_map_keyed_by_type(kube: Kube, namespace: str) -> None:
    kube.create(connection("one-per-type"), namespace)
    twice = {"status": {"conditions": [_ready(), _ready(status="False", reason="Unreachable")]}}
    refusal = kube.rejection(kube.patch_status, "NetScalerConnection", "one-per-type", namespace, twice)
    assert "Duplicate value" in _message(refusal)


def test_printer_columns_show_what_users_need(kube: Kube, namespace: str) -> None:
    kube.create(connection("adc"), namespace)
    kube.patch_status(
        "NetScalerConnection",
        "adc",
        namespace,
        {
            "status": {
                "conditions": [_ready(reason="Connected", message="NetScaler NS14.1 reachable")],
                "primaryEndpoint": "https://10.0.0.10",
                "version": "NS14.1: Build 21.57.nc",
                "haState": "Standalone",
            }
        },
    )
    kube.create(certificate_sync("web"), namespace)
    kube.patch_status(
        "CertificateSync",
        "web",
        namespace,
        {
            "status": {
                "conditions": [_ready()],
                "connectionCount": 1,
                "certificateCount": 2,
                "soonestExpiry": "2027-02-25T10:00:00Z",
            }
        },
    )

    def table(*args: str) -> list[list[str]]:
        out = kube.kubectl("get", *args, "-n", namespace).stdout
        return [line.split() for line in out.splitlines()]

    header, row = table("nsconn")
    assert header == ["NAME", "READY", "REASON", "ENDPOINT", "HA", "AGE"]
    assert row[:5] == ["adc", "True", "Connected", "https://10.0.0.10", "Standalone"]

    wide = kube.kubectl("get", "nsconn", "adc", "-n", namespace, "-o", "wide").stdout
    assert "VERSION" in wide.splitlines()[0] and "MESSAGE" in wide.splitlines()[0]
    assert "NS14.1: Build 21.57.nc" in wide and "NetScaler NS14.1 reachable" in wide

    header, row = table("certsync")
    assert header == ["NAME", "READY", "REASON", "CONNECTIONS", "CERTIFICATES", "EXPIRES", "AGE"]
    assert row[:6] == ["web", "True", "Synced", "1", "2", "2027-02-25T10:00:00Z"]


def test_stale_writes_conflict(kube: Kube, namespace: str) -> None:
    # The operator's status writes rely on optimistic concurrency: a stale resourceVersion is a 409.
    created = kube.create(certificate_sync("racy"), namespace)
    kube.patch("CertificateSync", "racy", namespace, {"spec": {"dryRun": True}})
    created["spec"]["autoSync"] = False
    refusal = kube.rejection(kube.replace, created, namespace)
    assert refusal.status == 409
    assert "the object has been modified" in _message(refusal)
