"""Proof that this tier catches CRD regressions that the emulated tier cannot.

Each case installs a copy of one of our CRDs under a throw-away API group with one deliberate
regression (a CEL rule or a default removed) and shows that the object the real CRD refuses, or
the default it fills in, now behaves differently. So the matching checks in test_validation.py and
test_defaults_and_updates.py are what would fail if crds/ regressed this way; the emulated API
accepts the bad object with or without the rule, so it can never tell the difference.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from kubernetes.client.rest import ApiException

from tests.apiserver.apiserver_harness import REPO
from tests.apiserver.apiserver_kube import GROUP, Kube, certificate_sync, connection

MUTANT_GROUP = "mutant.certsync.dev"


def _crd(file: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "crds" / file).read_text())


def _install_mutant(kube: Kube, crd: dict[str, Any], tag: str) -> str:
    """Install `crd` under its own group (tag.mutant.certsync.dev); return the group."""
    crd = copy.deepcopy(crd)
    group = f"{tag}.{MUTANT_GROUP}"
    crd["spec"]["group"] = group
    crd["metadata"] = {"name": f"{crd['spec']['names']['plural']}.{group}"}
    crd["spec"]["names"].pop("shortNames", None)  # short names must stay unique across groups
    crd["spec"]["names"].pop("categories", None)
    kube.kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump(crd))
    kube.kubectl("wait", "--for=condition=Established", "--timeout=30s", f"crd/{crd['metadata']['name']}")
    return group


def _spec_schema(crd: dict[str, Any]) -> dict[str, Any]:
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


def _create(kube: Kube, group: str, plural: str, body: dict[str, Any], namespace: str) -> dict[str, Any]:
    body = {**body, "apiVersion": f"{group}/v1alpha1"}
    return kube.custom.create_namespaced_custom_object(group, "v1alpha1", namespace, plural, body)


def test_removing_the_https_rule_would_let_plain_http_through(kube: Kube, namespace: str) -> None:
    crd = _crd(f"{GROUP}_netscalerconnections.yaml")
    rules = _spec_schema(crd)["x-kubernetes-validations"]
    kept = [r for r in rules if "startsWith('https://')" not in r["rule"] or "endpoints" in r["rule"]]
    assert len(kept) == len(rules) - 1, (
        "the https rule for spec.endpoint is no longer where this test expects it"
    )
    _spec_schema(crd)["x-kubernetes-validations"] = kept
    group = _install_mutant(kube, crd, "nohttps")

    plain_http = connection(endpoint="http://10.0.0.10")
    with pytest.raises(ApiException) as refused:
        kube.create(plain_http, namespace)  # the real CRD
    assert refused.value.status == 422
    stored = _create(kube, group, "netscalerconnections", plain_http, namespace)  # the regressed copy
    assert stored["spec"]["endpoint"] == "http://10.0.0.10"


def test_removing_a_default_would_change_what_the_operator_reads(kube: Kube, namespace: str) -> None:
    crd = _crd(f"{GROUP}_certificatesyncs.yaml")
    limit = _spec_schema(crd)["properties"]["certKeyNameMaxLength"]
    assert limit.pop("default") == 31
    group = _install_mutant(kube, crd, "nodefault")

    long_name = certificate_sync(certificates=[{"secretName": "web-tls", "certKeyName": "k" * 40}])
    with pytest.raises(ApiException):
        kube.create(long_name, namespace)  # the real CRD: default 31, then the CEL rule refuses
    stored = _create(kube, group, "certificatesyncs", long_name, namespace)
    assert "certKeyNameMaxLength" not in stored["spec"]  # and the 40-character name got through


def test_mutant_groups_do_not_leak_into_ours(kube: Kube) -> None:
    # Guard for the two tests above: our kinds' discovery is unchanged by the copies.
    out = kube.kubectl("api-resources", f"--api-group={GROUP}").stdout
    assert sorted(line.split()[0] for line in out.splitlines()[1:]) == [
        "certificatesyncs",
        "netscalerconnections",
    ]
