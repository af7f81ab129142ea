"""Import and export of repeat rules, hide-until dates and dependencies: Taskwarrior
(recur/until, template and instances, wait, scheduled, depends), todo.txt (rec:, t:) and our
JSON (parent, blocked_by, repeat, completions)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import invoke_cli

from todo_cli.interchange import export_taskwarrior, format_tasks, parse_tasks
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
    home = tmp_path / "tw"
    home.mkdir()
    rc = home / "taskrc"
    rc.write_text(
        f"data.location={home / 'data'}\nconfirmation=off\nverbose=nothing\nhooks=off\n"
        "json.array=on\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASK")}
    env.update(TASKRC=str(rc), TZ="America/New_York")
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
    home = tmp_path / "tw"
    home.mkdir()
    rc = home / "taskrc"
    rc.write_text(
        f"data.location={home / 'data'}\nconfirmation=off\nverbose=nothing\nhooks=off\n"
        "json.array=on\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASK")}
    env.update(TASKRC=str(rc), TZ="America/New_York")
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
