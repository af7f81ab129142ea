"""Damaged, full and read-only storage fail in one line and lose nothing.

Faults are real where the machine allows it: a full disk is a small tmpfs (mounted when the
tests run as root, skipped otherwise) and SQLite's own size limit (``max_page_count``, which
fails a commit exactly as a full disk does); a damaged file has garbage written over one of
its pages; a read-only folder is a read-only mount (root) or a folder without write access.
The commands run through the real CLI entry point in-process (``cli``), each with its own
``TODO_HOME`` when a test gives one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import fakeserver
import pytest
from fakeserver import FakeServer

from todo_cli.errors import TodoError
from todo_cli.store import DatabaseDamagedError, TaskQuery, TaskStore

fake_server = fakeserver.fake_server


@pytest.fixture
def cli(todo):
    """cli(*args, home=None): `todo ARGS` with empty stdin, in TODO_HOME ``home`` if given."""

    def run(*args: str, home: Path | None = None):
        return todo(*args, stdin="", env={"TODO_HOME": str(home)} if home else None)

    return run


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("Error: "), err
    assert "Traceback" not in err
    return err


def titles(cli, home: Path | None = None) -> list[str]:
    out = cli("tasks", "export", home=home)
    assert out.code == 0, out.err
    return [t["title"] for t in json.loads(out.out)]


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    """An empty folder that a test may mount a small tmpfs on (root only)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    point = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
    point.mkdir()
    yield point
    subprocess.run(["umount", "-l", str(point)], capture_output=True)


def mount_tmpfs(point: Path, size: str) -> None:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


# --- a full disk -------------------------------------------------------------------------


def test_commit_on_a_full_disk_says_so_and_keeps_every_task(mount_point: Path, cli) -> None:
    mount_tmpfs(mount_point, "1m")
    home = mount_point / "home"
    added: list[str] = []
    failure = None
    for n in range(200):
        title = f"task {n} " + "x" * 40_000  # a few adds fill the disk
        done = cli("tasks", "add", title, home=home)
        if done.code != 0:
            failure = done
            break
        added.append(title)
    assert failure is not None, "the disk never filled up"
    assert added, "the disk was full from the start"
    assert failure.code == 1
    assert one_line(failure.err).startswith("Error: The disk is full: the change was not saved")
    assert "free some space" in failure.err
    # every task added before is intact, and reading works on the full disk
    assert titles(cli, home) == added
    for args in (["tasks", "list"], ["tasks", "show", "1"], ["tasks", "search", "task"]):
        done = cli(*args, home=home)
        assert done.code == 0, (args, done.err)
    # after space is freed, writing works again
    subprocess.run(["mount", "-o", "remount,size=4m", str(mount_point)], check=True)
    assert cli("tasks", "add", "after", home=home).code == 0
    assert titles(cli, home) == [*added, "after"]


def test_sqlite_size_limit_at_commit_fails_cleanly(tmp_path: Path) -> None:
    """The same fault without root: SQLite's page limit fails a commit with SQLITE_FULL."""
    with TaskStore(tmp_path / "todo.db") as store:
        store.add("keep me")
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(TodoError) as info:
            for n in range(100):
                store.add(f"task {n} " + "y" * 3000)
        assert info.value.message.startswith("The disk is full")
        assert "intact" in str(info.value.hint)
        kept = [t.title for t in store.query(TaskQuery(status=None, sort="id"))]
        assert kept[0] == "keep me"
        store._conn.execute("PRAGMA max_page_count = 1000000")
        store.add("later")  # the connection is usable again
    with TaskStore(tmp_path / "todo.db") as store:
        assert [t.title for t in store.query(TaskQuery(status=None, sort="id"))][-1] == "later"


# --- a damaged file ----------------------------------------------------------------------


