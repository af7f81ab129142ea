"""Import and export of repeat rules, hide-until dates and dependencies: Taskwarrior
(recur/until, template and instances, wait, scheduled, depends, todo_parent), todo.txt (rec:,
t:) and our JSON (parent, blocked_by, repeat, completions). An import's parents and blockers
follow the rules `todo tasks edit` enforces (subtasks one level deep, nobody their own
parent or blocker, no dependency cycle), whatever order or shape the file has: a link the
model cannot hold is left out and named in the report, and every task stays on the list."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import invoke_cli, taskwarrior_env

from todo_cli.interchange import export_taskwarrior, format_tasks, import_report, parse_tasks
from todo_cli.interchange._common import decode_text
from todo_cli.store import TaskQuery, TaskStore

FIXTURES = Path(__file__).parent / "fixtures"
REAL = FIXTURES / "real"
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=NY)


@pytest.fixture
def store(store_target: Path | str):
    with TaskStore(store_target, tz=NY, clock=lambda: NOW) as s:  # SQLite, then PostgreSQL
        yield s


def load(store: TaskStore, text: str, fmt: str = "auto") -> dict[str, object]:
    parsed = parse_tasks(text, fmt, tz=NY)
    with store.group("import"):
        store.import_tasks(parsed.records)
    return {t.title: t for t in store.query(TaskQuery(status=None, sort="id"))}


def test_taskwarrior_template_and_instances_become_one_repeating_task(store: TaskStore):
    text = (FIXTURES / "taskwarrior_2.6_export.json").read_text()
    parsed = parse_tasks(text, tz=NY)
    titles = [r["title"] for r in parsed.records]
    assert titles.count("Weekly review") == 1  # template and instance: one task
    assert any("1 recurring instance became part of their repeating task" in n
               for n in parsed.notes)  # fmt: skip
    tasks = load(store, text)
    review = tasks["Weekly review"]
    assert review.repeat and review.repeat["rule"] == "FREQ=WEEKLY"  # type: ignore[attr-defined]
    assert review.due == "2026-11-27T19:00:00-05:00"  # type: ignore[attr-defined]
    assert tasks["Water plants"].wait == "2026-11-29T19:00:00-05:00"  # type: ignore[attr-defined]
    # unchanged in todo: the template and its instance go back exactly as they came
    original = {r["uuid"]: r for r in json.loads(text)}
    out = json.loads(export_taskwarrior(store.query(TaskQuery(status=None, sort="id")), tz=NY))
    by_uuid = {r["uuid"]: r for r in out}
    for uuid in ("e05a61c6-5ab4-42ae-abbd-b0d3878a1ff2", "5c13975d-28bb-430b-bf38-b30a96b26c71"):
        want = {k: v for k, v in original[uuid].items() if k not in ("id", "urgency")}
        assert by_uuid[uuid] == want
    # completed in todo: the template moves on, Taskwarrior makes the next instance itself
    (done,) = store.complete([review.id])  # type: ignore[attr-defined]
    out = json.loads(export_taskwarrior(store.query(TaskQuery(status=None, sort="id")), tz=NY))
    (template,) = [r for r in out if r["description"] == "Weekly review"]
    assert (template["status"], template["recur"]) == ("recurring", "weekly")
    assert template["due"] == "20261205T000000Z"


def test_taskwarrior_depends_by_uuid_and_back(store: TaskStore):
    text = (REAL / "taskwarrior" / "testdata-export.json").read_text()
    tasks = load(store, text)
    start = tasks["Start and Stop task using 's'"]
    blockers = {tasks["Run custom shell command using '!'"].id, tasks["See help using '?'"].id}  # type: ignore[attr-defined]
    assert set(start.blocked_by) == blockers  # type: ignore[attr-defined]
    assert start.blocked  # type: ignore[attr-defined]
    store.update(start.id, blocked_by=[tasks["tui"].id])  # type: ignore[attr-defined]
    out = {r["description"]: r for r in json.loads(export_taskwarrior(
        store.query(TaskQuery(status=None, sort="id")), tz=NY))}  # fmt: skip
    assert out["Start and Stop task using 's'"]["depends"] == [tasks["tui"].uuid]  # type: ignore[attr-defined]


def test_old_taskwarrior_depends_string(store: TaskStore):
    path = REAL / "taskwarrior" / "tw-import-test-old-depends.json"
    items = json.loads(path.read_text())
    items = items if isinstance(items, list) else [items]
    with_depends = [i for i in items if isinstance(i.get("depends"), str)]
    assert with_depends  # the fixture really has the comma-separated form
    records = parse_tasks(path.read_text(), tz=NY).records
    assert any(r.get("blocked_by_uuids") for r in records)


def test_todo_tasks_go_to_taskwarrior_and_back(store: TaskStore):
    a = store.add("Take out the trash", repeat="every monday until 2027-06-30")
    b = store.add("Gym", repeat="every mon, thu")
    c = store.add("Haircut", repeat="every! 4 weeks")
    d = store.add("Renew passport", due="2027-03-01", wait="2027-02-01", blocked_by=[a.id])
    out = json.loads(export_taskwarrior([a, b, c, store.get(d.id)], tz=NY))
    assert (out[0]["status"], out[0]["recur"], out[0]["until"]) == (
        "recurring",
        "weekly",
        "20270630T040000Z",
    )
    assert out[0]["todo_repeat"] == "every monday until 2027-06-30"  # the words, for todo
    assert out[1]["todo_repeat"] == "every mon, thu"  # recur cannot: kept for todo
    assert out[2]["recur"] == "4w" and out[2]["todo_repeat"] == "every! 4 weeks"
    assert out[3]["wait"] == "20270201T050000Z" and out[3]["depends"] == [a.uuid]
    with TaskStore(":memory:", tz=NY, clock=lambda: NOW) as other:
        back = load(other, json.dumps(out), "taskwarrior")
    assert back["Take out the trash"].repeat["rule"] == a.repeat["rule"]  # type: ignore[attr-defined,index]
    assert back["Take out the trash"].due == a.due  # type: ignore[attr-defined]
    assert back["Gym"].repeat["rule"] == "FREQ=WEEKLY;BYDAY=MO,TH"  # type: ignore[attr-defined]
    assert back["Haircut"].repeat["from"] == "done"  # type: ignore[attr-defined]
    passport = back["Renew passport"]
    assert passport.wait == "2027-02-01"  # type: ignore[attr-defined]
    assert passport.blocked_by == [back["Take out the trash"].id]  # type: ignore[attr-defined]


@pytest.mark.skipif(shutil.which("task") is None, reason="Taskwarrior (`task`) is not installed")
def test_the_real_taskwarrior_makes_instances_of_a_repeating_task(store: TaskStore, tmp_path):
    store.add("Take out the trash", due="2026-11-30", repeat="every monday")
    store.add("Later", wait="2026-12-20")
    ours = export_taskwarrior(store.query(TaskQuery(status=None, sort="id")), tz=NY)
    env = taskwarrior_env(tmp_path / "tw", tz="America/New_York")
    run = dict(env=env, capture_output=True, timeout=60, check=True)
    subprocess.run(["task", "import", "-"], input=ours.encode(), **run)  # type: ignore[call-overload]
    exported = json.loads(decode_text(subprocess.run(["task", "export"], **run).stdout))  # type: ignore[call-overload]
    template = next(r for r in exported if r["status"] == "recurring")
    assert template["recur"] == "weekly" and template["description"] == "Take out the trash"
    instances = [r for r in exported if r.get("parent") == template["uuid"]]
    assert instances and instances[0]["due"].startswith("20261130")
    waiting = next(r for r in exported if r["description"] == "Later")
    assert waiting["status"] in ("waiting", "pending")  # 2.6 says waiting, 3.x pending
    assert waiting["wait"].startswith("20261220")
    # and back: one repeating task, not two
    with TaskStore(tmp_path / "back.db", tz=NY, clock=lambda: NOW) as back:
        tasks = load(back, json.dumps(exported), "taskwarrior")
    assert list(tasks).count("Take out the trash") == 1
    # Taskwarrior kept our words (an orphan attribute): the rule comes back exactly
    assert tasks["Take out the trash"].repeat["rule"] == "FREQ=WEEKLY;BYDAY=MO"  # type: ignore[attr-defined]


def test_a_subtask_goes_to_taskwarrior_and_back_with_its_parent(store: TaskStore):
    trip = store.add("Plan trip")
    tickets = store.add("Book tickets", parent=trip.id)
    out = json.loads(export_taskwarrior(store.query(TaskQuery(status=None, sort="id")), tz=NY))
    by_title = {r["description"]: r for r in out}
    assert by_title["Book tickets"]["todo_parent"] == trip.uuid  # Taskwarrior has no parent
    assert "todo_parent" not in by_title["Plan trip"]
    with TaskStore(":memory:", tz=NY, clock=lambda: NOW) as other:
        parsed = parse_tasks(json.dumps(out), "taskwarrior", tz=NY)
        assert "todo_parent" not in parsed.kept  # mapped, not merely kept
        with other.group("import"):
            other.import_tasks(parsed.records, stamps_checked=True)
        back = {t.title: t for t in other.query(TaskQuery(status=None, sort="id"))}
    assert back["Book tickets"].parent == back["Plan trip"].id
    # edited in Taskwarrior (newer), the subtask comes back still under its parent
    by_title["Book tickets"].update(description="Book train tickets", modified="20271201T000000Z")
    parsed = parse_tasks(json.dumps(out), "taskwarrior", tz=NY)
    with store.group("import"):
        result = store.import_tasks(parsed.records, stamps_checked=True)
    assert [t.title for t in result.updated] == ["Book train tickets"]
    assert store.get(tickets.id).parent == trip.id


@pytest.mark.skipif(shutil.which("task") is None, reason="Taskwarrior (`task`) is not installed")
def test_a_subtask_keeps_its_parent_through_the_real_taskwarrior(store: TaskStore, tmp_path):
    trip = store.add("Plan trip")
    tickets = store.add("Book tickets", parent=trip.id)
    ours = export_taskwarrior(store.query(TaskQuery(status=None, sort="id")), tz=NY)
    env = taskwarrior_env(tmp_path / "tw", tz="America/New_York")
    run = dict(env=env, capture_output=True, timeout=60, check=True)
    subprocess.run(["task", "import", "-"], input=ours.encode(), **run)  # type: ignore[call-overload]
    subprocess.run(["task", tickets.uuid, "modify", "Book train tickets"], **run)  # type: ignore[call-overload]
    exported = decode_text(subprocess.run(["task", "export"], **run).stdout)  # type: ignore[call-overload]
    parsed = parse_tasks(exported, "taskwarrior", tz=NY)
    with store.group("import"):
        result = store.import_tasks(parsed.records, stamps_checked=True)
    assert [t.title for t in result.updated] == ["Book train tickets"]
    assert store.get(tickets.id).parent == trip.id


def test_todotxt_rec_and_threshold(store: TaskStore):
    lines = (REAL / "todotxt" / "sleek-complex.txt").read_text().splitlines()
    tasks = load(store, "\n".join(lines) + "\n", "todotxt")
    weekly = next(t for t in tasks.values() if "weekly recurrence" in t.title)  # type: ignore[attr-defined]
    assert weekly.repeat["rule"] == "FREQ=WEEKLY" and weekly.repeat["from"] == "done"  # type: ignore[attr-defined]
    high = next(t for t in tasks.values() if t.title.startswith("High priority task"))  # type: ignore[attr-defined]
    assert high.wait == "2026-08-20"  # type: ignore[attr-defined]
    a = store.add("Pay rent", due="2026-12-01", repeat="every month", wait="2026-11-28")
    b = store.add("Stretch", repeat="every! 2 days")
    text = format_tasks([a, b], "todotxt", tz=NY)
    assert text.splitlines()[0].endswith("due:2026-12-01 t:2026-11-28 rec:+1m")
    assert "rec:2d" in text.splitlines()[1]
    with TaskStore(":memory:", tz=NY, clock=lambda: NOW) as other:
        back = load(other, text, "todotxt")
    assert back["Pay rent"].repeat["rule"].startswith("FREQ=MONTHLY")  # type: ignore[attr-defined]
    assert back["Pay rent"].wait == "2026-11-28"  # type: ignore[attr-defined]
    assert back["Stretch"].repeat["from"] == "done"  # type: ignore[attr-defined]


def test_json_export_import_keeps_links_rules_and_history(tmp_path: Path, monkeypatch):
    ok = lambda *a: invoke_cli("tasks", *a)  # noqa: E731
    ok("add", "Plan trip")
    ok("add", "Book flights", "--parent", "1")
    ok("add", "Pack", "--parent", "1", "--blocked-by", "2", "--wait", "2020-01-01")
    ok("add", "Water plants", "--repeat", "every sunday")
    ok("done", "4")
    ok("done", "4")
    exported = tmp_path / "all.json"
    assert ok("export", "-o", str(exported)).code == 0
    data = json.loads(exported.read_text())
    assert len(data[3]["completions"]) == 2
    monkeypatch.setenv("TODO_HOME", str(tmp_path / "other"))
    ok("add", "Existing")  # ids shift on the other side
    assert ok("import", str(exported)).code == 0
    got = {t["title"]: t for t in json.loads(ok("list", "--all", "--json").stdout)}
    assert got["Book flights"]["parent"] == got["Plan trip"]["id"] == 2
    assert got["Pack"]["blocked_by"] == [got["Book flights"]["id"]]
    assert got["Pack"]["wait"] == "2020-01-01"
    assert got["Water plants"]["repeat"]["rule"] == "FREQ=WEEKLY;BYDAY=SU"
    shown = json.loads(ok("show", str(got["Water plants"]["id"]), "--json").stdout)
    assert [c["due"] for c in shown["completions"]] == [c["due"] for c in data[3]["completions"]]


# --------------------------------------------------------------------------- link rules


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

    def reaches(start: int, goal: int) -> bool:  # (level by level, all of it)
        seen: set[int] = set()
        level = {start}
        while level and goal not in level:
            seen |= level
            level = {b for node in level for b in deps.get(node, ())} - seen
        return goal in level

    for i in range(n):
        deps[i] = set()
        for b in wanted[i]:
            if b != i and not reaches(b, i):
                deps[i].add(b)
    assert got == {i: sorted(deps[i]) for i in range(n)}
    assert sum(len(v) for v in deps.values()) < sum(len(v) for v in wanted.values()) - 100
    _assert_the_model_holds(store)
