"""Fixtures for the Helm chart tier: a real `helm` binary renders charts/netscaler-certsync.

helm comes from .tools/bin (`make tools` / `bash hack/tools.sh` provides it). Without it these
tests fail rather than skip: a chart nobody rendered is not a chart that passed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .chart_helpers import CHART, HELM, NAMESPACE, RELEASE, Render, run_helm


@pytest.fixture(scope="session")
def helm() -> Path:
    if not HELM.exists():
        pytest.fail(f"helm not found at {HELM}: run `make tools` (bash hack/tools.sh) first", pytrace=False)
    return HELM


@pytest.fixture(scope="session")
def render(helm: Path) -> Render:
    """render(*values_files, **values) -> the rendered documents, cached per argument set.

    Keyword names use `__` for nesting: `metrics__serviceMonitor__enabled=True`.
    """
    cache: dict[str, list[dict[str, Any]]] = {}

    def _render(*values_files: str, **values: Any) -> list[dict[str, Any]]:
        key = json.dumps([values_files, values], sort_keys=True)
        if key not in cache:
            args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
            for path in values_files:
                args += ["-f", str(CHART / path)]
            for name, value in values.items():
                args += ["--set-json", f"{name.replace('__', '.')}={json.dumps(value)}"]
            result = run_helm(helm, *args)
            assert result.returncode == 0, result.stderr
            cache[key] = [d for d in yaml.safe_load_all(result.stdout) if d]
        return cache[key]

    return _render
