"""`todo db copy` between the SQLite file and a real PostgreSQL server, and `todo db status`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from todo_cli.errors import ExitCode

PASSWORD = "s3cret-pw-Xy7"  # the test cluster's role password (tests/pgcluster.py)


def _tasks(todo, *args: str) -> list[dict[str, Any]]:
    result = todo("tasks", *args, "list", "--all", "--json", "--limit", "0")
    assert result.code == 0, result.err
    return json.loads(result.out)


def _by_uuid(tasks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Tasks keyed by uuid, their links (ids differ between databases) as uuids."""
    uuid_of = {t["id"]: t["uuid"] for t in tasks}
    out = {}
    for t in tasks:
        same = {k: v for k, v in t.items() if k not in ("id", "parent", "blocked_by")}
        same["parent"] = uuid_of.get(t["parent"]) if t["parent"] else None
        same["blocked_by"] = sorted(uuid_of[b] for b in t["blocked_by"])
        out[t["uuid"]] = same
    return out


def _history(todo, title: str) -> list[dict[str, Any]]:
    task = next(t for t in _tasks(todo) if t["title"] == title)
    shown = json.loads(todo("tasks", "show", str(task["id"]), "--json").out)
    return shown["completions"]


def _some_tasks(todo) -> None:
    for args in (
        ["Plan trip", "--due", "2026-12-20", "-p", "high", "-t", "travel", "-P", "home"],
        ["Water plants", "--repeat", "every monday", "--notes", "the big ones too"],
        ["Book flights", "--parent", "1"],
        ["Pack", "--parent", "1", "--blocked-by", "3"],
    ):
        assert todo("tasks", "add", "--raw", *args).code == 0
    assert todo("tasks", "done", "2").code == 0  # a completion of the repeating task
    assert todo("tasks", "done", "3").code == 0


