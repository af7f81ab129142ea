"""Several processes and threads writing to one store at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from helpers import run_in_threads, run_sql

from todo_cli.store import TaskQuery, TaskStore

WRITER = """
import sys, time
from pathlib import Path
from todo_cli.store import TaskStore

path, name, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
store = TaskStore(path)
while not go.exists():  # start both writers at the same moment
    time.sleep(0.005)
for i in range(500):
    store.add(f"{name} {i}", tags=[name], due="tomorrow" if i % 2 else None)
store.close()
"""


def test_two_processes_add_500_tasks_each(tmp_path: Path) -> None:
    # SQLite: two processes on one file (PostgreSQL: the two-connection tests below).
    path = tmp_path / "todo.db"
    TaskStore(path).close()  # both writers find the schema in place
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("alpha", "beta")
    ]
    time.sleep(0.3)  # let both processes import and open the store
    go.touch()
    results = [p.communicate(timeout=60) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
    with TaskStore(path) as store:
        assert store.count(TaskQuery(status=None)) == 1000
        assert store.count(TaskQuery(tag="alpha")) == 500
        assert store.count(TaskQuery(tag="beta")) == 500
        assert len(store.search("beta", limit=None)) == 500
        assert len({t.id for t in store.query(TaskQuery(status=None))}) == 1000
    assert run_sql(path, "SELECT count(*) FROM journal_groups") == [(1000,)]
    assert run_sql(path, "SELECT count(*) FROM tasks_fts") == [(1000,)]


def test_threads_share_one_store(store_target: Path | str) -> None:
    store = TaskStore(store_target)
    barrier = threading.Barrier(8)

    rounds = 40 if isinstance(store_target, Path) else 12  # a server round trip costs more

    def work(n: int) -> None:
        barrier.wait()
        for i in range(rounds):
            task = store.add(f"thread {n} task {i}", tags=[f"t{n}"])
            store.update(task.id, priority="high")
            store.query(TaskQuery(tag=f"t{n}", limit=5))
            store.search(f"thread {n}")
            if i % 4 == 0:
                store.complete([task.id])

    errors = run_in_threads(work, range(8))
    assert errors == []
    assert store.count(TaskQuery(status=None)) == 8 * rounds
    assert store.count(TaskQuery(status="done")) == 2 * rounds
    assert store.count(TaskQuery(status=None, priority="high")) == 8 * rounds
    store.close()


def test_one_group_across_worker_threads(store_target: Path | str) -> None:
    """An agent turn: the group is opened on one thread, tools run on others."""
    with TaskStore(store_target) as store:
        keep = store.add("before the turn")
        with store.group("turn"):
            threads = [threading.Thread(target=store.add, args=(f"tool {i}",)) for i in range(5)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert store.count() == 6
        result = store.undo()
        assert result.label == "turn" and len(result.changes) == 5
        assert store.query() == [keep]


def test_a_reader_does_not_block_a_writer_in_another_process(tmp_path: Path) -> None:
    # SQLite only: WAL readers (a PostgreSQL reader never blocks a writer).
    path = tmp_path / "todo.db"
    with TaskStore(path) as store:
        store.add("x")
        reader = sqlite3.connect(path)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM tasks").fetchone()  # holds a read snapshot
        store.add("y")  # WAL: no waiting for the reader
        assert reader.execute("SELECT count(*) FROM tasks").fetchone()[0] == 1
        reader.rollback()
        reader.close()
        assert store.count() == 2


def test_two_connections_change_the_same_task_at_once(store_target: Path | str) -> None:
    """Each client reads the task, adds a tag and writes it back, 50 times, both at the same
    moment: no update is lost (the second writer waits for the first and reads its tags)."""
    with TaskStore(store_target) as setup:
        task = setup.add("shared")
    stores = [TaskStore(store_target) for _ in range(2)]
    barrier = threading.Barrier(2)

    def work(n: int) -> None:
        barrier.wait()
        for i in range(50):
            stores[n].update(task.id, add_tags=[f"c{n}-{i}"])

    assert run_in_threads(work, range(2)) == []
    for store in stores:
        store.close()
    with TaskStore(store_target) as store:
        tags = store.get(task.id).tags
        assert len(tags) == 100 and len(set(tags)) == 100
        assert len(store.search("c0", limit=None)) == 1  # search follows every write
        changes = run_sql(
            store_target, "SELECT count(*) FROM journal WHERE task_id = ?", (task.id,)
        )
        assert changes == [(101,)]


def test_concurrent_adds_get_unique_ids_and_undo_takes_each_group_once(
    store_target: Path | str,
) -> None:
    """Four connections add 25 tasks each at once (plus one import of 25 each), then undo
    all of it at once: every id is unique, and each change is undone exactly once."""
    stores = [TaskStore(store_target) for _ in range(4)]
    barrier = threading.Barrier(4)

    def add(n: int) -> None:
        barrier.wait()
        for i in range(25):
            stores[n].add(f"client {n} task {i}")
        stores[n].import_tasks([{"title": f"client {n} imported {i}"} for i in range(25)])

    assert run_in_threads(add, range(4)) == []
    with TaskStore(store_target) as store:
        tasks = store.query(TaskQuery(status=None, limit=None))
        assert len(tasks) == 200 and len({t.id for t in tasks}) == 200
    undone: list[str] = []

    def undo(n: int) -> None:
        barrier.wait()
        for _ in range(26):
            undone.append(stores[n].undo().group_id)

    assert run_in_threads(undo, range(4)) == []
    assert len(undone) == 104 and len(set(undone)) == 104
    for store in stores:
        store.close()
    with TaskStore(store_target) as store:
        assert store.count(TaskQuery(status=None)) == 0
