"""No two modules of the package import each other (arrows point one way only)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "todo_cli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> set[str]:
    """Every todo_cli module ``path`` imports, at top level, inside functions, or for type
    checking only."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("todo_cli")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith("todo_cli"):
                continue
            found.add(module)
            for alias in node.names:  # `from . import render` names a module
                found.add(f"{module}.{alias.name}")
    return found


def test_no_two_modules_import_each_other() -> None:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: _imports(path, name) & set(modules) - {name} for name, path in modules.items()}
    pairs = sorted(
        (a, b) for a, deps in graph.items() for b in deps if a < b and a in graph.get(b, set())
    )
    assert pairs == [], f"modules that import each other: {pairs}"


def test_the_check_sees_imports_inside_functions_and_for_type_checking() -> None:
    graph = _imports(PACKAGE / "slash.py", "todo_cli.slash")
    assert "todo_cli.chat_state" in graph  # a TYPE_CHECKING import and one inside a method
    assert "todo_cli.repl" not in graph
