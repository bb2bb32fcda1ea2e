"""The operator's spec defaults are the CRD's: an API server that applies the schema's defaults and
one that does not (an emulator, a CRD installed without them) give the same behaviour.

reconcile/specs.py is the one place the operator writes a default; the handlers' timers ask it
whether a re-check is due. Each field with a `default:` in the schema is compared with what the
parser makes of a spec that leaves the field out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from netscaler_certsync.reconcile import specs
from netscaler_certsync.timestamps import rfc3339

from .crd_validation import load_crds, schema_of

CRDS = load_crds()
NOW = dt.datetime(2026, 11, 27, 12, 0, 0, tzinfo=dt.UTC)

SYNC_FIELDS = {
    "certificateNameTemplate": "name_template",
    "certKeyNameMaxLength": "name_max_length",
    "preserveOnRenewal": "preserve_on_renewal",
    "removeInactive": "remove_inactive",
    "autoSync": "auto_sync",
    "linkChain": "link_chain",
    "includeCACrt": "include_ca_crt",
    "deletionPolicy": "deletion_policy",
    "dryRun": "dry_run",
    "driftCheckIntervalSeconds": "drift_check_interval_seconds",
}
CONNECTION_FIELDS = {
    "allowInsecureHTTP": "allow_http",
    "timeoutSeconds": "timeout_seconds",
    "tls.insecureSkipVerify": "insecure_skip_verify",
}
#: Read by the health-check timer only (specs.health_check_due), not kept in the parsed spec.
TIMER_FIELDS = {"healthCheckIntervalSeconds"}


def _defaults(kind: str) -> dict[str, Any]:
    """Field -> default; an object defaulted to {} contributes its own fields' defaults (tls.x)."""
    spec = schema_of(CRDS[kind])["properties"]["spec"]["properties"]
    out = {}
    for name, node in spec.items():
        if node.get("default") == {} and "properties" in node:
            inner = node["properties"].items()
            out |= {f"{name}.{key}": sub["default"] for key, sub in inner if "default" in sub}
        elif "default" in node:
            out[name] = node["default"]
    return out


def test_every_certificatesync_default_is_the_parsers() -> None:
    parsed = specs.parse_sync({"connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": "www"}]})
    crd = _defaults("CertificateSync")
    assert set(crd) == set(SYNC_FIELDS), "a new default in the CRD: add it to SYNC_FIELDS"
    assert {field: getattr(parsed, SYNC_FIELDS[field]) for field in crd} == crd


def test_every_connection_default_is_the_parsers() -> None:
    parsed = specs.parse_connection({"endpoint": "https://adc", "credentialsSecretRef": {"name": "login"}})
    crd = _defaults("NetScalerConnection")
    assert set(crd) == set(CONNECTION_FIELDS) | TIMER_FIELDS, "a new default in the CRD: add it here"
    assert {field: getattr(parsed, CONNECTION_FIELDS[field]) for field in CONNECTION_FIELDS} == {
        field: crd[field] for field in CONNECTION_FIELDS
    }


def test_verify_port_default_is_the_parsers() -> None:
    crd = schema_of(CRDS["CertificateSync"])["properties"]["spec"]["properties"]["bindings"]["items"]
    default = crd["properties"]["verify"]["properties"]["port"]["default"]
    spec = {"connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": "www"}]}
    parsed = specs.parse_sync({**spec, "bindings": [{"vserver": "vs", "verify": {"host": "10.0.0.1"}}]})
    assert parsed.bindings[0].verify is not None and parsed.bindings[0].verify.port == default


def _ago(seconds: float) -> str:
    return rfc3339(NOW - dt.timedelta(seconds=seconds))


DRIFT = _defaults("CertificateSync")["driftCheckIntervalSeconds"]
HEALTH = _defaults("NetScalerConnection")["healthCheckIntervalSeconds"]


@pytest.mark.parametrize(
    ("spec", "status", "due"),
    [
        ({}, {}, False),  # never synced: the create handler is on it
        ({}, {"lastSyncTime": _ago(DRIFT - 1)}, False),
        ({}, {"lastSyncTime": _ago(DRIFT)}, True),  # the CRD's default interval
        ({"driftCheckIntervalSeconds": 60}, {"lastSyncTime": _ago(60)}, True),
        ({"driftCheckIntervalSeconds": 0}, {"lastSyncTime": _ago(10**6)}, False),  # turned off
    ],
)
def test_drift_check_due(spec: dict[str, Any], status: dict[str, Any], due: bool) -> None:
    assert specs.drift_check_due(spec, status, NOW) is due


@pytest.mark.parametrize(
    ("spec", "status", "due"),
    [
        ({}, {}, False),  # never checked: the create handler is on it
        ({}, {"lastCheckedTime": _ago(HEALTH - 1)}, False),
        ({}, {"lastCheckedTime": _ago(HEALTH)}, True),  # the CRD's default interval
        ({"healthCheckIntervalSeconds": 30}, {"lastCheckedTime": _ago(30)}, True),
    ],
)
def test_health_check_due(spec: dict[str, Any], status: dict[str, Any], due: bool) -> None:
    assert specs.health_check_due(spec, status, NOW) is due


def test_auto_sync_defaults_to_the_crds() -> None:
    assert specs.auto_sync({}) is _defaults("CertificateSync")["autoSync"]
    assert specs.auto_sync({"autoSync": False}) is False
