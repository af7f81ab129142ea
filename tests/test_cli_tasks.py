"""`todo tasks ...` driven like a user would, then checked against the store.

Most tests run the Typer app in-process (fast); a few at the end run the real executable in a
subprocess to check exit codes, stderr and pure-JSON stdout end to end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import JSON_FIELDS, CliOutcome, invoke_cli, run_todo

FIXTURES = Path(__file__).parent / "fixtures"


def todo(*args: str, input: str | None = None) -> CliOutcome:
    """Run `todo tasks ARGS` in-process."""
    return invoke_cli("tasks", *args, input=input)


def ok(*args: str, input: str | None = None) -> str:
    out = todo(*args, input=input)
    assert out.code == 0, out.stderr + out.stdout
    return out.stdout


def as_json(*args: str) -> list | dict:
    return json.loads(ok(*args, "--json"))


def _table_rows(stdout: str) -> list[list[str]]:
    """Rows of the task table below the header rule, split into words."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("─")) + 1
    return [line.split() for line in lines[start:] if line.strip() and not line.startswith("…")]


# --------------------------------------------------------------------------- add / list / show


def test_add_list_show():
    out = ok("add", "Buy", "milk", "--due", "tomorrow", "-p", "high", "-t", "errand", "-t", "shop")
    assert out == "Added #1 Buy milk (due tomorrow)\n"
    ok("add", "Call mom", "-P", "family", "-n", "about the weekend", "--priority", "m")
    task = as_json("add", "File taxes", "--due", "2020-01-01")
    assert list(task) == JSON_FIELDS
    assert (task["id"], task["title"], task["due"], task["status"]) == (
        3,
        "File taxes",
        "2020-01-01",
        "pending",
    )

    table = ok("list")
    header = table.splitlines()[0].split()
    assert header == ["ID", "Pri", "Title", "Due", "Tags", "Project"]
    rows = _table_rows(table)
    # Sorted by due: overdue first, then tomorrow, then undated.
    assert [r[0] for r in rows] == ["3", "1", "2"]
    assert rows[1] == ["1", "☐", "high", "Buy", "milk", "tomorrow", "#errand", "#shop"]
    assert rows[2][-1] == "family" and "med" in rows[2]
    assert "\x1b" not in table  # not a terminal: no colours

    shown = ok("show", "2")
    assert shown.splitlines()[0] == "#2 Call mom"
    assert "  Priority:  medium" in shown and "  Project:   family" in shown
    assert shown.rstrip().endswith("about the weekend")
    detail = as_json("show", "1")
    assert list(detail) == [*JSON_FIELDS, "completions"]
    assert detail["tags"] == ["errand", "shop"] and detail["priority"] == "high"

    listed = as_json("list")
    assert [t["id"] for t in listed] == [3, 1, 2]
    assert all(list(t) == JSON_FIELDS for t in listed)


def test_add_rejects_bad_input():
    bad = todo("add", "Thing", "--due", "blorp")
    assert bad.code == 2 and "Could not understand the date 'blorp'" in bad.stderr
    bad = todo("add", "Thing", "-p", "urgent")
    assert bad.code == 2 and "not a priority" in bad.stderr
    bad = todo("add", "   ")
    assert bad.code == 2
    assert as_json("list") == []


def test_list_filters_sorting_and_paging():
    ok("add", "Alpha", "-p", "low", "-t", "home", "--due", "2020-01-01")
    ok("add", "Bravo", "-p", "high", "-P", "work", "--due", "today")
    ok("add", "Charlie", "-t", "home", "--due", "in 10 days")
    ok("add", "Delta", "-p", "high")
    ok("done", "4")

    def ids(*args: str) -> list[int]:
        return [t["id"] for t in as_json("list", *args)]

    assert ids() == [1, 2, 3]
    assert ids("--all") == [1, 2, 3, 4] == ids("--status", "all")
    assert ids("--status", "done") == [4]
    assert ids("--priority", "high") == [2]
    assert ids("--tag", "home") == [1, 3]
    assert ids("--project", "work") == [2]
    assert ids("--overdue") == [1]
    assert ids("--today") == [2]
    assert ids("--due-before", "tomorrow") == [1, 2]
    assert ids("--due-after", "tomorrow") == [3]
    assert ids("--sort", "priority", "--all")[:2] in ([2, 4], [4, 2])
    assert ids("--sort", "id", "--limit", "2") == [1, 2]
    assert ids("--sort", "id", "--limit", "2", "--offset", "2") == [3]

    assert ok("list", "--tag", "nope") == "No tasks match.\n"
    assert todo("list", "--sort", "colour").code == 2
    assert todo("list", "--status", "open").code == 2


