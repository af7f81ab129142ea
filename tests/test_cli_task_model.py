"""`todo tasks` with repeat rules, hide-until dates, subtasks and dependencies (real CLI)."""

from __future__ import annotations

import json
from datetime import date, timedelta

from helpers import CliOutcome, invoke_cli


def todo(*args: str) -> CliOutcome:
    return invoke_cli("tasks", *args)


def ok(*args: str) -> str:
    out = todo(*args)
    assert out.code == 0, out.stderr + out.stdout
    return out.stdout


def as_json(*args: str):
    return json.loads(ok(*args, "--json"))


def test_repeat_done_show_and_undo() -> None:
    added = json.loads(ok("add", "Water the plants", "--repeat", "every sunday", "--json"))
    assert added["repeat"]["rule"] == "FREQ=WEEKLY;BYDAY=SU"
    first = date.fromisoformat(added["due"])
    assert first.weekday() == 6 and 0 <= (first - date.today()).days <= 6
    out = ok("done", "1")
    assert out.startswith("Done #1 Water the plants · next due ") and "every Sunday" in out
    task = as_json("show", "1")
    assert date.fromisoformat(task["due"]) == first + timedelta(days=7)
    assert task["status"] == "pending" and task["done_count"] == 1
    assert [c["due"] for c in task["completions"]] == [added["due"]]
    shown = ok("show", "1")
    assert "Repeat:    every Sunday" in shown and "Completed 1 time:" in shown
    assert "Water the plants" in ok("list", "--done")
    undone = ok("undo")
    assert "completions 1 → 0" in undone
    assert as_json("show", "1")["due"] == added["due"]
    assert as_json("show", "1")["completions"] == []
    skipped = ok("skip", "1")
    assert skipped.startswith("Skipped to #1 Water the plants · next due ")
    assert ok("edit", "1", "--repeat", "none").startswith("Updated #1 Water the plants: repeat ")
    assert ok("done", "1") == "Done #1 Water the plants\n"


def test_bad_repeat_rule_is_a_usage_error() -> None:
    out = todo("add", "x", "--repeat", "every blue moon")
    assert out.code == 2 and "Could not understand the repeat rule 'every blue moon'" in out.stderr
    assert as_json("list", "--all") == []


def test_wait_hides_from_list_and_waiting_shows() -> None:
    ok("add", "Visible")
    ok("add", "Hidden", "--wait", "in 3 days")
    ok("add", "Shown again", "--wait", "2020-01-01")
    assert [t["title"] for t in as_json("list")] == ["Visible", "Shown again"]
    waiting = ok("list", "--waiting")
    assert "Hidden" in waiting and "until " in waiting and "Visible" not in waiting
    assert "hidden until" in ok("show", "2")
    ok("edit", "2", "--wait", "none")
    assert len(as_json("list")) == 3


def test_subtasks_indent_confirm_and_delete() -> None:
    ok("add", "Plan trip")
    ok("add", "Book flights", "--parent", "1")
    ok("add", "Unrelated")
    ok("add", "Book hotel", "--parent", "#1")
    rows = [line for line in ok("list").splitlines()[2:]]
    assert [r.split("   ")[-1].strip() for r in rows] == [
        "Plan trip",
        "↳ Book flights",
        "↳ Book hotel",
        "Unrelated",
    ]
    refused = todo("done", "1")
    assert refused.code == 2
    assert "#1 Plan trip has 2 open subtasks (#2 Book flights, #4 Book hotel)" in refused.stderr
    assert "--yes" in refused.stderr
    assert ok("done", "1", "--yes").splitlines() == [
        "Done #1 Plan trip",
        "Done #2 Book flights",
        "Done #4 Book hotel",
    ]
    ok("undo")
    assert "Subtasks:" in ok("show", "1")
    assert [t["title"] for t in as_json("list", "--parent", "1")] == ["Book flights", "Book hotel"]
    assert ok("rm", "1").splitlines() == [
        "Deleted #1 Plan trip",
        "Deleted #2 Book flights",
        "Deleted #4 Book hotel",
    ]
    assert "(3 changes)" in ok("undo")
    assert len(as_json("list")) == 4
    deep = todo("add", "Too deep", "--parent", "2")
    assert deep.code == 2 and "one level deep" in deep.stderr


