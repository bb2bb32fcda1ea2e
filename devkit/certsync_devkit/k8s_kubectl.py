"""What kubectl asks of an API server beyond objects: OpenAPI v3, Tables, CRD status.

* `openapi_root` / `openapi_group_version`: a minimal OpenAPI v3 discovery. kubectl fetches it
  before `apply` (without `--validate=false`) to learn whether the server validates fields
  itself (`fieldValidation` on each kind's PATCH operation); it does not need schemas for that.
  The emulator accepts `fieldValidation` but does not validate against the CRD schema.
* `established`: the status a real server gives a CRD once it serves it (`Established` and
  `NamesAccepted`), so `kubectl wait --for=condition=Established` returns.
* `table`: the server-side `Table` kubectl asks for on `get`, with a CRD's
  `additionalPrinterColumns` (the CRD must have been applied) and NAME/AGE otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from kmock._internal import references

from netscaler_certsync.timestamps import utc_now

from .k8s_objects import now

__all__ = ["established", "jsonpath", "openapi_group_version", "openapi_root", "table", "wants_table"]

CRDS = references.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_root(group_versions: set[tuple[str, str]]) -> dict[str, Any]:
    paths = {}
    for group, version in sorted(group_versions):
        path = _gv_path(group, version)
        digest = hashlib.sha256(path.encode()).hexdigest()[:16]
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def openapi_group_version(resources: list[tuple[str, str, str, str, bool]]) -> dict[str, Any]:
    """One PATCH operation per (group, version, plural, kind, namespaced) that takes fieldValidation."""
    paths: dict[str, Any] = {}
    for group, version, plural, kind, namespaced in resources:
        scope = "namespaces/{namespace}/" if namespaced else ""
        patch = {
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind},
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}},
        }
        paths[f"/{_gv_path(group, version)}/{scope}{plural}/{{name}}"] = {"patch": patch}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes API emulator", "version": "v1"}, "paths": paths}


def established(crd: dict[str, Any]) -> dict[str, Any]:
    """The status of a CRD the server serves."""
    stamp = now()
    names = (crd.get("spec") or {}).get("names") or {}
    conditions = [
        {"type": t, "status": "True", "reason": r, "message": m, "lastTransitionTime": stamp}
        for t, r, m in (
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        )
    ]
    versions = [v["name"] for v in (crd.get("spec") or {}).get("versions") or [] if v.get("storage")]
    return {"conditions": conditions, "acceptedNames": names, "storedVersions": versions}


# ------------------------------------------------------------------ JSONPath (the CRD column subset)
_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[\?\(@\.([A-Za-z0-9_-]+)==\"([^\"]*)\"\)\]|\[(\d+)\]")


def jsonpath(obj: Any, path: str) -> list[Any]:
    """Values at `path`: `.a.b`, `.a[0]`, `.a[?(@.k=="v")].b`, as additionalPrinterColumns use them."""
    values = [obj]
    pos = 0
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            return []
        pos = m.end()
        field, key, wanted, index = m.groups()
        found: list[Any] = []
        for value in values:
            if field is not None and isinstance(value, dict) and field in value:
                found.append(value[field])
            elif key is not None and isinstance(value, list):
                found.extend(v for v in value if isinstance(v, dict) and str(v.get(key)) == wanted)
            elif index is not None and isinstance(value, list) and int(index) < len(value):
                found.append(value[int(index)])
        values = found
    return values


# ------------------------------------------------------------------ Tables
def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def _age(timestamp: str) -> str:
    """As kubectl's HumanDuration, roughly: 45s, 5m, 3h, 2d."""
    try:
        seconds = int((utc_now() - datetime.fromisoformat(timestamp.replace("Z", "+00:00"))).total_seconds())
    except ValueError:
        return "<invalid>"
    for unit, size, below in (("s", 1, 120), ("m", 60, 7200), ("h", 3600, 172800)):
        if seconds < below:
            return f"{max(seconds, 0) // size}{unit}"
    return f"{seconds // 86400}d"


def _cell(kind: str, values: list[Any]) -> Any:
    if not values or values[0] is None:
        return None
    value = values[0]
    if kind == "date":
        return _age(str(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


_DEFAULT_COLUMNS = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]


def table(
    items: list[dict[str, Any]], columns: list[dict[str, Any]] | None, resource_version: str
) -> dict[str, Any]:
    """A meta.k8s.io/v1 Table of `items` with the CRD's printer columns (NAME first, as a server does)."""
    columns = columns or _DEFAULT_COLUMNS
    definitions = [
        {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0},
        *(
            {
                "name": c["name"],
                "type": c.get("type", "string"),
                "format": c.get("format", ""),
                "description": c.get("description", ""),
                "priority": c.get("priority", 0),
            }
            for c in columns
        ),
    ]
    rows = []
    for obj in items:
        md = obj.get("metadata") or {}
        cells = [md.get("name"), *(_cell(c.get("type", ""), jsonpath(obj, c["jsonPath"])) for c in columns)]
        partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": md}
        rows.append({"cells": cells, "object": partial})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }
