"""One list on a real PostgreSQL server shared by several processes and "machines" (each
its own TODO_HOME and user), and the server going away in the middle of a command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import TODO_EXE

# Real processes against a real server: minutes on a loaded machine, not the usual 60 s.
pytestmark = pytest.mark.timeout(300)

WRITER = r"""
import json, sys
from todo_cli.errors import TodoError
from todo_cli.store import TaskStore

url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
ids, errors = [], []
store = TaskStore(url, connect_timeout=10)
sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.readline()  # both writers start together
for i in range(count):
    try:
        if i % 4 == 3:   # every fourth write completes one of this writer's tasks
            store.complete([ids[-2]])
        elif i % 4 == 2:  # and one edits one
            store.update(ids[-1], tags=[name], priority="high")
        else:
            ids.append(store.add(f"{name} {i}").id)
    except TodoError as exc:
        errors.append(str(exc))
store.close()
print(json.dumps({"ids": ids, "errors": errors}))
"""


def test_two_processes_a_thousand_writes_each(pg_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TODO_")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, pg_url, name, "1000"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in ("alpha", "beta")
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    assert [o["errors"] for o in outcomes] == [[], []]  # 0 errors
    ids = [i for o in outcomes for i in o["ids"]]
    assert len(ids) == len(set(ids)) == 1000  # 500 adds each, every id unique

    from todo_cli.store import TaskQuery, TaskStore

    with TaskStore(pg_url) as store:
        tasks = {t.id: t for t in store.query(TaskQuery(status=None, limit=None))}
    assert sorted(tasks) == sorted(ids)  # 0 lost
    for name, outcome in zip(("alpha", "beta"), outcomes, strict=True):
        mine = [tasks[i] for i in outcome["ids"]]
        assert [t.title for t in mine] == [f"{name} {i}" for i in range(1000) if i % 4 < 2]
        # Every edit and completion landed on the task it was meant for.
        assert sum(t.status == "done" for t in mine) == 250
        assert sum(t.tags == [name] and t.priority == "high" for t in mine) == 250


# --------------------------------------------------------------------------- two machines


def _machine(tmp_path: Path, user: str) -> dict[str, str]:
    """What sets one "machine" apart: its own TODO_HOME and user (the CLI runs in-process
    with these set; a process of its own would add nothing but its start-up)."""
    return {"TODO_HOME": str(tmp_path / f"home-{user}"), "USER": user, "LOGNAME": user}


@pytest.fixture
def on(todo: Any) -> Callable[..., Any]:
    """on(machine, *args, ok=True): the CLI on that machine; the exit code checked."""

    def run(machine: dict[str, str], *args: str, ok: bool = True) -> Any:
        result = todo(*args, env=dict(machine))
        if ok:
            assert result.code == 0, (args, result.err)
        return result

    return run


def _list(on: Callable[..., Any], machine: dict[str, str]) -> list[tuple[int, str, str]]:
    tasks = json.loads(on(machine, "tasks", "list", "--all", "--json").out)
    return [(t["id"], t["title"], t["status"]) for t in tasks]


def test_two_machines_share_one_list(pg_url: str, tmp_path: Path, on: Callable[..., Any]) -> None:
    alice, bob = _machine(tmp_path, "alice"), _machine(tmp_path, "bob")
    for env in (alice, bob):  # as the README says: set the URL on each machine
        on(env, "config", "set", "database.url", pg_url)
    on(alice, "tasks", "add", "Buy milk")
    on(bob, "tasks", "add", "Call mom")
    assert (
        _list(on, alice)
        == _list(on, bob)
        == [(1, "Buy milk", "pending"), (2, "Call mom", "pending")]
    )

    # Bob completes Alice's task; she sees it; his undo takes back his own change.
    on(bob, "tasks", "done", "1")
    assert _list(on, alice)[0] == (1, "Buy milk", "done")
    undo = on(bob, "tasks", "undo")
    assert "Buy milk: done → pending" in undo.out
    assert _list(on, alice)[0] == (1, "Buy milk", "pending")

    # Alice adds a task and Bob changes it: her undo of the add refuses, changing nothing.
    on(alice, "tasks", "add", "Pay rent")
    on(bob, "tasks", "edit", "3", "--title", "Pay the rent")
    refused = on(alice, "tasks", "undo", ok=False)
    assert refused.code == 1, refused.err
    assert refused.err.startswith("Error: Cannot undo"), refused.err
    assert len(refused.err.strip().splitlines()) == 1
    assert _list(on, bob) == [
        (1, "Buy milk", "pending"),
        (2, "Call mom", "pending"),
        (3, "Pay the rent", "pending"),
    ]
    # The chat session's task list and the agent read the same store (TaskStore.open).
    from todo_cli.config import load_settings
    from todo_cli.store import TaskStore

    settings = load_settings(environ={**os.environ, **alice})
    assert settings.database.url == pg_url
    with TaskStore.open(settings) as store:
        assert store.backend == "postgresql"
        assert [t.title for t in store.query()] == ["Buy milk", "Call mom", "Pay the rent"]


# --------------------------------------------------------------------------- outage


def _count(url: str) -> int:
    from todo_cli.store import TaskQuery, TaskStore

    with TaskStore(url) as store:
        return len(store.query(TaskQuery(status=None, limit=None)))


def _active_transaction(admin: Any, dbname: str) -> bool:
    """The import is writing: a transaction of ours whose statement inserts tasks."""
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND xact_start IS NOT NULL"
        " AND application_name = 'todo' AND query ILIKE '%%insert into tasks%%'",
        (dbname,),
    ).fetchone()
    return bool(row and row[0])


def test_the_server_stopped_mid_command(
    pg_own_server: Any, tmp_path: Path, on: Callable[..., Any]
) -> None:
    url = pg_own_server.create_database("shared")
    machine = {**_machine(tmp_path, "carol"), "TODO_DATABASE_URL": url}
    on(machine, "tasks", "add", "Before")
    records = [
        {"title": f"Imported {i}", "uuid": f"00000000-0000-4000-8000-{i:012d}"}
        for i in range(40000)
    ]
    big = tmp_path / "big.json"
    big.write_text(json.dumps(records))

    # The import is a process of its own: it runs while this test stops the server.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TODO_", "PG"))}
    importing = subprocess.Popen(
        [*TODO_EXE, "tasks", "import", str(big)],
        env={**env, **machine, "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    admin = pg_own_server.admin()
    deadline = time.monotonic() + 60
    while not _active_transaction(admin, "shared"):
        assert importing.poll() is None, importing.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    pg_own_server.stop("fast")  # ends every session, the import's among them
    out, err = importing.communicate(timeout=60)
    assert importing.returncode == 1, (out, err)
    assert err.startswith(f"Error: Lost the database at 127.0.0.1:{pg_own_server.port}"), err
    assert len(err.strip().splitlines()) == 1
    assert "s3cret" not in err

    # While it is down: one line naming the server, exit 1, within the timeout.
    start = time.monotonic()
    down = on(machine, "tasks", "list", ok=False)
    assert time.monotonic() - start < 30
    assert down.code == 1
    assert down.err.startswith(
        f"Error: Cannot connect to the database at 127.0.0.1:{pg_own_server.port}: "
        "connection refused"
    ), down.err

    pg_own_server.start_again()
    assert _count(url) == 1  # nothing half-written: the import was all or nothing
    titles = [t[1] for t in _list(on, machine)]
    assert titles == ["Before"]
    on(machine, "tasks", "add", "After")  # works again
    assert [t[1] for t in _list(on, machine)] == ["Before", "After"]
