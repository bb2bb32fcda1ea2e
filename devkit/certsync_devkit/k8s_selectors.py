"""Label and field selectors as the Kubernetes API server evaluates them, for the emulator.

kmock 0.8 ignores `labelSelector` and `fieldSelector`; a real API server filters on the server,
and our operator relies on that to keep unrelated Secrets off the wire. These functions follow
the selector grammar of `k8s.io/apimachinery/pkg/labels` (equality-based `a=b`, `a==b`, `a!=b`,
set-based `a in (x,y)`, `a notin (x)`, existence `a`, `!a`) and the field-selector grammar
(`path=value`, `path==value`, `path!=value`, comma = AND). A malformed selector is the caller's
400 Bad Request: `SelectorError` carries the message.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["SelectorError", "match_fields", "match_labels", "required_name", "split_requirements"]

_SET_BASED = re.compile(r"([^\s!=(),]+)\s+(in|notin)\s+\((.*)\)")
_EQUALITY = re.compile(r"([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)")
_EXISTS = re.compile(r"(!?)\s*([^\s!=(),]+)")


class SelectorError(ValueError):
    """The selector does not parse; the API server answers 400 Bad Request."""


def split_requirements(selector: str) -> list[str]:
    """Split on commas that are not inside a set-based `( ... )` value list."""
    return list(_split(selector))


# A list or a watch event is matched against every stored object with the same few selectors:
# split each selector once, not once per object.
@functools.lru_cache(maxsize=1024)
def _split(selector: str) -> tuple[str, ...]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    tail = "".join(current).strip()
    if tail:
        parts.append(tail)
    if any(not part for part in parts):
        raise SelectorError(f"empty requirement in selector {selector!r}")
    return tuple(parts)


def _label_requirement(requirement: str, labels: Mapping[str, str]) -> bool:
    if m := _SET_BASED.fullmatch(requirement):
        key, op, raw_values = m.groups()
        values = {v.strip() for v in raw_values.split(",")}
        if op == "in":
            return labels.get(key) in values
        return labels.get(key) not in values  # notin also matches when the key is absent
    if m := _EQUALITY.fullmatch(requirement):
        key, op, value = m.groups()
        if op == "!=":
            return labels.get(key) != value  # absent key matches, as in apimachinery
        return key in labels and labels[key] == value
    if m := _EXISTS.fullmatch(requirement):
        negated, key = m.groups()
        return (key in labels) != bool(negated)
    raise SelectorError(f"unable to parse requirement {requirement!r}")


def match_labels(selector: str | None, labels: Mapping[str, str] | None) -> bool:
    """True when every requirement of `selector` holds for `labels` (empty selector: all)."""
    labels = labels or {}
    return all(_label_requirement(req, labels) for req in _split(selector or ""))


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    current: Any = obj
    for part in path.split("."):
        current = current.get(part) if isinstance(current, Mapping) else None
    return "" if current is None else str(current)


def match_fields(selector: str | None, obj: Mapping[str, Any]) -> bool:
    """True when every `path op value` requirement holds for the object's JSON fields.

    A real server supports only a few paths per kind (`metadata.name`, `metadata.namespace`,
    and for Secrets `type`); the emulator accepts any dotted path, which is a superset.
    """
    for requirement in _split(selector or ""):
        m = _EQUALITY.fullmatch(requirement)
        if not m:
            raise SelectorError(f"invalid field selector requirement {requirement!r}")
        path, op, value = m.groups()
        if (_field_value(obj, path) == value) == (op == "!="):
            return False
    return True


def required_name(selector: str | None) -> str | None:
    """The name a field selector's `metadata.name=` (or `==`) requirement asks for, if it has one:
    the emulator then looks that one object up instead of matching every stored object."""
    for requirement in _split(selector or ""):
        m = _EQUALITY.fullmatch(requirement)
        if m and m.group(1) == "metadata.name" and m.group(2) != "!=":
            return m.group(3)
    return None
