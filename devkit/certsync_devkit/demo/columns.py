"""Print custom resources the way `kubectl get` does, from the CRDs' additionalPrinterColumns.

The emulated API serves no server-side tables, so the demo renders the columns itself from
`crds/`; only the JSONPath forms our CRDs use are supported (`.a.b` and `[?(@.type=="X")]`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from netscaler_certsync.timestamps import parse_rfc3339, utc_now

CRDS = Path(__file__).resolve().parents[3] / "crds"
_FILTER = re.compile(r'^(\w+)\[\?\(@\.(\w+)=="([^"]*)"\)\]$')


def printer_columns(kind: str, crds: Path = CRDS) -> list[Mapping[str, Any]]:
    for path in sorted(crds.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        if crd["spec"]["names"]["kind"] == kind:
            version = next(v for v in crd["spec"]["versions"] if v.get("served"))
            return [c for c in version.get("additionalPrinterColumns", []) if not c.get("priority")]
    raise LookupError(f"no CRD for {kind} in {crds}")


def _parts(path: str) -> list[str]:
    """Split a JSONPath on the dots that are not inside a `[?(...)]` filter."""
    parts, depth, current = [], 0, ""
    for ch in path.strip("."):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def resolve(obj: Any, path: str) -> Any:
    for part in _parts(path):
        if obj is None:
            return None
        match = _FILTER.match(part)
        if match:
            field, key, value = match.groups()
            obj = next((i for i in obj.get(field) or () if str(i.get(key)) == value), None)
        else:
            obj = obj.get(part) if isinstance(obj, Mapping) else None
    return obj


def _age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    seconds = int((utc_now() - parse_rfc3339(timestamp)).total_seconds())
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


def table(kind: str, objects: Sequence[Mapping[str, Any]]) -> str:
    columns = printer_columns(kind)
    rows = [["NAME", *(c["name"].upper() for c in columns)]]
    for obj in objects:
        row = [obj["metadata"]["name"]]
        for col in columns:
            value = resolve(obj, col["jsonPath"])
            row.append(_age(value) if col["type"] == "date" else ("<none>" if value is None else str(value)))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
