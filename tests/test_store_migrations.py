"""Schema migrations: fresh databases, upgrades from the first migration, lazy imports."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import run_in_threads
from sqlite_utils import Database

from todo_cli.errors import TodoError
from todo_cli.store import (
    MIGRATION_NAMES,
    MIGRATION_SET,
    TaskQuery,
    TaskStore,
    build_migrations,
)

NY = ZoneInfo("America/New_York")


def applied(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY id",
                (MIGRATION_SET,),
            )
        ]


def test_migration_names_are_append_only() -> None:
    # Shipped migrations must never be renamed, reordered or removed; add new ones at the end.
    assert MIGRATION_NAMES[:4] == ("m001_tasks", "m002_journal", "m003_fts", "m004_store_meta")
    assert [m.name for m in build_migrations()._migrations] == list(MIGRATION_NAMES)


def test_fresh_database_gets_every_migration_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "todo.db"
    with TaskStore(path) as store:
        assert store.pending_migrations() == []
    assert applied(path) == list(MIGRATION_NAMES)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"tasks", "task_tags", "journal", "journal_groups", "tasks_fts"} <= tables
    # opening again applies nothing and keeps the record as it was
    with TaskStore(path):
        pass
    assert applied(path) == list(MIGRATION_NAMES)


def test_upgrade_from_the_first_migration_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    build_migrations().apply(db, stop_before="m002_journal")
    db.execute(
        "INSERT INTO tasks (id, title, notes, status, priority, due, due_ts, project,"
        " created_at, updated_at, completed_at) VALUES"
        " (7, 'Renew passport', 'photo booth', 'pending', 'high', '2026-12-01', NULL,"
        " 'Admin', '2026-01-01T09:00:00-05:00', '2026-01-01T09:00:00-05:00', NULL)"
    )
    db.execute("INSERT INTO task_tags (task_id, tag, position) VALUES (7, 'travel', 0)")
    db.close()
    assert applied(path) == ["m001_tasks"]

    with TaskStore(path, tz=NY) as store:
        assert store.pending_migrations() == []
        task = store.get(7)
        assert (task.title, task.notes, task.priority, task.due, task.tags, task.project) == (
            "Renew passport",
            "photo booth",
            "high",
            "2026-12-01",
            ["travel"],
            "Admin",
        )
        assert task.created_at == "2026-01-01T09:00:00-05:00"
        # the due sort key missing from the hand-made row was filled in
        store.add("timed, same day", due="2026-12-01 23:00")
        assert [t.id for t in store.query(TaskQuery())] == [8, 7]
        store.undo()
        # the FTS migration indexed the existing task
        assert [t.id for t in store.search("travel")] == [7]
        assert [t.id for t in store.search("passport photo")] == [7]
        # and the journal works on it
        store.update(7, title="Renew passport now")
        store.undo()
        assert store.get(7) == task
        assert store.add("new").id == 9  # ids are never reused, not even after undo
    assert applied(path) == list(MIGRATION_NAMES)


def test_upgrade_is_atomic_when_a_migration_fails(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    db = Database(path)
    build_migrations().apply(db, stop_before="m002_journal")
    db.execute("CREATE TABLE journal (x)")  # makes m002_journal fail
    db.close()
    with pytest.raises(TodoError) as info:
        TaskStore(path)
    assert "journal" in info.value.message and str(path) in info.value.message
    assert applied(path) == ["m001_tasks"]
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "journal_groups" not in tables and "tasks_fts" not in tables


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "todo.db"
    path.write_text("hello, not sqlite " * 100)
    with pytest.raises(TodoError) as info:
        TaskStore(path)
    assert str(path) in info.value.message
    assert path.read_text().startswith("hello")


def test_concurrent_first_open(tmp_path: Path) -> None:
    path = tmp_path / "race.db"

    def open_and_add(i: int) -> None:
        with TaskStore(path) as store:
            store.add(f"task {i}")

    errors = run_in_threads(open_and_add, range(6))
    assert errors == []
    assert applied(path) == list(MIGRATION_NAMES)
    with TaskStore(path) as store:
        assert store.count(TaskQuery(status=None)) == 6


def test_current_schema_opens_without_sqlite_utils_or_dateparser(tmp_path: Path) -> None:
    path = tmp_path / "todo.db"
    with TaskStore(path) as store:
        store.add("x", due="tomorrow", tags=["a"])
    code = (
        "import sys\n"
        "from todo_cli.store import TaskStore, TaskQuery\n"
        f"s = TaskStore({str(path)!r})\n"
        "s.query(TaskQuery(status=None)); s.stats(); s.search('x')\n"
        "s.add('y', due='next friday 5pm'); s.undo()\n"
        "print(sorted(m for m in ('sqlite_utils', 'dateparser', 'click', 'rich')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == "[]"
