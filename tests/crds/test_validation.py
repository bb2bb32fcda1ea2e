"""What the CRDs accept and refuse: every example is valid, each rule refuses what it should.

Objects are defaulted and then checked against the OpenAPI schema and the CEL rules (see
crd_validation.py). Each invalid case names the rule it is aimed at, and the test checks that the
refusal comes from that rule (by its message), so a case cannot pass by tripping something else.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from .crd_validation import GROUP, ROOT, apply_defaults, example_documents, load_crds, schema_of, validate

SCHEMAS = {kind: schema_of(crd) for kind, crd in load_crds().items()}
EXAMPLES = list(example_documents())


def _check(kind: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    schema = SCHEMAS[kind]
    defaulted = apply_defaults(schema, obj)
    if old is None:
        return [v.message for v in validate(schema, defaulted)]
    return [v.message for v in validate(schema, defaulted, apply_defaults(schema, old))]


def _ours(doc: dict[str, Any]) -> bool:
    return doc.get("apiVersion", "").startswith(GROUP + "/")


def test_examples_cover_each_documented_case() -> None:
    kinds = [doc["kind"] for _, doc in EXAMPLES if _ours(doc)]
    assert kinds.count("NetScalerConnection") >= 4
    assert kinds.count("CertificateSync") >= 4
    syncs = [doc["spec"] for _, doc in EXAMPLES if _ours(doc) and doc["kind"] == "CertificateSync"]
    assert any("certificates" in s and "secretSelector" not in s for s in syncs), "explicit list"
    assert any("secretSelector" in s and any(b.get("sni") for b in s.get("bindings", [])) for s in syncs)
    assert any(len(s["connectionRefs"]) >= 2 for s in syncs), "fan-out"
    conns = [doc["spec"] for _, doc in EXAMPLES if _ours(doc) and doc["kind"] == "NetScalerConnection"]
    assert any("endpoints" in c for c in conns), "HA pair"


@pytest.mark.parametrize(
    ("name", "doc"), [(n, d) for n, d in EXAMPLES if _ours(d)], ids=lambda v: str(v)[:40]
)
def test_example_is_valid(name: str, doc: dict[str, Any]) -> None:
    assert _check(doc["kind"], doc) == [], name


def test_examples_only_reference_objects_they_define_or_document() -> None:
    # Every CertificateSync in a file points at connections defined in examples/ (same folder).
    by_folder: dict[str, set[str]] = {}
    for name, doc in EXAMPLES:
        folder = name.rpartition("/")[0]
        if doc["kind"] == "NetScalerConnection":
            by_folder.setdefault(folder, set()).add(doc["metadata"]["name"])
    for name, doc in EXAMPLES:
        if doc["kind"] == "CertificateSync":
            folder = name.rpartition("/")[0]
            for ref in doc["spec"]["connectionRefs"]:
                assert ref["name"] in by_folder.get(folder, set()), f"{name}: {ref['name']}"


def test_example_secrets_hold_no_real_password() -> None:
    for name, doc in EXAMPLES:
        if doc["kind"] == "Secret" and "username" in doc.get("stringData", {}):
            assert doc["stringData"]["password"] in {"CHANGE-ME", "certsync-demo"}, name


CONNECTION: dict[str, Any] = {
    "apiVersion": f"{GROUP}/v1alpha1",
    "kind": "NetScalerConnection",
    "metadata": {"name": "adc"},
    "spec": {"endpoint": "https://10.0.0.1", "credentialsSecretRef": {"name": "creds"}},
}

SYNC: dict[str, Any] = {
    "apiVersion": f"{GROUP}/v1alpha1",
    "kind": "CertificateSync",
    "metadata": {"name": "s"},
    "spec": {"connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": "www-tls"}]},
}


def _with(base: dict[str, Any], **spec: Any) -> dict[str, Any]:
    obj = copy.deepcopy(base)
    for key, value in spec.items():
        if value is None:
            obj["spec"].pop(key, None)
        else:
            obj["spec"][key] = value
    return obj


def test_minimal_objects_are_valid_and_defaulted() -> None:
    assert _check("NetScalerConnection", CONNECTION) == []
    assert _check("CertificateSync", SYNC) == []
    spec = apply_defaults(SCHEMAS["CertificateSync"], SYNC)["spec"]
    assert spec["deletionPolicy"] == "Delete"
    assert spec["certificateNameTemplate"] == "{{namespace}}-{{secretName}}"
    assert "bindings" not in spec  # no default: upload only
    conn = apply_defaults(SCHEMAS["NetScalerConnection"], CONNECTION)["spec"]
    assert conn["tls"] == {"insecureSkipVerify": False}
    assert conn["timeoutSeconds"] == 30


CONNECTION_INVALID = [
    # (case, spec changes, expected message fragment)
    ("neither endpoint nor endpoints", {"endpoint": None}, "set exactly one of endpoint"),
    (
        "both endpoint and endpoints",
        {"endpoints": ["https://10.0.0.1", "https://10.0.0.2"]},
        "set exactly one of endpoint",
    ),
    ("http without opt-in", {"endpoint": "http://10.0.0.1"}, "endpoint must use https"),
    (
        "http node without opt-in",
        {"endpoint": None, "endpoints": ["https://10.0.0.1", "http://10.0.0.2"]},
        "endpoints must use https",
    ),
    ("endpoint with a path", {"endpoint": "https://10.0.0.1/nitro/v1"}, "does not match"),
    ("endpoint with user info", {"endpoint": "https://nsroot@10.0.0.1"}, "does not match"),
    ("ftp endpoint", {"endpoint": "ftp://10.0.0.1"}, "does not match"),
    ("one HA node", {"endpoint": None, "endpoints": ["https://10.0.0.1"]}, "is too short"),
    (
        "the same HA node twice",
        {"endpoint": None, "endpoints": ["https://10.0.0.1", "https://10.0.0.1"]},
        "Duplicate value",
    ),
    (
        "skip verify with a CA",
        {"tls": {"insecureSkipVerify": True, "caSecretRef": {"name": "ca"}}},
        "insecureSkipVerify and caSecretRef exclude each other",
    ),
    ("no credentials", {"credentialsSecretRef": None}, "'credentialsSecretRef' is a required property"),
    ("zero timeout", {"timeoutSeconds": 0}, "less than the minimum"),
    ("partition with a slash", {"partition": "a/b"}, "does not match"),
]


@pytest.mark.parametrize(
    ("changes", "expected"), [c[1:] for c in CONNECTION_INVALID], ids=[c[0] for c in CONNECTION_INVALID]
)
def test_connection_refuses(changes: dict[str, Any], expected: str) -> None:
    errors = _check("NetScalerConnection", _with(CONNECTION, **changes))
    assert any(expected in e for e in errors), errors


def test_connection_accepts_http_with_opt_in_and_ha_pair() -> None:
    assert (
        _check("NetScalerConnection", _with(CONNECTION, endpoint="http://sim", allowInsecureHTTP=True)) == []
    )
    ha = _with(CONNECTION, endpoint=None, endpoints=["https://10.0.0.1", "https://10.0.0.2:8443"])
    assert _check("NetScalerConnection", ha) == []


SYNC_INVALID = [
    ("no certificates and no selector", {"certificates": None}, "set certificates, secretSelector or both"),
    ("empty certificates, no selector", {"certificates": []}, "set certificates, secretSelector or both"),
    ("no connection", {"connectionRefs": []}, "should be non-empty"),
    ("same connection twice", {"connectionRefs": [{"name": "a"}, {"name": "a"}]}, "Duplicate value"),
    (
        "same Secret twice",
        {"certificates": [{"secretName": "a"}, {"secretName": "a"}]},
        "Duplicate value",
    ),
    ("Secret name with capitals", {"certificates": [{"secretName": "WWW"}]}, "does not match"),
    (
        "certKeyName with a slash",
        {"certificates": [{"secretName": "a", "certKeyName": "a/b"}]},
        "does not match",
    ),
    (
        "certKeyName longer than the limit",
        {"certificates": [{"secretName": "a", "certKeyName": "x" * 32}]},
        "longer than certKeyNameMaxLength",
    ),
    ("unknown placeholder", {"certificateNameTemplate": "{{namespace}}-{{foo}}"}, "does not match"),
    ("illegal literal", {"certificateNameTemplate": "{{secretName}}/x"}, "does not match"),
    (
        "template that names no Secret",
        {"certificateNameTemplate": "{{namespace}}-{{commonName}}"},
        "must contain {{certificateId}} or {{secretName}}",
    ),
    ("limit below 31", {"certKeyNameMaxLength": 20}, "less than the minimum"),
    ("deletionPolicy typo", {"deletionPolicy": "Remove"}, "is not one of"),
    (
        "In without values",
        {"secretSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
        "In and NotIn need values",
    ),
    (
        "Exists with values",
        {"secretSelector": {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}},
        "In and NotIn need values",
    ),
    (
        "unknown selector operator",
        {"secretSelector": {"matchExpressions": [{"key": "a", "operator": "Is"}]}},
        "is not one of",
    ),
    (
        "same default binding twice",
        {"bindings": [{"vserver": "vs"}, {"vserver": "vs", "sni": False}]},
        "Duplicate value",
    ),
    (
        "verify port 0",
        {"bindings": [{"vserver": "vs", "verify": {"host": "h", "port": 0}}]},
        "less than the minimum",
    ),
    ("negative drift interval", {"driftCheckIntervalSeconds": -1}, "less than the minimum"),
    (
        "clientAuth from a Secret and a ConfigMap",
        {
            "bindings": [
                {
                    "vserver": "vs",
                    "clientAuth": {
                        "caFrom": {
                            "secretKeyRef": {"name": "s", "key": "ca.crt"},
                            "configMapKeyRef": {"name": "c", "key": "b.pem"},
                        }
                    },
                }
            ]
        },
        "set exactly one of secretKeyRef or configMapKeyRef",
    ),
    (
        "clientAuth from nowhere",
        {"bindings": [{"vserver": "vs", "clientAuth": {"caFrom": {}}}]},
        "set exactly one of secretKeyRef or configMapKeyRef",
    ),
    (
        "clientAuth crlCheck typo",
        {
            "bindings": [
                {
                    "vserver": "vs",
                    "clientAuth": {
                        "caFrom": {"configMapKeyRef": {"name": "c", "key": "b"}},
                        "crlCheck": "Required",
                    },
                }
            ]
        },
        "is not one of",
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"), [c[1:] for c in SYNC_INVALID], ids=[c[0] for c in SYNC_INVALID]
)
def test_sync_refuses(changes: dict[str, Any], expected: str) -> None:
    errors = _check("CertificateSync", _with(SYNC, **changes))
    assert any(expected in e for e in errors), errors


def test_sync_accepts_the_documented_variants() -> None:
    variants = [
        {"certificates": None, "secretSelector": {}},  # every TLS Secret in the namespace
        {"certificates": None, "secretSelector": {"matchLabels": {"a": "b"}}},
        {"bindings": [{"vserver": "vs"}, {"vserver": "vs", "sni": True}]},  # default and SNI on one vserver
        {"certificateNameTemplate": "k8s-{{certificateId}}"},
        {"certificates": [{"secretName": "a", "certKeyName": "x" * 40}], "certKeyNameMaxLength": 63},
        {"deletionPolicy": "Orphan", "dryRun": True, "autoSync": False},
    ]
    for changes in variants:
        assert _check("CertificateSync", _with(SYNC, **changes)) == [], changes


UPDATES = [
    # (case, old spec changes, new spec changes, expected message or None when allowed)
    (
        "template change",
        {},
        {"certificateNameTemplate": "x-{{certificateId}}"},
        "certificateNameTemplate is immutable",
    ),
    ("length limit change", {}, {"certKeyNameMaxLength": 63}, "certKeyNameMaxLength is immutable"),
    ("deletionPolicy flip before delete", {}, {"deletionPolicy": "Orphan"}, None),
    ("adding a connection", {}, {"connectionRefs": [{"name": "adc"}, {"name": "adc2"}]}, None),
    (
        "renaming one certkey",
        {"certificates": [{"secretName": "a", "certKeyName": "one"}]},
        {"certificates": [{"secretName": "a", "certKeyName": "two"}]},
        None,
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), [u[1:] for u in UPDATES], ids=[u[0] for u in UPDATES])
def test_sync_updates(old: dict[str, Any], new: dict[str, Any], expected: str | None) -> None:
    errors = _check("CertificateSync", _with(SYNC, **new), old=_with(SYNC, **old))
    if expected is None:
        assert errors == []
    else:
        assert any(expected in e for e in errors), errors


def test_status_written_by_the_operator_is_accepted() -> None:
    obj = copy.deepcopy(SYNC)
    obj["status"] = {
        "observedGeneration": 2,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Synced",
                "message": "1 certificate on 1 appliance",
                "lastTransitionTime": "2026-11-27T12:00:00Z",
                "observedGeneration": 2,
            }
        ],
        "connectionCount": 1,
        "certificateCount": 1,
        "soonestExpiry": "2027-02-25T12:00:00Z",
        "certificates": [
            {
                "connection": "adc",
                "secretName": "www-tls",
                "certKeyName": "default-www-tls",
                "serial": "04D36B3FF07D159B",
                "notAfter": "2027-02-25T12:00:00Z",
                "fingerprintSHA256": "ab" * 32,
                "boundVServers": [{"vserver": "vs_https", "sni": False}],
                "state": "Synced",
                "reason": "Synced",
                "message": "",
            }
        ],
        "connections": [{"name": "adc", "ready": True, "records": {"anything": ["the engine wants"]}}],
    }
    assert _check("CertificateSync", obj) == []
    obj["status"]["conditions"][0]["reason"] = "not a CamelCase word"
    assert any("does not match" in e for e in _check("CertificateSync", obj))


def test_argocd_health_testdata_are_valid_objects() -> None:
    # The health checks are tested on these objects; they must be what the API server would hold.
    testdata = sorted((ROOT / "gitops" / "argocd" / GROUP).glob("*/testdata/*.yaml"))
    assert len(testdata) >= 10
    for path in testdata:
        doc = yaml.safe_load(path.read_text())
        assert _check(doc["kind"], doc) == [], path.name


def test_artifacthub_crd_examples_are_valid() -> None:
    chart = yaml.safe_load((ROOT / "charts" / "netscaler-certsync" / "Chart.yaml").read_text())
    examples = yaml.safe_load(chart["annotations"]["artifacthub.io/crdsExamples"])
    assert {doc["kind"] for doc in examples} == set(SCHEMAS)
    for doc in examples:
        assert _check(doc["kind"], doc) == [], doc["kind"]
    listed = yaml.safe_load(chart["annotations"]["artifacthub.io/crds"])
    assert {(c["kind"], c["version"]) for c in listed} == {(kind, "v1alpha1") for kind in SCHEMAS}
