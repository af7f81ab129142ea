"""Stable uuids and idempotent import: the same file twice changes nothing, a newer record
updates its task, an older one is left alone; todo.txt lines match as whole lines."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import invoke_cli, sigint_while_writing
from sqlite_utils import Database

from todo_cli.errors import TodoError
from todo_cli.store import (
    MIGRATION_NAMES,
    Origin,
    TaskQuery,
    TaskStore,
    build_migrations,
)
from todo_cli.store.sqlite import SQLiteBackend

FIXTURES = Path(__file__).parent / "fixtures"
NY = ZoneInfo("America/New_York")
UUID = "0f5c4c7a-2b0e-4a4e-9f4a-3c1d1c7b5e01"


def ok(*args: str, input: str | None = None) -> str:
    out = invoke_cli("tasks", *args, input=input)
    assert out.code == 0, out.stderr + out.stdout
    return out.stdout


def listed() -> list[dict]:
    return json.loads(ok("list", "--all", "--sort", "id", "--json"))


def tw_record(modified: str, **fields: object) -> str:
    rec = {
        "uuid": UUID,
        "description": "Buy milk",
        "status": "pending",
        "entry": "20261120T143000Z",
        "modified": modified,
        **fields,
    }
    return json.dumps([rec])


def test_the_same_file_twice_changes_nothing(tmp_path: Path):
    path = FIXTURES / "taskwarrior_export.json"
    first = ok("import", str(path)).splitlines()[0]
    assert first.endswith(": 4 added, 0 updated, 0 unchanged, 1 skipped (1 deleted).")
    before = listed()
    again = ok("import", str(path)).splitlines()[0]
    assert again.endswith(": 0 added, 0 updated, 4 unchanged, 1 skipped (1 deleted).")
    assert listed() == before
    # the uuids are Taskwarrior's own, in --json output and in every export
    assert before[0]["uuid"] == UUID
    tw = json.loads(ok("export", "-f", "taskwarrior"))
    assert [t["uuid"] for t in tw] == [t["uuid"] for t in before]
    ours = json.loads(ok("export"))
    assert [t["uuid"] for t in ours] == [t["uuid"] for t in before]
    # our own export imported back: also nothing new
    exported = tmp_path / "ours.json"
    exported.write_text(ok("export"))
    assert ": 0 added, 0 updated, 4 unchanged" in ok("import", str(exported))
    assert listed() == before


def test_a_newer_record_updates_an_older_one_is_left(tmp_path: Path):
    src = tmp_path / "tw.json"
    src.write_text(tw_record("20261120T143000Z"))
    ok("import", str(src))
    (task,) = listed()
    src.write_text(tw_record("20261121T090000Z", description="Buy oat milk", priority="H"))
    assert ": 0 added, 1 updated, 0 unchanged" in ok("import", str(src))
    (updated,) = listed()
    assert (updated["id"], updated["title"], updated["priority"]) == (
        task["id"],
        "Buy oat milk",
        "high",
    )
    assert updated["updated_at"] == "2026-11-21T09:00:00+00:00"
    src.write_text(tw_record("20261120T150000Z", description="Stale"))
    assert ": 0 added, 0 updated, 1 unchanged" in ok("import", str(src))
    assert listed() == [updated]
    # the update was one undo step
    ok("undo")
    assert listed() == [task]


def test_a_record_without_modified_is_compared_by_content(tmp_path: Path):
    src = tmp_path / "tw.json"
    src.write_text(json.dumps({"uuid": UUID, "description": "data4"}))
    ok("import", str(src))
    before = listed()
    assert ": 0 added, 0 updated, 1 unchanged" in ok("import", str(src))
    assert listed() == before
    src.write_text(json.dumps({"uuid": UUID, "description": "data5"}))
    assert ": 0 added, 1 updated, 0 unchanged" in ok("import", str(src))
    assert [t["title"] for t in listed()] == ["data5"]


def test_import_json_gives_the_report_as_one_object(tmp_path: Path):
    src = tmp_path / "tw.json"
    src.write_text(
        json.dumps(
            [
                {"uuid": UUID, "description": "a", "status": "pending", "estimate": "3"},
                {"uuid": "2" + UUID[1:], "description": "b", "status": "deleted"},
                {"uuid": "3" + UUID[1:], "description": "c", "depends": ["4" + UUID[1:]]},
            ]
        )
    )
    first = json.loads(ok("import", "--json", str(src)))
    assert first == {
        "source": str(src),
        "format": "taskwarrior",
        "added": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped": {"deleted": 1},
        "kept": {"estimate": 1},
        "lost": {},
        "links_left": {"a blocker not imported and not in the list": 1},
        "notes": [],
        "list": "default",
        "naming_another_list": 0,
    }
    again = json.loads(ok("import", "--json", str(src)))
    assert (again["added"], again["unchanged"], again["links_left"]) == (0, 2, {})


def test_an_edited_export_keeps_its_links_to_the_tasks_left_as_they_are(tmp_path: Path):
    """Our JSON names parents and blockers by the file's ids: a newer record whose parent
    or blocker is left unchanged by the same import still links to it."""
    ok("add", "Buy paint")
    ok("add", "Paint the fence", "--blocked-by", "1")
    ok("add", "Garden")
    ok("add", "Weed the beds", "--parent", "3")
    src = tmp_path / "tasks.json"
    ok("export", "-o", str(src))
    records = json.loads(src.read_text())
    for rec in records:
        if rec["id"] in (2, 4):  # edited elsewhere, later: these two are newer
            rec["title"] += " again"
            rec["updated_at"] = "2027-01-01T00:00:00+00:00"
    src.write_text(json.dumps(records))
    out = ok("import", str(src)).splitlines()
    assert out == [f"Imported {src}: 0 added, 2 updated, 2 unchanged, 0 skipped."]
    tasks = {t["title"]: t for t in listed()}
    assert tasks["Paint the fence again"]["blocked_by"] == [tasks["Buy paint"]["id"]]
    assert tasks["Weed the beds again"]["parent"] == tasks["Garden"]["id"]


def test_a_todotxt_file_imported_again_after_changes_here_adds_nothing(tmp_path: Path):
    """The same file again, after its tasks were completed and edited here: each line is
    the line a task came from, so nothing is added and the changes made here stay."""
    src = tmp_path / "todo.txt"
    src.write_text("(A) Call mom +family\nPay bills due:2026-12-05\nWalk the dog\nWalk the dog\n")
    assert ": 4 added, " in ok("import", str(src))
    ok("done", "1")
    ok("edit", "2", "--title", "Pay all bills")
    ok("edit", "3", "--priority", "high")
    before = listed()
    assert ": 0 added, 0 updated, 4 unchanged, 0 skipped." in ok("import", str(src))
    assert listed() == before
    # a line edited elsewhere is still a new task, and an exported line still matches
    src.write_text("(A) Call mom +family @phone\n" + ok("export", "-f", "todotxt"))
    assert ": 1 added, 0 updated, 4 unchanged, 0 skipped." in ok("import", str(src))


def test_todotxt_lines_match_as_whole_lines(tmp_path: Path):
    path = FIXTURES / "todo.txt"
    out = ok("import", str(path)).splitlines()
    assert out[0].endswith(": 6 added, 0 updated, 0 unchanged, 0 skipped.")
    assert out[-1].startswith("todo.txt has no uuids: each line was matched as a whole")
    before = listed()
    assert ": 0 added, 0 updated, 6 unchanged" in ok("import", str(path))
    assert listed() == before
    # An exported todo.txt file of tasks made here matches too.
    ok("add", "Made here", "-p", "high", "-t", "x")
    exported = tmp_path / "mine.txt"
    exported.write_text(ok("export", "-f", "todotxt"))
    assert ": 0 added, 0 updated, 7 unchanged" in ok("import", str(exported))
    # Two equal lines are two tasks; an edited line is a new task.
    src = tmp_path / "dup.txt"
    src.write_text("Walk the dog\nWalk the dog\n")
    assert ": 2 added, " in ok("import", str(src))
    assert ": 0 added, 0 updated, 2 unchanged" in ok("import", str(src))
    src.write_text("Walk the dog\nWalk the cat\n")
    assert ": 1 added, 0 updated, 1 unchanged" in ok("import", str(src))


def test_import_is_all_or_nothing_and_one_undo_step(tmp_path: Path):
    src = tmp_path / "tw.json"
    src.write_text(tw_record("20261120T143000Z"))
    ok("import", str(src))
    (task,) = listed()
    bad = [
        {"uuid": UUID, "description": "Changed", "modified": "20261122T000000Z"},
        {"description": "New one"},
        {"description": "broken", "due": "someday"},
    ]
    src.write_text(json.dumps(bad))
    out = invoke_cli("tasks", "import", str(src))
    assert out.code == 1 and "record 3 (line 1): due 'someday'" in out.stderr
    assert listed() == [task]
    src.write_text(json.dumps(bad[:2]))
    assert ": 1 added, 1 updated, 0 unchanged" in ok("import", str(src))
    ok("undo")
    assert listed() == [task]


def test_upgrade_gives_every_task_a_uuid_and_keeps_old_undo(tmp_path: Path):
    path = tmp_path / "old.db"
    db = Database(path)
    build_migrations().apply(db, stop_before="m006_task_uuid")
    db.close()
    assert "m006_task_uuid" in MIGRATION_NAMES
    # A store made before uuids: two tasks and a journal entry written without the new keys.
    with sqlite3.connect(path) as conn:
        for i, title in ((1, "One"), (2, "Two")):
            conn.execute(
                "INSERT INTO tasks (id, title, status, priority, created_at, updated_at)"
                " VALUES (?, ?, 'pending', 'none', '2026-01-01T09:00:00-05:00',"
                " '2026-01-01T09:00:00-05:00')",
                (i, title),
            )
        conn.execute(
            "INSERT INTO journal_groups (id, label, created_at) VALUES ('g1', 'add ''Two''',"
            " '2026-01-01T09:00:00-05:00')"
        )
        after = {
            "id": 2,
            "title": "Two",
            "notes": None,
            "status": "pending",
            "priority": "none",
            "due": None,
            "tags": [],
            "project": None,
            "created_at": "2026-01-01T09:00:00-05:00",
            "updated_at": "2026-01-01T09:00:00-05:00",
            "completed_at": None,
        }
        conn.execute(
            "INSERT INTO journal (group_id, task_id, before, after) VALUES ('g1', 2, NULL, ?)",
            (json.dumps(after),),
        )
    with TaskStore(path, tz=NY, clock=lambda: datetime(2026, 11, 24, tzinfo=NY)) as store:
        tasks = store.query(TaskQuery(status=None, sort="id"))
        uuids = [t.uuid for t in tasks]
        assert len(set(uuids)) == 2 and all(len(u) == 36 for u in uuids)
        result = store.undo()  # the old entry still undoes
        assert result.label == "add 'Two'"
        assert [t.title for t in store.query(TaskQuery(status=None))] == ["One"]
        assert store.add("Three").uuid not in uuids


def test_a_bulk_import_stores_what_single_writes_would(store_target: Path | str):
    """Plain new tasks are written together; they must read back exactly as returned, be
    searchable, carry their tags, and undo as one step (on both backends)."""
    with TaskStore(store_target, tz=NY) as store:
        store.add("Already here", tags=["old"])
        records = [
            {
                "title": f"Task {i}",
                "notes": "note" if i % 2 else None,
                "tags": ["bulk", f"t{i % 3}"],
                "due": "2026-12-01" if i % 4 else "2026-12-01T17:00:00-05:00",
                "project": "p" if i % 5 else None,
                "uuid": f"00000000-0000-4000-8000-{i:012d}",
                "extra": {"taskwarrior": {"estimate": str(i)}} if i % 3 else None,
            }
            for i in range(1, 1201)  # over the size where the import widens SQLite's cache
        ]
        with store.group("import"):
            result = store.import_tasks(records)
        assert len(result.added) == 1200
        assert [t.id for t in result.added] == list(range(2, 1202))
        for task in result.added[:50] + result.added[-50:]:
            assert store.get(task.id) == task
        assert len(store.search("bulk", limit=None)) == 1200
        assert store.count(TaskQuery(status=None, tag="t1")) == 400
        # due keys: the date-only ones sort after the timed one on the same day
        first = store.query(TaskQuery(sort="due", limit=1))[0]
        assert first.due == "2026-12-01T17:00:00-05:00"
        store.undo()
        assert [t.title for t in store.query(TaskQuery(status=None))] == ["Already here"]
        assert store.add("Next").id == 1202  # ids are never reused


def test_undo_of_a_bulk_import_checks_what_changed_since(tmp_path: Path):
    """A bulk import journals each added task in short (id, uuid, last change); undo still
    refuses when a task was changed since, works once that change is undone, and redo
    brings every task back."""
    records = [
        {"title": f"Task {i}", "uuid": f"00000000-0000-4000-8000-{i:012d}", "tags": ["b"]}
        for i in range(1, 31)
    ]
    records[5]["blocked_by_uuids"] = [records[6]["uuid"]]  # linked by a second write
    importing = Origin("import", "tw.json")
    with TaskStore(tmp_path / "t.db", tz=NY) as store:
        with store.group("import", origin=importing):
            added = store.import_tasks(records).added
        with sqlite3.connect(tmp_path / "t.db") as conn:
            (after,) = conn.execute("SELECT after FROM journal ORDER BY seq LIMIT 1").fetchone()
        first = added[0]
        assert json.loads(after) == {
            "id": first.id,
            "uuid": first.uuid,
            "updated_at": first.updated_at,
        }
        assert store.get(added[5].id).blocked_by == [added[6].id]
        with store.group("edit", origin=Origin("cli")):
            store.update(added[3].id, title="Changed")
        with pytest.raises(TodoError) as info:
            store.undo(scope=importing)
        assert f"task #{added[3].id} was changed since" in info.value.message
        assert store.get(added[3].id).title == "Changed"  # nothing touched
        store.undo()  # the edit
        store.undo(scope=importing)  # now the import
        assert store.query(TaskQuery(status=None)) == []
        assert store.search("task", status=None, limit=None) == []
        store.redo()
        assert len(store.search("task", status=None, limit=None)) == 30
        back = store.query(TaskQuery(status=None, sort="id"))
        assert [t.uuid for t in back] == [t.uuid for t in added]
        assert store.get(added[5].id).blocked_by == [added[6].id]
        store.undo()  # the redo, as one step again
        assert store.query(TaskQuery(status=None)) == []


def indexes(path: Path) -> list[tuple[str, str]]:
    """The indexes of the database at ``path``: (name, CREATE statement)."""
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " ORDER BY name"
        ).fetchall()


def test_a_big_import_builds_the_indexes_again(tmp_path: Path):
    """Past 5,000 new tasks (more than the store holds) the indexes of tasks and tags are
    built after the rows: they must all be there again, with the same definitions."""
    path = tmp_path / "t.db"

    records = [
        {"title": f"Task {i}", "uuid": f"00000000-0000-4000-8000-{i:012d}", "tags": [f"t{i % 7}"]}
        for i in range(1, 6001)
    ]
    with TaskStore(path, tz=NY) as store:
        store.add("Already here")
        before = indexes(path)
        # (the indexes kept up while the rows go in are ones the schema has)
        assert {name for name, _sql in before} >= SQLiteBackend.KEPT_IN_BULK
        with store.group("import"):
            assert len(store.import_tasks(records).added) == 6000
        assert indexes(path) == before
        assert store.count(TaskQuery(status=None, tag="t3")) == len(records[2::7])
        with store.group("again"):
            result = store.import_tasks(records)  # the uuid index finds every one of them
        assert len(result.unchanged) == 6000 and not result.added
        with sqlite3.connect(path) as conn:
            plan = conn.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM tasks WHERE uuid = ?", (records[0]["uuid"],)
            ).fetchall()
        assert "tasks_by_uuid" in str(plan)


def test_a_big_import_with_updates_among_new_tasks(tmp_path: Path):
    """A big import whose new tasks are written in batches while some records update
    tasks the store has, repeat a record of the same file, or name a blocker: everything
    lands as the records say, in their order, as one undo step."""
    with TaskStore(tmp_path / "t.db", tz=NY) as store:
        with store.group("first"):
            old = store.import_tasks(
                [
                    {"title": f"Old {i}", "uuid": f"00000000-0000-4000-9000-{i:012d}"}
                    for i in range(3)
                ]
            ).added
        records: list[dict] = [
            {"title": f"Task {i}", "uuid": f"00000000-0000-4000-8000-{i:012d}", "tags": ["b"]}
            for i in range(7000)
        ]
        later = "2030-01-01T00:00:00-05:00"
        records[2500] = {"title": "Old 0 renamed", "uuid": old[0].uuid, "updated_at": later}
        records[4100] = {**records[10], "title": "Task 10 again", "updated_at": later}
        records[5000]["blocked_by_uuids"] = [records[4999]["uuid"]]
        records[6999] = {"title": "Old 2 renamed", "uuid": old[2].uuid, "updated_at": later}
        with store.group("big"):
            result = store.import_tasks(records)
        assert (len(result.added), len(result.updated)) == (6997, 3)
        by_uuid = {t.uuid: t for t in store.query(TaskQuery(status=None, limit=None))}
        assert len(by_uuid) == 7000
        assert by_uuid[old[0].uuid].title == "Old 0 renamed"
        assert by_uuid[old[1].uuid].title == "Old 1"
        assert by_uuid[old[2].uuid].title == "Old 2 renamed"
        assert by_uuid[records[10]["uuid"]].title == "Task 10 again"
        blocked = by_uuid[records[5000]["uuid"]]
        assert blocked.blocked_by == [by_uuid[records[4999]["uuid"]].id]
        ids = [t.id for t in result.added]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert store.count(TaskQuery(status=None, tag="b")) == 6997
        assert len(store.search("task", status=None, limit=None)) == 6997
        store.undo()
        left = store.query(TaskQuery(status=None, sort="id"))
        assert [t.title for t in left] == ["Old 0", "Old 1", "Old 2"]


def test_a_bad_record_late_in_a_big_import_writes_nothing(tmp_path: Path):
    """Records are checked as the batches before them are written: a bad one near the end
    still leaves the store as it was and names the record."""
    records = [{"title": f"Task {i}", "tags": ["t"]} for i in range(6000)]
    records[5500]["due"] = "someday"
    with TaskStore(tmp_path / "t.db", tz=NY) as store:
        store.add("keep me")
        with pytest.raises(TodoError) as info, store.group("import"):
            store.import_tasks(records)
        assert info.value.message.startswith("Record 5501: ")
        assert [t.title for t in store.query(TaskQuery(status=None))] == ["keep me"]
        assert store.search("task", status=None) == []
        assert store.add("after").id == 2


def test_a_full_disk_during_a_big_import_fails_cleanly(tmp_path: Path):
    """The database runs out of room while the batches are being written (SQLite's page
    limit, the same SQLITE_FULL a full disk gives): one clear error, nothing imported,
    and the store works on afterwards."""
    records = [{"title": f"Task {i} " + "x" * 200, "tags": ["t"]} for i in range(8000)]
    with TaskStore(tmp_path / "t.db", tz=NY) as store:
        store.add("keep me")
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages + 300}")
        with pytest.raises(TodoError) as info, store.group("import"):
            store.import_tasks(records)
        assert info.value.message.startswith("The disk is full")
        store._conn.execute("PRAGMA max_page_count = 1000000")
        assert [t.title for t in store.query(TaskQuery(status=None))] == ["keep me"]
        with store.group("again"):
            assert len(store.import_tasks(records[:10]).added) == 10


def test_ctrl_c_while_a_big_import_writes_leaves_nothing(tmp_path: Path):
    """Ctrl-C (SIGINT to this process) while the import's batches are being written: the
    transaction is rolled back and the store works on. The signal goes once SQLite has
    counted the first batch's rows, and again every 20 ms until the import has stopped.
    While its writer thread runs, the import notes the signal itself and stops at the next
    batch; around that, the test's handler raises KeyboardInterrupt in the import's own
    frames only (Python drops one raised inside a finalizer that happens to run then)."""
    import signal

    records = [{"title": f"Task {i}", "tags": ["t"]} for i in range(30000)]
    importing = TaskStore.import_tasks.__code__

    def in_the_import(signum: int, frame: Any) -> None:
        while frame is not None:
            if frame.f_code.co_name == "__del__":
                return  # the next signal will do
            if frame.f_code is importing:
                raise KeyboardInterrupt
            frame = frame.f_back

    with TaskStore(tmp_path / "t.db", tz=NY) as store:
        store.add("keep me")
        previous = signal.signal(signal.SIGINT, in_the_import)
        try:
            with (
                sigint_while_writing(store._conn) as seen,
                pytest.raises(KeyboardInterrupt),
                store.group("import"),
            ):
                store.import_tasks(records)
        finally:
            signal.signal(signal.SIGINT, previous)
        assert 2000 <= seen[0] < 4 * 30000  # rows of tasks, tags, search, journal: not all
        assert [t.title for t in store.query(TaskQuery(status=None))] == ["keep me"]
        assert store.add("after").title == "after"


def test_the_undo_of_a_big_import_builds_the_indexes_again(tmp_path: Path):
    """Undoing 6,000 imported tasks in a store that keeps one more: they are deleted by runs
    of ids with the indexes dropped, which are then built again as they were; what was
    there before is untouched, and redo brings the import back."""
    path = tmp_path / "t.db"

    records = [{"title": f"Task {i}", "tags": [f"t{i % 7}"]} for i in range(6000)]
    with TaskStore(path, tz=NY) as store:
        kept = store.add("Already here", tags=["t1"], project="home")
        before = indexes(path)
        with store.group("import"):
            store.import_tasks(records)
        store.undo()
        assert indexes(path) == before
        assert [t.title for t in store.query(TaskQuery(status=None))] == ["Already here"]
        assert [t.id for t in store.search("already", status=None)] == [kept.id]
        assert store.count(TaskQuery(status=None, tag="t1")) == 1
        store.redo()
        assert store.count(TaskQuery(status=None)) == 6001
        assert store.count(TaskQuery(status=None, tag="t3")) == len(records[3::7])


def test_id_ranges_are_the_runs_of_consecutive_ids():
    from todo_cli.store.backend import id_ranges

    assert id_ranges([]) == []
    assert id_ranges([7, 3, 4, 5, 9, 8, 4, 12]) == [(3, 5), (7, 9), (12, 12)]
