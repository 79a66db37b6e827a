"""Who may import whom: the layering of marketplace/README.md, checked on the source.

Each module of the project is read as text (nothing is imported) and every import of the
project's own code, at the top or inside a function, is checked:
- a module may import modules of its own layer or of layers below it, never above;
- an entry point (views, API views, URLs, consumers, admin, management commands, template tags,
  Celery tasks, app configs) sits on top of its package and may import anything, but no module
  imports an entry point of another package;
- packages' own code (entry points aside) imports in one direction only (no package cycle);
- the worker package imports no Django and nothing of the site.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP_PACKAGES = ("marketplace", "dappstore", "datamarket", "pools", "frontend", "worker")

# From the bottom up. A package is named by its import path; a module of marketplace/ that is
# not in a sub-package is its own "package" here.
LAYERS: tuple[tuple[str, ...], ...] = (
    # 0. pure helpers and the Django-free worker
    (
        "worker",
        "marketplace.clientip",
        "marketplace.ratelimit",
        "marketplace.notfound",
        "marketplace.downloads",
        "marketplace.stopping",
        "marketplace.logs",
        "marketplace.csp",
        "marketplace.errors",
        "marketplace.addresses",
        "marketplace.fields",
        "marketplace.devstate",
        "marketplace.parsers",
        "marketplace.matchmaking",
        "marketplace.charts",
        "marketplace.prepared",
    ),
    # 1. the only web3 user
    ("marketplace.chain",),
    # the API's shared parts: errors, fields, pagination (it words the chain's failures)
    ("marketplace.api",),
    # 2. who is who
    ("marketplace.accounts",),
    # 3. chain projections and the indexer
    ("marketplace.indexer",),
    # what users are told (the markets and trade above tell it)
    ("marketplace.notifications",),
    # 4. the markets: the shared catalogue, then one app per market
    ("marketplace.catalogue",),
    ("dappstore", "datamarket", "pools"),
    # 5. trade
    ("marketplace.orders", "marketplace.deals"),
    # 6. the site around them
    (
        "frontend",
        "marketplace.api_schema",
        "marketplace.api_urls",
        "marketplace.middleware",
        "marketplace.checks",
        "marketplace.apps",
        "marketplace.urls",
        "marketplace.routing",
        "marketplace.settings",
        "marketplace.asgi",
        "marketplace.wsgi",
        "marketplace.celery",
        "marketplace.serve",
        "marketplace.demo",
        "marketplace",
    ),
)
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}

# Modules that only hand requests, messages or commands to the code below them.
ENTRY_POINT_NAMES = {
    "views",
    "api",
    "api_v1",
    "price_api",
    "urls",
    "api_urls",
    "api_v1_urls",
    "consumers",
    "routing",
    "admin",
    "apps",
    "tasks",
}
ENTRY_POINT_PARTS = {"management", "templatetags"}

# Imports the layering does not allow yet, each with where it goes. This list only shrinks.
KNOWN: set[tuple[str, str]] = set()


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "marketplace" and len(parts) > 1 else parts[0]


def is_entry_point(module: str) -> bool:
    parts = module.split(".")
    if parts[0] == "marketplace" and len(parts) <= 2 and package_of(module) in RANK:
        return package_of(module) in LAYERS[-1]  # a module of the project package: its layer says
    return parts[-1] in ENTRY_POINT_NAMES or bool(ENTRY_POINT_PARTS & set(parts))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        stem = ".".join(base + ([node.module] if node.module else []))
    else:
        stem = node.module or ""
    # `from pkg import module` imports the module when it is one.
    names = []
    for alias in node.names:
        candidate = f"{stem}.{alias.name}"
        names.append(candidate if _is_module(candidate) else stem)
    return names


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


@functools.cache
def imports() -> tuple[tuple[str, str, int], ...]:
    """(importer, imported, line) for every import of the project's own code at run time."""
    found = []
    for top in TOP_PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = module_name(path)
            tree = ast.parse(path.read_text(), filename=str(path))
            stack: list[ast.AST] = [tree]
            while stack:
                node = stack.pop()
                if isinstance(node, ast.If) and _type_checking(node):
                    stack.extend(node.orelse)
                    continue
                if isinstance(node, ast.Import | ast.ImportFrom):
                    for name in _imported(node, module, path.name == "__init__.py"):
                        if name.split(".")[0] in TOP_PACKAGES:
                            found.append((module, name, node.lineno))
                stack.extend(ast.iter_child_nodes(node))
    return tuple(found)


def test_every_package_has_a_layer():
    packages = {package_of(module) for module, _, _ in imports()}
    packages |= {package_of(name) for _, name, _ in imports()}
    assert packages - set(RANK) == set()


def test_no_module_imports_a_higher_layer():
    upward = set()
    for importer, imported, line in imports():
        if is_entry_point(importer):
            continue
        if RANK[package_of(imported)] > RANK[package_of(importer)]:
            upward.add((importer, imported, line))
    assert sorted(u for u in upward if u[:2] not in KNOWN) == []


def test_no_module_imports_another_packages_entry_point():
    found = sorted(
        (importer, imported, line)
        for importer, imported, line in imports()
        if not is_entry_point(importer)
        and is_entry_point(imported)
        and package_of(imported) != package_of(importer)
    )
    assert [f for f in found if f[:2] not in KNOWN] == []


def test_no_package_cycle():
    """Packages' own code (entry points aside: they sit on top of everything) imports in one
    direction only."""
    edges: dict[str, set[str]] = {}
    for importer, imported, _ in imports():
        a, b = package_of(importer), package_of(imported)
        if a != b and not is_entry_point(importer) and (importer, imported) not in KNOWN:
            edges.setdefault(a, set()).add(b)
    cycles = sorted((a, b) for a in edges for b in edges[a] if a < b and a in edges.get(b, set()))
    assert cycles == []


@pytest.mark.parametrize("forbidden", ["django", "rest_framework", "channels", "celery"])
def test_the_worker_imports_no_django(forbidden):
    found = []
    for path in sorted((ROOT / "worker").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            found += [(module_name(path), n) for n in names if n.split(".")[0] == forbidden]
    assert found == []


def test_every_known_exception_is_still_there():
    """An exception the code no longer needs leaves the list, so it cannot come back quietly."""
    assert KNOWN - {(importer, imported) for importer, imported, _ in imports()} == set()
