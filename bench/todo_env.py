"""Private `todo` homes for the benchmarks: paths, the store, tasks loaded outside the timing."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from .harness import Context, NotAvailable, clean_env


def require(module: str) -> Any:
    """Import ``todo_cli.<module>``; a module that is not built yet is ``NotAvailable``."""
    try:
        return importlib.import_module(f"todo_cli.{module}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("todo_cli"):
            raise NotAvailable(f"todo_cli/{module}.py is not there yet") from exc
        raise


def db_path(home: Path) -> Path:
    """Where `todo` keeps its database under ``TODO_HOME=home``."""
    try:
        config = require("config")
        return config.get_paths(environ={"TODO_HOME": str(home)}).ensure().db_file
    except NotAvailable:
        path = home / "data" / "todo.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def open_store(path: Path) -> Any:
    store_mod = require("store")
    if not hasattr(store_mod, "TaskStore"):
        raise NotAvailable("todo_cli.store has no TaskStore yet")
    return store_mod.TaskStore(path)


def load_tasks(store: Any, records: list[dict[str, Any]]) -> None:
    """Put ``records`` into the store through its bulk import (one transaction)."""
    if not hasattr(store, "import_tasks"):
        raise NotAvailable("TaskStore.import_tasks is not there yet")
    store.import_tasks(records)


def home_with_tasks(ctx: Context, name: str, records: list[dict[str, Any]]) -> Path:
    """A fresh TODO_HOME whose database holds ``records``."""
    home = ctx.tmpdir(name)
    store = open_store(db_path(home))
    try:
        load_tasks(store, records)
    finally:
        store.close()
    return home


def todo_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for a `todo` subprocess using ``home`` and nothing of the developer's."""
    return clean_env(**{"TODO_HOME": str(home), **extra})
