"""The package's layout is its data path (docs/architecture.md).

import-linter (`make test`) holds the layers; here: no import circle among
the project's modules (type-checking imports included), at most three modules
directly under marketmon/, and every package says what it holds.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

import marketmon

PACKAGE = Path(marketmon.__file__).parent


def import_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("marketmon", include_external_packages=False)
    return {m: {i for i in graph.find_modules_directly_imported_by(m) if i != m} for m in graph.modules}


def circles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(group)
    return found


def test_the_circle_finder_finds_circles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": set()}
    assert circles(edges) == [{"a", "b", "c"}]


def test_no_import_circle_among_the_modules() -> None:
    edges = import_graph()
    assert len(edges) > 80  # the whole package was read
    assert circles(edges) == []


def test_at_most_three_modules_at_the_top() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "engine.py"]


def test_every_package_says_what_it_holds() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 20, init