def damage(path: Path) -> int:
    """Write garbage over one page holding task rows (a disk that lost a sector)."""
    with sqlite3.connect(path) as conn:
        try:
            pages = [
                row[0]
                for row in conn.execute(
                    "SELECT pageno FROM dbstat WHERE name = 'tasks' AND pagetype = 'leaf'"
                    " ORDER BY pageno"
                )
            ]
        except sqlite3.OperationalError:
            pytest.skip("this SQLite has no dbstat table to find a page of tasks")
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    victim = pages[len(pages) // 2]
    with path.open("r+b") as fh:
        fh.seek((victim - 1) * size + 100)
        fh.write(b"\xff" * (size - 200))
    return victim


@pytest.fixture
def damaged(todo_env: dict[str, str], todo_home: Path) -> Path:
    from todo_cli.config import get_paths

    path = get_paths().ensure().db_file
    with TaskStore(path) as store:
        store.import_tasks([{"title": f"task {n} " + "words " * 30} for n in range(300)])
        store.add("the last one")
    damage(path)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_damaged_database_names_the_file_and_refuses_writes(damaged: Path, cli) -> None:
    # the first page (ids 1-100) sits on intact pages and lists; reading every row reaches
    # the damaged page and says so
    assert cli("tasks", "list").code == 0
    listed = cli("tasks", "list", "--limit", "0")
    assert listed.code == 1
    err = one_line(listed.err)
    assert f"The task database {damaged} is damaged (database disk image is malformed)" in err
    assert "todo tasks export -o tasks-backup.json" in err and "move todo.db aside" in err
    before = digest(damaged)
    for args in (["tasks", "add", "more"], ["tasks", "undo"], ["tasks", "done", "1"]):
        done = cli(*args)
        assert done.code == 1, args
        assert "is damaged, so nothing is written to it" in one_line(done.err)
    assert digest(damaged) == before  # not one byte written
    # rows on intact pages can still be read one by one
    assert cli("tasks", "show", "1").code == 0
    search = cli("tasks", "search", "task")
    assert search.code in (0, 1) and "Traceback" not in search.err


def test_export_salvages_every_readable_row_and_the_import_restores_them(
    damaged: Path, cli, tmp_path: Path
) -> None:
    backup = tmp_path / "tasks-backup.json"
    out = cli("tasks", "export", "-o", str(backup))
    assert out.code == 0, out.err
    saved = json.loads(backup.read_text())
    lost = 301 - len(saved)
    assert 0 < lost < 40, lost  # one page of rows, not the whole list
    assert f"Warning: {damaged} is damaged; exported the {len(saved)} tasks that could" in out.err
    assert saved[-1]["title"] == "the last one"
    # the fix the error line gives: move the file aside, import the backup
    damaged.rename(damaged.with_name("todo.db.bad"))
    imported = cli("tasks", "import", str(backup))
    assert imported.code == 0, imported.err
    assert cli("tasks", "add", "works again").code == 0  # the old mark is gone
    assert len(titles(cli)) == len(saved) + 1


def test_an_empty_database_file_is_reported(cli, todo_home: Path) -> None:
    path = todo_home / "data" / "todo.db"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    done = cli("tasks", "list")
    assert done.code == 0, done.err
    assert done.err.startswith(f"Warning: the task database {path} was an empty file (0 bytes)")
    again = cli("tasks", "list")
    assert again.err == ""  # said once: now it is a real, empty database


# --- a read-only folder ------------------------------------------------------------------


def read_only(path: Path, mount_point: Path | None) -> None:
    if mount_point is not None:
        subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)
    else:
        for p in (path, path.parent):
            p.chmod(0o555 if p.is_dir() else 0o444)


