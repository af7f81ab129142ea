"""Redo, the origin of each change group, and undo limited to one origin."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from helpers import run_sql

from todo_cli.errors import NotFoundError, TodoError
from todo_cli.store import Origin, TaskQuery, TaskStore


@pytest.fixture
def db_path(store_target: Path | str) -> Path | str:
    return store_target  # an SQLite file, then a PostgreSQL database


@pytest.fixture
def store(db_path: Path):
    with TaskStore(db_path) as s:
        yield s


def titles(store: TaskStore) -> list[str]:
    return [t.title for t in store.query(TaskQuery(status=None, sort="id"))]


def test_redo_takes_undos_back_newest_first(store: TaskStore) -> None:
    store.add("a")
    store.add("b")
    store.undo()
    store.undo()
    assert titles(store) == []
    first = store.redo()
    assert first.label == "add 'a'"
    assert titles(store) == ["a"]
    second = store.redo()
    assert second.label == "add 'b'"
    assert titles(store) == ["a", "b"]
    with pytest.raises(NotFoundError, match="Nothing to redo"):
        store.redo()


def test_a_redo_is_undoable_and_that_undo_redoable(store: TaskStore) -> None:
    task = store.add("a")
    store.complete([task.id])
    store.undo()
    store.redo()
    assert store.get(task.id).status == "done"
    store.undo()  # takes back the redo
    assert store.get(task.id).status == "pending"
    store.redo()
    assert store.get(task.id).status == "done"
    store.undo()
    store.undo()  # then the add, further back
    assert titles(store) == []


def test_a_fresh_change_ends_the_redo_chain(store: TaskStore) -> None:
    store.add("a")
    store.undo()
    store.add("b")
    with pytest.raises(NotFoundError):
        store.redo()
    assert titles(store) == ["b"]


def test_redo_refuses_when_a_task_changed_since_the_undo(store: TaskStore, db_path: Path) -> None:
    task = store.add("a")
    store.update(task.id, title="b")
    store.undo()
    run_sql(db_path, "UPDATE tasks SET title = 'by hand' WHERE id = ?", (task.id,))
    with pytest.raises(TodoError, match=f"Cannot redo 'edit #{task.id}': task #{task.id}"):
        store.redo()
    assert store.get(task.id).title == "by hand"


def test_redo_restores_every_field_of_a_deleted_task(store: TaskStore) -> None:
    task = store.add("a", due="2026-12-01", tags=["x", "y"], project="p", notes="n")
    store.complete([task.id])
    kept = store.get(task.id)
    store.delete([task.id])
    store.undo()
    assert store.get(task.id) == kept
    store.redo()
    with pytest.raises(NotFoundError):
        store.get(task.id)
    store.undo()
    assert store.get(task.id) == kept


def test_each_group_records_its_origin_user_and_host(store: TaskStore, db_path: Path) -> None:
    store.origin = Origin("cli", "todo tasks add a")
    store.add("a")
    with store.group("turn", origin=Origin("chat", "c0ffee00", session="s1")):
        store.add("b")
    store.undo()
    rows = run_sql(
        db_path,
        'SELECT label, source, source_ref, session_id, "user" IS NOT NULL, host IS NOT NULL'
        " FROM journal_groups ORDER BY seq",
    )
    assert rows == [
        ("add 'a'", "cli", "todo tasks add a", None, 1, 1),
        ("turn", "chat", "c0ffee00", "s1", 1, 1),
        ("undo turn", "cli", "todo tasks add a", None, 1, 1),
    ]


def test_undo_limited_to_one_conversation(store: TaskStore) -> None:
    mine = Origin("chat", "conv1")
    with store.group("turn 1", origin=mine):
        own = store.add("own")
    store.origin = Origin("cli", "todo tasks add other")
    store.add("other")  # newer, from elsewhere
    assert store.last_change(scope=mine).label == "turn 1"  # type: ignore[union-attr]
    store.undo(scope=mine)
    assert titles(store) == ["other"]
    with pytest.raises(NotFoundError):
        store.undo(scope=mine)
    assert store.last_change(scope=Origin("chat", "conv2")) is None
    assert own.id not in [t.id for t in store.query()]


def test_undo_of_a_named_group_refuses_when_another_came_first(store: TaskStore) -> None:
    store.add("a")
    shown = store.last_change()
    assert shown is not None
    store.add("b")  # e.g. another terminal, between the question and the answer
    with pytest.raises(TodoError, match="changed meanwhile"):
        store.undo(group_id=shown.id)
    assert titles(store) == ["a", "b"]


def test_groups_made_before_the_origin_was_recorded(tmp_path: Path) -> None:
    """A database from before the origin migration: its groups have no origin, undo works."""
    path = tmp_path / "old.db"
    with TaskStore(path) as s:
        s.add("old")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE journal_groups SET source = NULL, user = NULL, host = NULL")
    with TaskStore(path) as s:
        info = s.last_change()
        assert info is not None and info.origin is None
        s.undo()
        s.redo()
        assert titles(s) == ["old"]


def test_redo_stays_within_the_bound_list(db_path: Path) -> None:
    with TaskStore(db_path, list_name="work") as work, TaskStore(db_path) as home:
        work.add("report")
        work.undo()
        home.add("milk")  # a fresh change in another list leaves work's redo chain alone
        with pytest.raises(NotFoundError):
            home.redo()
        assert work.redo().label == "add 'report'"
        assert titles(work) == ["report"] and titles(home) == ["milk"]


def test_redo_of_a_repeating_completion_brings_back_its_due_and_record(store: TaskStore) -> None:
    task = store.add("water plants", due="2026-12-01", repeat="every week")
    store.complete([task.id])
    moved = store.get(task.id)
    assert moved.due == "2026-12-08" and len(store.completions(task.id)) == 1
    store.undo()
    assert store.get(task.id).due == "2026-12-01" and store.completions(task.id) == []
    store.redo()
    assert store.get(task.id) == moved
    assert [c["due"] for c in store.completions(task.id)] == ["2026-12-01"]
