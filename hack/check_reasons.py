"""Refuse condition reasons and condition types written as string literals outside their registries.

A reason is a word users, dashboards and alerts match on; spelled in two places, the two drift
apart. The registries are `domain/reasons.py`, `k8s/reasons.py` and `reconcile/reasons.py`
(reasons) and `reconcile/conditions.py` (condition types, beside READY). Everywhere else in the
operator package this check fails on:

1. a string literal equal to a registered reason or condition type (docstrings excepted), and
2. any CamelCase literal in a reason or condition-type position: the first argument of
   `invalid`/`stalled`/`transient` and of the error types that carry a reason, the reason of an
   `Event`, the type and reason of a `Condition`, a `reason=` keyword, and
3. a constant named as its CamelCase value (`Verified = "Verified"`): a registry of its own.

Words that mean something else and happen to be spelled like a reason (the values of
`CertState`) are listed in `ALLOWED`. It also fails on a registered reason no module uses (a dead
entry misleads whoever reads the registry). Run by `make lint`; exit status 1 lists each offence.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "operator" / "netscaler_certsync"
REASON_REGISTRIES = ("domain/reasons.py", "k8s/reasons.py", "reconcile/reasons.py")
TYPE_REGISTRY = "reconcile/conditions.py"
#: Not the operator's own words: the standalone simulator speaks NITRO, not conditions.
SKIPPED = ("simulator/",)
#: (module, enclosing class) whose literals are another concept spelled like a reason.
ALLOWED = {("engine/model.py", "CertState")}

_CAMEL = re.compile(r"^[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*$")
#: Callables whose argument at this position is a reason (or a condition type).
_REASON_ARG = {
    "invalid": 0,
    "stalled": 0,
    "transient": 0,
    "ReconcileError": 0,
    "SyncAborted": 0,
    "OperationFailed": 0,
    "DomainError": 0,
    "NamingError": 0,
    "MaterialError": 0,
    "SecretError": 0,
    "Event": 1,
}
_CONDITION = "Condition"


def _registered(path: Path, upper_only: bool) -> dict[str, str]:
    """name -> word of each module-level `NAME = "Word"` (or `NAME: Final = "Word"`)."""
    found = {}
    for node in ast.parse(path.read_text()).body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if not isinstance(target, ast.Name) or not isinstance(value, ast.Constant):
            continue
        if isinstance(value.value, str) and (not upper_only or target.id.isupper()):
            found[target.id] = value.value
    return found


def registry(package: Path = PACKAGE) -> set[str]:
    words = set()
    for rel in REASON_REGISTRIES:
        words |= set(_registered(package / rel, upper_only=False).values())
    types = _registered(package / TYPE_REGISTRY, upper_only=True)
    return words | {w for w in types.values() if _CAMEL.match(w)}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _docstrings(tree: ast.AST) -> set[int]:
    """Strings standing alone as statements: docstrings of modules, classes, functions, attributes."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }


def _allowed(tree: ast.AST, rel: str) -> set[int]:
    """Literals in an ALLOWED class, and the names listed in `__all__`."""
    ids = set()
    for node in ast.walk(tree):
        exported = isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        )
        if exported or (isinstance(node, ast.ClassDef) and (rel, node.name) in ALLOWED):
            ids |= {id(n) for n in ast.walk(node) if isinstance(n, ast.Constant)}
    return ids


def _positions(call: ast.Call) -> Iterator[ast.expr]:
    name = _name(call.func)
    if name == _CONDITION:
        yield from call.args[0:1]
        yield from call.args[2:3]
    elif name in _REASON_ARG:
        yield from call.args[_REASON_ARG[name] : _REASON_ARG[name] + 1]
    for kw in call.keywords:
        if kw.arg == "reason" or (name == _CONDITION and kw.arg == "type"):
            yield kw.value


def check_source(source: str, rel: str, words: set[str]) -> list[str]:
    """The offences in one module's source (`rel` is its path inside the package)."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | _allowed(tree, rel)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            value = node.value
            if (
                isinstance(target, ast.Name)
                and isinstance(value, ast.Constant)
                and target.id == value.value
                and _CAMEL.match(target.id)
            ):
                problems.append(f"{rel}:{node.lineno}: reason {target.id} belongs in a registry")
                skip.add(id(value))
        if isinstance(node, ast.Constant) and id(node) not in skip and node.value in words:
            problems.append(
                f"{rel}:{node.lineno}: {node.value!r} is a registered reason or type: use its name"
            )
        if isinstance(node, ast.Call):
            for arg in _positions(node):
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and _CAMEL.match(arg.value)
                    and arg.value not in words
                ):
                    problems.append(f"{rel}:{arg.lineno}: reason {arg.value!r} is not in a registry")
    return problems


def _names_used(source: str) -> set[str]:
    tree = ast.parse(source)
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.ImportFrom):
            used |= {alias.name for alias in node.names}
    return used


def check(package: Path = PACKAGE) -> list[str]:
    words = registry(package)
    own = {*REASON_REGISTRIES, TYPE_REGISTRY}
    problems, used = [], set()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if rel.startswith(SKIPPED):
            continue
        source = path.read_text()
        if rel not in REASON_REGISTRIES:
            used |= _names_used(source)
        if rel not in own:
            problems += check_source(source, rel, words)
    for rel in REASON_REGISTRIES:
        for name in sorted(set(_registered(package / rel, upper_only=False)) - used):
            problems.append(f"{rel}: reason {name} is registered but never used")
    return problems


def main() -> int:
    problems = check()
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
