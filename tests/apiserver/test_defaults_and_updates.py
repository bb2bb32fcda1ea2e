"""Defaults the server fills in, and the CEL transition rules that guard updates.

The operator reads defaulted fields (for example certKeyNameMaxLength, preserveOnRenewal) as if
they were always present; only a real API server applies structural-schema defaults, so this is
where a default that silently disappears from the CRD is caught. Transition rules (`self ==
oldSelf`) exist because renaming every deployed certkey is not something an edit should do.
"""

from __future__ import annotations

import json
from typing import Any

from tests.apiserver.apiserver_kube import Kube, certificate_sync, connection

CONNECTION_DEFAULTS: dict[str, Any] = {
    "allowInsecureHTTP": False,
    "timeoutSeconds": 30,
    "healthCheckIntervalSeconds": 300,
}
CERTIFICATE_SYNC_DEFAULTS: dict[str, Any] = {
    "certificateNameTemplate": "{{namespace}}-{{secretName}}",
    "certKeyNameMaxLength": 31,
    "preserveOnRenewal": True,
    "removeInactive": True,
    "autoSync": True,
    "linkChain": True,
    "includeCACrt": False,
    "deletionPolicy": "Delete",
    "dryRun": False,
    "driftCheckIntervalSeconds": 600,
}


def _message(refusal: Any) -> str:
    return str(json.loads(refusal.body)["message"])


def test_connection_defaults_appear(kube: Kube, namespace: str) -> None:
    spec = kube.create(connection(), namespace)["spec"]
    for field, value in CONNECTION_DEFAULTS.items():
        assert spec.get(field) == value, (field, spec)
    # tls defaults to {}, and the defaults inside it then apply too (nested defaulting).
    assert spec["tls"] == {"insecureSkipVerify": False}


def test_ca_secret_key_defaults_to_ca_crt(kube: Kube, namespace: str) -> None:
    spec = kube.create(connection(tls={"caSecretRef": {"name": "adc-ca"}}), namespace)["spec"]
    assert spec["tls"]["caSecretRef"] == {"name": "adc-ca", "key": "ca.crt"}


def test_certificate_sync_defaults_appear(kube: Kube, namespace: str) -> None:
    body = certificate_sync(bindings=[{"vserver": "vs1", "verify": {"host": "10.0.0.20"}}])
    spec = kube.create(body, namespace)["spec"]
    for field, value in CERTIFICATE_SYNC_DEFAULTS.items():
        assert spec.get(field) == value, (field, spec)
    assert spec["bindings"] == [
        {"vserver": "vs1", "sni": False, "verify": {"host": "10.0.0.20", "port": 443}}
    ]


def test_defaults_are_also_applied_to_stored_objects_read_back(kube: Kube, namespace: str) -> None:
    kube.create(certificate_sync("read-back"), namespace)
    spec = kube.get("CertificateSync", "read-back", namespace)["spec"]
    assert spec["certKeyNameMaxLength"] == 31
    assert spec["deletionPolicy"] == "Delete"


def test_name_template_is_immutable(kube: Kube, namespace: str) -> None:
    kube.create(certificate_sync("fixed-names"), namespace)
    refusal = kube.rejection(
        kube.patch,
        "CertificateSync",
        "fixed-names",
        namespace,
        {"spec": {"certificateNameTemplate": "x-{{secretName}}"}},
    )
    assert refusal.status == 422
    assert "spec.certificateNameTemplate" in _message(refusal)
    assert "certificateNameTemplate is immutable" in _message(refusal)
    # The stored object keeps the defaulted template.
    assert kube.get("CertificateSync", "fixed-names", namespace)["spec"]["certificateNameTemplate"] == (
        "{{namespace}}-{{secretName}}"
    )


def test_name_template_set_at_creation_is_immutable_too(kube: Kube, namespace: str) -> None:
    kube.create(certificate_sync("own-template", certificateNameTemplate="cs-{{certificateId}}"), namespace)
    refusal = kube.rejection(
        kube.patch, "CertificateSync", "own-template", namespace, {"spec": {"certificateNameTemplate": None}}
    )
    # Removing the field re-applies the default, which is a change as well.
    assert refusal.status == 422
    assert "certificateNameTemplate is immutable" in _message(refusal)


def test_cert_key_name_limit_is_immutable(kube: Kube, namespace: str) -> None:
    kube.create(certificate_sync("limit"), namespace)
    refusal = kube.rejection(
        kube.patch, "CertificateSync", "limit", namespace, {"spec": {"certKeyNameMaxLength": 63}}
    )
    assert refusal.status == 422
    assert "certKeyNameMaxLength is immutable" in _message(refusal)


def test_other_fields_stay_editable_and_generation_follows(kube: Kube, namespace: str) -> None:
    created = kube.create(certificate_sync("editable"), namespace)
    patched = kube.patch(
        "CertificateSync",
        "editable",
        namespace,
        {
            "spec": {
                "dryRun": True,
                "bindings": [{"vserver": "vs2", "sni": True}],
                # Restating the immutable fields unchanged is allowed (kubectl apply does that).
                "certificateNameTemplate": "{{namespace}}-{{secretName}}",
                "certKeyNameMaxLength": 31,
            }
        },
    )
    assert patched["spec"]["dryRun"] is True
    assert patched["metadata"]["generation"] == created["metadata"]["generation"] + 1


def test_connection_can_switch_to_an_ha_pair(kube: Kube, namespace: str) -> None:
    kube.create(connection("grows"), namespace)
    patched = kube.patch(
        "NetScalerConnection",
        "grows",
        namespace,
        {"spec": {"endpoint": None, "endpoints": ["https://10.0.0.11", "https://10.0.0.12"]}},
    )
    assert "endpoint" not in patched["spec"]
    # ...but an edit that breaks the https rule is refused like a create would be.
    refusal = kube.rejection(
        kube.patch,
        "NetScalerConnection",
        "grows",
        namespace,
        {"spec": {"endpoints": ["http://a1", "http://a2"]}},
    )
    assert "endpoints must use https" in _message(refusal)
