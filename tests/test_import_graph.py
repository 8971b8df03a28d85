"""No import cycles between the modules of pipelines, dashboard and tickerwire.

Every import counts, also those inside functions (kept there for start-up time): a lazy import
hides a cycle from the interpreter, not from a reader. Imports under `if TYPE_CHECKING:` are
left out: they name types for the checker and never load a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pipelines.paths import REPO_ROOT

PACKAGES = ("pipelines", "dashboard", "tickerwire")


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name → file, for every .py file of PACKAGES under root."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The module of ours that `name` (a module or a name inside one) belongs to."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.AST, module: str, is_package: bool, modules: dict[str, Path]) -> set[str]:
    """The modules of ours one import statement loads."""
    if isinstance(node, ast.Import):
        return {t for a in node.names if (t := _owner(a.name, modules))}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        source = ".".join([*base, *([node.module] if node.module else [])])
    else:
        source = node.module or ""
    found = set()
    for alias in node.names:
        # `from pipelines import store` loads pipelines.store; `from x import name` loads x
        sub = f"{source}.{alias.name}"
        found.add(sub if sub in modules else _owner(source, modules))
    return {t for t in found if t}


def _type_only(tree: ast.AST) -> set[int]:
    """Ids of the nodes inside `if TYPE_CHECKING:` blocks (imports that never run)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skipped


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module → the modules of ours it imports anywhere in its body."""
    modules = module_files(root)
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        skipped = _type_only(tree)
        for node in ast.walk(tree):
            if id(node) not in skipped:
                edges |= _targets(node, module, is_package, modules)
        edges.discard(module)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles():
    graph = import_graph(REPO_ROOT)
    assert len(graph) > 50  # the walk found the packages
    found = cycles(graph)
    described = [
        "; ".join(f"{m} → {', '.join(sorted(graph[m] & set(c)))}" for m in c) for c in found
    ]
    assert found == [], "import cycles:\n" + "\n".join(described)


def test_the_graph_sees_lazy_and_relative_imports(tmp_path):
    # A cycle closed by an import inside a function, and one through a relative import.
    pkg = tmp_path / "pipelines"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pipelines import b\n")
    (pkg / "b.py").write_text("def f():\n    from pipelines.a import x\n")
    (pkg / "sub" / "__init__.py").write_text("from .c import y\n")
    (pkg / "sub" / "c.py").write_text("from pipelines.sub import z\n")
    (pkg / "d.py").write_text("import pipelines.a\n")
    found = cycles(import_graph(tmp_path))
    assert found == [["pipelines.a", "pipelines.b"], ["pipelines.sub", "pipelines.sub.c"]]


def test_type_only_imports_do_not_close_a_cycle(tmp_path):
    pkg = tmp_path / "pipelines"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pipelines import b\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pipelines.a import A\n"
    )
    (pkg / "c.py").write_text("from pipelines import d\n")
    (pkg / "d.py").write_text(
        "import typing\nif typing.TYPE_CHECKING:\n    pass\nimport pipelines.c\n"
    )
    assert cycles(import_graph(tmp_path)) == [["pipelines.c", "pipelines.d"]]
