"""The layout stays true: layers point down, domains form no cycle, each table has one owner.

DESIGN.md and docs/architecture.md draw the picture; these tests keep it so.
Imports are read with ``ast`` from the source (lazy imports inside functions
count too: a cycle hidden in a function body is still a cycle).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sempi_cli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The sempi_cli modules a file imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import mod` imports pkg.mod when it is a module of ours.
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            ]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] == "sempi_cli")
    return found


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _layer(module: str) -> str:
    """cli | services | store | fiscal | base (the small shared modules at the top)."""
    parts = module.split(".")
    return (
        parts[1]
        if len(parts) > 1 and parts[1] in ("cli", "services", "store", "fiscal")
        else "base"
    )


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# Which layer may import which (DESIGN.md, "Layers"): dependencies point down.
ALLOWED = {
    "cli": {"cli", "services", "store", "fiscal", "base"},
    "services": {"services", "store", "fiscal", "base"},
    "store": {"store", "base"},
    "fiscal": {"fiscal"},
    "base": {"base"},
}
# The small shared modules that are not a layer of their own but reach into one:
# the demo and the doc generator drive the whole program like a user would.
LAYER_EXCEPTIONS = {
    "sempi_cli.demo": "builds a demo store through the services and runs the CLI",
    "sempi_cli.docgen": "generates docs/cli.md and completions from the CLI",
    "sempi_cli.i18n_catalog": "reads every help text of the CLI for the catalog (make i18n)",
    "sempi_cli.tour": "runs the README's tour on a demo store and records it (docs/it/)",
    "sempi_cli.__main__": "python -m sempi_cli runs the CLI",
}


def test_layers_point_down() -> None:
    wrong = [
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module not in LAYER_EXCEPTIONS
        for target in targets
        if _layer(target) not in ALLOWED[_layer(module)]
    ]
    assert wrong == []


def test_services_never_import_typer() -> None:
    offenders = [
        name
        for name, path in MODULES.items()
        if _layer(name) in ("services", "store", "fiscal")
        and re.search(r"^\s*(import typer|from typer)", path.read_text(), re.M)
    ]
    assert offenders == []


def test_no_module_cycles() -> None:
    assert _cycles(GRAPH) == []


def _domain(module: str) -> str | None:
    """services.<domain>.x -> <domain>; the shared services modules are None."""
    parts = module.split(".")
    if parts[:2] == ["sempi_cli", "services"] and len(parts) >= 4:
        return parts[2]
    return None


def test_domain_packages_form_no_cycle() -> None:
    domains: dict[str, set[str]] = defaultdict(set)
    for module, targets in GRAPH.items():
        source = _domain(module)
        if source is None:
            continue
        for target in targets:
            domain = _domain(target)
            if domain is not None and domain != source:
                domains[source].add(domain)
    assert _cycles(dict(domains)) == []


def test_shared_services_modules_import_no_domain() -> None:
    """base, access, audit and events sit under every domain, never above one."""
    wrong = [
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module.count(".") == 2 and _layer(module) == "services"
        for target in targets
        if _domain(target) is not None
    ]
    assert wrong == []


# The package root holds the version; the store's __init__ is its documented facade
# (open_store, write_transaction); the migrations' __init__ is their ordered list.
INITS_WITH_CODE = {"sempi_cli", "sempi_cli.store", "sempi_cli.store.migrations"}


@pytest.mark.parametrize(
    "init",
    [p for p in sorted(PACKAGE.rglob("__init__.py")) if _module_name(p) not in INITS_WITH_CODE],
    ids=_module_name,
)
def test_init_files_stay_empty(init: Path) -> None:
    """Start-up time and one place per name: no code, no re-exports."""
    assert init.read_text().strip() == ""


def test_services_are_composed_not_chained() -> None:
    """A service subclasses Service and holds the services it uses; it never subclasses
    another service to split a file (DESIGN.md, "Layers")."""
    bases: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        if _layer(name) != "services":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                bases[f"{name}.{node.name}"] = [ast.unparse(b).split(".")[-1] for b in node.bases]
    services = {"Service"}
    while True:  # every class that is a Service, directly or through another
        more = {c.split(".")[-1] for c, b in bases.items() if services & set(b)} - services
        if not more:
            break
        services |= more
    chained = sorted(
        f"{cls}({', '.join(b)})" for cls, b in bases.items() if (set(b) & services) - {"Service"}
    )
    assert chained == []


def test_no_lastrowid() -> None:
    """A new row's id comes from the INSERT itself (``INSERT ... RETURNING id``), never
    from ``cursor.lastrowid``: PostgreSQL's driver (psycopg 3) has no lastrowid, and
    DESIGN.md asks for "standard SQL with ON CONFLICT/RETURNING" for the move to it."""
    offenders = [
        f"{name}:{number}"
        for name, path in MODULES.items()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "lastrowid" in line
    ]
    assert offenders == []


# SQL only SQLite runs, still in the services (issue 20 ports it, or puts it behind
# a function of store/): where each construct is, how many times. The list may
# only shrink, and when a place is ported its number here comes down with it.
SQLITE_ONLY = {
    # Ported (issue 20): store/sql.py or store/health.py says each for the engine.
    r"json_each\(": {}, r"json_extract\(": {}, r"group_concat\(": {}, r"strftime\('": {},
    r"INDEXED BY": {}, r"\bIS NOT (?!NULL\b|DISTINCT\b)[\w:?]": {},
    r'"PRAGMA \w+(\s*=[^"]*)?"': {},  # `db info`, `db check`, `doctor`: store/health.py
}  # fmt: skip


def test_sqlite_only_sql_does_not_spread() -> None:
    """DESIGN.md: the services' SQL is portable, or behind a function of store/. The
    constructs above are SQLite's alone: none may appear anywhere new, and a place
    ported takes its count down here."""
    found: dict[str, dict[str, int]] = {}
    for pattern in SQLITE_ONLY:
        for path in sorted(PACKAGE.rglob("*.py")):
            name = path.relative_to(PACKAGE).as_posix()
            count = 0 if name.startswith("store/") else len(re.findall(pattern, path.read_text()))
            if count:
                found.setdefault(pattern, {})[name] = count
    assert found == {pattern: files for pattern, files in SQLITE_ONLY.items() if files}
