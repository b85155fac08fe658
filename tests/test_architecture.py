"""The layout's rules, checked on the source (issue 11): no import cycle among packages, and
no private module (`_x`) imported from outside its package.

A "package" is a top-level concept under `latentwall/` (analysis, report, judges ...; a
top-level module such as records.py counts as its own). Every import counts, including
those inside functions: a lazy import still ties the two packages together. Imports under
`if TYPE_CHECKING:` are left out (they never run).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from _helpers import ROOT

SRC = ROOT / "src"
PKG = SRC / "latentwall"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every latentwall import in a source file; for
    `from X import y` both X and X.y (y may be a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join([*base, *([node.module] if node.module else [])])
            else:
                mod = node.module or ""
            yield node.lineno, mod
            for alias in node.names:
                yield node.lineno, f"{mod}.{alias.name}"


def top(module: str) -> str | None:
    """The package a latentwall module belongs to ('analysis', 'records' ...), else None."""
    parts = module.split(".")
    if parts[0] != "latentwall" or len(parts) < 2:
        return None
    return parts[1]


def is_module(module: str) -> bool:
    rel = Path(*module.split("."))
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()


SOURCES = sorted(PKG.rglob("*.py"))


def package_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> ["file:line", ...] (modules only, each edge's sites)."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in SOURCES:
        src = top(module_name(path))
        if src is None:  # latentwall/__init__.py, __main__.py
            continue
        for line, mod in imports_of(path):
            dst = top(mod)
            if dst is None or dst == src or not is_module(mod):
                continue
            graph.setdefault(src, {}).setdefault(dst, []).append(f"{path.relative_to(SRC)}:{line}")
    return graph


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_sources_are_found():
    graph = package_graph()
    assert len(SOURCES) > 100
    assert "store" in graph.get("analysis", {}) or "records" in graph.get("analysis", {})
    assert "analysis" in graph["report"]


def test_no_import_cycle_among_packages():
    graph = package_graph()
    cycle = find_cycle(graph)
    if cycle:
        sites = [f"{a} -> {b}: {', '.join(graph[a][b][:3])}" for a, b in itertools.pairwise(cycle)]
        pytest.fail("import cycle among packages: " + " -> ".join(cycle) + "\n" + "\n".join(sites))


def test_analysis_renders_nothing():
    """Analysis computes; the report renders: no import of report, rich or html there."""
    bad = []
    for path in sorted((PKG / "analysis").rglob("*.py")):
        for line, mod in imports_of(path):
            if mod.startswith(("latentwall.report", "rich", "html")) and (mod in ("html", "rich") or is_module(mod)
                                                                           or mod.startswith("rich")):
                bad.append(f"{path.relative_to(SRC)}:{line} imports {mod}")
    assert not bad, "\n".join(bad)


def test_no_private_module_imported_across_packages():
    bad = []
    for path in SOURCES:
        src = top(module_name(path))
        for line, mod in imports_of(path):
            parts = mod.split(".")
            private = [i for i, p in enumerate(parts) if p.startswith("_") and not p.startswith("__")]
            if not private or not is_module(".".join(parts[: private[0] + 1])):
                continue
            if top(mod) != src:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {mod}")
    assert not bad, "private modules imported across packages:\n" + "\n".join(bad)


def test_no_sql_outside_store():
    """Every read and write of the store goes through `store/` (one data model, one place)."""
    bad = []
    for path in SOURCES:
        if module_name(path).startswith("latentwall.store"):
            continue
        for line, mod in imports_of(path):
            if mod == "sqlite3" or mod.startswith("sqlite3."):
                bad.append(f"{path.relative_to(SRC)}:{line}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "conn":  # reaching past the store's API
                bad.append(f"{path.relative_to(SRC)}:{node.lineno} (.conn)")
    assert not bad, "SQL outside store/:\n" + "\n".join(bad)


def test_the_checks_can_fail(tmp_path):
    """The cycle finder and the import reader see what they must."""
    assert find_cycle({"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"a": ["z"]}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": ["x"]}, "b": {}}) is None
    f = PKG / "analysis" / "_stance.py"
    mods = {m for _, m in imports_of(f)}
    assert "latentwall.judges.stance" in mods


def test_the_default_judge_is_named_once():
    """`"markers"` as the default judge is `labels.DEFAULT_JUDGE`; only the judge itself (its
    registered name) and the marker-file reader (a YAML key) spell it."""
    allowed = {"latentwall.labels", "latentwall.judges._markers", "latentwall.judges._lexicon"}
    bad = []
    for path in SOURCES:
        if module_name(path) in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value == "markers":
                bad.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not bad, "the literal 'markers' outside labels.DEFAULT_JUDGE:\n" + "\n".join(bad)
