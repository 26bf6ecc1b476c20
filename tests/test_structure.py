"""The layout's rules, read from the source: no import cycles among the modules of tools/ and server/,
tools/ never imports server/ (domain code gets settings and resources handed in, never fetched), and no
module of either is longer than MAX_LINES (split it by what it is about).

The import graph is built from each module's AST. For cycles only imports that run when the module is
imported count: module-level statements (also inside module-level `if`/`try`/`with` and class bodies),
not those in functions and not those under `if TYPE_CHECKING:`. For the tools-never-import-server rule
every import counts, wherever it is.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "self_improver"
LAYERS = ("tools", "server")
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            found[module_name(path)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_time_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run when the module is imported: not function bodies, not `if TYPE_CHECKING:`."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        yield node
        if isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from import_time_statements(node.body)
            yield from import_time_statements(node.orelse)
        elif isinstance(node, ast.Try | ast.TryStar):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from import_time_statements(block)
        elif isinstance(node, ast.With | ast.ClassDef):
            yield from import_time_statements(node.body)


def targets(node: ast.stmt, importer: str, package: bool, known: dict[str, Path]) -> list[str]:
    """The project modules an import statement loads (a `from pkg import name` loads pkg.name when that
    is a module, else pkg itself)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = importer.split(".")
        base = base if package else base[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    found = []
    for alias in node.names:
        submodule = f"{source}.{alias.name}"
        found.append(submodule if submodule in known else source)
    return found


def import_graph(everywhere: bool) -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        statements = ast.walk(tree) if everywhere else import_time_statements(tree.body)
        for node in statements:
            if isinstance(node, ast.stmt):
                for target in targets(node, name, is_package(path), known):
                    if everywhere or (target in known and target != name):
                        graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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


def test_no_module_of_tools_or_server_imports_in_a_cycle() -> None:
    found = cycles(import_graph(everywhere=False))
    assert found == [], "import cycles (module-level imports): " + "; ".join(" <-> ".join(c) for c in found)


def test_tools_never_import_server() -> None:
    server = f"{PACKAGE}.server"
    graph = import_graph(everywhere=True)
    wrong = sorted(
        f"{name} imports {target}"
        for name, imported in graph.items()
        if name.startswith(f"{PACKAGE}.tools")
        for target in imported
        if target == server or target.startswith(server + ".")
    )
    assert wrong == [], "tools/ must not import server/: " + "; ".join(wrong)


def too_long(limit: int = MAX_LINES) -> list[str]:
    """`path (n lines)` for each module of tools/ and server/ longer than `limit` lines."""
    found = []
    for path in modules().values():
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > limit:
            found.append(f"{path.relative_to(ROOT)} ({count} lines)")
    return sorted(found)


def test_no_module_of_tools_or_server_is_longer_than_the_limit() -> None:
    found = too_long()
    assert found == [], f"modules over {MAX_LINES} lines (split them by concern): " + ", ".join(found)


def test_the_checks_see_cycles_and_layer_breaks() -> None:
    """The detector itself: a planted cycle is found, an acyclic graph is not."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import x\n"
        "def f():\n    from . import y\nclass C:\n    from . import z\n"
    )
    known = {f"{PACKAGE}.tools.p.{n}": Path() for n in "xyz"}
    loaded = [
        t
        for node in import_time_statements(tree.body)
        for t in targets(node, f"{PACKAGE}.tools.p.m", False, known)
    ]
    assert loaded == ["typing", f"{PACKAGE}.tools.p.z"]
    everywhere = [
        t
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt)
        for t in targets(node, f"{PACKAGE}.tools.p.m", False, known)
    ]
    assert f"{PACKAGE}.tools.p.x" in everywhere and f"{PACKAGE}.tools.p.y" in everywhere
