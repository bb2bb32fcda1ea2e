"""What the API server refuses, and with which message, before the operator ever sees an object.

Everything here is enforced by the CRD schema (OpenAPI rules, list types, CEL rules) and can only
be checked by a real API server: the emulated tier stores whatever it is given. Each refusal must
name the field and say what is wrong, because that message is all a `kubectl apply` user gets.
The accepted table guards the other side: a rule that refuses valid input is a defect too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.apiserver.apiserver_kube import Kube, certificate_sync, connection

HTTP_NEEDS_OPT_IN = "endpoint must use https; plain http needs allowInsecureHTTP set to true"

# (id, object, fragments the refusal's message must contain)
REFUSED: list[tuple[str, dict[str, Any], list[str]]] = [
    # NetScalerConnection
    (
        "http-endpoint-without-opt-in",
        connection(endpoint="http://10.0.0.10"),
        ["spec.endpoint", HTTP_NEEDS_OPT_IN],
    ),
    (
        "http-endpoint-with-opt-in-false",
        connection(endpoint="http://10.0.0.10", allowInsecureHTTP=False),
        ["spec.endpoint", HTTP_NEEDS_OPT_IN],
    ),
    (
        "http-ha-node-without-opt-in",
        connection(endpoint=None, endpoints=["https://10.0.0.11", "http://10.0.0.12"]),
        ["spec.endpoints", "endpoints must use https"],
    ),
    (
        "endpoint-and-endpoints",
        connection(endpoints=["https://10.0.0.11", "https://10.0.0.12"]),
        ["set exactly one of endpoint (one appliance) or endpoints"],
    ),
    ("no-endpoint-at-all", connection(endpoint=None), ["set exactly one of endpoint"]),
    (
        "endpoint-with-a-path",
        connection(endpoint="https://10.0.0.10/nitro/v1"),
        ["spec.endpoint", "should match"],
    ),
    (
        "ha-pair-of-one",
        connection(endpoint=None, endpoints=["https://10.0.0.11"]),
        ["spec.endpoints", "should have at least 2 items"],
    ),
    (
        "ha-pair-twice-the-same-node",
        connection(endpoint=None, endpoints=["https://10.0.0.11", "https://10.0.0.11"]),
        ["spec.endpoints[1]", "Duplicate value"],
    ),
    (
        "no-credentials",
        connection(credentialsSecretRef=None),
        ["spec.credentialsSecretRef", "Required value"],
    ),
    (
        "credentials-secret-name-not-dns",
        connection(credentialsSecretRef={"name": "Login_Secret"}),
        ["spec.credentialsSecretRef.name", "should match"],
    ),
    (
        "skip-verify-and-ca",
        connection(tls={"insecureSkipVerify": True, "caSecretRef": {"name": "adc-ca"}}),
        ["spec.tls", "insecureSkipVerify and caSecretRef exclude each other"],
    ),
    ("timeout-zero", connection(timeoutSeconds=0), ["spec.timeoutSeconds", "greater than or equal to 1"]),
    (
        "health-check-too-often",
        connection(healthCheckIntervalSeconds=5),
        ["spec.healthCheckIntervalSeconds", "greater than or equal to 30"],
    ),
    (
        "timeout-as-string",
        connection(timeoutSeconds="30"),
        ["spec.timeoutSeconds", "must be of type integer"],
    ),
    (
        "no-spec",
        {
            "apiVersion": "netscaler.certsync.dev/v1alpha1",
            "kind": "NetScalerConnection",
            "metadata": {"name": "x"},
        },
        ["spec", "Required value"],
    ),
    # CertificateSync
    ("no-connection-refs", certificate_sync(connectionRefs=None), ["spec.connectionRefs", "Required value"]),
    (
        "empty-connection-refs",
        certificate_sync(connectionRefs=[]),
        ["spec.connectionRefs", "at least 1 items"],
    ),
    (
        "same-connection-twice",
        certificate_sync(connectionRefs=[{"name": "adc"}, {"name": "adc"}]),
        ["spec.connectionRefs[1]", "Duplicate value"],
    ),
    ("nothing-selected", certificate_sync(certificates=None), ["set certificates, secretSelector or both"]),
    (
        "empty-certificate-list",
        certificate_sync(certificates=[]),
        ["set certificates, secretSelector or both"],
    ),
    (
        "same-secret-twice",
        certificate_sync(certificates=[{"secretName": "a"}, {"secretName": "a"}]),
        ["spec.certificates[1]", "Duplicate value"],
    ),
    (
        "client-auth-from-a-secret-and-a-configmap",
        certificate_sync(
            bindings=[
                {
                    "vserver": "vs",
                    "clientAuth": {
                        "caFrom": {
                            "secretKeyRef": {"name": "s", "key": "ca.crt"},
                            "configMapKeyRef": {"name": "c", "key": "trust-bundle.pem"},
                        }
                    },
                }
            ]
        ),
        ["spec.bindings[0].clientAuth.caFrom", "set exactly one of secretKeyRef or configMapKeyRef"],
    ),
    (
        "client-auth-from-nowhere",
        certificate_sync(bindings=[{"vserver": "vs", "clientAuth": {"caFrom": {}}}]),
        ["spec.bindings[0].clientAuth.caFrom", "set exactly one of secretKeyRef or configMapKeyRef"],
    ),
    (
        "encrypt-key-without-a-passphrase",
        certificate_sync(certificates=[{"secretName": "a", "source": {"encryptKey": True}}]),
        ["spec.certificates[0].source", "encryptKey needs passwordSecretRef (the passphrase)"],
    ),
    (
        "unknown-source-format",
        certificate_sync(secretSelector={"matchLabels": {"a": "b"}}, secretSource={"format": "JKS"}),
        ["spec.secretSource.format", 'Unsupported value: "JKS"'],
    ),
    (
        "unknown-deletion-policy",
        certificate_sync(deletionPolicy="Destroy"),
        ["spec.deletionPolicy", 'Unsupported value: "Destroy"', '"Delete", "Orphan"'],
    ),
    (
        "template-without-unique-part",
        certificate_sync(certificateNameTemplate="{{namespace}}-{{commonName}}"),
        ["spec.certificateNameTemplate", "must contain {{certificateId}} or {{secretName}}"],
    ),
    (
        "template-with-a-space",
        certificate_sync(certificateNameTemplate="web {{secretName}}"),
        ["spec.certificateNameTemplate", "should match"],
    ),
    (
        "template-unknown-placeholder",
        certificate_sync(certificateNameTemplate="{{secretName}}-{{issuer}}"),
        ["spec.certificateNameTemplate", "should match"],
    ),
    (
        # certKeyNameMaxLength is not given: its default (31) must be applied before the CEL rule runs.
        "cert-key-name-longer-than-default-limit",
        certificate_sync(certificates=[{"secretName": "web-tls", "certKeyName": "k" * 32}]),
        ["a certificates[].certKeyName is longer than certKeyNameMaxLength"],
    ),
    (
        "cert-key-name-longer-than-set-limit",
        certificate_sync(
            certKeyNameMaxLength=40, certificates=[{"secretName": "web-tls", "certKeyName": "k" * 41}]
        ),
        ["a certificates[].certKeyName is longer than certKeyNameMaxLength"],
    ),
    (
        "cert-key-name-limit-above-127",
        certificate_sync(certKeyNameMaxLength=128),
        ["spec.certKeyNameMaxLength", "less than or equal to 127"],
    ),
    (
        "cert-key-name-limit-below-31",
        certificate_sync(certKeyNameMaxLength=30),
        ["spec.certKeyNameMaxLength", "greater than or equal to 31"],
    ),
    (
        # sni defaults to false, so these two entries have the same map key (vserver, sni).
        "same-binding-twice-once-by-default",
        certificate_sync(bindings=[{"vserver": "vs1"}, {"vserver": "vs1", "sni": False}]),
        ["spec.bindings[1]", "Duplicate value"],
    ),
    (
        "selector-in-without-values",
        certificate_sync(secretSelector={"matchExpressions": [{"key": "app", "operator": "In"}]}),
        ["In and NotIn need values"],
    ),
    (
        "selector-exists-with-values",
        certificate_sync(
            secretSelector={"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["x"]}]}
        ),
        ["In and NotIn need values; Exists and DoesNotExist take none"],
    ),
    (
        "selector-unknown-operator",
        certificate_sync(
            secretSelector={"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["x"]}]}
        ),
        ["operator", 'Unsupported value: "Equals"'],
    ),
    (
        "verify-port-out-of-range",
        certificate_sync(bindings=[{"vserver": "vs1", "verify": {"host": "10.0.0.20", "port": 70000}}]),
        ["spec.bindings[0].verify.port", "less than or equal to 65535"],
    ),
    (
        "drift-check-negative",
        certificate_sync(driftCheckIntervalSeconds=-1),
        ["spec.driftCheckIntervalSeconds", "greater than or equal to 0"],
    ),
]

ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("http-with-explicit-opt-in", connection(endpoint="http://127.0.0.1:8080", allowInsecureHTTP=True)),
    ("https-with-port-and-slash", connection(endpoint="https://adc.example.com:8443/")),
    ("ha-pair", connection(endpoint=None, endpoints=["https://10.0.0.11", "https://10.0.0.12"])),
    (
        "ha-pair-http-with-opt-in",
        connection(endpoint=None, endpoints=["http://10.0.0.11", "http://10.0.0.12"], allowInsecureHTTP=True),
    ),
    ("ca-bundle", connection(tls={"caSecretRef": {"name": "adc-ca"}, "serverName": "adc.example.com"})),
    ("partition", connection(partition="tenant_a")),
    ("selector-only", certificate_sync(certificates=None, secretSelector={})),
    (
        "selector-with-expressions",
        certificate_sync(
            certificates=None,
            secretSelector={
                "matchLabels": {"certsync": "adc"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["web"]},
                    {"key": "skip", "operator": "DoesNotExist"},
                ],
            },
        ),
    ),
    (
        "cert-key-name-at-default-limit",
        certificate_sync(certificates=[{"secretName": "a", "certKeyName": "k" * 31}]),
    ),
    (
        "long-cert-key-name-with-raised-limit",
        certificate_sync(
            certKeyNameMaxLength=127, certificates=[{"secretName": "a", "certKeyName": "k" * 127}]
        ),
    ),
    ("template-with-certificate-id", certificate_sync(certificateNameTemplate="cs-{{certificateId}}")),
    (
        "same-vserver-as-default-and-sni",
        certificate_sync(bindings=[{"vserver": "vs 1"}, {"vserver": "vs 1", "sni": True}]),
    ),
    ("fan-out-to-two-sites", certificate_sync(connectionRefs=[{"name": "site-a"}, {"name": "site-b"}])),
    ("orphan-dry-run", certificate_sync(deletionPolicy="Orphan", dryRun=True, driftCheckIntervalSeconds=0)),
]


def _message(refusal: Any) -> str:
    try:
        return str(json.loads(refusal.body)["message"])
    except (TypeError, ValueError, KeyError):
        return str(refusal.body)


@pytest.mark.parametrize(("body", "fragments"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_invalid_objects_are_refused_with_a_clear_message(
    kube: Kube, namespace: str, body: dict[str, Any], fragments: list[str]
) -> None:
    refusal = kube.rejection(kube.create, body, namespace)
    assert refusal.status == 422, refusal.body
    message = _message(refusal)
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("body", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_valid_edge_cases_are_accepted(kube: Kube, namespace: str, body: dict[str, Any]) -> None:
    created = kube.create(body, namespace)
    assert created["metadata"]["uid"]


def test_unknown_fields_are_refused_not_dropped(kube: Kube, namespace: str) -> None:
    # A typo must not become a silently ignored setting (the user would think TLS is verified).
    refusal = kube.rejection(kube.create, connection(tls={"insecureSkipVerfy": True}), namespace)
    assert refusal.status in {400, 422}
    assert 'unknown field "spec.tls.insecureSkipVerfy"' in _message(refusal)