def test_empty_list_is_friendly():
    assert ok("list") == "No pending tasks. Add one with `todo tasks add ...`.\n"
    assert ok() == ok("list")  # `todo tasks` alone lists
    assert ok("list", "--all") == "No tasks yet. Add one with `todo tasks add ...`.\n"


def test_default_table_limit_says_how_many_more():
    from todo_cli.config import load_settings
    from todo_cli.store import TaskStore

    with TaskStore.open(load_settings()) as store:
        store.import_tasks([{"title": f"Task {i}"} for i in range(1, 106)])
    out = ok("list")
    assert len(_table_rows(out)) == 100
    assert out.splitlines()[-1] == "… and 5 more (use --limit 0 to show all)."
    assert len(_table_rows(ok("list", "--limit", "0"))) == 105
    assert len(as_json("list")) == 105  # --json is never cut short by default
    assert len(_table_rows(ok("list", "--limit", "10", "--offset", "100"))) == 5


# --------------------------------------------------------------------------- edit / done / rm


def test_edit_fields_and_report_before_after():
    ok("add", "Buy milk", "-t", "a", "-t", "b", "--due", "tomorrow", "-P", "home")
    out = ok("edit", "1", "--priority", "high", "--add-tag", "c", "--remove-tag", "a")
    assert out == "Updated #1 Buy milk: priority none → high; tags #a #b → #b #c\n"
    out = ok("edit", "1", "--title", "Buy oat milk", "--due", "none", "--project", "none")
    assert out == (
        "Updated #1 Buy oat milk: title “Buy milk” → “Buy oat milk”; due tomorrow → none; "
        "project home → none\n"
    )
    ok("edit", "1", "--tag", "x", "--notes", "2 litres")
    task = as_json("show", "1")
    assert (task["tags"], task["notes"], task["due"], task["project"]) == (
        ["x"],
        "2 litres",
        None,
        None,
    )
    nothing = todo("edit", "1")
    assert nothing.code == 2 and "Nothing to change." in nothing.stderr
    missing = todo("edit", "9", "--title", "x")
    assert missing.code == 3 and "No task #9" in missing.stderr


def test_done_reopen_several_ids():
    for title in ("One", "Two", "Three"):
        ok("add", title)
    assert ok("done", "1", "#3", "1") == "Done #1 One\nDone #3 Three\n"
    bad = todo("done", "two")
    assert bad.code == 2 and "Not a task id: 'two'" in bad.stderr
    assert [t["id"] for t in as_json("list")] == [2]
    done = as_json("list", "--status", "done")
    assert all(t["completed_at"] for t in done)
    assert ok("reopen", "3") == "Reopened #3 Three\n"
    assert [t["id"] for t in as_json("list")] == [2, 3]


def test_rm_is_all_or_nothing_and_undo_restores():
    ok("add", "Keep me")
    ok("add", "Call mom")
    bad = todo("rm", "2", "42")
    assert bad.code == 3
    assert bad.stderr.startswith("Error: No task #42")
    assert [t["id"] for t in as_json("list")] == [1, 2]

    out = todo("rm", "2")
    assert out.stdout == "Deleted #2 Call mom\n"
    assert [t["id"] for t in as_json("list")] == [1]
    assert ok("undo") == "Undid: restored #2 Call mom\n"
    assert [t["id"] for t in as_json("list")] == [1, 2]


def test_undo_reports_before_and_after_and_walks_back():
    ok("add", "Buy milk")
    ok("add", "Call mom")
    ok("done", "1", "2")
    ok("edit", "1", "--priority", "high")
    assert ok("undo") == "Undid: #1 Buy milk: priority high → none\n"
    out = ok("undo").splitlines()
    assert out[0] == "Undid todo tasks done 1 2 (2 changes):"
    assert sorted(out[1:]) == ["  #1 Buy milk: done → pending", "  #2 Call mom: done → pending"]
    assert ok("undo") == "Undid: removed #2 Call mom\n"
    assert ok("undo") == "Undid: removed #1 Buy milk\n"
    nothing = todo("undo")
    assert nothing.code != 0 and "Nothing to undo" in nothing.stderr


# --------------------------------------------------------------------------- search


def test_search_titles_notes_and_done():
    ok("add", "Buy milk", "-n", "semi-skimmed from the corner shop")
    ok("add", "Call mom")
    ok("add", "Corner table booking")
    ok("done", "3")
    rows = _table_rows(ok("search", "corner"))
    assert [r[0] for r in rows] == ["1"]
    found = as_json("search", "corner", "--all")
    assert sorted(t["id"] for t in found) == [1, 3]
    assert all(list(t) == JSON_FIELDS for t in found)
    assert "No tasks match “zebra”" in ok("search", "zebra")


