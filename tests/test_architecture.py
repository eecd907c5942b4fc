"""The package's shape holds: no import cycle anywhere in scim_doctor (the layer contract in
pyproject.toml, checked by `make lint`, keeps imports flowing down; this also catches a circle
inside one folder), and every module and function is small enough to hold in mind."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp


def strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's components of the direct-import graph that hold more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(component)

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_of_scim_doctor_imports_itself_through_a_circle() -> None:
    graph = grimp.build_graph("scim_doctor")
    assert strongly_connected(graph) == []


def test_the_cycle_finder_sees_a_circle_when_there_is_one() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=importer, imported=imported)
    assert strongly_connected(graph) == [{"p.a", "p.b", "p.c"}]


# --- rooms a person can hold ------------------------------------------------------------------

PACKAGE = Path(__file__).resolve().parent.parent / "scim_doctor"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
CATALOGUE = "core/findings.py"
"""The finding catalogue may be longer: it is a table of data, not code to hold in mind."""


def module_sizes() -> dict[str, int]:
    return {
        str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def long_functions() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.name} ({length} lines)")
    return found


def test_no_module_is_over_600_lines_but_the_catalogue() -> None:
    too_long = {
        name: lines
        for name, lines in module_sizes().items()
        if lines > MAX_MODULE_LINES and name != CATALOGUE
    }
    assert too_long == {}, f"split by meaning: {too_long}"


def test_the_catalogue_is_data_not_code() -> None:
    tree = ast.parse((PACKAGE / CATALOGUE).read_text(encoding="utf-8"))
    code = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    assert code == [], code


def test_no_function_is_over_80_lines() -> None:
    assert long_functions() == []
