"""Every NetScalerConnection and CertificateSync in examples/ is accepted by a real API server.

The examples are what users copy first; each one is applied with `kubectl apply --server-side` as
a user would. Other kinds in the same files (Secrets, Namespaces) are left out: this server has no
core/v1. Each example keeps its own namespace (the server does not require it to exist).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.apiserver.apiserver_harness import REPO
from tests.apiserver.apiserver_kube import GROUP, PLURALS, Kube

EXAMPLES = REPO / "examples"


def _ours(path: Path) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    return [
        d for d in docs if str(d.get("apiVersion", "")).startswith(f"{GROUP}/") and d.get("kind") in PLURALS
    ]


def _example_files() -> list[Path]:
    files = sorted([*EXAMPLES.rglob("*.yaml"), *EXAMPLES.rglob("*.yml")])
    return [f for f in files if _ours(f)]


def _contains(stored: Any, given: Any) -> bool:
    """True when every field of `given` is in `stored` with the same value (recursively)."""
    if isinstance(given, dict):
        return isinstance(stored, dict) and all(
            k in stored and _contains(stored[k], v) for k, v in given.items()
        )
    if isinstance(given, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(given)
            and all(_contains(s, g) for s, g in zip(stored, given, strict=True))
        )
    return bool(stored == given)


FILES = _example_files()


@pytest.mark.parametrize(
    "path", FILES or [None], ids=[str(f.relative_to(REPO)) for f in FILES] or ["no-examples"]
)
def test_example_is_accepted(kube: Kube, path: Path | None) -> None:
    if path is None:
        pytest.skip(
            f"NOT TESTED: {EXAMPLES.relative_to(REPO)}/ holds no NetScalerConnection or CertificateSync yet"
        )
    docs = _ours(path)
    stream = yaml.safe_dump_all(docs)
    applied = kube.kubectl("apply", "--server-side", "--field-manager=examples-test", "-f", "-", stdin=stream)
    assert applied.stderr.strip() == "", applied.stderr  # no warnings either
    for doc in docs:
        meta = doc["metadata"]
        stored = kube.get(doc["kind"], meta["name"], meta.get("namespace", "default"))
        # What the example says is what is stored: defaults may add fields, never change given ones.
        assert _contains(stored["spec"], doc.get("spec", {})), (doc.get("spec"), stored["spec"])
