"""Real files from public repositories (tests/fixtures/real/README.md says where each comes
from): read field by field, and round-tripped — todo.txt line for line, Taskwarrior field for
field, also through the real `task` binary when it is installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import taskwarrior_env

from todo_cli.interchange import (
    decode_text,
    export_taskwarrior,
    export_todotxt,
    parse_tasks,
)
from todo_cli.store import Task, TaskQuery, TaskStore

REAL = Path(__file__).parent / "fixtures" / "real"
TW_FILES = sorted((REAL / "taskwarrior").glob("*.json"))
TXT_FILES = sorted((REAL / "todotxt").glob("*.txt"))
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=NY)


@pytest.fixture
def store(tmp_path: Path):
    with TaskStore(tmp_path / "todo.db", tz=NY, clock=lambda: NOW) as s:
        yield s


def load(store: TaskStore, path: Path, fmt: str = "auto") -> list[Task]:
    parsed = parse_tasks(decode_text(path.read_bytes()), fmt, filename=path.name, tz=NY)
    with store.group("import"):
        store.import_tasks(parsed.records)
    return store.query(TaskQuery(status=None, sort="id"))


def by_title(tasks: list[Task]) -> dict[str, Task]:
    return {t.title: t for t in tasks}


# --------------------------------------------------------------------------- Taskwarrior


def test_taskwarrior_testdata_field_by_field(store: TaskStore):
    path = REAL / "taskwarrior" / "testdata-export.json"
    parsed = parse_tasks(path.read_text(), tz=NY)
    assert parsed.format == "taskwarrior"
    assert parsed.skipped == {"deleted": 1}
    # every UDA and unmodelled field, counted per field
    assert parsed.kept == {  # depends is mapped (blocked by), the rest kept for export
        "estimate": 32,
        "issue": 1,
        "person": 1,
        "imask": 1,
        "parent": 1,
    }
    assert parsed.kept_text() == "estimate 32, imask 1, issue 1, parent 1, person 1"
    tasks = by_title(load(store, path))
    assert len(tasks) == 32
    move = tasks["Move between tasks using 'j' and 'k'"]
    assert move.uuid == "0b11967d-9dae-4333-a137-c3b1e8a641d3"
    assert (move.priority, move.status) == ("high", "pending")
    assert move.created_at == "2020-10-21T02:52:09-04:00"
    assert move.updated_at == "2021-02-14T10:14:29-05:00"
    edit = tasks["Edit task in editor using 'e'"]
    assert (edit.priority, edit.due) == ("low", "2021-02-13T02:00:00-05:00")
    undo = tasks["Undo last action using u"]
    assert (undo.project, undo.tags) == ("wth", ["test", "anothertag"])
    start = tasks["Start and Stop task using 's'"]
    assert start.notes == "Started task\nStopped task"
    raw = start.extra["taskwarrior"]  # type: ignore[index]
    assert raw["depends"] == [
        "6c4c9ee8-d6c4-4d64-a84d-bf9cb710684e",
        "be9c4324-bf96-4f15-904a-4bb8098500fe",
    ]
    assert [a["entry"] for a in raw["annotations"]] == ["20210210T083410Z", "20210210T083413Z"]
    modify = tasks["Modify task with 'm'"]
    assert (modify.extra["taskwarrior"]["issue"], modify.extra["taskwarrior"]["person"]) == (  # type: ignore[index]
        123,
        "John",
    )
    assert "тесd" in tasks and "Adding task 😂" in tasks and "Maßnahmen" in tasks
    help_ = tasks["See help using '?'"]
    assert help_.extra["taskwarrior"]["parent"] == "f144d2ed-bb19-4b0e-90d3-cdc7dda44af1"  # type: ignore[index]
    done = tasks["https://github.com/kdheepak/taskw"]
    assert done.status == "done"
    assert done.completed_at == "2020-11-10T11:04:27-05:00"
    assert done.updated_at == "2021-02-10T03:33:28-05:00"


def test_waiting_tasks_keep_their_wait(store: TaskStore):
    tasks = load(store, REAL / "taskwarrior" / "testdata-tasks.json")
    assert len(tasks) == 42
    waiting = [t for t in tasks if t.extra and t.extra["taskwarrior"]["status"] == "waiting"]
    assert len(waiting) == 10 and all(t.status == "pending" for t in waiting)
    assert waiting[0].extra["taskwarrior"]["wait"] == "20211009T075915Z"  # type: ignore[index]


def test_every_date_form_task_import_takes(store: TaskStore):
    tasks = by_title(load(store, REAL / "taskwarrior" / "tw-import-test-data1.json"))
    # epoch seconds as a string
    assert tasks["zero"].created_at == "2009-02-13T18:31:29-05:00"
    assert tasks["two"].status == "done"
    assert tasks["two"].completed_at == "2009-02-13T06:31:30-05:00"
    assert tasks["one"].project == "B"
    load(store, REAL / "taskwarrior" / "tw-import-test-data2.json")  # one object
    load(store, REAL / "taskwarrior" / "tw-import-test-data3.json")  # free-form JSON
    tasks = by_title(load(store, REAL / "taskwarrior" / "tw-import-test-no-iso-z.json"))
    assert tasks["three"].created_at == "2009-02-13T18:31:29-05:00"
    assert tasks["four"].uuid == "55555555-5555-5555-5555-555555555555"
    # basic ISO without Z is local time
    assert tasks["one"].created_at == "2015-10-18T14:42:00-04:00"
    numbers = parse_tasks('[{"description": "n", "entry": 1234567889, "due": 1234567889.5}]', tz=NY)
    assert numbers.records[0]["created_at"] == "2009-02-13T18:31:29-05:00"
    extended = parse_tasks(
        '[{"description": "e", "entry": "2026-12-01T17:00:00Z", "due": "2026-12-01"}]', tz=NY
    )
    assert extended.records[0]["created_at"] == "2026-12-01T12:00:00-05:00"
    assert extended.records[0]["due"] == "2026-12-01"


def test_whitespace_array_names_record_and_line():
    text = (REAL / "taskwarrior" / "tw-import-test-whitespace.json").read_text()
    parsed = parse_tasks(text, tz=NY)
    assert parsed.places == ["record 1 (line 2)", "record 2 (line 3)", "record 3 (line 3)"]
    broken = text.replace('"description":"two"', '"description":""')
    with pytest.raises(Exception, match=r"record 3 \(line 3\): the task has no description"):
        parse_tasks(broken, source="f", tz=NY)


def _tw_records(path: Path) -> list[dict]:
    """The file's records as they must come back: without Taskwarrior's computed id and
    urgency, and without what import skips (deleted tasks, recurring templates)."""
    items = json.loads(decode_text(path.read_bytes()))
    if isinstance(items, dict):
        items = [items]
    return [
        {k: v for k, v in item.items() if k not in ("id", "urgency")}
        for item in items
        if item.get("status") not in ("deleted", "recurring")
    ]


@pytest.mark.parametrize("path", TW_FILES, ids=lambda p: p.name)
def test_taskwarrior_round_trip_gives_back_every_field(store: TaskStore, path: Path):
    tasks = load(store, path)
    exported = json.loads(export_taskwarrior(tasks, tz=NY))
    expected = _tw_records(path)
    for rec in expected:
        if "entry" not in rec:  # stamped on import (as `task import` does too)
            rec.update(entry="20261124T153000Z", modified="20261124T153000Z")
    assert exported == expected


def test_changes_made_in_todo_go_back_to_taskwarrior(store: TaskStore, tmp_path: Path):
    tasks = by_title(load(store, REAL / "taskwarrior" / "testdata-export.json"))
    start = tasks["Start and Stop task using 's'"]
    store.update(start.id, notes="Started task\nStopped task\nAsked about it", priority="high")
    store.complete([tasks["tui"].id])
    out = {
        r["uuid"]: r
        for r in json.loads(export_taskwarrior(store.query(TaskQuery(status=None)), tz=NY))
    }
    rec = out[start.uuid]
    assert rec["priority"] == "H"
    assert rec["modified"] == "20261124T153000Z"
    # the annotations that were there keep their own time; the new one gets the change's
    assert rec["annotations"] == [
        {"description": "Started task", "entry": "20210210T083410Z"},
        {"description": "Stopped task", "entry": "20210210T083413Z"},
        {"entry": "20261124T153000Z", "description": "Asked about it"},
    ]
    assert rec["depends"] == start.extra["taskwarrior"]["depends"]  # type: ignore[index]
    assert rec["estimate"] == "30" and rec["due"] == "20210719T060000Z"
    tui = out[tasks["tui"].uuid]
    assert (tui["status"], tui["end"]) == ("completed", "20261124T153000Z")


# --------------------------------------------------------------------------- the real binary


def _task(env: dict[str, str], *args: str, input: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["task", *args], env=env, input=input, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


@pytest.mark.skipif(shutil.which("task") is None, reason="Taskwarrior (`task`) is not installed")
@pytest.mark.parametrize(
    "name",
    [
        "testdata-export.json",
        "testdata-tasks.json",
        "testdata-demo.json",
        "tw-import-test-data1.json",
    ],
)
def test_round_trip_through_the_real_taskwarrior(tmp_path: Path, name: str):
    """task import FILE; task export -> todo -> task import into a new Taskwarrior; task
    export: the same records, every field (urgency aside: Taskwarrior computes it from the
    task's age at the moment of export). Importing todo's export back into the first
    Taskwarrior changes nothing there either."""
    first = taskwarrior_env(tmp_path / "tw1")
    _task(first, "import", str(REAL / "taskwarrior" / name))
    original = _task(first, "export")
    with TaskStore(tmp_path / "todo.db", tz=NY) as store:
        parsed = parse_tasks(decode_text(original), "taskwarrior", tz=NY)
        with store.group("import"):
            store.import_tasks(parsed.records)
        ours = export_taskwarrior(store.query(TaskQuery(status=None, sort="id")), tz=NY)
    second = taskwarrior_env(tmp_path / "tw2")
    _task(second, "import", "-", input=ours.encode())
    again = _task(second, "export")

    def records(raw: bytes) -> dict[str, dict]:
        items = json.loads(decode_text(raw))
        return {
            r["uuid"]: {k: v for k, v in r.items() if k != "urgency"}
            for r in items
            if r["status"] not in ("deleted", "recurring")
        }

    assert records(again) == records(original)
    assert [r["uuid"] for r in json.loads(decode_text(again))] == [
        r["uuid"]
        for r in json.loads(decode_text(original))
        if r["status"] not in ("deleted", "recurring")
    ]
    # Back into the Taskwarrior it came from: no duplicates, nothing changed -- except that
    # Taskwarrior 2.6 had stored an emoji imported as a JSON escape (\ud83d\ude02) as CESU-8
    # bytes; the same text as real UTF-8 counts there as a change, so it sets `modified`.
    _task(first, "import", "-", input=ours.encode())
    back = records(_task(first, "export"))
    before = records(original)
    assert back.keys() == before.keys()
    for uuid, rec in before.items():
        if b"\xed\xa0" in _raw_line(original, uuid):
            back[uuid].pop("modified")
            rec = {k: v for k, v in rec.items() if k != "modified"}
        assert back[uuid] == rec


def _raw_line(raw: bytes, uuid: str) -> bytes:
    """The bytes of the export line holding ``uuid`` (Taskwarrior prints one per line)."""
    return next((line for line in raw.splitlines() if uuid.encode() in line), b"")


# --------------------------------------------------------------------------- todo.txt


def _lines(path: Path) -> list[str]:
    text = decode_text(path.read_bytes())
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("path", TXT_FILES, ids=lambda p: p.name)
def test_todotxt_round_trip_is_byte_for_byte(store: TaskStore, path: Path):
    tasks = load(store, path, "todotxt")
    assert export_todotxt(tasks, tz=NY).splitlines() == _lines(path)


def test_todotxt_total_lines_unchanged(store: TaskStore, tmp_path: Path):
    total = same = 0
    for i, path in enumerate(TXT_FILES):
        with TaskStore(tmp_path / f"{i}.db", tz=NY, clock=lambda: NOW) as s:
            tasks = load(s, path, "todotxt")
            out = export_todotxt(tasks, tz=NY).splitlines()
        want = _lines(path)
        total += len(want)
        same += sum(a == b for a, b in zip(out, want, strict=True))
    assert (same, total) == (total, total) and total >= 190


def test_todotxt_field_by_field(store: TaskStore):
    tasks = load(store, REAL / "todotxt" / "todotxt-cli-t1320-listproj.txt", "todotxt")
    lines = {(t.extra or {})["todotxt"]: t for t in tasks}
    only = lines["+roses +flowers"]  # a line of only projects is a task
    assert (only.title, only.project, only.tags) == ("+roses +flowers", "roses", ["flowers"])
    done = lines["x 2024-02-21 2024-02-19 +roses done +flowers"]
    assert (done.title, done.status) == ("done", "done")
    assert done.completed_at == "2024-02-21T00:00:00-05:00"
    assert done.created_at == "2024-02-19T00:00:00-05:00"
    dated = lines["(B) 2024-02-21 +roses prioritized +flowers"]
    assert (dated.priority, dated.created_at) == ("medium", "2024-02-21T00:00:00-05:00")
    lead = lines["  +roses +flowers at the front with leading space"]
    assert (lead.title, lead.project) == ("at the front with leading space", "roses")
    email = lines["+prj02 ginatrapani+todo@gmail.com -- Some project 2 task"]
    assert email.title == "ginatrapani+todo@gmail.com -- Some project 2 task"
    tasks = load(store, REAL / "todotxt" / "topydo-ListCommandTest.txt", "todotxt")
    foo = next(t for t in tasks if t.title.startswith("Foo"))
    assert foo.title == "Foo Not@Context Not+Project"
    assert (foo.project, foo.tags, foo.priority) == ("Project1", ["Context2"], "low")
    beer = next(t for t in tasks if t.title.startswith("Drink"))
    assert beer.title == "Drink beer @ home" and beer.tags == []
    bar = next(t for t in tasks if t.title.startswith("Bar"))
    assert (bar.priority, bar.extra["todotxt"]) == ("low", "(D) Bar @Context1 +Project2 p:1")  # type: ignore[index]


def test_todotxt_x_with_priority_and_pri_key():
    parsed = parse_tasks(
        "x (A) 2026-11-22 2026-11-18 Pay rent\nx 2026-11-22 Mow pri:B\n", "todotxt", tz=NY
    )
    rent, mow = parsed.records
    assert (rent["status"], rent["priority"], rent["title"]) == ("done", "high", "Pay rent")
    assert rent["completed_at"] == "2026-11-22T00:00:00-05:00"
    assert rent["created_at"] == "2026-11-18T00:00:00-05:00"
    assert (mow["priority"], mow["title"]) == ("medium", "Mow")


def test_todotxt_bom_crlf_and_blank_lines(store: TaskStore):
    parsed = parse_tasks("\ufeff(A) one +p\r\n\r\n\r\nx two\r\n", "todotxt", tz=NY)
    assert [r["title"] for r in parsed.records] == ["one", "two"]
    assert parsed.lines == [1, 4]
    with store.group("import"):
        store.import_tasks(parsed.records)
    assert export_todotxt(store.query(TaskQuery(status=None, sort="id")), tz=NY) == (
        "(A) one +p\nx two\n"
    )


def test_todotxt_edits_are_made_in_place(store: TaskStore):
    loaded = load(store, REAL / "todotxt" / "todotxt-cli-t1320-listproj.txt", "todotxt")
    tasks = by_title(loaded)
    prio = next(t for t in loaded if t.extra == {"todotxt": "(B) +roses prioritized +flowers"})
    store.complete([prio.id])
    front = tasks["at the front"]
    store.update(front.id, remove_tags=["flowers"], add_tags=["garden"], priority="high")
    middle = tasks["my are in the middle"]
    store.update(middle.id, title="my flowers are roses, in the middle", due="2026-12-04 17:00")
    plain = tasks["item 1"]
    store.update(plain.id, title="item one")
    by_id = {t.id: t for t in store.query(TaskQuery(status=None))}
    line = {tid: export_todotxt([t], tz=NY).rstrip("\n") for tid, t in by_id.items()}
    # done: no completion date invented? It is real (done in todo today); the creation
    # date the line did not have is not written; the letter goes to pri:
    assert line[prio.id] == "x 2026-11-24 +roses prioritized +flowers pri:B"
    assert line[front.id] == "(A) +roses at the front @garden"
    assert line[middle.id] == (
        "my flowers are roses, in the middle +flowers +roses due:2026-12-04 duetime:17.00"
    )
    assert line[plain.id] == "item one"
    # and each line reads back as the task says
    for tid, text in line.items():
        rec = parse_tasks(text, "todotxt", tz=NY).records[0]
        task = by_id[tid]
        assert (
            rec["title"],
            rec["status"],
            rec["priority"],
            rec["due"],
            sorted(rec["tags"] + [rec["project"] or ""]),
        ) == (
            task.title,
            task.status,
            task.priority,
            task.due,
            sorted(task.tags + [task.project or ""]),
        )


def test_todotxt_letters_d_to_z_are_kept():
    parsed = parse_tasks(
        (REAL / "todotxt" / "topydo-ListCommand_50_items.txt").read_text(), "todotxt", tz=NY
    )
    assert parsed.kept == {"priority letters D-Z (listed as low; letter kept)": 44}
    assert {r["priority"] for r in parsed.records[3:26]} == {"low"}
