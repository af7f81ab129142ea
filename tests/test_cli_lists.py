"""Lists through the real CLI: `todo tasks --list`, the `list` setting, `todo chat --list`.

The CLI runs in-process for speed (the same Typer app and error mapping as `todo`), one test
runs the real executable; the chat goes over real HTTP to the fake OpenRouter server. Each
test checks the SQLite rows afterwards.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import fakeserver
import helpers
import pytest
from fakeserver import FakeServer
from helpers import CliOutcome, invoke_cli, run_todo

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet
server = helpers.openrouter_server


def todo(*args: str, input: str | None = None) -> CliOutcome:
    return invoke_cli(*args, input=input)


def ok(*args: str, input: str | None = None) -> str:
    out = todo(*args, input=input)
    assert out.code == 0, out.stderr + out.stdout
    return out.stdout


def rows(todo_home: Path) -> list[tuple]:
    with sqlite3.connect(todo_home / "data" / "todo.db") as conn:
        return conn.execute("SELECT id, title, status, list FROM tasks ORDER BY id").fetchall()


def titles(*args: str) -> list[str]:
    return [t["title"] for t in json.loads(ok(*args, "--json"))]


def test_tasks_commands_work_on_the_list_given(todo_home: Path) -> None:
    assert ok("tasks", "add", "Buy milk") == "Added #1 Buy milk\n"
    assert ok("tasks", "--list", "Work", "add", "Write report") == "Added #2 Write report\n"
    ok("tasks", "--list", "work", "add", "Send invoice")
    assert rows(todo_home) == [
        (1, "Buy milk", "pending", "default"),
        (2, "Write report", "pending", "work"),
        (3, "Send invoice", "pending", "work"),
    ]
    assert titles("tasks", "list") == ["Buy milk"]
    assert titles("tasks", "--list", "work", "list") == ["Write report", "Send invoice"]
    listed = json.loads(ok("tasks", "--list", "work", "list", "--json"))
    assert {t["list"] for t in listed} == {"work"}
    assert titles("tasks", "--list", "work", "search", "invoice") == ["Send invoice"]
    assert titles("tasks", "search", "invoice") == []
    assert ok("tasks", "--list", "errands") == (
        "In list errands: no pending tasks. Add one with `todo tasks add ...`.\n"
    )
    ok("tasks", "--list", "work", "done", "3")
    assert rows(todo_home)[2][2] == "done"


def test_a_task_of_another_list_is_not_found(todo_home: Path) -> None:
    ok("tasks", "add", "Buy milk")
    for args in (("show", "1"), ("done", "1"), ("rm", "1"), ("edit", "1", "--title", "x")):
        out = todo("tasks", "--list", "work", *args)
        assert out.code == 3, out
        assert out.stderr.startswith("Error: No task #1"), out.stderr
    assert rows(todo_home) == [(1, "Buy milk", "pending", "default")]


def test_undo_stays_in_the_current_list(todo_home: Path) -> None:
    ok("tasks", "add", "Buy milk")
    ok("tasks", "--list", "work", "add", "Write report")
    assert "Buy milk" in ok("tasks", "undo")
    assert rows(todo_home) == [(2, "Write report", "pending", "work")]
    out = todo("tasks", "undo")
    assert out.code == 3 and "Nothing to undo" in out.stderr
    ok("tasks", "--list", "work", "undo")
    assert rows(todo_home) == []


def test_the_list_setting_and_its_environment_variable(
    todo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok("config", "set", "list", "Home")
    ok("tasks", "add", "Water plants")
    monkeypatch.setenv("TODO_LIST", "errands")
    ok("tasks", "add", "Post letter")
    ok("tasks", "--list", "work", "add", "Write report")  # the flag beats both
    assert [r[3] for r in rows(todo_home)] == ["home", "errands", "work"]
    show = json.loads(ok("config", "show", "--json"))["list"]
    assert (show["value"], show["source"], show["env"]) == ("errands", "env", "TODO_LIST")


def test_bad_list_names_are_usage_errors(todo_home: Path, monkeypatch) -> None:
    out = todo("tasks", "--list", "two words", "add", "x")
    assert out.code == 2 and "'two words' is not a valid list name" in out.stderr
    out = todo("config", "set", "list", "a/b")
    assert out.code == 2 and "not a valid list name" in out.stderr, out
    monkeypatch.setenv("TODO_LIST", "-bad")
    out = todo("tasks", "list")
    assert out.code == 1 and "TODO_LIST" in out.stderr, out
    assert not (todo_home / "data" / "todo.db").exists() or rows(todo_home) == []


def test_export_is_the_current_list_and_carries_it(todo_home: Path, tmp_path: Path) -> None:
    ok("tasks", "add", "Buy milk")
    ok("tasks", "--list", "work", "add", "Write report")
    exported = json.loads(ok("tasks", "--list", "work", "export"))
    assert [(t["title"], t["list"]) for t in exported] == [("Write report", "work")]
    backup = tmp_path / "work.json"
    backup.write_text(json.dumps(exported))
    # a task the store already has (same uuid) is that task, in its own list: not copied
    out = ok("tasks", "--list", "home", "import", str(backup))
    assert ": 0 added, 0 updated, 1 unchanged" in out
    assert rows(todo_home)[-1] == (2, "Write report", "pending", "work")
    # a new task goes to the current list, whatever list the file names
    backup.write_text(json.dumps([{**exported[0], "uuid": None, "title": "Plan trip"}]))
    ok("tasks", "--list", "home", "import", str(backup))
    assert rows(todo_home)[-1] == (3, "Plan trip", "pending", "home")


def test_the_real_executable(todo_env: dict[str, str], todo_home: Path) -> None:
    proc = run_todo(todo_env, "tasks", "--list", "work", "add", "Write report", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["list"] == "work"
    proc = run_todo({**todo_env, "TODO_LIST": "work"}, "tasks", "list", "--json")
    assert [t["title"] for t in json.loads(proc.stdout)] == ["Write report"]
    proc = run_todo(todo_env, "tasks", "show", "1")
    assert proc.returncode == 3 and proc.stderr.startswith("Error: No task #1.")


# --------------------------------------------------------------------------- the agent


@pytest.fixture
def offline(no_internet):
    return no_internet


def test_chat_works_on_the_list_given(
    server: FakeServer, todo_home: Path, offline, capsys: pytest.CaptureFixture[str]
) -> None:
    ok("tasks", "add", "Buy milk")  # #1 in default
    ok("tasks", "--list", "work", "add", "Write report")  # #2 in work
    server.add_tool_call("search_tasks", {})
    server.add_tool_calls(
        [
            ("complete_tasks", {"ids": [1]}),  # another list's task: not found
            ("add_tasks", {"tasks": [{"title": "Book room"}]}),
        ]
    )
    server.add_text("Done.")
    out = ok("chat", "--list", "work", "--json", "what is on my list? finish #1, add book room")
    result = json.loads(out)
    listed = result["tool_calls"][0]["result"]
    assert [t["title"] for t in listed["tasks"]] == ["Write report"]
    complete = result["tool_calls"][1]
    assert complete["ok"] is False and "No task #1" in json.dumps(complete["result"])
    assert rows(todo_home) == [
        (1, "Buy milk", "pending", "default"),
        (2, "Write report", "pending", "work"),
        (3, "Book room", "pending", "work"),
    ]
    system = str(server.chat_requests[0].messages[0]["content"])
    assert "task list named work; the tools see only it" in system
    # the turn is one undo step of "work"; default's history is untouched
    ok("tasks", "--list", "work", "undo")
    assert [r[1] for r in rows(todo_home)] == ["Buy milk", "Write report"]


# --------------------------------------------------------------------------- todo lists


def test_lists_shows_counts_and_the_current_list(todo_home: Path) -> None:
    assert ok("lists") == "  list     open  done\n* default     0     0\n"
    ok("tasks", "add", "Buy milk")
    ok("tasks", "--list", "work", "add", "Write report")
    ok("tasks", "--list", "work", "add", "Send invoice")
    ok("tasks", "--list", "work", "done", "3")
    assert ok("lists") == ("  list     open  done\n* default     1     0\n  work        1     1\n")
    assert json.loads(ok("lists", "--json")) == [
        {"name": "default", "open": 1, "done": 0, "current": True},
        {"name": "work", "open": 1, "done": 1, "current": False},
    ]
    assert ok("lists", "use", "Work") == "Now on list work.\n"
    assert ok("config", "get", "list") == "work\n"
    assert ok("lists").splitlines()[2] == "* work        1     1"
    assert titles("tasks", "list") == ["Write report"]


def test_rename_a_list_and_undo_it(todo_home: Path) -> None:
    ok("tasks", "--list", "work", "add", "Write report")
    ok("tasks", "add", "Buy milk")
    assert ok("lists", "rename", "work", "Job") == "Renamed list work to job (1 task).\n"
    assert rows(todo_home)[0] == (1, "Write report", "pending", "job")
    out = todo("lists", "rename", "job", "default")
    assert out.code == 2 and "There is already a list 'default'" in out.stderr
    out = todo("lists", "rename", "nope", "x")
    assert out.code == 3 and "No list 'nope'" in out.stderr
    assert ok("tasks", "undo") == "Undid: #1 Write report: list job → work\n"
    assert rows(todo_home)[0] == (1, "Write report", "pending", "work")


def test_renaming_the_current_list_moves_the_setting(todo_home: Path) -> None:
    ok("lists", "use", "work")
    ok("tasks", "add", "Write report")
    assert ok("lists", "rename", "work", "job") == (
        "Renamed list work to job (1 task).\nNow on list job.\n"
    )
    assert titles("tasks", "list") == ["Write report"]
    ok("tasks", "undo")  # recorded in the list the setting followed to
    assert rows(todo_home)[0][3] == "work"


def test_delete_a_list_needs_yes_off_a_terminal_and_is_undoable(todo_home: Path) -> None:
    ok("tasks", "add", "Buy milk")
    ok("tasks", "--list", "work", "add", "Write report", "-t", "q4")
    ok("tasks", "--list", "work", "add", "Send invoice")
    ok("tasks", "--list", "work", "done", "3")
    out = todo("lists", "rm", "work")
    assert out.code == 2
    assert "Deleting list work and its 2 tasks (1 done) needs confirmation." in out.stderr
    assert len(rows(todo_home)) == 3
    out = todo("lists", "rm", "work", "--yes")
    assert out.code == 0 and out.stdout == "Deleted list work (2 tasks).\n"
    assert "todo tasks undo" in out.stderr
    assert rows(todo_home) == [(1, "Buy milk", "pending", "default")]
    assert todo("lists", "rm", "work", "--yes").code == 3
    assert "delete list work" in ok("tasks", "undo")
    assert rows(todo_home) == [
        (1, "Buy milk", "pending", "default"),
        (2, "Write report", "pending", "work"),
        (3, "Send invoice", "done", "work"),
    ]
    assert titles("tasks", "--list", "work", "search", "q4") == ["Write report"]


def test_delete_asks_on_a_terminal(todo_env: dict[str, str], todo_home: Path) -> None:
    from conftest import TODO_EXE

    run_todo(todo_env, "tasks", "--list", "work", "add", "Write report")
    screen, code, typed = helpers.run_on_pty(
        [*TODO_EXE, "lists", "rm", "work"], todo_env, prompt=b"[y/N]", reply=b"n\n"
    )
    assert typed and code == 0, screen
    assert "Delete list work and its 1 task? [y/N]" in screen and "Nothing deleted." in screen
    assert len(rows(todo_home)) == 1
    screen, code, typed = helpers.run_on_pty(
        [*TODO_EXE, "lists", "rm", "work"], todo_env, prompt=b"[y/N]", reply=b"y\n"
    )
    assert typed and code == 0 and "Deleted list work (1 task)." in screen, screen
    assert rows(todo_home) == []


def test_conversations_belong_to_their_list(
    server: FakeServer, todo_home: Path, offline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from todo_cli import conversations

    for _ in range(4):
        server.add_text("ok")
    work = json.loads(ok("chat", "--list", "work", "--json", "hi from work"))["conversation_id"]
    home = json.loads(ok("chat", "--json", "hi from default"))["conversation_id"]
    assert work != home
    again = json.loads(ok("chat", "--list", "work", "-c", "--json", "more work"))
    assert again["conversation_id"] == work  # the latest of this list, not the latest overall
    assert json.loads(ok("chat", "-c", "--json", "more"))["conversation_id"] == home
    assert [c.id for c in conversations.list_conversations(list_name="work")] == [work]
    assert [c.id for c in conversations.list_conversations(list_name="default")] == [home]
    assert {c.id for c in conversations.list_conversations()} == {work, home}
    assert conversations.latest_conversation_id(list_name="other") is None
    # the second turn of the work conversation saw the first one
    users = [m.get("content") for m in server.chat_requests[2].messages if m["role"] == "user"]
    assert users == ["hi from work", "more work"]


def test_conversations_from_before_lists_are_in_default(todo_home: Path) -> None:
    from todo_cli import conversations

    path = conversations.db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:  # the SDK's tables, without ours
        conn.execute(
            "CREATE TABLE agent_sessions (session_id TEXT PRIMARY KEY,"
            " created_at TEXT, updated_at TEXT)"
        )
        conn.execute(
            "CREATE TABLE agent_messages (id INTEGER PRIMARY KEY, session_id TEXT,"
            " message_data TEXT, created_at TEXT)"
        )
        conn.execute("INSERT INTO agent_sessions VALUES ('old1', '2026-01-01', '2026-01-01')")
    assert [c.id for c in conversations.list_conversations(list_name="default")] == ["old1"]
    assert conversations.list_conversations(list_name="work") == []
    conversations.set_list("new1", "work")
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO agent_sessions VALUES ('new1', '2026-01-02', '2026-01-02')")
    assert [c.id for c in conversations.list_conversations(list_name="work")] == ["new1"]
    assert [c.id for c in conversations.list_conversations(list_name="default")] == ["old1"]


def test_a_whole_backup_restores_every_list(
    todo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok("tasks", "add", "Buy milk")
    ok("tasks", "--list", "work", "add", "Write report")
    ok("tasks", "--list", "work", "done", "2")
    backup = tmp_path / "all.json"
    ok("tasks", "export", "--all-lists", "-o", str(backup))
    exported = json.loads(backup.read_text())
    assert [(t["title"], t["list"]) for t in exported] == [
        ("Buy milk", "default"),
        ("Write report", "work"),
    ]
    fresh = tmp_path / "fresh-home"
    fresh.mkdir()
    monkeypatch.setenv("TODO_HOME", str(fresh))
    ok("tasks", "import", "--keep-lists", str(backup))
    assert [r[1:] for r in rows(fresh)] == [
        ("Buy milk", "pending", "default"),
        ("Write report", "done", "work"),
    ]
    assert ok("lists").splitlines()[1:] == ["* default     1     0", "  work        0     1"]
    # the same file again changes nothing (the uuids are known), in whatever list
    out = ok("tasks", "--list", "home", "import", str(backup))
    assert len(rows(fresh)) == 2, out
    ok("tasks", "undo")  # the backup's import: one step in the list it was made from
    assert rows(fresh) == []


def test_a_bad_list_name_in_a_file_is_reported_with_its_place(
    todo_home: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[\n{"title": "a"},\n{"title": "b", "list": "no spaces"}\n]\n')
    out = todo("tasks", "import", "--keep-lists", str(bad))
    assert out.code != 0
    assert "'no spaces' is not a valid list name" in out.stderr and "line 3" in out.stderr
    assert not (todo_home / "data" / "todo.db").exists() or rows(todo_home) == []


def test_a_conversation_goes_on_with_its_own_list(
    server: FakeServer, todo_home: Path, offline
) -> None:
    server.add_text("Hi.")
    server.add_tool_call("add_tasks", {"tasks": [{"title": "Book room"}]})
    server.add_text("Added.")
    conv = json.loads(ok("chat", "--list", "work", "--json", "hi"))["conversation_id"]
    ok("chat", "--conversation", conv, "--json", "add book room")  # no --list given
    assert rows(todo_home) == [(1, "Book room", "pending", "work")]
    system = str(server.chat_requests[1].messages[0]["content"])
    assert "task list named work" in system


def test_renaming_the_default_list_while_on_it_follows_too(
    todo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok("tasks", "add", "Buy milk")
    assert ok("lists", "rename", "default", "home") == (
        "Renamed list default to home (1 task).\nNow on list home.\n"
    )
    assert titles("tasks", "list") == ["Buy milk"]
    ok("tasks", "undo")  # found where the setting now points
    assert rows(todo_home)[0][3] == "default"
    ok("config", "unset", "list")
    monkeypatch.setenv("TODO_LIST", "default")
    out = todo("lists", "rename", "default", "home")
    assert out.code == 0 and "todo tasks --list home undo" in out.stderr
    assert ok("config", "get", "list") == "default\n"  # the environment picks the list
    ok("tasks", "--list", "home", "undo")
    assert rows(todo_home)[0][3] == "default"
