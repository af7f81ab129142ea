"""The PostgreSQL store itself: chosen by the URL, its migrations, locks and faults.

The behaviour it shares with the SQLite store is tested on both backends by the store
suite (``store_target``); these are what only a server has.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

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

    assert PG_MIGRATION_NAMES[:4] == (
        "pg001_tasks",
        "pg002_journal",
        "pg003_search",
        "pg004_store_meta",
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
