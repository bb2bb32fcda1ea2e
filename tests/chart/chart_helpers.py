"""Paths and small helpers shared by the chart tests (and their conftest)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "netscaler-certsync"
HELM = ROOT / ".tools" / "bin" / "helm"
RELEASE = "certsync"
NAMESPACE = "certsync-system"

#: render(*values_files, **values) -> rendered documents (the `render` fixture)
Render = Callable[..., list[dict[str, Any]]]


SETUP_DOC = ROOT / "docs" / "netscaler-setup.md"
POLICY_BEGIN = "<!-- netscaler-command-policy:begin -->"
POLICY_END = "<!-- netscaler-command-policy:end -->"


def policy_regex() -> str:
    """The NetScaler command policy regex: the one fenced block between the markers in the doc."""
    text = SETUP_DOC.read_text()
    block = text[text.index(POLICY_BEGIN) + len(POLICY_BEGIN) : text.index(POLICY_END)]
    lines = [line for line in block.strip().splitlines() if not line.startswith("```")]
    (regex,) = lines
    return regex


def run_helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, timeout=60, check=False)


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = of_kind(docs, kind)
    return doc