def test_copy_to_the_server_and_again_changes_nothing(
    todo, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _some_tasks(todo)
    local = _tasks(todo)
    local_history = _history(todo, "Water plants")

    first = todo("db", "copy", "--to", pg_url)
    assert first.code == 0, first.err
    masked = pg_url.replace(PASSWORD, "***")
    assert first.out.startswith("Copied list default from ")
    assert "todo.db (sqlite) to " in first.out
    assert f"(sqlite) to {masked} (postgresql): 4 added, 0 updated, 0 unchanged." in first.out
    assert PASSWORD not in first.out + first.err

    again = todo("db", "copy", "--to", pg_url, "--json")
    assert again.code == 0, again.err
    report = json.loads(again.out)
    assert (report["added"], report["updated"], report["unchanged"]) == (0, 0, 4)
    assert report["to"] == {"backend": "postgresql", "location": masked}
    assert report["lists"] == ["default"]

    # The server now has the same tasks: every field, links, and the completion history.
    monkeypatch.setenv("TODO_DATABASE_URL", pg_url)
    remote = _tasks(todo)
    assert _by_uuid(remote) == _by_uuid(local)
    assert _history(todo, "Water plants") == local_history
    # One undo step on the receiving side takes the whole copy back.
    undone = todo("tasks", "undo")
    assert undone.code == 0, undone.err
    assert PASSWORD not in undone.out + undone.err
    assert _tasks(todo) == []


def test_a_change_travels_and_copying_back_is_matched_by_uuid(
    todo, pg_url: str, monkeypatch: pytest.MonkeyPatch, todo_home: Path
) -> None:
    _some_tasks(todo)
    assert todo("db", "copy", "--to", pg_url).code == 0
    # Changed on the server (another machine), then copied back with --from. Timestamps
    # have whole seconds: a change within the second of the copy would not look newer.
    time.sleep(1.1)
    monkeypatch.setenv("TODO_DATABASE_URL", pg_url)
    assert todo("tasks", "edit", "1", "--title", "Plan the trip").code == 0
    assert todo("tasks", "add", "Renew passport").code == 0
    remote = _tasks(todo)
    monkeypatch.delenv("TODO_DATABASE_URL")
    back = todo("db", "copy", "--from", pg_url)
    assert back.code == 0, back.err
    assert back.out.endswith("(sqlite): 1 added, 1 updated, 3 unchanged.\n"), back.out
    assert _by_uuid(_tasks(todo)) == _by_uuid(remote)
    assert todo("db", "copy", "--from", pg_url).out.endswith("0 added, 0 updated, 5 unchanged.\n")


def test_from_the_server_to_a_file_and_every_list(
    todo, pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TODO_DATABASE_URL", pg_url)
    assert todo("tasks", "add", "Buy milk").code == 0
    assert todo("tasks", "--list", "work", "add", "Write report").code == 0
    assert todo("tasks", "--list", "work", "add", "Send report", "--blocked-by", "2").code == 0
    backup = tmp_path / "backup.db"
    one = todo("db", "copy", "--to", f"sqlite:{backup}")
    assert one.code == 0, one.err
    assert "Copied list default from postgresql://todo_test:***@" in one.out
    assert one.out.endswith("(sqlite): 1 added, 0 updated, 0 unchanged.\n")
    every = json.loads(todo("db", "copy", "--to", f"sqlite:{backup}", "--all-lists", "--json").out)
    assert every["lists"] == ["default", "work"]
    assert (every["added"], every["unchanged"]) == (2, 1)

    from todo_cli.store import TaskQuery, TaskStore

    def work_tasks(target: str | Path) -> list[dict[str, Any]]:
        with TaskStore(target, list_name="work") as store:
            return [t.to_dict() for t in store.query(TaskQuery(status=None, sort="id"))]

    copied = work_tasks(backup)
    assert _by_uuid(copied) == _by_uuid(work_tasks(pg_url))
    assert [bool(t["blocked_by"]) for t in copied] == [False, True]  # the dependency came


def test_status_names_the_backend_with_the_password_masked(
    todo, pg_url: str, monkeypatch: pytest.MonkeyPatch, todo_home: Path
) -> None:
    assert todo("tasks", "add", "One").code == 0
    local = todo("db", "status")
    assert local.code == 0, local.err
    assert local.out.startswith(f"Tasks are in the SQLite file {todo_home}/data/todo.db.\n")
    assert "1 list: 1 open, 0 done" in local.out

    monkeypatch.setenv("TODO_DATABASE_URL", pg_url)
    remote = todo("db", "status")
    assert remote.code == 0, remote.err
    masked = pg_url.replace(PASSWORD, "***")
    assert f"Tasks are in the PostgreSQL server {masked} (database.url from the environment)." in (
        remote.out
    )
    assert PASSWORD not in remote.out + remote.err
    data = json.loads(todo("db", "status", "--json").out)
    assert data["backend"] == "postgresql"
    assert data["location"] == masked
    assert data["migrations"]["applied"] == data["migrations"]["total"] > 0
    assert data["lists"] == [{"name": "default", "open": 0, "done": 0, "current": True}]


def test_copy_refuses_what_makes_no_sense(
    todo, pg_server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cases = [
        (["db", "copy"], ExitCode.USAGE, "Error: Give one of --to DB or --from DB."),
        (["db", "copy", "--to", "x.db", "--from", "y.db"], ExitCode.USAGE, "Error: Give one of"),
        (["db", "copy", "--to", "sqlite"], ExitCode.USAGE, "is the database in use"),
        (
            ["db", "copy", "--to", "mysql://me:hunter2@db/x"],
            ExitCode.USAGE,
            "Error: Not a database",
        ),
        (
            ["db", "copy", "--from", str(tmp_path / "nope.db")],
            ExitCode.NOT_FOUND,
            "Error: No task database at",
        ),
        (
            ["db", "copy", "--to", "x.db", "--list", "a", "--all-lists"],
            ExitCode.USAGE,
            "Error: Give --list",
        ),
    ]
    for argv, code, start in cases:
        result = todo(*argv)
        assert result.code == code, (argv, result.err)
        assert start in result.err, (argv, result.err)
        assert len(result.err.strip().splitlines()) == 1
        assert "hunter2" not in result.err
    # A server that refuses the password: one line naming it, exit 1, nothing written.
    wrong = pg_server.url("postgres", password="hunter2")
    assert todo("tasks", "add", "Local").code == 0
    refused = todo("db", "copy", "--to", wrong)
    assert refused.code == ExitCode.ERROR
    assert refused.err.startswith(
        f"Error: Cannot connect to the database at 127.0.0.1:{pg_server.port}: "
        "authentication failed"
    )
    assert "hunter2" not in refused.err
    assert len(refused.err.strip().splitlines()) == 1
    monkeypatch.setenv("TODO_DATABASE_URL", pg_server.url("postgres"))
    same = todo("db", "copy", "--to", pg_server.url("postgres"))
    assert same.code == ExitCode.USAGE and "is the database in use" in same.err


def test_from_sqlite_names_this_machines_file(
    todo, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _some_tasks(todo)
    monkeypatch.setenv("TODO_DATABASE_URL", pg_url)
    moved = todo("db", "copy", "--from", "sqlite")
    assert moved.code == 0, moved.err
    assert moved.out.endswith("(postgresql): 4 added, 0 updated, 0 unchanged.\n"), moved.out
    assert sorted(t["title"] for t in _tasks(todo)) == [
        "Book flights",
        "Pack",
        "Plan trip",
        "Water plants",
    ]
    status = json.loads(todo("db", "status", "--json").out)
    assert status["lists"][0]["open"] + status["lists"][0]["done"] == 4
