"""Import/export formats: parsing and formatting without a database."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import TASK_FIELDS
from helpers import StubTask as T

from todo_cli.errors import TodoError, UsageError
from todo_cli.interchange import (
    detect_format,
    export_json,
    export_taskwarrior,
    export_todotxt,
    format_tasks,
    parse_tasks,
    parse_todotxt,
)

FIXTURES = Path(__file__).parent / "fixtures"
NY = ZoneInfo("America/New_York")


SAMPLE = [
    T(
        1,
        "Buy milk",
        notes="2 litres\nsemi-skimmed",
        priority="high",
        due="2026-12-01",
        tags=["errand", "shop"],
        project="home",
    ),
    T(2, "Call the plumber", priority="medium", due="2026-11-25T17:00:00-05:00"),
    T(
        3,
        "File taxes",
        status="done",
        priority="low",
        project="admin",
        completed_at="2026-11-22T08:00:00-05:00",
    ),
    T(4, "Someday maybe", tags=["ideas"]),
]


def _core(rec: dict) -> tuple:
    return (
        rec["title"],
        rec["status"],
        rec["priority"],
        rec["due"],
        rec["tags"],
        rec["project"],
    )


def test_taskwarrior_array_export_is_mapped():
    text = (FIXTURES / "taskwarrior_export.json").read_text()
    assert detect_format(text, "taskwarrior_export.json") == "taskwarrior"
    parsed = parse_tasks(text, source="tw.json", tz=NY)
    assert parsed.format == "taskwarrior"
    assert parsed.skipped == {"deleted": 1}
    assert parsed.skipped_text() == "1 deleted"
    assert parsed.done_count == 1
    milk, plumber, taxes, plants = parsed.records
    # Local midnight in New York (05:00Z) becomes a plain date.
    assert _core(milk) == ("Buy milk", "pending", "high", "2026-12-01", ["errand", "shop"], "home")
    assert milk["created_at"] == "2026-11-20T09:30:00-05:00"
    assert milk["completed_at"] is None
    assert plumber["due"] == "2026-11-25T17:00:00-05:00"
    assert plumber["priority"] == "medium"
    assert plumber["notes"] == "ask about the invoice\nnumber is on the fridge"
    assert plumber["updated_at"] == "2026-11-22T03:00:00-05:00"
    assert taxes["status"] == "done"
    assert taxes["completed_at"] == "2026-11-15T10:00:00-05:00"
    assert taxes["priority"] == "none"
    assert plants["status"] == "pending"  # waiting is pending with a wait date
    assert plants["priority"] == "low"
    assert set(milk) == set(TASK_FIELDS) - {"id", "list"}  # imports go to the current list


def test_taskwarrior_one_object_per_line():
    text = (FIXTURES / "taskwarrior_export.ndjson").read_text()
    parsed = parse_tasks(text, tz=NY)
    assert parsed.format == "taskwarrior"
    assert [r["title"] for r in parsed.records] == ["Buy milk", "Renew passport"]
    assert parsed.skipped == {"deleted": 1}


def test_todotxt_fixture():
    text = (FIXTURES / "todo.txt").read_text()
    parsed = parse_tasks(text, filename="todo.txt", tz=NY)
    assert parsed.format == "todotxt"
    mom, dentist, bill, read, plants, photos = parsed.records
    assert _core(mom) == ("Call mom", "pending", "high", "2026-11-27", ["phone"], "family")
    assert mom["created_at"] == "2026-11-20T00:00:00-05:00"
    assert _core(dentist) == (
        "Schedule dentist appointment",
        "pending",
        "medium",
        None,
        ["phone"],
        None,
    )
    assert _core(bill) == ("Pay electricity bill", "done", "medium", None, ["bills"], "home")
    assert bill["completed_at"] == "2026-11-22T00:00:00-05:00"
    assert bill["created_at"] == "2026-11-18T00:00:00-05:00"
    # The URL and other key:value pairs stay in the title; a second +project becomes a tag.
    assert read["title"] == "Read https://example.com/article"
    assert (read["project"], read["tags"]) == ("reading", ["later"])
    assert (plants["title"], plants["wait"]) == ("Water plants", "2026-11-25")  # t: = wait
    assert plants["created_at"] == "2026-11-21T00:00:00-05:00"
    assert photos["priority"] == "low"


def test_todotxt_bad_line_names_the_line():
    text = (FIXTURES / "todo_bad.txt").read_text()
    with pytest.raises(TodoError) as info:
        parse_tasks(text, source="todo_bad.txt", filename="todo_bad.txt")
    assert info.value.message.startswith("todo_bad.txt line 5: 'due:2026-13-45'")
    assert "Nothing was imported" in info.value.hint


def test_todotxt_empty_task_and_bad_date():
    with pytest.raises(TodoError, match="t.txt line 2: the task has no text"):
        parse_tasks("Buy milk\n(A) 2026-11-20\n", source="t.txt", filename="t.txt")
    with pytest.raises(TodoError, match="line 1: '2026-02-30' is not a valid date"):
        parse_todotxt("x 2026-02-30 Pay rent")


@pytest.mark.parametrize(
    ("text", "place", "fragment"),
    [
        ('[\n{"title": "a"},\n{"title": ""}\n]', "record 2 (line 3)", "no title"),
        (
            '[\n{"title": "a"},\n{"title": "b", "priority": "urgent"}\n]',
            "record 2 (line 3)",
            "unknown priority",
        ),
        ('[\n{"title": "a"},\n\n{"title": "b" "status": "x"}\n]', "record 2 (line 4)", "invalid"),
        ('[{"title": "a", "due": "soonish"}]', "record 1 (line 1)", "not a valid due date"),
        ('[{"title": "a"}, {"title": "b", "tags": "x"}]', "record 2 (line 1)", "tags must be"),
        ('[\n{"title": "a"}\n] trailing', "line 3", "unexpected text"),
    ],
)
def test_json_errors_name_the_record_and_line(text, place, fragment):
    with pytest.raises(TodoError) as info:
        parse_tasks(text, source="x.json", tz=NY)
    assert info.value.message.startswith(f"x.json {place}: ")
    assert fragment in info.value.message


def test_taskwarrior_errors_have_line_numbers():
    lines = [
        '{"description": "ok", "status": "pending"}',
        '{"description": "bad", "status": "pending", "due": "next week"}',
    ]
    with pytest.raises(TodoError, match=r"^tw line 2: due 'next week' is not a Taskwarrior date"):
        parse_tasks("\n".join(lines), "taskwarrior", source="tw")
    with pytest.raises(TodoError, match=r"tw record 1 \(line 1\): unknown Taskwarrior status"):
        parse_tasks('[{"description": "a", "status": "zombie"}]', source="tw")


def test_detect_format():
    assert detect_format("(A) call mom") == "todotxt"
    assert detect_format("[]") == "json"
    assert detect_format('[{"title": "x"}]') == "json"
    assert detect_format('{"description": "x"}\n{"description": "y"}') == "taskwarrior"
    assert detect_format("[urgent] fix the roof") == "todotxt"
    assert detect_format('[{"title": "x"}]', "tasks.txt") == "todotxt"
    assert detect_format("", "x.json") == "json"
    assert parse_tasks("").records == []
    assert parse_tasks("[]").records == []
    with pytest.raises(UsageError):
        parse_tasks("x", "csv")


def test_json_round_trip_keeps_every_field():
    text = export_json(SAMPLE)
    assert json.loads(text)[0] == SAMPLE[0].to_dict()
    parsed = parse_tasks(text, tz=NY)
    assert parsed.format == "json"
    for task, rec in zip(SAMPLE, parsed.records, strict=True):
        expected = task.to_dict()
        del expected["id"]
        expected["uuid"] = None  # the stand-in tasks have none; the store gives one
        # wait, parent, blocked_by, repeat and completions are not mapped by the import yet
        new = {"wait", "parent", "blocked_by", "repeat", "done_count", "last_done", "id"}
        assert {k: v for k, v in rec.items() if k not in new} == {
            k: v for k, v in expected.items() if k not in new
        }


def test_taskwarrior_round_trip():
    text = export_taskwarrior(SAMPLE, tz=NY)
    data = json.loads(text)
    assert data[0]["due"] == "20261201T050000Z"
    assert data[0]["priority"] == "H"
    # One annotation per line of the notes.
    assert [a["description"] for a in data[0]["annotations"]] == ["2 litres", "semi-skimmed"]
    assert data[2]["status"] == "completed" and data[2]["end"] == "20261122T130000Z"
    assert len({d["uuid"] for d in data}) == len(SAMPLE)
    assert detect_format(text) == "taskwarrior"
    parsed = parse_tasks(text, tz=NY)
    for task, rec in zip(SAMPLE, parsed.records, strict=True):
        assert _core(rec) == _core(task.to_dict())
        assert rec["notes"] == task.notes
        assert rec["created_at"] == task.created_at


def test_todotxt_export_and_back():
    text = export_todotxt(SAMPLE, tz=NY)
    assert text.splitlines() == [
        "(A) 2026-11-20 Buy milk +home @errand @shop due:2026-12-01",
        "(B) 2026-11-20 Call the plumber due:2026-11-25 duetime:17.00",
        "x 2026-11-22 2026-11-20 File taxes +admin pri:C",
        "2026-11-20 Someday maybe @ideas",
    ]
    parsed = parse_tasks(text, tz=NY)
    for task, rec in zip(SAMPLE, parsed.records, strict=True):
        assert _core(rec) == _core(task.to_dict())
    assert export_todotxt([]) == ""


def test_format_tasks_rejects_unknown_format():
    assert format_tasks([], "json") == "[]\n"
    with pytest.raises(UsageError, match="Unknown export format 'csv'"):
        format_tasks([], "csv")


def test_records_remember_their_line():
    text = (FIXTURES / "taskwarrior_export.json").read_text()
    assert parse_tasks(text).lines == [2, 3, 4, 6]  # line 5 is the deleted task
    txt = parse_tasks("a\n\nb\n", "todotxt")
    assert txt.lines == [1, 3]


def test_a_single_indented_object_is_one_record():
    text = json.dumps(SAMPLE[0].to_dict(), indent=2)
    parsed = parse_tasks("\n" + text, tz=NY)
    assert [r["title"] for r in parsed.records] == ["Buy milk"]
    assert parsed.lines == [2]


@pytest.mark.parametrize("sep", [",\n", "\n"], ids=["array", "json-lines"])
def test_what_the_fast_decoder_refuses_is_still_read(sep: str):
    """orjson refuses NaN and integers past 64 bits, which Python's own decoder (and so an
    earlier `todo`) reads: such a file is still read, by the slower way, with every field
    kept and every record in its place."""
    records = [
        '{"description": "first", "status": "pending", "entry": "20261120T143000Z"}',
        '{"description": "odd", "status": "pending", "entry": "20261120T143000Z",'
        ' "estimate": NaN, "big": 123456789012345678901234567890}',
    ]
    body = sep.join(records)
    text = f"[\n{body}\n]\n" if sep.startswith(",") else body + "\n"
    parsed = parse_tasks(text, "taskwarrior")
    assert [r["title"] for r in parsed.records] == ["first", "odd"]
    kept = parsed.records[1]["extra"]["taskwarrior"]
    assert kept["big"] == 123456789012345678901234567890 and kept["estimate"] != kept["estimate"]
    assert parsed.lines == ([2, 3] if sep.startswith(",") else [1, 2])


def test_every_format_gives_records_with_the_same_keys():
    """The Taskwarrior parser builds its records by hand (it is the hot path of a big
    import): they carry the same keys as the other formats' records."""
    from todo_cli.interchange._common import RECORD_KEYS

    tw = parse_tasks('[{"description": "a", "status": "pending"}]', "taskwarrior").records
    ours = parse_tasks('[{"title": "a"}]', "json").records
    txt = parse_tasks("a\n", "todotxt").records
    assert set(tw[0]) == set(ours[0]) == set(txt[0]) == set(RECORD_KEYS)
