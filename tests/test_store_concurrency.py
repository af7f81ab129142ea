"""Several processes and threads writing to one store at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from helpers import run_in_threads

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
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM journal_groups").fetchone()[0] == 1000
        assert conn.execute("SELECT count(*) FROM tasks_fts").fetchone()[0] == 1000


def test_threads_share_one_store(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "todo.db")
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        barrier.wait()
        for i in range(40):
            task = store.add(f"thread {n} task {i}", tags=[f"t{n}"])
            store.update(task.id, priority="high")
            store.query(TaskQuery(tag=f"t{n}", limit=5))
            store.search(f"thread {n}")
            if i % 4 == 0:
                store.complete([task.id])

    errors = run_in_threads(work, range(8))
    assert errors == []
    assert store.count(TaskQuery(status=None)) == 320
    assert store.count(TaskQuery(status="done")) == 80
    assert store.count(TaskQuery(status=None, priority="high")) == 320
    store.close()


def test_one_group_across_worker_threads(tmp_path: Path) -> None:
    """An agent turn: the group is opened on one thread, tools run on others."""
    with TaskStore(tmp_path / "todo.db") as store:
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