@pytest.fixture
def ro_home(tmp_path: Path, cli) -> Iterator[tuple[Path, Path]]:
    """A TODO_HOME with two tasks whose data folder then becomes read-only."""
    point: Path | None = None
    if os.geteuid() == 0:  # root writes through permissions: use a read-only mount
        point = tmp_path / "ro"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(point)], capture_output=True
        )
        if done.returncode != 0:
            pytest.skip("root without mount: cannot make a folder read-only")
        home = point / "home"
    else:
        home = tmp_path / "home"
    assert cli("tasks", "add", "Buy milk", "-t", "shop", home=home).code == 0
    assert cli("tasks", "add", "Call mom", home=home).code == 0
    read_only(home / "data" / "todo.db", point)
    try:
        yield home, home / "data" / "todo.db"
    finally:
        if point is not None:
            subprocess.run(["umount", "-l", str(point)], capture_output=True)
        else:
            (home / "data").chmod(0o755)


def test_reading_commands_work_in_a_read_only_folder(ro_home, cli) -> None:
    home, path = ro_home
    listed = cli("tasks", "list", home=home)
    assert listed.code == 0, listed.err
    assert "Buy milk" in listed.out and "Call mom" in listed.out
    assert cli("tasks", "show", "1", home=home).code == 0
    assert "Buy milk" in cli("tasks", "search", "milk", home=home).out
    assert titles(cli, home) == ["Buy milk", "Call mom"]
    added = cli("tasks", "add", "more", home=home)
    assert added.code == 1
    assert one_line(added.err).startswith(
        f"Error: Cannot change the task database {path}: it is read-only."
    )


# --- a damaged conversations.db ----------------------------------------------------------


def test_a_damaged_conversation_store_is_moved_aside_and_the_chat_goes_on(
    fake_server: FakeServer, todo_home: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake_server.url)
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-x")

    def chat(*args: str) -> tuple[int, str, str]:  # in-process: the SDK loads once
        r = cli("chat", *args)
        return r.code, r.out, r.err

    fake_server.add_text("Hello.")
    assert chat("hi")[0] == 0
    store = todo_home / "data" / "conversations.db"
    store.write_bytes(b"not a database at all " * 200)
    fake_server.add_text("Still here.")
    code, out, err = chat("-c", "are you there?")
    assert code == 0, err
    assert out == "Still here.\n"
    assert f"The conversation store {store} is damaged (file is not a database)" in err
    assert "started a new conversation" in err
    kept = [
        p.name for p in store.parent.iterdir() if p.name.startswith("conversations.db.damaged-")
    ]
    assert len(kept) == 1
    fake_server.add_text("And again.")
    assert chat("-c", "once more")[1] == "And again.\n"


def test_library_reads_of_a_damaged_store_raise_the_clear_error(damaged: Path) -> None:
    with TaskStore(damaged) as store:
        with pytest.raises(DatabaseDamagedError) as info:
            store.query(TaskQuery(status=None, limit=None))
        assert str(damaged) in info.value.message
        # a page is read by id after its ids: ids whose rows cannot be read are the same
        # error, never tasks quietly left out of the page
        assert len(store.query(TaskQuery(status=None, sort="id", limit=50))) == 50
        for sort in ("id", "due", "priority"):
            with pytest.raises(DatabaseDamagedError) as info:
                store.query(TaskQuery(status=None, sort=sort, limit=300, offset=1))
            assert "is damaged (database disk image is malformed)" in info.value.message
        found, highest = store.salvage()
        assert highest == 301 and 260 < len(found) < 301


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("POSIX file systems only")


def test_conversation_store_failures_during_a_turn_are_not_blamed_on_the_provider() -> None:
    from todo_cli.agent import ChatSession
    from todo_cli.config import load_settings

    chat = ChatSession(load_settings())
    full = chat.conversation_store.history_error(
        sqlite3.OperationalError("database or disk is full")
    )
    assert full.message.startswith("The disk is full: the conversation could not be saved")
    broken = chat.conversation_store.history_error(
        sqlite3.DatabaseError("database disk image is malformed")
    )
    assert "conversations.db failed (database disk image is malformed)" in broken.message
    assert "Move conversations.db aside" in str(broken.hint)
