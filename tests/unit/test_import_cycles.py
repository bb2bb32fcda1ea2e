"""No import cycles inside the product package or the dev kit, counting every import the source names.

import-linter keeps the layers pointing down; it does not see a cycle between two modules of one
layer (reconcile/certificatesync <-> reconcile/sync_status was one), nor imports made only for
type checking or inside a function, which still tie two modules together for a reader. This test
builds the module graph from the source (ast, nothing is imported) and finds its strongly
connected components (Tarjan's algorithm): any component of more than one module is a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import certsync_devkit
import netscaler_certsync

PACKAGES = {p.__name__: Path(p.__file__).parent for p in (netscaler_certsync, certsync_devkit)}
Graph = Mapping[str, set[str]]


def _modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's __init__)."""
    modules = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules[".".join(parts)] = (path, is_package)
    return modules


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (`from pkg import submodule` counts the submodule)."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against this module's package
                    package = name.split(".") if is_package else name.split(".")[:-1]
                    package = package[: len(package) - node.level + 1]
                    base = ".".join([*package, *([node.module] if node.module else [])])
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    if target in modules:
                        graph[name].add(target)
                    elif base in modules:
                        graph[name].add(base)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one node, or a node importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _graph(edges: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    return graph


def test_the_detector_finds_cycles_and_only_cycles() -> None:
    assert cycles(_graph([("a", "b"), ("b", "c"), ("a", "c")])) == []
    assert cycles(_graph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])) == [["a", "b", "c"]]
    assert cycles(_graph([("a", "a")])) == [["a"]]


def test_the_graph_sees_type_checking_and_function_level_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n"
    )
    assert cycles(import_graph(package)) == [["pkg.a", "pkg.b"]]


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_the_package_has_no_import_cycles(package: str) -> None:
    graph = import_graph(PACKAGES[package])
    assert len(graph) > 10, "the package was not found where expected"
    assert cycles(graph) == []
