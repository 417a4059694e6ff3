"""Imports run one way (claims -> training/models/data -> results/registry), and what only reads
results (report, docs, notebook, figures' helpers, display) never reaches training code.

Read from the source with ``ast``, imports inside functions included: a lazy import is still an
edge that makes two modules one knot.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "replication"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """{module: modules of this package it imports, anywhere in its source}."""
    sources = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in sources.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = ".".join(p for p in ((base if node.level else ""), node.module or "") if p)
                candidates = [f"{target}.{a.name}" for a in node.names] + [target]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            for c in candidates:
                while c and c not in sources:
                    c = c.rpartition(".")[0]
                # `from . import x` names the package itself only when x is not a module.
                if c and c != name and c != "replication" and not name.startswith(c + "."):
                    found.add(c)
        graph[name] = found
    return graph


def reachable(graph, start) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for dep in graph[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_the_graph_sees_lazy_imports():
    graph = import_graph()
    # runner imports the figures' helpers inside a function only.
    assert "replication.plotting" in graph["replication.runner"]
    assert "replication.training" in graph["replication.claims.mnist_mlp"]


def test_no_import_cycle():
    graph = import_graph()
    cycles = [f"{m} -> ... -> {m}" for m in graph if m in reachable(graph, m)]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("reader", ["replication.report", "replication.docs", "replication.notebook",
                                    "replication.plotting", "replication.display",
                                    "replication.results", "replication.registry"])
def test_readers_never_reach_training_code(reader):
    trainers = {"replication.runner", "replication.training", "replication.tuning",
                "replication.epochs", "replication.optimizers"}
    assert not reachable(import_graph(), reader) & trainers


def test_no_module_level_mutable_state_but_the_two_named_ones():
    """A module-level variable that a function rebinds (``global``) is a hidden argument."""
    allowed = {("replication.hardware", "_STRATEGY"), ("replication.interrupts", "_requested")}
    found = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                found |= {(module_name(path), n) for n in node.names}
        containers = set()
        for node in tree.body:  # a module-level Event, counter dict or list that code mutates
            if not isinstance(node, ast.Assign):
                continue
            names = {t.id for t in node.targets if isinstance(t, ast.Name)}
            if isinstance(node.value, ast.Call) and ast.unparse(node.value.func).endswith(
                    ("Event", "Lock", "Counter", "defaultdict")):
                found |= {(module_name(path), n) for n in names}
            elif isinstance(node.value, (ast.Dict, ast.List, ast.Set)):
                containers |= names
        for func in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(func):
                target = None
                if isinstance(node, (ast.Assign, ast.AugAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    target = next((t.value.id for t in targets if isinstance(t, ast.Subscript)
                                   and isinstance(t.value, ast.Name)), None)
                elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and isinstance(node.func.value, ast.Name)
                      and node.func.attr in ("append", "update", "add", "pop", "clear", "setdefault")):
                    target = node.func.value.id
                if target in containers:
                    found.add((module_name(path), target))
    assert found <= allowed, f"module-level state: {sorted(found - allowed)}"
