"""The chart's CRDs are the repository's crds/, unchanged, and survive `helm uninstall`."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import yaml

from .chart_helpers import CHART, ROOT, Render, of_kind, run_helm

SOURCE = sorted((ROOT / "crds").glob("*.yaml"))


def test_chart_copies_are_byte_identical_to_crds() -> None:
    copies = sorted((CHART / "files" / "crds").glob("*.yaml"))
    assert [p.name for p in copies] == [p.name for p in SOURCE], "run hack/sync-chart-crds.sh"
    for source, copy in zip(SOURCE, copies, strict=True):
        assert copy.read_bytes() == source.read_bytes(), f"{copy} is stale: run hack/sync-chart-crds.sh"


def test_sync_script_check_mode_agrees() -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "hack" / "sync-chart-crds.sh"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_rendered_crds_equal_the_source_plus_keep_annotation(render: Render) -> None:
    rendered = {d["metadata"]["name"]: d for d in of_kind(render(), "CustomResourceDefinition")}
    source = {d["metadata"]["name"]: d for d in (yaml.safe_load(p.read_text()) for p in SOURCE)}
    assert rendered.keys() == source.keys()
    for name, crd in rendered.items():
        assert crd["metadata"].pop("annotations") == {"helm.sh/resource-policy": "keep"}
        assert crd == source[name], name


def test_crds_can_be_left_to_someone_else_or_not_kept(render: Render) -> None:
    assert of_kind(render(crds__enabled=False), "CustomResourceDefinition") == []
    for crd in of_kind(render(crds__keep=False), "CustomResourceDefinition"):
        assert "annotations" not in crd["metadata"]


def test_packaged_chart_still_carries_the_crds(helm: Path, tmp_path: Path) -> None:
    # .helmignore must not drop files/crds/ from the package users install from a repository.
    packaged = run_helm(helm, "package", str(CHART), "--destination", str(tmp_path))
    assert packaged.returncode == 0, packaged.stderr
    (archive,) = tmp_path.glob("netscaler-certsync-*.tgz")
    rendered = run_helm(helm, "template", "x", str(archive))
    assert rendered.returncode == 0, rendered.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(rendered.stdout) if d]
    assert kinds.count("CustomResourceDefinition") == len(SOURCE)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert not any("/ci/" in n for n in names), "ci values are for chart testing, not users"
