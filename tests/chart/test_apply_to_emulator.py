"""The rendered chart, applied with kubectl to the emulated API server, creates every object."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from certsync_devkit.k8s_thread import EmulatorThread

from .chart_helpers import CHART, HELM, NAMESPACE, RELEASE, ROOT

KUBECTL = ROOT / ".tools" / "bin" / "kubectl"


@pytest.mark.parametrize(
    "values",
    [[], ["--set", "watchNamespaces={team-a,team-b}", "--set", "podDisruptionBudget.enabled=true"]],
    ids=["cluster-wide", "namespaced"],
)
def test_every_rendered_object_is_created(values: list[str], tmp_path: Path) -> None:
    if not KUBECTL.exists():
        pytest.fail(
            f"kubectl not found at {KUBECTL}: run `make tools` (bash hack/tools.sh) first", pytrace=False
        )
    rendered = subprocess.run(
        [str(HELM), "template", RELEASE, str(CHART), "--namespace", NAMESPACE, *values],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    docs = [
        d
        for d in yaml.safe_load_all(rendered)
        if d and not d["metadata"].get("annotations", {}).get("helm.sh/hook")
    ]
    with EmulatorThread() as emulator:
        kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
        env = {"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        # Like `helm install -n`: objects without a namespace go to the release namespace.
        for doc in docs:
            if doc["kind"] not in ("CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"):
                doc["metadata"].setdefault("namespace", NAMESPACE)
        manifest = tmp_path / "chart.yaml"
        manifest.write_text(yaml.safe_dump_all(docs))
        applied = subprocess.run(
            [str(KUBECTL), "apply", "--validate=false", "-f", str(manifest)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert applied.returncode == 0, applied.stderr
        for doc in docs:
            ns = doc["metadata"].get("namespace") or NAMESPACE
            got = subprocess.run(
                [str(KUBECTL), "get", doc["kind"].lower(), doc["metadata"]["name"], "-n", ns, "-o", "name"],
                capture_output=True,
                text=True,
                env=env,
                timeout=30,
                check=False,
            )
            assert got.returncode == 0, f"{doc['kind']} {doc['metadata']['name']}: {got.stderr}"
    kinds = {d["kind"] for d in docs}
    assert {"CustomResourceDefinition", "Deployment", "ServiceAccount", "Service"} <= kinds
    assert kinds & {"ClusterRole", "Role"}
