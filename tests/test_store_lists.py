"""Named lists in the store: binding, isolation, global ids, undo per list, rename, delete."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlite_utils import Database

from todo_cli.config import load_settings
from todo_cli.errors import NotFoundError, TodoError, UsageError
from todo_cli.listnames import validate_list_name
from todo_cli.store import ListInfo, TaskQuery, TaskStore, build_migrations

NY = ZoneInfo("America/New_York")


@pytest.fixture
def db_path(store_target: Path | str) -> Path | str:
    return store_target  # an SQLite file, then a PostgreSQL database


@pytest.fixture
def home(db_path: Path):
    """A store bound to "default" and one bound to "work", on the same file."""
    with TaskStore(db_path, tz=NY) as default, TaskStore(db_path, tz=NY, list_name="Work") as work:
        yield default, work


def titles(tasks) -> list[str]:
    return [t.title for t in tasks]


def test_the_default_list_and_the_bound_name(db_path: Path) -> None:
    with TaskStore(db_path) as store:
        assert store.list_name == "default"
        assert store.add("milk").list_name == "default"
        assert store.add("milk").to_dict()["list"] == "default"
    with TaskStore(db_path, list_name="  Groceries ") as store:
        assert store.list_name == "groceries"  # names are stored stripped, lower case
    with pytest.raises(UsageError):
        TaskStore(db_path, list_name="two words")


def test_every_query_is_scoped_to_the_bound_list(home) -> None:
    default, work = home
    assert work.list_name == "work"
    default.add("Buy milk", tags=["shop"], due="2099-12-01")
    default.add("Call mom", priority="high")
    report = work.add("Write report", tags=["shop"], project="Q4")
    done = work.add("Send invoice milk")
    work.complete([done.id])

    assert titles(default.query()) == ["Buy milk", "Call mom"]
    assert titles(work.query(TaskQuery(status="all", sort="id"))) == [
        "Write report",
        "Send invoice milk",
    ]
    assert titles(default.query(TaskQuery(tag="shop"))) == ["Buy milk"]
    assert titles(work.query(TaskQuery(tag="shop"))) == ["Write report"]
    assert titles(work.query(TaskQuery(text="milk", status="all"))) == ["Send invoice milk"]
    assert default.count(TaskQuery(status="all")) == 2
    assert work.count(TaskQuery(status="done")) == 1
    assert titles(default.search("milk")) == ["Buy milk"]
    assert titles(work.search("milk", status="pending")) == []
    assert titles(work.search("milk")) == ["Send invoice milk"]
    assert default.stats() == {
        "open": 2, "overdue": 0, "due_today": 0, "done": 0, "waiting": 0, "blocked": 0
    }  # fmt: skip
    assert work.stats()["open"] == 1 and work.stats()["done"] == 1
    assert work.get(report.id).project == "Q4"


def test_ids_are_global_and_other_lists_tasks_are_not_found(home) -> None:
    default, work = home
    milk = default.add("Buy milk")
    report = work.add("Write report")
    assert report.id == milk.id + 1  # one id sequence over every list
    for action in (
        lambda: work.get(milk.id),
        lambda: work.get_many([milk.id]),
        lambda: work.update(milk.id, title="stolen"),
        lambda: work.complete([milk.id]),
        lambda: work.reopen([milk.id]),
        lambda: work.delete([milk.id]),
    ):
        with pytest.raises(NotFoundError) as info:
            action()
        assert info.value.message == f"No task #{milk.id}"
    # all or nothing: a mix of own and foreign ids changes nothing
    with pytest.raises(NotFoundError):
        work.complete([report.id, milk.id])
    assert work.get(report.id).status == "pending"
    assert default.get(milk.id).title == "Buy milk"


def test_undo_takes_back_the_latest_change_of_the_bound_list(home) -> None:
    default, work = home
    milk = default.add("Buy milk")
    default.complete([milk.id])
    work.add("Write report")  # newer, but in another list
    result = default.undo()
    assert [c.after.status for c in result.changes if c.after] == ["pending"]
    assert titles(work.query()) == ["Write report"]
    default.undo()  # the add
    assert default.query() == []
    with pytest.raises(NotFoundError, match="Nothing to undo"):
        default.undo()
    work.undo()
    assert work.query() == []


def test_lists_with_counts(home, db_path: Path) -> None:
    default, work = home
    default.add("a")
    work.add("b")
    done = work.add("c")
    work.complete([done.id])
    assert default.lists() == [
        ListInfo("default", 1, 0, current=True),
        ListInfo("work", 1, 1),
    ]
    with TaskStore(db_path, list_name="zzz") as empty:
        # the bound list shows even before it has a task
        assert empty.lists()[-1] == ListInfo("zzz", 0, 0, current=True)
        assert [i.name for i in empty.lists()] == ["default", "work", "zzz"]
    assert ListInfo("w", 1, 2).to_dict() == {"name": "w", "open": 1, "done": 2, "current": False}


def test_rename_moves_every_task_and_is_one_undo_step(home) -> None:
    default, work = home
    report = work.add("Write report", tags=["q4"])
    done = work.add("Old")
    work.complete([done.id])
    default.add("Buy milk")
    assert default.rename_list("work", "Job") == 2
    job = work  # the store bound to "work" is not bound to the renamed list ...
    assert job.list_name == "work" and job.query() == []
    job.use_list("job")
    assert titles(job.query(TaskQuery(status="all", sort="id"))) == ["Write report", "Old"]
    assert job.get(report.id).updated_at == report.updated_at  # tasks themselves unchanged
    assert titles(job.search("report")) == ["Write report"]
    assert [i.name for i in default.lists()] == ["default", "job"]
    # the rename was made from "default": its undo is there, not in "job"
    with pytest.raises(NotFoundError):
        job.undo()  # job's own history is work's ("work" groups), not the rename
    undone = default.undo()
    assert undone.label == "rename list work to job" and len(undone.changes) == 2
    job.use_list("work")
    assert titles(job.query(TaskQuery(status="all", sort="id"))) == ["Write report", "Old"]


def test_rename_of_the_bound_list_follows_it(home) -> None:
    _, work = home
    work.add("Write report")
    work.rename_list("work", "job")
    assert work.list_name == "job"
    assert titles(work.query()) == ["Write report"]
    assert work.undo().label == "rename list work to job"  # recorded in the list it became
    assert work.list_name == "job" and work.query() == []  # undo does not re-bind the store
    work.use_list("work")
    assert titles(work.query()) == ["Write report"]


def test_rename_refusals(home) -> None:
    default, work = home
    default.add("a")
    work.add("b")
    with pytest.raises(UsageError, match="already a list 'work'"):
        default.rename_list("default", "work")
    with pytest.raises(NotFoundError, match="No list 'nope'"):
        default.rename_list("nope", "other")
    with pytest.raises(UsageError):
        default.rename_list("work", "work")
    with pytest.raises(UsageError):
        default.rename_list("work", "bad name")
    assert [(i.name, i.open) for i in default.lists()] == [("default", 1), ("work", 1)]
    assert default.undo().label == "add 'a'"  # nothing above was journaled
    assert default.query() == []


def test_delete_list_and_undo_it(home) -> None:
    default, work = home
    kept = default.add("Buy milk")
    a = work.add("Write report", tags=["q4"], notes="pages 1-3")
    b = work.add("Send invoice")
    work.complete([b.id])
    gone = default.delete_list("work")
    assert [t.id for t in gone] == [a.id, b.id]
    assert work.query(TaskQuery(status="all")) == [] and work.search("report") == []
    assert [i.name for i in default.lists()] == ["default"]
    with pytest.raises(NotFoundError, match="No list 'work'"):
        default.delete_list("work")
    result = default.undo()
    assert result.label == "delete list work"
    restored = work.query(TaskQuery(status="all", sort="id"))
    assert [t.to_dict() for t in restored] == [a.to_dict(), work.get(b.id).to_dict()]
    assert work.get(b.id).status == "done"
    assert titles(work.search("pages")) == ["Write report"]
    assert default.get(kept.id).title == "Buy milk"


def test_import_goes_to_the_bound_list_unless_told_otherwise(home) -> None:
    default, work = home
    records = [{"title": "a", "list": "home"}, {"title": "b"}]
    imported = work.import_tasks(records).added
    assert [t.list_name for t in imported] == ["work", "work"]
    kept = default.import_tasks(records, keep_lists=True).added
    assert [t.list_name for t in kept] == ["home", "default"]
    with pytest.raises(UsageError, match="Record 1"):
        default.import_tasks([{"title": "x", "list": "no spaces allowed"}], keep_lists=True)
    # an import is one undo step in the list it was made from
    default.undo()
    assert [i.name for i in default.lists()] == ["default", "work"]


def test_switching_lists_is_refused_inside_a_change_group(home) -> None:
    default, _ = home
    with default.group("turn"):
        default.add("a")
        with pytest.raises(TodoError, match="switch lists"):
            default.use_list("work")
    assert default.use_list(" WORK ") == "work"
    assert default.list_name == "work"


def test_upgrade_puts_existing_tasks_and_history_in_default(tmp_path: Path) -> None:
    # A file of the schema before lists, with a task and the journal entry that added it
    # (SQLite only: PostgreSQL stores began with lists).
    old = tmp_path / "todo.db"
    db = Database(old)
    build_migrations().apply(db, stop_before="m005_lists")
    db.execute(
        "INSERT INTO tasks (id, title, status, priority, created_at, updated_at)"
        " VALUES (3, 'Renew passport', 'pending', 'none', '2026-01-01T09:00:00-05:00',"
        " '2026-01-01T09:00:00-05:00')"
    )
    db.execute(
        "INSERT INTO journal_groups (id, label, created_at) VALUES ('g1', 'add', '2026-01-01')"
    )
    db.execute(
        "INSERT INTO journal (group_id, task_id, before, after) VALUES ('g1', 3, NULL, ?)",
        (
            '{"id": 3, "title": "Renew passport", "notes": null, "status": "pending",'
            ' "priority": "none", "due": null, "tags": [], "project": null,'
            ' "created_at": "2026-01-01T09:00:00-05:00",'
            ' "updated_at": "2026-01-01T09:00:00-05:00", "completed_at": null}',
        ),
    )
    db.close()
    with TaskStore(old, tz=NY) as store, TaskStore(old, tz=NY, list_name="work") as work:
        assert store.pending_migrations() == []
        assert store.get(3).list_name == "default"
        assert [i.name for i in store.lists()] == ["default"]
        with pytest.raises(NotFoundError):
            work.undo()  # the old history belongs to "default"
        store.undo()  # a journal entry written before lists existed still undoes
        assert store.query() == []


@pytest.mark.parametrize(
    ("name", "stored"),
    [("work", "work"), (" Work ", "work"), ("côté-jardin_2.0", "côté-jardin_2.0"), ("7", "7")],
)
def test_valid_list_names(name: str, stored: str) -> None:
    assert validate_list_name(name) == stored


@pytest.mark.parametrize(
    "name", ["", "  ", "two words", "-work", "_x", "a/b", "x\x1b[31m", "a" * 65]
)
def test_invalid_list_names(name: str) -> None:
    with pytest.raises(UsageError) as info:
        validate_list_name(name)
    assert "\x1b" not in info.value.message
    assert info.value.hint


def test_the_list_setting(tmp_path: Path) -> None:
    env = {"TODO_HOME": str(tmp_path)}
    assert load_settings(environ=env, cwd=tmp_path).list_name == "default"
    settings = load_settings(environ={**env, "TODO_LIST": "Work"}, cwd=tmp_path)
    assert (settings.list_name, settings.source("list")) == ("work", "env")
    flag = load_settings({"list": "home"}, environ={**env, "TODO_LIST": "work"}, cwd=tmp_path)
    assert flag.list_name == "home"
    with pytest.raises(TodoError, match="TODO_LIST"):
        _ = load_settings(environ={**env, "TODO_LIST": "a b"}, cwd=tmp_path).list_name