# --------------------------------------------------------------------------- import / export


def test_import_taskwarrior_export():
    out = ok("import", str(FIXTURES / "taskwarrior_export.json"))
    assert out == (
        f"Imported {FIXTURES / 'taskwarrior_export.json'}: 4 added, 0 updated, 0 unchanged,"
        " 1 skipped (1 deleted).\n"  # wait is mapped: the hide-until date
    )
    tasks = {t["title"]: t for t in as_json("list", "--all")}
    assert set(tasks) == {"Buy milk", "Call the plumber", "File taxes", "Water the plants"}
    milk = tasks["Buy milk"]
    assert (milk["priority"], milk["tags"], milk["project"]) == ("high", ["errand", "shop"], "home")
    assert milk["due"] is not None and milk["due"].startswith("2026-12-0")
    assert tasks["Call the plumber"]["notes"] == "ask about the invoice\nnumber is on the fridge"
    assert tasks["File taxes"]["status"] == "done"
    assert tasks["File taxes"]["completed_at"].startswith("2026-11-15")
    assert tasks["Buy milk"]["created_at"].startswith("2026-11-20")
    # One-object-per-line exports work too; `undo` takes a whole import back.
    out = ok("import", str(FIXTURES / "taskwarrior_export.ndjson"))
    assert out.endswith(": 2 added, 0 updated, 0 unchanged, 1 skipped (1 deleted).\n")
    undone = ok("undo").splitlines()
    assert undone[0].endswith("(2 changes):")
    assert len(as_json("list", "--all")) == 4


def test_import_real_taskwarrior_26_export():
    """Made by Taskwarrior 2.6.2 (`task export`, UTC): a recurring task, a deleted one."""
    path = FIXTURES / "taskwarrior_2.6_export.json"
    out = ok("import", str(path))
    assert out.splitlines() == [
        f"Imported {path}: 5 added, 0 updated, 0 unchanged, 1 skipped (1 deleted).",
        "Kept as they came and written back on export: mask 1, rtype 1.",
        "1 recurring instance became part of their repeating task (past ones are its completions).",
    ]
    tasks = {t["title"]: t for t in as_json("list", "--all")}
    assert sorted(tasks) == [
        "Buy milk",
        "Call the plumber",
        "File taxes",
        "Water plants",
        "Weekly review",
    ]
    assert tasks["Call the plumber"]["notes"] == "ask about the invoice"
    assert tasks["Buy milk"]["tags"] == ["errand", "shop"]
    # the template and its instance are one repeating task
    assert tasks["Weekly review"]["repeat"]["rule"] == "FREQ=WEEKLY"


def test_import_from_stdin():
    text = (FIXTURES / "todo.txt").read_text()
    out = ok("import", "-", input=text)
    assert out.startswith("Imported standard input: 6 added, 0 updated, 0 unchanged, 0 skipped.")


def test_import_todotxt():
    out = ok("import", str(FIXTURES / "todo.txt"))
    assert out.startswith(f"Imported {FIXTURES / 'todo.txt'}: 6 added, ")
    tasks = {t["title"]: t for t in as_json("list", "--all")}
    mom = tasks["Call mom"]
    assert (mom["priority"], mom["project"], mom["tags"], mom["due"]) == (
        "high",
        "family",
        ["phone"],
        "2026-11-27",
    )
    bill = tasks["Pay electricity bill"]
    assert bill["status"] == "done" and bill["completed_at"].startswith("2026-11-22")


def test_bad_import_line_is_reported_and_nothing_is_imported(tmp_path: Path):
    ok("add", "Existing")
    bad = todo("import", str(FIXTURES / "todo_bad.txt"))
    assert bad.code == 1
    assert f"{FIXTURES / 'todo_bad.txt'} line 5: 'due:2026-13-45'" in bad.stderr
    assert "Nothing was imported" in bad.stderr
    tw = tmp_path / "tw.json"
    tw.write_text('[\n{"description": "ok"},\n{"description": "bad", "status": "X"}\n]\n')
    bad = todo("import", str(tw))
    assert bad.code == 1 and f"{tw} record 2 (line 3): unknown Taskwarrior status" in bad.stderr
    assert [t["title"] for t in as_json("list", "--all")] == ["Existing"]
    missing = todo("import", str(tmp_path / "nope.json"))
    assert missing.code == 3 and "No such file" in missing.stderr


