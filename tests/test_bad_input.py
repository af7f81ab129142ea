"""Bad input fails in one clear line: far-away dates, bytes that are not UTF-8 (command
line, stdin), huge numbers and deeply nested tool arguments from a model."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import fakeserver
import pytest
from conftest import TODO_EXE
from fakeserver import FakeServer

from todo_cli import dates
from todo_cli.errors import UsageError

fake_server = fakeserver.fake_server

LEAKS = ("Traceback", "OverflowError", "AssertionError", "unreachable", "surrogates",
         "UnicodeEncodeError", "RecursionError", "SQLite INTEGER")  # fmt: skip


def run(env: dict[str, str], *args: str | bytes, stdin: bytes | None = None):
    proc = subprocess.run(
        [*TODO_EXE, *args],
        env=env,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=60,
    )
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode()


def one_clean_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("Error: "), err
    assert not any(leak in err for leak in LEAKS), err
    return err


def count_tasks(todo_home: Path) -> int:
    path = todo_home / "data" / "todo.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM tasks").fetchone()[0])


@pytest.mark.parametrize(
    "phrase",
    ["in 99999999 days", "in 10000 years", "9999-12-31", "in 99999999999999999999 days"],
)
def test_far_away_dates_are_usage_errors(phrase: str) -> None:
    with pytest.raises(UsageError, match="too far away"):
        dates.parse_due(phrase)


def test_the_last_representable_day_still_works() -> None:
    assert dates.parse_due("9999-12-30") == "9999-12-30"


def test_far_away_dates_on_the_command_line(todo, todo_home) -> None:
    for phrase in ("in 99999999 days", "in 10000 years", "9999-12-31"):
        r = todo("tasks", "add", "x", "--due", phrase)
        assert r.code == 2
        assert one_clean_line(r.err) == (
            f"Error: The date '{phrase}' is too far away. Use a date before 9999-12-31, "
            "e.g. 2030-12-31.\n"
        )
        r = todo("tasks", "list", "--due-before", phrase)
        assert r.code == 2 and "too far away" in one_clean_line(r.err)
    assert count_tasks(todo_home) == 0


@pytest.mark.parametrize(
    "args",
    [
        [b"tasks", b"add", b"Buy \xffmilk"],
        [b"tasks", b"add", b"ok", b"-t", b"\xfe"],
        [b"tasks", b"add", b"ok", b"--notes", b"caf\xe9"],
        [b"tasks", b"list", b"--tag", b"\xff"],
        [b"config", b"set", b"openrouter.model", b"\xff"],
    ],
)
def test_bytes_that_are_not_utf8_on_the_command_line(args, todo_env, todo_home) -> None:
    env = {**todo_env, "LC_ALL": "C.UTF-8"}
    proc = subprocess.run(
        [os.fsencode(a) for a in TODO_EXE] + args, env=env, capture_output=True, timeout=60
    )
    assert proc.returncode == 2
    err = one_clean_line(proc.stderr.decode())
    assert "is not valid UTF-8 text" in err
    assert count_tasks(todo_home) == 0
    assert not (todo_home / "config.toml").exists()


def test_bytes_that_are_not_utf8_on_stdin(todo_env, todo_home) -> None:
    code, _out, err = run(
        todo_env, "tasks", "import", "-", stdin=b'[{"title": "ok"},\n{"title": "\xff"}]'
    )
    assert code == 2
    assert one_clean_line(err).startswith("Error: standard input line 2: not valid UTF-8 text.")
    code, _out, err = run(
        todo_env, "config", "set", "openrouter.api_key", stdin=b"sk-or-v1-\xffsecret"
    )
    assert code == 2
    assert "secret" not in one_clean_line(err)
    code, _out, err = run(todo_env, "chat", stdin=b"hello \xff")
    assert code == 2 and "not valid UTF-8" in one_clean_line(err)
    # a JSON escape of a lone surrogate is refused by the store, naming the record's line
    code, _out, err = run(todo_env, "tasks", "import", "-", stdin=b'[{"title": "a\\udcff"}]')
    assert code == 1
    assert "the title is not valid UTF-8 text: 'a\\xff'" in one_clean_line(err)
    assert count_tasks(todo_home) == 0


@pytest.mark.parametrize(
    ("text", "fmt", "place"),
    [
        ("[" * 5000 + "]" * 5000, "auto", "record 1 (line 1)"),
        ("[" * 5000 + "]" * 5000, "taskwarrior", "record 1 (line 1)"),
        ('[{"title": "ok"},\n' + "[" * 5000 + "]" * 5000 + "]", "json", "record 2 (line 2)"),
        ('{"title": "ok"}\n' + "[" * 5000 + "]" * 5000, "auto", "line 2"),
        ('{"title": "ok", "x": ' + "[" * 5000 + "]" * 5000 + "}", "auto", "line 1"),
    ],
)
def test_json_nested_thousands_deep_is_one_error(todo, todo_home, tmp_path, text, fmt, place):
    path = tmp_path / "deep.json"
    path.write_text(text)
    r = todo("tasks", "import", "-f", fmt, str(path))
    assert r.code == 1, r.err
    assert one_clean_line(r.err) == (
        f"Error: {path} {place}: invalid JSON: nested too deeply (no task record has more"
        " than a few levels). Nothing was imported; fix that record and run the import"
        " again.\n"
    )
    assert count_tasks(todo_home) == 0


@pytest.mark.parametrize(
    ("repeat", "problem"),
    [
        ({"rule": "FREQ=BOGUS"}, "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"),
        ({"rule": "FREQ=DAILY;INTERVAL=0"}, "INTERVAL must be a whole number from 1"),
        ({"rule": "FREQ=DAILY;COUNT=abc"}, "COUNT must be a whole number from 1"),
        ({"rule": "FREQ=WEEKLY;BYDAY=XX"}, "a part it names is not valid (XX)"),
        ({"rule": "FREQ=DAILY;UNTIL=2020"}, "UNTIL must be a date (YYYYMMDD)"),
        ({"rule": "FREQ=DAILY;WKST=MO"}, "todo does not use WKST"),
        ({"rule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "no day ever matches it"),
    ],
)
def test_an_imported_repeat_rule_is_checked(todo, todo_home, tmp_path, repeat, problem):
    path = tmp_path / "tasks.json"
    path.write_text(
        json.dumps([{"title": "ok"}, {"title": "a", "due": "2026-12-01", "repeat": repeat}])
    )
    r = todo("tasks", "import", str(path))
    assert r.code == 1, r.err
    assert one_clean_line(r.err) == (
        f"Error: {path} record 2 (line 1): the repeat rule '{repeat['rule']}' is not valid:"
        f" {problem}. Nothing was imported; fix that record and run the import again.\n"
    )
    path.write_text(json.dumps([{"title": "a", "repeat": {"rule": "FREQ=DAILY", "left": "x"}}]))
    r = todo("tasks", "import", str(path))
    assert "repeat left must be a whole number, not 'x'" in one_clean_line(r.err)
    assert count_tasks(todo_home) == 0


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"completions": "x"}, 'completions must be a list of {"at": date-time, "due": due}'),
        ({"completions": [1, 2]}, 'completions must be a list of {"at": date-time, "due": due}'),
        (
            {"completions": [{"at": "bad"}, {"at": "2026-11-01T10:00:00+00:00"}]},
            "completions is not an ISO 8601 date-time: 'bad'",
        ),
        ({"completions": [{"due": "2026-11-01"}]}, "each completion needs its date-time (at)"),
        (
            {"completions": [{"at": "2026-11-01T10:00:00+00:00", "due": "soon"}]},
            "a completion's due is not a date: 'soon'",
        ),
        ({"last_done": "x"}, 'last_done must be {"at": date-time, "due": due}'),
    ],
)
def test_an_imported_history_is_checked(todo, todo_home, tmp_path, fields, problem) -> None:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([{"title": "a", "repeat": "every day", **fields}]))
    r = todo("tasks", "import", str(path))
    assert r.code == 1, r.err
    assert one_clean_line(r.err) == (
        f"Error: {path} record 1 (line 1): {problem}. Nothing was imported; fix that record"
        " and run the import again.\n"
    )
    assert count_tasks(todo_home) == 0


def test_a_damaged_stored_rule_is_an_error_not_a_hang(todo, todo_home) -> None:
    """A rule that reached the database unchecked (an import of an older version): done
    says what is wrong, the agenda still shows the task on its due."""
    assert todo("tasks", "add", "Water plants", "--due", "today", "--repeat", "every day").code == 0
    with sqlite3.connect(todo_home / "data" / "todo.db") as conn:
        conn.execute("UPDATE tasks SET repeat_rule = 'FREQ=DAILY;INTERVAL=0'")
    r = todo("tasks", "done", "1")
    assert r.code == 2
    assert one_clean_line(r.err).startswith(
        "Error: The repeat rule 'FREQ=DAILY;INTERVAL=0' is not valid: INTERVAL must be"
    )
    r = todo("agenda", "--days", "3")
    assert r.code == 0, r.err
    assert r.out.count("Water plants") == 1


def test_huge_ids_and_limits(todo) -> None:
    huge = "9" * 30
    r = todo("tasks", "show", huge)
    assert r.code == 3
    assert one_clean_line(r.err).startswith("Error: No task #99999999999999999999… (no id")
    r = todo("tasks", "done", "1", huge)
    assert r.code == 3
    r = todo("tasks", "list", "--limit", huge, "--offset", huge)
    assert r.code == 0, r.err


def test_a_model_sending_bad_arguments_gets_clear_tool_errors(
    fake_server: FakeServer, todo, todo_home
) -> None:
    nested = {
        "tasks": [{"title": json.loads("[" * 900 + "]" * 900)}]
    }  # deep, but Python can read it
    fake_server.add_tool_calls(
        [
            {
                "name": "add_tasks",
                "arguments": '{"tasks": [{"title": ' + "[" * 5000 + "]" * 5000 + "}]}",
            },
            ("add_tasks", nested),
            ("update_task", {"task_id": 10**30, "title": "x"}),
            ("complete_tasks", {"ids": [10**25]}),
            {"name": "add_tasks", "arguments": '{"tasks": [{"title": "bad \\udcff"}]}'},
            ("add_tasks", {"tasks": [{"title": "far", "due": "in 10000 years"}]}),
        ]
    )
    fake_server.add_text("Nothing worked.")
    env = {"OPENROUTER_BASE_URL": fake_server.url, "OPENROUTER_API_KEY": "sk-or-v1-x"}
    r = todo("chat", "--json", "go", env=env)
    assert r.code == 0, r.err
    calls = json.loads(r.out)["tool_calls"]
    results = [c["result"].get("error", "added") for c in calls]
    assert len(results) == 6, results
    assert results[0] == "Invalid arguments for add_tasks: The arguments are nested too deeply."
    assert results[1] == results[0]
    assert results[2].startswith("No task #10000000000000000000… (no id is that large)")
    assert results[3].startswith("No task #")
    assert results[4] == "added"  # a lone surrogate is replaced, as a decoder would
    assert results[5].startswith("The date 'in 10000 years' is too far away.")
    for text in results:
        assert not any(leak in text for leak in LEAKS), text
    assert "Traceback" not in r.err
    assert count_tasks(todo_home) == 1  # "bad \ufffd"


def test_explain_arguments_survives_any_depth() -> None:
    from todo_cli.tools import explain_arguments

    schema = {"properties": {"title": {"type": "string"}}, "required": ["title"]}
    deep = '{"title": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert explain_arguments(schema, deep) == "The arguments are nested too deeply."
    assert explain_arguments(schema, '{"title": [[1]]}') == "title must be a string, got [[1]]."


def test_safe_arguments() -> None:
    from todo_cli.llm import safe_arguments

    assert safe_arguments('{"ids": [1, 2]}') == '{"ids": [1, 2]}'
    assert safe_arguments('{"title": "\\ud83d\\ude00 ok"}') == '{"title": "\\ud83d\\ude00 ok"}'
    assert safe_arguments('{"title": "bad \\udcff"}') == '{"title": "bad \ufffd"}'
    assert safe_arguments('{"t": "[[[[", "x": ' + "[" * 40) == '{"t": "[[[[", "x": ' + "[" * 31
