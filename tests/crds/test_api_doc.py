"""docs/api.md describes every spec and status field the CRDs define (and no field they lack)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from .crd_validation import ROOT, load_crds, schema_of

DOC = (ROOT / "docs" / "api.md").read_text()
CRDS = load_crds()

#: Documented as a whole (a standard Kubernetes type), not field by field.
WHOLE = {"secretSelector"}


def _leaf_paths(node: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for name, sub in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        if name in WHOLE:
            yield path
        elif sub.get("type") == "array" and "properties" in sub.get("items", {}):
            yield from _leaf_paths(sub["items"], f"{path}[].")
        elif sub.get("type") == "object" and "properties" in sub:
            yield from _leaf_paths(sub, f"{path}.")
        else:
            yield path


def _section(kind: str) -> str:
    start = DOC.index(f"## {kind}")
    following = DOC.find("\n## ", start + 1)
    return DOC[start : following if following != -1 else len(DOC)]


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_every_spec_field_is_documented(kind: str) -> None:
    section = _section(kind)
    spec = schema_of(CRDS[kind])["properties"]["spec"]
    for path in _leaf_paths(spec):
        assert f"`{path}`" in section, f"{kind}: spec.{path} is not in docs/api.md"


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_every_status_field_is_documented(kind: str) -> None:
    section = _section(kind)
    status = schema_of(CRDS[kind])["properties"]["status"]["properties"]
    for name in status:
        assert re.search(rf"`{name}(\[\])?`", section), f"{kind}: status.{name} is not in docs/api.md"


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_documented_spec_fields_exist(kind: str) -> None:
    section = _section(kind)
    spec_table = section[section.index("### spec") : section.index("### status")]
    documented = re.findall(r"^\| `([A-Za-z.\[\]]+)`", spec_table, flags=re.MULTILINE)
    known = set(_leaf_paths(schema_of(CRDS[kind])["properties"]["spec"]))
    assert documented and set(documented) <= known
