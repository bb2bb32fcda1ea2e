"""Our CRDs as a real API server takes them: accepted, structural, Established, discoverable.

The emulated tier stores a CRD as an opaque object; only a real server checks that the schema is
structural, that CEL rules compile within the cost budget, that list-map keys are required or
defaulted, and publishes the names kubectl users type (short names, the `netscaler` category).
"""

from __future__ import annotations

import subprocess

from tests.apiserver.apiserver_harness import REPO
from tests.apiserver.apiserver_kube import CRD_NAMES, GROUP, Kube


def test_crds_apply_cleanly_and_are_established(
    kube: Kube, crds_applied: subprocess.CompletedProcess[str]
) -> None:
    # A server-side apply that warns (unknown formats, dropped fields, deprecated markers) is a
    # defect users will see on every install: the apply must be silent on stderr.
    assert crds_applied.stderr.strip() == ""
    for name in CRD_NAMES:
        crd = kube.crds.read_custom_resource_definition(name)
        conditions = {c.type: c for c in crd.status.conditions}
        assert conditions["NamesAccepted"].status == "True", conditions["NamesAccepted"].message
        assert conditions["Established"].status == "True", conditions["Established"].message
        # NonStructuralSchema / KubernetesAPIApprovalPolicyConformant problems show up as conditions.
        assert "NonStructuralSchema" not in conditions, conditions["NonStructuralSchema"].message


def test_reapplying_the_crds_changes_nothing(kube: Kube, crds_applied: object) -> None:
    before = {n: kube.crds.read_custom_resource_definition(n).metadata.generation for n in CRD_NAMES}
    kube.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
    after = {n: kube.crds.read_custom_resource_definition(n).metadata.generation for n in CRD_NAMES}
    assert after == before


def test_kubectl_finds_the_kinds_by_short_name_and_category(kube: Kube) -> None:
    resources = kube.kubectl("api-resources", f"--api-group={GROUP}", "-o", "wide").stdout
    lines = {line.split()[0]: line for line in resources.splitlines()[1:]}
    assert "nsconn" in lines["netscalerconnections"].split()
    assert "certsync" in lines["certificatesyncs"].split()
    for line in lines.values():
        assert "netscaler" in line.split()[-1].split(",")  # CATEGORIES column
    # The category makes `kubectl get netscaler` list both kinds (empty here, but no error).
    assert kube.kubectl("get", "netscaler", "-A").returncode == 0
    assert kube.kubectl("get", "nsconn,certsync", "-A").returncode == 0


def test_kubectl_explain_shows_our_field_documentation(kube: Kube) -> None:
    # Served from the OpenAPI the server publishes for the CRDs: the descriptions users read.
    out = kube.kubectl("explain", "certsync.spec.certificateNameTemplate").stdout
    assert "{{certificateId}}" in out and "Immutable" in out
    out = kube.kubectl("explain", "nsconn.spec.allowInsecureHTTP").stdout
    assert "clear text" in out
