"""A Taskwarrior file is imported as it is read: the parse makes its records lazily and the
store writes the first batches (from a second thread, on SQLite) while the rest are still
being read. These tests check that nothing changes for the user: the same records, all or
nothing, a bad record named by its place, stored tasks found by uuid, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import TODO_EXE
from helpers import invoke_cli, run_on_pty, sigint_while_writing

from todo_cli.errors import TodoError
from todo_cli.interchange import parse_tasks
from todo_cli.store import TaskQuery, TaskStore

REAL = Path(__file__).parent / "fixtures" / "real" / "taskwarrior"
FIXTURES = [*sorted(REAL.glob("*.json")), *sorted(REAL.parent.parent.glob("taskwarrior_*"))]
NY = ZoneInfo("America/New_York")
UUID = "0f5c4c7a-2b0e-4a4e-9f4a-3c1d1c7b5e01"
EARLY, LATE = "2026-11-20T10:00:00-05:00", "2026-11-28T10:00:00-05:00"


def tw_records(n: int, *, modified: str = "20261125T120000Z") -> list[dict[str, Any]]:
    return [
        {
            "uuid": f"00000000-0000-4000-8000-{i:012d}",
            "description": f"Task {i}",
            "status": "completed" if i % 3 == 0 else "pending",
            "entry": "20261120T143000Z",
            "modified": modified,
            **({"end": "20261121T090000Z"} if i % 3 == 0 else {}),
            "tags": ["home", "errand"][: i % 3],
            "project": "garden" if i % 2 else None,
            "estimate": i,
        }
        for i in range(n)
    ]


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n", "utf-8")
    return path


def ok(*args: str) -> str:
    out = invoke_cli("tasks", *args)
    assert out.code == 0, out.stderr + out.stdout
    return out.stdout


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_a_lazy_parse_gives_what_the_whole_parse_gives(path: Path):
    text = path.read_text("utf-8")
    whole = parse_tasks(text, "taskwarrior", tz=NY)
    lazy = parse_tasks(text, "taskwarrior", tz=NY, lazy=True)
    assert lazy.records == []  # nothing made yet
    streamed = list(lazy.stream())
    assert streamed == whole.records == lazy.records
    assert lazy.places == whole.places
    assert (lazy.kept, lazy.skipped, lazy.lossy, lazy.notes) == (
        whole.kept,
        whole.skipped,
        whole.lossy,
        whole.notes,
    )
    assert lazy.expected is not None and lazy.expected >= len(streamed)


def test_a_bad_record_late_in_a_streamed_file_imports_nothing(tmp_path: Path):
    """The bad record is read after thousands of others were written: the import is
    rolled back, the message names the record and its line."""
    ok("add", "keep me")
    records = tw_records(6000)
    records[5800]["status"] = "sleeping"
    out = invoke_cli("tasks", "import", str(write(tmp_path / "tw.json", records)))
    assert out.code != 0
    assert "record 5801 (line 5802): unknown Taskwarrior status 'sleeping'" in out.stderr
    assert "Nothing was imported" in out.stderr
    assert [t["title"] for t in json.loads(ok("list", "--all", "--json"))] == ["keep me"]


def test_a_streamed_import_twice_changes_nothing_and_finds_stored_tasks(tmp_path: Path):
    """A big import into a small store drops the uuid index while it writes; stored tasks
    the file names are then found by id. Newer records update them, older ones are left,
    and nothing is doubled."""
    first = write(tmp_path / "first.json", tw_records(3, modified="20261122T120000Z"))
    ok("import", str(first))
    records = tw_records(7000)
    records[2]["modified"] = "20261101T000000Z"  # older than the stored one: left alone
    again = write(tmp_path / "again.json", records)
    assert "6,997 added, 2 updated, 1 unchanged, 0 skipped" in ok("import", str(again))
    assert "0 added, 0 updated, 7,000 unchanged" in ok("import", str(again))
    listed = json.loads(ok("list", "--all", "--json", "--limit", "10000"))
    assert len(listed) == 7000
    assert len({t["uuid"] for t in listed}) == 7000
    assert sum(1 for t in listed if t["status"] == "done") == len(range(0, 7000, 3))
    with TaskStore(Path(os.environ["TODO_HOME"]) / "data" / "todo.db") as store:
        names = {r[0] for r in store._conn.execute("SELECT name FROM sqlite_master")}
        assert {"tasks_by_uuid", "tasks_by_list_status_page", "task_tags_by_tag"} <= names
        assert len(store.search("task 6999", status=None)) == 1


def test_a_repeated_record_across_batches_is_one_task(tmp_path: Path):
    """A file that holds the same task twice, thousands of records apart (the second copy
    newer): one task, updated by the second copy."""
    records = tw_records(5000)
    later = dict(records[10], modified="20261130T120000Z", description="Task 10 changed")
    path = write(tmp_path / "tw.json", [*records, later])
    assert "5,000 added, 1 updated, 0 unchanged" in ok("import", str(path))
    found = json.loads(ok("search", "changed", "--json"))
    assert [t["title"] for t in found] == ["Task 10 changed"]


def test_ctrl_c_in_a_streamed_import_leaves_nothing(tmp_path: Path):
    """SIGINT while the writer thread writes: the import stops at the next batch, the
    writer ends before the rollback, and the store works on."""
    text = json.dumps(tw_records(30000))
    parsed = parse_tasks(text, "taskwarrior", tz=NY, lazy=True)
    with TaskStore(tmp_path / "t.db", tz=NY) as store:
        store.add("keep me")
        with (
            sigint_while_writing(store._conn) as seen,
            pytest.raises(KeyboardInterrupt),
            store.group("import"),
        ):
            store.import_tasks(parsed.stream(), stamps_checked=True, expected=30000)
        assert 2000 <= seen[0] < 4 * 30000  # rows of tasks, tags, search, journal: not all
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert [t.title for t in store.query(TaskQuery(status=None))] == ["keep me"]
        assert store.search("task", status=None) == []
        assert store.add("after").title == "after"


def test_a_failing_writer_stops_the_import(tmp_path: Path):
    """The writer thread's error (a full database) reaches the importing thread as the
    one-line error, and nothing is imported from the stream."""
    records = tw_records(8000)
    for r in records:
        r["description"] += " " + "x" * 300
    parsed = parse_tasks(json.dumps(records), "taskwarrior", tz=NY, lazy=True)
    with TaskStore(tmp_path / "t.db", tz=NY) as store:
        store.add("keep me")
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages + 300}")
        with pytest.raises(TodoError) as info, store.group("import"):
            store.import_tasks(parsed.stream(), stamps_checked=True, expected=8000)
        assert info.value.message.startswith("The disk is full")
        store._conn.execute("PRAGMA max_page_count = 1000000")
        assert [t.title for t in store.query(TaskQuery(status=None))] == ["keep me"]
        assert threading.active_count() == 1 or all(
            t.name != "import-writer" for t in threading.enumerate()
        )


def test_writing_starts_before_the_last_record_is_read(tmp_path: Path):
    """The store takes the records as they are made: by the time the parse reaches the
    end of a big file, the first batches are in the database already."""
    parsed = parse_tasks(json.dumps(tw_records(9000)), "taskwarrior", tz=NY, lazy=True)
    with TaskStore(tmp_path / "t.db", tz=NY) as store:
        changes_seen: list[int] = []

        def watched() -> Any:
            for n, rec in enumerate(parsed.stream()):
                if n == 8999:
                    changes_seen.append(store._conn.total_changes)
                yield rec

        with store.group("import"):
            result = store.import_tasks(watched(), stamps_checked=True, expected=9000)
        assert len(result.added) == 9000
        assert changes_seen[0] >= 2000  # (rows of the batches written so far)


def test_a_stored_task_named_only_after_the_first_batches_is_found(tmp_path: Path):
    """The first batches of a big import name no uuid at all; a later record names a
    stored task (its uuid index dropped by then): that task is updated, not doubled."""
    with TaskStore(tmp_path / "t.db", tz=NY) as store:
        with store.group("first"):
            store.import_tasks([{"title": "Old", "uuid": UUID, "updated_at": EARLY}])
        records: list[dict[str, Any]] = [{"title": f"Task {i}"} for i in range(6000)]
        records.append({"title": "New", "uuid": UUID, "updated_at": LATE})
        with store.group("import"):
            result = store.import_tasks(iter(records), expected=len(records))
        assert (len(result.added), len(result.updated)) == (6000, 1)
        found = [t for t in store.query(TaskQuery(status=None)) if t.uuid == UUID]
        assert [t.title for t in found] == ["New"]


def test_a_streamed_import_into_postgresql_twice_changes_nothing(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
):
    """The same file on the shared store: no writer thread there, the same counts, the
    same tasks, and a second import changes nothing."""
    monkeypatch.setenv("TODO_DATABASE_URL", pg_url)
    first = write(tmp_path / "first.json", tw_records(2, modified="20261122T120000Z"))
    ok("import", str(first))
    again = write(tmp_path / "again.json", tw_records(5000))  # (a big import: from 5,000)
    assert "4,998 added, 2 updated, 0 unchanged, 0 skipped" in ok("import", str(again))
    assert "0 added, 0 updated, 5,000 unchanged" in ok("import", str(again))
    listed = json.loads(ok("list", "--all", "--json", "--limit", "10000"))
    assert len({t["uuid"] for t in listed}) == len(listed) == 5000


def test_an_ignored_ctrl_c_stays_ignored(tmp_path: Path):
    """A process that ignores SIGINT (started in the background by a shell) goes on
    ignoring it through an import with a writer thread: the import completes."""
    parsed = parse_tasks(json.dumps(tw_records(8000)), "taskwarrior", tz=NY, lazy=True)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with TaskStore(tmp_path / "t.db", tz=NY) as store:
            with sigint_while_writing(store._conn), store.group("import"):
                result = store.import_tasks(parsed.stream(), stamps_checked=True, expected=8000)
            assert len(result.added) == 8000
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_a_big_import_on_a_terminal_shows_how_far_it_is(tmp_path: Path, todo_env: dict[str, str]):
    """On a terminal, an import of thousands of records counts the records read on
    stderr, and erases that line before the report; piped, it prints the report alone."""
    path = write(tmp_path / "tw.json", tw_records(6000))
    screen, code, _ = run_on_pty(
        [*TODO_EXE, "tasks", "import", str(path)], todo_env, prompt=b"\x00never", reply=b""
    )
    assert code == 0, screen
    assert "importing… 0 of 6,000 records" in screen
    assert "importing… 6,000 of 6,000 records" in screen
    erased = screen.rindex("\r\x1b[2K")
    assert "importing" not in screen[erased:]
    assert "6,000 added" in screen[erased:]
    again = invoke_cli("tasks", "import", str(path))  # (not a terminal)
    assert again.code == 0 and "importing" not in again.stdout + again.stderr
