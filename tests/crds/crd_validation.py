"""Validate objects against our CRDs roughly the way the API server does, without an API server.

Three parts, applied in the server's order: structural defaulting (`apply_defaults`), the OpenAPI
schema (jsonschema, plus list-map key uniqueness which jsonschema does not know), and the CEL rules
in `x-kubernetes-validations`, evaluated by cel-python with `self` (and `oldSelf` for transition
rules on update). It is a stand-in for checking *intent*; the real API server tier
(tests/apiserver) is the authority on Kubernetes' CEL dialect and cost limits.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "crds"
EXAMPLES_DIR = ROOT / "examples"
GROUP = "netscaler.certsync.dev"

_MISSING = object()


def load_crds() -> dict[str, dict[str, Any]]:
    """kind -> CRD document, for every file in crds/."""
    crds = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        crds[doc["spec"]["names"]["kind"]] = doc
    return crds


def schema_of(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


def example_documents() -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name relative to examples/, document) for every YAML document in examples/."""
    for path in sorted(EXAMPLES_DIR.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield str(path.relative_to(EXAMPLES_DIR)), doc


def apply_defaults(schema: dict[str, Any], obj: Any) -> Any:
    """A copy of `obj` with schema defaults filled in, top-down like the API server does."""
    obj = copy.deepcopy(obj)
    _default_in_place(schema, obj)
    return obj


def _default_in_place(schema: dict[str, Any], obj: Any) -> None:
    if isinstance(obj, dict):
        for name, sub in schema.get("properties", {}).items():
            if name not in obj and "default" in sub:
                obj[name] = copy.deepcopy(sub["default"])
            if name in obj:
                _default_in_place(sub, obj[name])
    elif isinstance(obj, list) and "items" in schema:
        for item in obj:
            _default_in_place(schema["items"], item)


@dataclass(frozen=True)
class Violation:
    path: str
    message: str


def validate(schema: dict[str, Any], obj: Any, old: Any = _MISSING) -> list[Violation]:
    """Every violation of `obj` (already defaulted) against `schema`; `old` makes it an update."""
    errors = [
        Violation("/".join(map(str, e.absolute_path)), e.message)
        for e in jsonschema.Draft7Validator(schema).iter_errors(obj)
    ]
    if errors:
        # The API server stops before CEL when the schema fails; so do we.
        return errors
    errors.extend(_list_map_duplicates(schema, obj, ""))
    errors.extend(_cel_violations(schema, obj, old, ""))
    return errors


def _list_map_duplicates(schema: dict[str, Any], obj: Any, path: str) -> Iterator[Violation]:
    if isinstance(obj, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in obj:
                yield from _list_map_duplicates(sub, obj[name], f"{path}/{name}")
    elif isinstance(obj, list) and "items" in schema:
        keys = schema.get("x-kubernetes-list-map-keys")
        if schema.get("x-kubernetes-list-type") == "map" and keys:
            seen = set()
            for item in obj:
                key = tuple(item.get(k) for k in keys)
                if key in seen:
                    yield Violation(path, f"Duplicate value: {dict(zip(keys, key, strict=True))}")
                seen.add(key)
        elif schema.get("x-kubernetes-list-type") == "set" and len(set(map(repr, obj))) != len(obj):
            yield Violation(path, "Duplicate value in a set")
        for index, item in enumerate(obj):
            yield from _list_map_duplicates(schema["items"], item, f"{path}/{index}")


def rules_in(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(schema path, rule) for every CEL rule in the schema."""
    for rule in schema.get("x-kubernetes-validations", []):
        yield path, rule
    for name, sub in schema.get("properties", {}).items():
        yield from rules_in(sub, f"{path}/{name}")
    if "items" in schema:
        yield from rules_in(schema["items"], f"{path}/*")


_ENV = celpy.Environment()


def compile_rule(rule: str) -> Any:
    """A runnable cel-python program for the rule; raises on a syntax error."""
    return _ENV.program(_ENV.compile(rule))


def _cel_violations(schema: dict[str, Any], obj: Any, old: Any, path: str) -> Iterator[Violation]:
    for rule in schema.get("x-kubernetes-validations", []):
        transition = "oldSelf" in rule["rule"]
        if transition and old is _MISSING:
            continue  # transition rules run on update only, and only where an old value exists
        activation = {"self": celpy.json_to_cel(obj)}
        if transition:
            activation["oldSelf"] = celpy.json_to_cel(old)
        try:
            result = compile_rule(rule["rule"]).evaluate(activation)
        except celpy.CELEvalError as exc:
            yield Violation(path, f"rule {rule['rule']!r} failed to evaluate: {exc}")
            continue
        # Anything but a true boolean (false, or an evaluation error) fails, as in Kubernetes.
        if not (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
            yield Violation(path + rule.get("fieldPath", ""), rule["message"])
    if isinstance(obj, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in obj:
                old_value = old.get(name, _MISSING) if isinstance(old, dict) else _MISSING
                yield from _cel_violations(sub, obj[name], old_value, f"{path}/{name}")
    elif isinstance(obj, list) and "items" in schema:
        keys = schema.get("x-kubernetes-list-map-keys")
        old_by_key = {}
        if keys and isinstance(old, list):
            old_by_key = {tuple(i.get(k) for k in keys): i for i in old}
        for index, item in enumerate(obj):
            # Only list-map items are correlated with their old version (by key), as in Kubernetes.
            old_item = old_by_key.get(tuple(item.get(k) for k in keys), _MISSING) if keys else _MISSING
            yield from _cel_violations(schema["items"], item, old_item, f"{path}/{index}")
