"""No import cycles among the modules of `services` and `shared` (issue 17): every import counts,
also those inside functions and under `TYPE_CHECKING`, so a module can always be read and tested
after the ones it imports. The graph is grimp's (the import-linter's), built from the source files
only (no module is imported)."""

from __future__ import annotations

import grimp

PACKAGES = ("services", "shared")


def _import_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    return {
        module: {
            imported
            for imported in graph.find_modules_directly_imported_by(module)
            if imported.split(".")[0] in PACKAGES
        }
        for module in graph.modules
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a module importing itself),
    by Tarjan's algorithm, iteratively: each is at least one cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
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
                if len(component) > 1 or node in edges.get(node, ()):
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle_and_ignores_a_chain() -> None:
    # given a three-module cycle beside a plain chain and a self-import
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": set(), "f": {"f"}}
    # then exactly the cycle and the self-import are found
    assert sorted(cycles(edges)) == [["a", "b", "c"], ["f"]]


def test_no_import_cycles_among_services_and_shared_modules() -> None:
    # given every import statement of every module under services/ and shared/
    edges = _import_graph()
    assert "services.requests.application" in edges  # the graph is the real one
    # then no module reaches itself through its imports
    assert cycles(edges) == []
