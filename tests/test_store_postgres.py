"""The PostgreSQL store itself: chosen by the URL, its migrations, locks and faults.

The behaviour it shares with the SQLite store is tested on both backends by the store
suite (``store_target``); these are what only a server has.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers import run_in_threads, run_sql

from todo_cli.config import load_settings
from todo_cli.errors import ExitCode, TodoError
from todo_cli.store import TaskQuery, TaskStore


def test_open_picks_the_backend_from_the_url(
    pg_url: str, todo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TaskStore.open(load_settings()) as local:
        assert local.backend == "sqlite" and local.path == todo_home / "data" / "todo.db"
    monkeypatch.setenv("TODO_DATABASE_URL", pg_url)
    with TaskStore.open(load_settings(), list_name="work") as shared:
        assert shared.backend == "postgresql" and shared.path is None
        assert shared.list_name == "work"
        assert "s3cret" not in shared.location and "***" in shared.location
        shared.add("on the server")
    with TaskStore(todo_home / "data" / "todo.db") as local:
        assert local.count(TaskQuery(status=None)) == 0
    assert run_sql(pg_url, "SELECT title, list FROM tasks") == [("on the server", "work")]


def test_migrations_are_recorded_and_applied_once(pg_url: str) -> None:
    from todo_cli.store.postgres import PG_MIGRATION_NAMES

    assert PG_MIGRATION_NAMES[:5] == (
        "pg001_tasks",
        "pg002_journal",
        "pg003_search",
        "pg004_store_meta",
        "pg005_list_page_index",
    )  # append-only: never rename, reorder or remove one
    with TaskStore(pg_url) as store:
        assert store.pending_migrations() == []
    with TaskStore(pg_url) as store:
        assert store.pending_migrations() == []
    rows = run_sql(pg_url, "SELECT name FROM todo_migrations ORDER BY applied_at, name")
    assert [name for (name,) in rows] == list(PG_MIGRATION_NAMES)


def test_clients_connecting_to_a_new_database_at_once_migrate_it_once(pg_url: str) -> None:
    barrier = threading.Barrier(4)
    ids: list[int] = []

    def open_and_add(n: int) -> None:
        barrier.wait()
        with TaskStore(pg_url) as store:
            ids.append(store.add(f"client {n}").id)

    assert run_in_threads(open_and_add, range(4)) == []
    assert sorted(ids) == [1, 2, 3, 4]
    (count,) = run_sql(pg_url, "SELECT count(*) FROM todo_migrations")[0]
    assert count == len(run_sql(pg_url, "SELECT DISTINCT name FROM todo_migrations"))


def _backend_pid(store: TaskStore) -> int:
    ((pid,),) = store._conn.execute("SELECT pg_backend_pid()").fetchall()
    return int(pid)


def test_a_connection_lost_mid_command_is_one_line_and_writes_nothing(pg_url: str) -> None:
    import psycopg

    store = TaskStore(pg_url)
    first = store.add("first")
    second = store.add("second")
    pid = _backend_pid(store)
    # Another client holds the list's write lock, so the command waits inside its
    # transaction (after BEGIN); its connection is cut while it waits.
    other = TaskStore(pg_url)
    holder = psycopg.connect(pg_url, autocommit=True)
    blocker = threading.Event()
    failure: list[BaseException] = []

    def command() -> None:
        blocker.set()
        try:
            store.complete([first.id, second.id])
        except BaseException as exc:  # noqa: BLE001 - asserted below
            failure.append(exc)

    with other._transaction():  # holds the lock of list "default"
        thread = threading.Thread(target=command)
        thread.start()
        blocker.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until the command waits for the lock
            waiting = holder.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", (pid,)
            ).fetchone()
            if waiting and waiting[0]:
                break
            time.sleep(0.02)
        holder.execute("SELECT pg_terminate_backend(%s)", (pid,))
        thread.join(timeout=10)
    holder.close()
    assert len(failure) == 1 and isinstance(failure[0], TodoError)
    error = failure[0]
    assert error.exit_code == ExitCode.ERROR
    assert "\n" not in error.message and "127.0.0.1:" in error.message
    assert "s3cret" not in error.message + (error.hint or "")
    assert "Nothing was changed" in (error.hint or "")
    # Nothing was written, and the next command reconnects.
    assert [t.status for t in other.get_many([first.id, second.id])] == ["pending", "pending"]
    assert store.complete([first.id])[0].status == "done"
    assert store.undo().label == f"done #{first.id}"
    assert _backend_pid(store) != pid
    other.close()
    store.close()


def test_a_rename_waits_for_a_writer_of_the_target_list(pg_url: str) -> None:
    """The new name must still be free when the rename commits: a client adding the first
    task to that list at the same moment goes first or after, never both."""
    with TaskStore(pg_url) as home, TaskStore(pg_url, list_name="work") as work:
        home.add("a home task")
        results: list[str] = []
        with work._transaction():  # a writer of "work" is in the middle of a change
            work.add("first task of work")
            thread = threading.Thread(
                target=lambda: results.append(_outcome(home.rename_list, "default", "work"))
            )
            thread.start()
            time.sleep(0.3)
            assert results == []  # the rename waits for the lock of "work"
        thread.join(timeout=10)
        assert results == ["UsageError: There is already a list 'work'."]
        assert [i.name for i in home.lists()] == ["default", "work"]


def _outcome(fn, *args) -> str:
    try:
        fn(*args)
    except TodoError as exc:
        return f"{type(exc).__name__}: {exc.message}"
    return "ok"


def test_search_words_prefixes_and_accents(pg_url: str) -> None:
    with TaskStore(pg_url) as store:
        cafe = store.add("Café crème", notes="au lait")
        store.add("Buy milk", tags=["errand"])
        assert store.search("cafe") == [cafe]
        assert store.search("CRÈ") == [cafe]
        assert store.search("caf lait") == [cafe]  # every word, each as a prefix
        assert store.search("caf butter") == []
        assert store.search("'&|!:*()") == []  # no query syntax reaches the server


def test_the_sqlite_store_never_imports_psycopg(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from todo_cli.store import TaskStore\n"
        f"TaskStore({str(tmp_path / 'todo.db')!r}).close()\n"
        "print('psycopg' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_text_with_a_nul_character_is_refused_in_one_line(pg_url: str) -> None:
    with TaskStore(pg_url) as store:
        with pytest.raises(TodoError) as info:
            store.add("nul \x00 inside")
        assert "NUL" in info.value.message and "\n" not in info.value.message
        assert store.count(TaskQuery(status=None)) == 0
        assert store.last_change() is None  # nothing half-written, not even the group


def test_the_cli_works_on_the_server(
    todo, pg_url: str, todo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.setenv("TODO_DATABASE_URL", pg_url)
    assert todo("tasks", "add", "Buy milk", "--due", "tomorrow", "-t", "errand").code == 0
    assert todo("tasks", "--list", "work", "add", "Write report").code == 0
    listed = json.loads(todo("tasks", "list", "--json").out)
    assert [t["title"] for t in listed] == ["Buy milk"] and listed[0]["tags"] == ["errand"]
    assert "Buy milk" in todo("tasks", "search", "mil").out
    assert todo("tasks", "done", str(listed[0]["id"])).code == 0
    undo = todo("tasks", "undo")
    assert undo.code == 0 and "done → pending" in undo.out
    lists = json.loads(todo("lists", "--json").out)
    assert {(i["name"], i["open"]) for i in lists} == {("default", 1), ("work", 1)}
    assert not (todo_home / "data" / "todo.db").exists()  # nothing went to the local file
    missing = todo("tasks", "done", "42")
    assert missing.code == 3 and "No task #42" in missing.err


def test_a_database_from_before_the_page_index_gets_it_and_keeps_its_tasks(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from todo_cli.store import postgres

    first_four = postgres.PG_MIGRATIONS[:4]
    with monkeypatch.context() as patch:  # a database made before pg005
        patch.setattr(postgres, "PG_MIGRATIONS", first_four)
        patch.setattr(postgres, "PG_MIGRATION_NAMES", tuple(f.__name__ for f in first_four))
        with TaskStore(pg_url) as old:
            old.add("undated")
            old.add("later", due="2030-01-02")
            old.add("sooner", due="2030-01-01", priority="low")
            old.add("sooner, high", due="2030-01-01", priority="high")
    indexes = "SELECT indexname FROM pg_indexes WHERE tablename = 'tasks' ORDER BY indexname"
    assert ("tasks_by_list_status_due",) in run_sql(pg_url, indexes)
    with TaskStore(pg_url) as store:
        assert store.pending_migrations() == []
        names = [name for (name,) in run_sql(pg_url, indexes)]
        assert "tasks_by_list_status_page" in names and "tasks_by_list_status_due" not in names
        order = ["sooner, high", "sooner", "later", "undated"]  # undated last
        assert [t.title for t in store.query(TaskQuery(limit=10))] == order
        assert [t.title for t in store.query(TaskQuery())] == order
        by_priority = [t.title for t in store.query(TaskQuery(sort="priority", limit=10))]
        assert by_priority == ["sooner, high", "sooner", "later", "undated"]


def _fill(url: str, list_name: str, count: int, first: int) -> None:
    """``count`` pending tasks in ``list_name`` written straight into the table (fast),
    with dues spread over a year, some undated, some high priority, some waiting."""
    run_sql(
        url,
        "INSERT INTO tasks (id, title, status, priority, due, due_ts, wait_ts, list, uuid,"
        " created_at, updated_at)"
        " SELECT i, 'task ' || i, 'pending',"
        " (ARRAY['none', 'low', 'medium', 'high'])[mod(i, 4) + 1],"
        " CASE WHEN mod(i, 7) = 0 THEN NULL"
        " ELSE to_char(date '2026-01-01' + mod(i, 365)::int, 'YYYY-MM-DD') END,"
        " CASE WHEN mod(i, 7) = 0 THEN NULL ELSE 1767225600 + mod(i, 365) * 86400 + 86399 END,"
        " CASE WHEN mod(i, 50) = 0 THEN 4102444800 END, ?, md5(i::text),"
        " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00'"
        " FROM generate_series(?::bigint, ?::bigint) AS i",
        (list_name, first, first + count - 1),
    )


def test_the_list_page_and_the_counts_read_the_page_index(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the planner does with the store's own SQL on a shared database: a page is read
    in due order from the index and cut there (never every row of the list sorted), and the
    counts of a small list are ranges of it."""
    with TaskStore(pg_url):
        pass  # migrated
    _fill(pg_url, "big", 6000, 1)
    _fill(pg_url, "small", 300, 10_001)
    run_sql(pg_url, "VACUUM ANALYZE tasks")
    seen: list[tuple[str, tuple[Any, ...]]] = []

    def plans(store: TaskStore, call: Callable[[], object]) -> list[str]:
        execute = store._conn.execute

        def recording(sql: str, params: Sequence[Any] = ()) -> Any:
            seen.append((sql, tuple(params)))
            return execute(sql, params)

        seen.clear()
        monkeypatch.setattr(store._conn, "execute", recording)
        call()
        monkeypatch.undo()
        return [
            "\n".join(row[0] for row in run_sql(pg_url, "EXPLAIN " + sql, params))
            for sql, params in seen
            if sql.startswith(("SELECT t.id FROM tasks t", "SELECT p.open_count"))
        ]

    def read_in_index_order(page: str) -> None:
        assert "tasks_by_list_status_page" in page and "Seq Scan on tasks" not in page, page
        # ordered by the index (an incremental sort within equal dues), not sorted whole
        assert not re.search(r"(^|->)\s*Sort\s+\(", page, re.MULTILINE), page

    with TaskStore(pg_url, list_name="big") as big:
        (page,) = plans(big, lambda: big.query(TaskQuery(limit=50)))
        read_in_index_order(page)
        assert len(big.query(TaskQuery(limit=50))) == 50
        # With dependencies, blocked tasks come last: still one index-ordered read of the
        # unblocked ones while the page holds only those.
        soonest, blocker = big.query(TaskQuery(limit=2))
        big.update(soonest.id, blocked_by=[blocker.id])
        (page,) = plans(big, lambda: big.query(TaskQuery(limit=50)))
        read_in_index_order(page)
        listed = [t.id for t in big.query(TaskQuery(limit=50))]
        assert listed[0] == blocker.id and soonest.id not in listed
    with TaskStore(pg_url, list_name="small") as small:
        (counts,) = plans(small, small.stats)
        assert "Seq Scan" not in counts and "tasks_by_list_status_page" in counts, counts
        assert small.stats()["open"] + small.stats()["waiting"] == 300
