"""The Dockerfile, read statically (no Docker engine here): the promises the chart relies on.

The chart runs the image as UID 65532 with a read-only root filesystem and `run` arguments after
the entrypoint; the kind e2e run starts the simulator from the same image.
"""

from __future__ import annotations

import re
import tomllib

import yaml

from .chart_helpers import CHART, ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _stages() -> list[list[str]]:
    lines = re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
    instructions = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    stages: list[list[str]] = []
    for instruction in instructions:
        if instruction.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def test_multi_stage_with_a_clean_final_stage() -> None:
    stages = _stages()
    assert len(stages) >= 2
    final = "\n".join(stages[-1])
    assert "COPY --from=build /opt/venv /opt/venv" in final
    for tool in ("gcc", "build-essential", "apt-get install", "pip install"):
        assert tool not in final, f"final stage installs {tool}"
    assert "pip uninstall" in final  # the base image's pip goes too


def test_runs_as_the_uid_the_chart_expects() -> None:
    final = _stages()[-1]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users == ["65532:65532"]
    values = (CHART / "values.yaml").read_text()
    assert values.count("runAsUser: 65532") == 2


def test_read_only_root_filesystem_needs_only_tmp() -> None:
    final = "\n".join(_stages()[-1])
    assert "PYTHONDONTWRITEBYTECODE=1" in final
    assert "HOME=/tmp" in final and "TMPDIR=/tmp" in final
    assert "compileall" in "\n".join(_stages()[0])  # bytecode is baked in at build time


def test_entrypoint_and_oci_labels() -> None:
    final = "\n".join(_stages()[-1])
    assert 'ENTRYPOINT ["netscaler-certsync"]' in final
    for label in ("title", "description", "version", "revision", "created", "licenses", "source"):
        assert f"org.opencontainers.image.{label}=" in final


def test_build_context_is_small() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") :][:4] == ["*", "!pyproject.toml", "!README.md", "!operator/"]


def test_versions_agree() -> None:
    # One release number across the package, the chart's appVersion and the image label. No image
    # is published, so Artifact Hub is told of none (an image it cannot pull would mislead).
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == version
    assert f"ARG VERSION={version}" in DOCKERFILE
    assert "artifacthub.io/images" not in chart["annotations"]
