"""Every object the chart renders is valid against the official Kubernetes schemas, strictly.

kubernetes-validate ships the OpenAPI schemas of each Kubernetes release; `strict` refuses
unknown fields, so a misspelt key (which the API server would silently drop, e.g.
`readOnlyRootFileSystem`) fails here. Checked at the chart's floor (kubeVersion >= 1.30) and at
the newest release the package knows. The same goes for the simulator example's manifests.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from .chart_helpers import ROOT, Render

VERSIONS = ("1.30.0", kubernetes_validate.latest_version())

#: Kinds from other projects' CRDs, whose schemas the package does not ship; their shape is
#: asserted in test_chart_render.py instead.
FOREIGN = {("monitoring.coreos.com/v1", "ServiceMonitor")}


def _check(docs: list[dict[str, Any]]) -> int:
    checked = 0
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in FOREIGN:
            continue
        for version in VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                raise AssertionError(f"{doc['kind']}/{doc['metadata']['name']} on {version}: {exc}") from None
        checked += 1
    return checked


@pytest.mark.parametrize(
    "values", [(), ("ci/default-values.yaml",), ("ci/namespaced-values.yaml",), ("ci/full-values.yaml",)]
)
def test_rendered_objects_are_valid_kubernetes(render: Render, values: tuple[str, ...]) -> None:
    docs = render(*values)
    assert _check(docs) >= len(docs) - 1


def test_simulator_example_manifests_are_valid_kubernetes() -> None:
    for name in ("simulator.yaml", "sync.yaml"):
        docs = [d for d in yaml.safe_load_all((ROOT / "examples" / "simulator" / name).read_text()) if d]
        builtin = [d for d in docs if not d["apiVersion"].startswith("netscaler.certsync.dev/")]
        assert _check(builtin) == len(builtin)


def test_the_check_catches_a_misspelt_field(render: Render) -> None:
    # Guards the tests above against passing vacuously.
    deployment = next(d for d in render() if d["kind"] == "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(AssertionError, match="readOnlyRootFileSystem"):
        _check([broken])
