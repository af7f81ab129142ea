"""An import's parents and blockers follow the rules `todo tasks edit` enforces (subtasks
one level deep, nobody their own parent or blocker, no dependency cycle), whatever order or
shape the file has: a link the model cannot hold is left out and named in the report, and
every task of the file stays on the list."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from todo_cli.interchange import export_taskwarrior, import_report, parse_tasks
from todo_cli.store import TaskQuery, TaskStore

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=NY)


@pytest.fixture
def store(store_target: Path | str):
    with TaskStore(store_target, tz=NY, clock=lambda: NOW) as s:  # SQLite, then PostgreSQL
        yield s


def _import(store: TaskStore, records: list[dict[str, Any]]) -> list[str]:
    parsed = parse_tasks(json.dumps(records), "auto", tz=NY)
    with store.group("import"):
        result = store.import_tasks(parsed.records, stamps_checked=parsed.stamps_checked)
    return import_report(parsed, result, "tasks.json")


def _everything(store: TaskStore) -> dict[str, Any]:
    return {t.title: t for t in store.query(TaskQuery(status=None, sort="id"))}


def _assert_the_model_holds(store: TaskStore) -> None:
    tasks = {t.id: t for t in store.query(TaskQuery(status=None, sort="id"))}
    for t in tasks.values():
        if t.parent is not None:
            assert t.parent != t.id
            assert tasks[t.parent].parent is None, (t.title, "subtask of a subtask")
        assert t.id not in t.blocked_by
    # no cycle: every task is reached from the ones nothing blocks, blockers first
    done: set[int] = set()
    while len(done) < len(tasks):
        free = [i for i, t in tasks.items() if i not in done and set(t.blocked_by) <= done]
        assert free, f"a dependency cycle among {sorted(set(tasks) - done)}"
        done.update(free)


def test_our_json_with_impossible_links_imports_every_task_and_says_what_it_left(store):
    lines = _import(
        store,
        [
            {"id": 1, "title": "a", "parent": 2},
            {"id": 2, "title": "b", "parent": 1},  # a parent cycle
            {"id": 3, "title": "c", "parent": 1},  # a is a subtask by now
            {"id": 4, "title": "d", "parent": 4},
            {"id": 5, "title": "e", "blocked_by": [6]},
            {"id": 6, "title": "f", "blocked_by": [5, 6]},
            {"id": 7, "title": "g", "parent": 99, "blocked_by": [98]},
        ],
    )
    tasks = _everything(store)
    assert sorted(tasks) == ["a", "b", "c", "d", "e", "f", "g"]  # nothing lost
    assert tasks["a"].parent == tasks["b"].id  # the file's first link of the cycle stays
    assert tasks["b"].parent is None and tasks["c"].parent is None and tasks["d"].parent is None
    assert tasks["e"].blocked_by == [tasks["f"].id] and tasks["f"].blocked_by == []
    _assert_the_model_holds(store)
    # every one shows: the default list view hides no task that has a parent gone wrong
    pending = {t.title for t in store.query(TaskQuery())}
    assert pending == set(tasks)
    assert lines[-1] == (
        "Links left out: a subtask of a subtask (subtasks are one level deep) 2,"
        " a task as its own parent 1, a task blocked by itself 1, a dependency cycle 1,"
        " a parent not in the file 1, a blocker not imported and not in the list 1."
    )


U = [f"{n}0000000-cb00-4853-9d2c-67eda13ffe79" for n in range(1, 6)]


def _tw(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "uuid": U[n],
        "description": f"task {n}",
        "status": "pending",
        "entry": "20261101T100000Z",
        "modified": "20261101T100000Z",
        **fields,
    }


def test_a_taskwarrior_dependency_cycle_is_broken_once_and_goes_back_as_it_came(store):
    records = [
        _tw(0, depends=f"{U[2]}"),
        _tw(1, depends=[U[0]]),
        _tw(2, depends=[U[1], U[2]]),  # 2 -> 1 -> 0 -> 2 closes a cycle; 2 -> 2 itself
        _tw(3, depends=[U[4]]),  # a task not in the file
    ]
    lines = _import(store, records)
    assert lines[-1] == (
        "Links left out: a task blocked by itself 1, a dependency cycle 1,"
        " a blocker not imported and not in the list 1."
    )
    tasks = _everything(store)
    _assert_the_model_holds(store)
    assert tasks["task 1"].blocked_by == [tasks["task 0"].id]
    assert tasks["task 0"].blocked_by == [tasks["task 2"].id]
    assert tasks["task 2"].blocked_by == []
    # unchanged in todo, each goes back to Taskwarrior with the depends it came with
    out = json.loads(export_taskwarrior(store.query(TaskQuery(status=None, sort="id")), tz=NY))
    assert {r["uuid"]: r.get("depends") for r in out} == {r["uuid"]: r["depends"] for r in records}
    # importing the same file again changes nothing and leaves nothing more out
    again = _import(store, records)
    assert again[0].startswith("Imported tasks.json: 0 added, 0 updated, 4 unchanged")
    assert not any(line.startswith("Links left out") for line in again)


def test_a_blocker_deleted_in_taskwarrior_is_named_as_not_imported(store):
    lines = _import(store, [_tw(0, depends=[U[1]]), _tw(1, status="deleted")])
    assert lines[0].endswith("1 added, 0 updated, 0 unchanged, 1 skipped (1 deleted).")
    assert lines[-1] == "Links left out: a blocker not imported and not in the list 1."
    assert _everything(store)["task 0"].blocked_by == []


def test_a_cycle_through_a_stored_task_is_refused_like_an_edit(store):
    _import(store, [_tw(0), _tw(1, depends=[U[0]])])  # 1 is blocked by 0
    newer = _tw(0, depends=[U[1]], modified="20261102T100000Z")  # 0 blocked by 1: a cycle
    lines = _import(store, [newer])
    assert "updated" in lines[0] and lines[-1] == "Links left out: a dependency cycle 1."
    tasks = _everything(store)
    assert tasks["task 0"].blocked_by == []
    assert tasks["task 1"].blocked_by == [tasks["task 0"].id]
    _assert_the_model_holds(store)


def test_a_long_chain_of_dependencies_imports_in_either_order(store):
    chain = [_tw(0)] + [
        {**_tw(0), "uuid": f"{n:08d}-0000-4000-8000-000000000000", "description": f"step {n}"}
        for n in range(1, 3001)
    ]
    for n in range(1, len(chain)):
        chain[n]["depends"] = [chain[n - 1]["uuid"]]
    lines = _import(store, chain[::-1])  # each names a blocker that comes later in the file
    assert lines[0].startswith("Imported tasks.json: 3,001 added")
    assert not any(line.startswith("Links left out") for line in lines)
    tasks = _everything(store)
    assert tasks["step 3000"].blocked_by == [tasks["step 2999"].id]
    assert tasks["step 1"].blocked_by == [tasks["task 0"].id]


def test_many_random_dependencies_keep_exactly_the_links_a_plain_search_keeps(store):
    """On a random graph full of cycles the import keeps exactly the links that adding them
    one by one, in the file's order, with a full search for each, would keep (the import
    skips the search for a task nothing waits for yet)."""
    rng = random.Random(7)
    n = 400
    uuids = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(n)]
    wanted = {i: sorted({rng.randrange(n) for _ in range(3)}) for i in range(n)}
    records = [
        {
            **_tw(0),
            "uuid": uuids[i],
            "description": f"r{i}",
            "depends": [uuids[b] for b in wanted[i]],
        }
        for i in range(n)
    ]
    _import(store, records)
    got = {
        int(t.title[1:]): sorted(int(b) - 1 for b in t.blocked_by)
        for t in store.query(TaskQuery(status=None, sort="id", limit=None))
    }
    # the plain way: ids are 1..n in the file's order, blockers tried in id order
    deps: dict[int, set[int]] = {}

    def reaches(start: int, goal: int) -> bool:
        seen, todo = {start}, [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            for nxt in deps.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    for i in range(n):
        deps[i] = set()
        for b in wanted[i]:
            if b != i and not reaches(b, i):
                deps[i].add(b)
    assert got == {i: sorted(deps[i]) for i in range(n)}
    assert sum(len(v) for v in deps.values()) < sum(len(v) for v in wanted.values()) - 100
    _assert_the_model_holds(store)
