"""The house's shape: no import circle, adapters see only the engine's boundary, and
nothing is registered as a side effect of importing a module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "storage", "adapters")
# What an adapter may import from bot/: the boundary and nothing else.
BOUNDARY = {"bot.adapter", "bot.messages", "bot.markup", "bot.pacing"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__main__.py"
    }


def imports(path: Path, known: set[str]) -> set[str]:
    """Every module of ours ``path`` imports, at any depth (TYPE_CHECKING and function
    bodies included)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            found.update(submodules)
            # ``from bot import markup`` imports the module, not the package's own code.
            if base in known and len(submodules) < len(node.names):
                found.add(base)
    found.discard(module_name(path))
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports(path, known) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return out


def test_no_import_circle_anywhere() -> None:
    edges = graph()
    assert len(edges) > 60
    assert cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_adapters_import_only_the_boundary_of_bot() -> None:
    edges = graph()
    leaks = {
        (name, target)
        for name, targets in edges.items()
        if name.startswith("adapters.")
        for target in targets
        if target.startswith("bot") and target not in BOUNDARY
    }
    assert leaks == set()


def test_the_runtime_knows_no_engine() -> None:
    edges = graph()
    leaks = {
        (name, target)
        for name, targets in edges.items()
        if name.startswith(("bot.runtime", "storage"))
        for target in targets
        if target.startswith(("bot.engine", "bot.app", "adapters"))
    }
    assert leaks == set()


def test_no_registry_is_filled_at_import() -> None:
    """Two registries built in one process are independent and each holds every command."""
    from bot.engine.commands import build_registry

    first, second = build_registry(), build_registry()
    assert first.commands.keys() == second.commands.keys()
    assert {"help", "join", "agenda", "harvest"} <= set(first.commands)
    first.commands.clear()
    assert "help" in build_registry().commands