def test_blocked_by_marks_sorts_and_refuses_cycles() -> None:
    ok("add", "Buy paint", "--due", "tomorrow")
    ok("add", "Paint the wall", "--due", "today", "--blocked-by", "1")
    ok("add", "Other", "--due", "in 3 days")
    listed = as_json("list")
    assert [t["title"] for t in listed] == ["Buy paint", "Other", "Paint the wall"]
    assert listed[2]["blocked"] is True and listed[2]["blocked_by"] == [1]
    assert "⊘" in ok("list")
    assert [t["id"] for t in as_json("list", "--blocked")] == [2]
    cycle = todo("edit", "1", "--blocked-by", "2")
    assert cycle.code == 2 and "would make a cycle (#1 → #2 → #1" in cycle.stderr
    ok("done", "1")
    assert as_json("show", "2")["blocked"] is False
    assert ok("edit", "2", "--blocked-by", "none").startswith("Updated #2 Paint the wall: ")


def test_repeating_filter_and_json_fields() -> None:
    ok("add", "Plain")
    ok("add", "Standup", "-r", "every weekday at 9am")
    (task,) = as_json("list", "--repeating")
    assert task["title"] == "Standup" and task["due"].endswith(":00") and "T09:00:00" in task["due"]
    assert "every weekday at 09:00" in ok("show", "2")


def test_quick_add_prints_what_it_recognised() -> None:
    line = "add buy milk tomorrow 5pm !high #errand @home every monday"
    out = ok(*line.split(" "))
    assert out.startswith("Added #1 buy milk · due ") and " 17:00 · high · #errand · @home" in out
    assert out.rstrip().endswith("· every Monday")
    task = as_json("show", "1")
    assert (task["title"], task["priority"], task["tags"], task["project"]) == (
        "buy milk",
        "high",
        ["errand"],
        "home",
    )
    assert task["repeat"]["rule"] == "FREQ=WEEKLY;BYDAY=MO"
    # a quoted argument is literal, --raw reads nothing, flags win over inline words
    assert ok("add", "Watch Friday").startswith("Added #2 Watch Friday\n")
    raw = ok("add", "--raw", "pay", "rent", "friday", "!high")
    assert raw == "Added #3 pay rent friday !high\n"
    flagged = json.loads(ok("add", "call", "mom", "!low", "friday", "-p", "high", "--json"))
    assert (flagged["title"], flagged["priority"]) == ("call mom !low", "high")
    assert flagged["due"] is not None  # "friday" was still read: only --priority was given
    dated = json.loads(ok("add", "call", "mom", "friday", "--due", "monday", "--json"))
    assert dated["title"] == "call mom friday" and date.fromisoformat(dated["due"]).weekday() == 0


def test_today_and_agenda_commands() -> None:
    ok("add", "Pay rent", "--due", "yesterday")
    ok("add", "Dentist", "--due", "today 23:59")
    ok("add", "Stretch", "--repeat", "every day")
    ok("add", "Undated")
    today = invoke_cli("today")
    assert today.code == 0
    lines = today.stdout.splitlines()
    assert lines[0] == "Overdue" and "#1 Pay rent" in lines[1]
    assert lines[3].startswith("Today · ") and "23:59  #2 Dentist" in today.stdout
    assert "#3 Stretch" in today.stdout and "Undated" not in today.stdout
    week = json.loads(invoke_cli("agenda", "--days", "3", "--json").stdout)
    assert [s["day"] for s in week][0] is None
    assert [len(s["tasks"]) for s in week] == [1, 2, 1, 1]  # Stretch on every day
    assert week[2]["tasks"][0]["due"] == (date.today() + timedelta(days=1)).isoformat()
    bad = invoke_cli("agenda", "--days", "0")
    assert bad.code == 2