def test_export_import_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    ok("add", "Buy milk", "--due", "tomorrow 17:00", "-p", "high", "-t", "shop", "-P", "home")
    ok("add", "Call mom", "-n", "about the weekend\nand the car")
    ok("add", "File taxes", "-p", "low")
    ok("done", "3")
    before = as_json("list", "--all", "--sort", "id")

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    exported = out_dir / "tasks.json"
    exported.write_text("old content")
    assert ok("export", "-o", str(exported)) == ""
    assert json.loads(exported.read_text()) == [
        {k: v for k, v in t.items() if k != "blocked"} for t in before
    ]
    assert [p.name for p in out_dir.iterdir()] == ["tasks.json"]  # no temp file left
    nowhere = todo("export", "-o", str(tmp_path / "missing" / "x.json"))
    assert nowhere.code == 1 and "Cannot write" in nowhere.stderr
    assert ok("export") == exported.read_text()  # stdout by default
    tw = json.loads(ok("export", "--format", "taskwarrior"))
    assert [t["status"] for t in tw] == ["pending", "pending", "completed"]
    txt = ok("export", "--format", "todotxt").splitlines()
    assert txt[0].startswith("(A) ") and "+home @shop due:" in txt[0]
    assert txt[2].startswith("x ")

    other = tmp_path / "other-home"
    other.mkdir()
    monkeypatch.setenv("TODO_HOME", str(other))
    out = ok("import", str(exported))
    assert out == f"Imported {exported}: 3 added, 0 updated, 0 unchanged, 0 skipped.\n"
    after = as_json("list", "--all", "--sort", "id")
    strip = [{k: v for k, v in t.items() if k != "id"} for t in before]
    assert [{k: v for k, v in t.items() if k != "id"} for t in after] == strip


def test_store_record_errors_are_reported_by_line():
    from todo_cli.commands.tasks import _record_error
    from todo_cli.errors import UsageError

    places = ["line 3", "line 7"]
    err = _record_error(UsageError("Record 2: the title is missing."), places, "f.json")
    assert err.message == "f.json line 7: the title is missing."
    err = _record_error(
        UsageError("Record 2: bad."), ["record 1 (line 1)", "record 2 (line 1)"], "f"
    )
    assert err.message == "f record 2 (line 1): bad."
    other = UsageError("Something else.")
    assert _record_error(other, ["line 3"], "f.json") is other


# --------------------------------------------------------------------------- end to end


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_todo(env, "tasks", *args)


def test_end_to_end_real_executable(todo_env: dict[str, str], tmp_path: Path):
    r = _run(todo_env, "add", "Buy milk", "--due", "tomorrow", "-t", "shop", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["title"] == "Buy milk"

    r = _run(todo_env, "rm", "1", "42")
    assert (r.returncode, r.stdout) == (3, "")
    assert r.stderr.startswith("Error: No task #42")
    assert "Traceback" not in r.stderr

    bad = tmp_path / "bad.txt"
    shutil.copy(FIXTURES / "todo_bad.txt", bad)
    r = _run(todo_env, "import", str(bad))
    assert r.returncode == 1 and f"{bad} line 5:" in r.stderr and "Traceback" not in r.stderr

    r = _run(todo_env, "list")
    assert r.returncode == 0, r.stderr
    assert _table_rows(r.stdout) == [["1", "☐", "Buy", "milk", "tomorrow", "#shop"]]
    assert "\x1b" not in r.stdout

    r = _run(todo_env, "list", "--json")
    assert [t["title"] for t in json.loads(r.stdout)] == ["Buy milk"]


def test_changes_print_the_tasks_as_json_for_scripts():
    ok("add", "Water plants", "--repeat", "every day", "--due", "today")
    ok("add", "Buy milk")
    today = as_json("show", "1")["due"]
    done = as_json("done", "1", "2")
    assert [(t["id"], t["status"]) for t in done] == [(1, "pending"), (2, "done")]
    assert done[0]["due"] > today and done[0]["done_count"] == 1  # moved to its next day
    assert [t["status"] for t in as_json("reopen", "2")] == ["pending"]
    edited = as_json("edit", "2", "--title", "Buy oat milk", "--priority", "high")
    assert (edited["title"], edited["priority"]) == ("Buy oat milk", "high")
    skipped = as_json("skip", "1")
    assert skipped[0]["done_count"] == 1 and skipped[0]["due"] > done[0]["due"]
    (gone,) = as_json("rm", "2")
    assert gone["title"] == "Buy oat milk"
    assert [t["id"] for t in as_json("list", "--all")] == [1]
    fields = set(as_json("list", "--all")[0])  # one shape: the fields of `list --json`
    assert set(edited) == set(gone) == set(done[0]) == fields
