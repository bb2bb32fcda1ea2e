"""The Argo CD and Flux examples point at things that exist and check our kinds by their real names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .chart_helpers import CHART, ROOT

GITOPS = ROOT / "gitops"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_every_gitops_file_parses() -> None:
    files = sorted(GITOPS.rglob("*.yaml"))
    assert len(files) >= 19
    for path in files:
        assert _docs(path), path


def test_argocd_application_installs_this_chart() -> None:
    (operator, _) = _docs(GITOPS / "argocd" / "application.yaml")
    source = operator["spec"]["source"]
    assert (ROOT / source["path"]) == CHART
    values = source["helm"]["valuesObject"]
    schema_keys = set(yaml.safe_load((CHART / "values.yaml").read_text()))
    assert set(values) <= schema_keys
    assert "ServerSideApply=true" in operator["spec"]["syncPolicy"]["syncOptions"]


def test_flux_helmrelease_uses_the_chart_and_valid_values() -> None:
    (release,) = _docs(GITOPS / "flux" / "helmrelease.yaml")
    chart = release["spec"]["chart"]["spec"]
    assert (ROOT / chart["chart"]).resolve() == CHART
    (source,) = _docs(GITOPS / "flux" / "source.yaml")
    assert chart["sourceRef"]["name"] == source["metadata"]["name"]
    assert set(release["spec"]["values"]) <= set(yaml.safe_load((CHART / "values.yaml").read_text()))


def test_flux_health_checks_name_our_kinds() -> None:
    (kustomization,) = _docs(GITOPS / "flux" / "kustomization.yaml")
    checks = kustomization["spec"]["healthChecks"]
    ours = {(c["apiVersion"], c["kind"]) for c in checks if c["apiVersion"].startswith("netscaler.")}
    assert ours == {
        ("netscaler.certsync.dev/v1alpha1", "NetScalerConnection"),
        ("netscaler.certsync.dev/v1alpha1", "CertificateSync"),
    }
