"""The CRDs have the names, printer columns and schema discipline the API promises (docs/api.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .crd_validation import GROUP, compile_rule, load_crds, rules_in, schema_of

CRDS = load_crds()

EXPECTED_NAMES = {
    "NetScalerConnection": ("netscalerconnections", "netscalerconnection", ["nsconn"]),
    "CertificateSync": ("certificatesyncs", "certificatesync", ["certsync"]),
}

EXPECTED_COLUMNS = {
    "NetScalerConnection": ["Ready", "Reason", "Endpoint", "HA", "Age"],
    "CertificateSync": ["Ready", "Reason", "Connections", "Certificates", "Expires", "Age"],
}


def test_both_kinds_are_defined() -> None:
    assert set(CRDS) == set(EXPECTED_NAMES)


@pytest.mark.parametrize("kind", sorted(EXPECTED_NAMES))
def test_names_group_and_scope(kind: str) -> None:
    crd = CRDS[kind]
    plural, singular, short = EXPECTED_NAMES[kind]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{plural}.{GROUP}"
    spec = crd["spec"]
    assert spec["group"] == GROUP
    assert spec["scope"] == "Namespaced"
    names = spec["names"]
    assert (names["kind"], names["plural"], names["singular"]) == (kind, plural, singular)
    assert names["shortNames"] == short
    assert names["categories"] == ["netscaler"]


@pytest.mark.parametrize("kind", sorted(EXPECTED_NAMES))
def test_one_served_storage_version_with_status_subresource(kind: str) -> None:
    (version,) = CRDS[kind]["spec"]["versions"]
    assert version["name"] == "v1alpha1"
    assert version["served"] is True and version["storage"] is True
    assert version["subresources"] == {"status": {}}


@pytest.mark.parametrize("kind", sorted(EXPECTED_NAMES))
def test_printer_columns_shown_by_default(kind: str) -> None:
    (version,) = CRDS[kind]["spec"]["versions"]
    default_columns = [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")]
    assert default_columns == EXPECTED_COLUMNS[kind]
    by_name = {c["name"]: c for c in version["additionalPrinterColumns"]}
    assert by_name["Ready"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert by_name["Age"] == {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    # Every column reads a field the schema declares, else it is always empty.
    schema = schema_of(CRDS[kind])
    for column in version["additionalPrinterColumns"]:
        path = column["jsonPath"].split("[")[0].lstrip(".").split(".")
        if path[0] == "metadata":
            continue
        node = schema
        for part in path:
            assert part in node.get("properties", {}), f"{column['name']}: {part} not in schema"
            node = node["properties"][part]


def test_expiry_column_is_not_a_date_column() -> None:
    # kubectl prints a future timestamp in a `date` column as "<invalid>".
    (version,) = CRDS["CertificateSync"]["spec"]["versions"]
    (expires,) = [c for c in version["additionalPrinterColumns"] if c["name"] == "Expires"]
    assert expires["type"] == "string"


def _walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from _walk(sub, f"{path}/{name}")
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], f"{path}/*")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}/<value>")


def _all_nodes() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for kind, crd in CRDS.items():
        for path, node in _walk(schema_of(crd)):
            yield kind, path, node


@pytest.mark.parametrize("kind", sorted(EXPECTED_NAMES))
def test_schema_is_structural(kind: str) -> None:
    for path, node in _walk(schema_of(CRDS[kind])):
        assert "type" in node, f"{kind}{path}: every node needs a type"
        assert not ("properties" in node and "additionalProperties" in node), f"{kind}{path}"
        for forbidden in ("$ref", "allOf", "oneOf", "anyOf", "not", "uniqueItems"):
            assert forbidden not in node, f"{kind}{path}: {forbidden} is not structural here"


def test_strings_and_lists_are_bounded() -> None:
    for kind, path, node in _all_nodes():
        if node.get("type") == "string" and "enum" not in node and node.get("format") != "date-time":
            if path in {"/apiVersion", "/kind"}:
                continue
            assert "maxLength" in node, f"{kind}{path}: unbounded string"
        if node.get("type") == "array":
            assert "maxItems" in node, f"{kind}{path}: unbounded list"
        if node.get("type") == "object" and "additionalProperties" in node:
            assert "maxProperties" in node, f"{kind}{path}: unbounded map"


def test_every_field_is_described() -> None:
    for kind, path, node in _all_nodes():
        if path.count("/") >= 1 and not path.endswith("/*") and not path.endswith("/<value>"):
            if path == "/metadata":
                continue
            assert node.get("description"), f"{kind}{path}: no description"


def test_no_preserve_unknown_fields_in_spec() -> None:
    for kind, path, node in _all_nodes():
        if path.startswith("/spec"):
            assert "x-kubernetes-preserve-unknown-fields" not in node, f"{kind}{path}"


def test_only_the_internal_records_keep_unknown_fields() -> None:
    preserving = [
        f"{kind}{path}"
        for kind, path, node in _all_nodes()
        if node.get("x-kubernetes-preserve-unknown-fields")
    ]
    assert preserving == ["CertificateSync/status/connections/*/records"]


@pytest.mark.parametrize("kind", sorted(EXPECTED_NAMES))
def test_conditions_are_a_list_map_of_metav1_conditions(kind: str) -> None:
    conditions = schema_of(CRDS[kind])["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert set(item["required"]) == {"type", "status", "lastTransitionTime", "reason", "message"}
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert item["properties"]["observedGeneration"]["format"] == "int64"
    status = schema_of(CRDS[kind])["properties"]["status"]["properties"]
    assert status["observedGeneration"]["type"] == "integer"


def test_every_cel_rule_compiles_and_has_a_message() -> None:
    count = 0
    for kind, crd in CRDS.items():
        for path, rule in rules_in(schema_of(crd)):
            compile_rule(rule["rule"])  # raises on a syntax error
            assert rule.get("message"), f"{kind}{path}: rule without a message"
            assert rule.get("reason", "FieldValueInvalid") in {
                "FieldValueInvalid",
                "FieldValueForbidden",
                "FieldValueRequired",
                "FieldValueDuplicate",
            }
            count += 1
    assert count >= 9


def test_spec_defaults_match_the_design() -> None:
    spec = schema_of(CRDS["CertificateSync"])["properties"]["spec"]["properties"]
    defaults = {name: node.get("default") for name, node in spec.items() if "default" in node}
    assert defaults == {
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
    conn = schema_of(CRDS["NetScalerConnection"])["properties"]["spec"]["properties"]
    assert conn["timeoutSeconds"]["default"] == 30
    assert conn["tls"]["properties"]["insecureSkipVerify"]["default"] is False
    assert conn["allowInsecureHTTP"]["default"] is False
