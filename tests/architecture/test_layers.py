"""The layering the README promises, checked on the source: every import of every module under
``crucible/`` (those inside functions and under ``TYPE_CHECKING`` included, since a deferred
import that closes a loop is still a loop) points down the layers, no two modules import each
other through any chain, and the layers keep their stated boundaries.

Layers, top to bottom (a module may import its own layer or any below it):
``cli`` and ``benchmarks`` (composition, top) > ``methods`` > ``evaluation`` > ``kernel`` >
``sandbox_service`` > ``sandbox`` (the generated gRPC stubs).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "crucible"
RANK = {
    "cli": 5,
    "benchmarks": 5,
    "methods": 4,
    "evaluation": 3,
    "kernel": 2,
    "sandbox_service": 1,
    "sandbox": 0,
}


@dataclass(frozen=True)
class Import:
    """One import statement's target, resolved to a module name, and where it is."""

    source: str
    target: str
    line: int


def _module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (``crucible/`` links to the layer folders, so
    the walk follows links the way the import system does)."""
    modules: dict[str, Path] = {}
    for layer in RANK:
        top = PACKAGE / layer
        for path in sorted(top.rglob("*.py")):
            relative = path.relative_to(PACKAGE).with_suffix("")
            parts = ["crucible", *relative.parts]
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    modules["crucible"] = PACKAGE / "__init__.py"
    return modules


MODULES = _module_files()


def _resolve(name: str) -> str | None:
    """The module ``name`` refers to: itself, or the nearest enclosing module of ours (``from
    crucible.kernel.plugin import Method`` names ``crucible.kernel.plugin``); None if not ours."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every (imported name, line) in the file, wherever the statement is."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def _edges() -> list[Import]:
    edges: set[Import] = set()
    for module, path in MODULES.items():
        for name, line in _imports(module, path):
            target = _resolve(name)
            if target is not None and target != module and not module.startswith(target + "."):
                edges.add(Import(module, target, line))
    return sorted(edges, key=lambda edge: (edge.source, edge.target, edge.line))


EDGES = _edges()


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _external(module: str) -> set[str]:
    """Top-level names of the packages outside ours that ``module`` imports."""
    path = MODULES[module]
    return {name.split(".")[0] for name, _ in _imports(module, path) if _resolve(name) is None}


def test_the_walk_sees_every_layer_and_real_imports() -> None:
    assert {_layer(module) for module in MODULES} >= set(RANK)
    pairs = {(edge.source, edge.target) for edge in EDGES}
    assert ("crucible.kernel.loop", "crucible.kernel.plugin") in pairs
    assert ("crucible.methods.grpo.plugin", "crucible.kernel.policy_gradient") in pairs


def test_every_import_points_down_the_layers() -> None:
    upward = [
        f"{edge.source}:{edge.line} imports {edge.target}"
        for edge in EDGES
        if (source := _layer(edge.source)) is not None
        and (target := _layer(edge.target)) is not None
        and RANK[target] > RANK[source]
    ]
    assert upward == []


def test_library_code_never_imports_the_command_line() -> None:
    found = [
        f"{edge.source}:{edge.line} imports {edge.target}"
        for edge in EDGES
        if _layer(edge.source) != "cli" and _layer(edge.target) == "cli"
    ]
    assert found == []


def test_a_method_never_imports_another_methods_folder() -> None:
    def method_of(module: str) -> str | None:
        parts = module.split(".")
        return parts[2] if len(parts) > 2 and parts[1] == "methods" else None

    crossing = [
        f"{edge.source}:{edge.line} imports {edge.target}"
        for edge in EDGES
        if method_of(edge.source)
        and method_of(edge.target)
        and method_of(edge.source) != method_of(edge.target)
    ]
    assert crossing == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for edge in EDGES:
        graph[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_two_modules_import_each_other_through_any_chain() -> None:
    assert _cycles() == []


def test_the_cycle_check_finds_a_cycle_hidden_in_a_deferred_import(tmp_path: Path) -> None:
    """The check above can fail: a deferred import back into a module's importer is found."""
    source = "def later() -> None:\n    from crucible.kernel.loop import Trainer\n"
    module = "crucible.kernel.offline"
    original = MODULES[module]
    fake = tmp_path / "offline.py"
    fake.write_text(original.read_text() + "\n\n" + source)
    MODULES[module] = fake
    try:
        EDGES[:] = _edges()
        assert any(module in component for component in _cycles())
    finally:
        MODULES[module] = original
        EDGES[:] = _edges()


@pytest.mark.parametrize("forbidden", ["torch", "transformers"])
def test_the_sandbox_service_never_imports_the_training_stack(forbidden: str) -> None:
    found = [m for m in MODULES if _layer(m) == "sandbox_service" and forbidden in _external(m)]
    assert found == []


def test_the_kernel_never_names_a_method() -> None:
    """No kernel module imports a method or spells one's entry-point name in code (prose in
    docstrings may cite the papers); methods reach the kernel through entry points only."""
    names = {
        path.name for path in (PACKAGE / "methods").iterdir() if (path / "__init__.py").exists()
    }
    assert {"grpo", "reinforce"} <= names
    found: list[str] = []
    for module, path in MODULES.items():
        if _layer(module) != "kernel":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in docstrings:
                    continue
                words = set(
                    node.value.replace(".", " ").replace("(", " ").replace(")", " ").split()
                )
                for name in sorted(names & words):
                    found.append(f"{module}:{node.lineno} names {name!r} in {node.value!r}")
    found += [
        f"{edge.source}:{edge.line} imports {edge.target}"
        for edge in EDGES
        if _layer(edge.source) == "kernel" and _layer(edge.target) == "methods"
    ]
    assert found == []
