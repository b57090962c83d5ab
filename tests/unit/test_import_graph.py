"""The package's imports, read as grimp reads them (those inside functions included).

The layers themselves are import-linter's contract (``[tool.importlinter]`` in pyproject.toml,
``make lint``); these tests hold what a layers contract cannot say: no import cycle between any
two modules, no module over 500 lines, and no import inside a function unless its line says why
(an optional dependency, the cold start of a Lambda that does not need it, or the start-up of
the local runtime's worker processes, which never load moto).
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest
import switchyard

PACKAGE = Path(switchyard.__file__).parent
LAZY_MARK = "# lazy:"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("switchyard", cache_dir=None)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    adjacency = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in adjacency:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if child < len(adjacency[node]):
                work.append((node, child + 1))
                nxt = adjacency[node][child]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            for nxt in adjacency[node]:
                if nxt in on_stack:
                    low[node] = min(low[node], low[nxt])
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


def test_no_import_cycle(graph: grimp.ImportGraph) -> None:
    # Given every import of the package, at module level or inside a function
    # When the modules that reach themselves again are grouped
    cycles = _cycles(graph)
    # Then there are none
    assert cycles == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    # Given a graph with a -> b -> c -> a and an unrelated d -> a
    graph = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c", "p.d"):
        graph.add_module(m)
    for importer, imported in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.d", "p.a")):
        graph.add_import(importer=importer, imported=imported)
    # Then the three are reported as one cycle, and d is not
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


MAX_LINES = 500


def test_no_module_over_500_lines() -> None:
    # Given every module of the package
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in _modules()}
    # Then none is over 500 lines
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_imports_inside_functions_say_why() -> None:
    # Given every import made inside a function
    unexplained = []
    for path in _modules():
        name = str(path.relative_to(PACKAGE))
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    said = lines[inner.lineno - 1] + (lines[inner.lineno - 2] if inner.lineno > 1 else "")
                    if LAZY_MARK not in said:
                        unexplained.append(f"{name}:{inner.lineno}")
    # Then each says why on its line or the line before ("# lazy: ..."), or it is at the top
    assert unexplained == []
