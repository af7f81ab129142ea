"""Lists travel through Taskwarrior and todo.txt files: `todo_list` / `list:NAME` on tasks
not in the default list (on every task with --all-lists), read back by `import --keep-lists`.
Through the real CLI (in-process), and through the real `task` binary where it is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import invoke_cli, taskwarrior_env


def ok(*args: str) -> str:
    out = invoke_cli(*args)
    assert out.code == 0, out.stderr + out.stdout
    return out.stdout + out.stderr


def listed(list_name: str | None = None) -> list[dict]:
    where = ["--list", list_name] if list_name else []
    return json.loads(ok("tasks", *where, "list", "--all", "--sort", "id", "--json"))


def two_lists() -> None:
    ok("tasks", "add", "Buy milk", "--tag", "errand")
    ok("tasks", "--list", "work", "add", "Write report", "--project", "q4")
    ok("tasks", "--list", "work", "add", "Call Ann")


def move_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("TODO_HOME", str(tmp_path / name))


def test_taskwarrior_export_names_the_list(tmp_path: Path):
    two_lists()
    out = tmp_path / "tw.json"
    ok("tasks", "--list", "work", "export", "-f", "taskwarrior", "-o", str(out))
    assert [r.get("todo_list") for r in json.loads(out.read_text())] == ["work", "work"]
    ok("tasks", "export", "-f", "taskwarrior", "-o", str(out))
    assert [r.get("todo_list") for r in json.loads(out.read_text())] == [None]
    assert "todo_list" not in json.loads(out.read_text())[0]
    ok("tasks", "export", "-f", "taskwarrior", "--all-lists", "-o", str(out))
    assert [r["todo_list"] for r in json.loads(out.read_text())] == ["default", "work", "work"]


@pytest.mark.parametrize("fmt", ["taskwarrior", "todotxt"])
def test_keep_lists_puts_every_task_back_in_its_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
):
    two_lists()
    out = tmp_path / ("all.txt" if fmt == "todotxt" else "all.json")
    ok("tasks", "export", "-f", fmt, "--all-lists", "-o", str(out))
    move_home(tmp_path, monkeypatch, "second")
    report = ok("tasks", "import", "--keep-lists", str(out))
    assert "3 added" in report
    assert [t["title"] for t in listed()] == ["Buy milk"]
    work = listed("work")
    assert [t["title"] for t in work] == ["Write report", "Call Ann"]
    assert work[0]["project"] == "q4"  # the list is not left in the title either
    again = ok("tasks", "import", "--keep-lists", str(out))  # nothing changes
    assert "0 added" in again and "3 unchanged" in again
    assert len(listed()) + len(listed("work")) == 3
    # Without --keep-lists everything goes to the current list
    move_home(tmp_path, monkeypatch, "third")
    report = ok("tasks", "--list", "inbox", "import", str(out))
    assert "3 tasks named another list; new ones went to inbox (`--keep-lists`" in report
    assert [t["title"] for t in listed("inbox")] == ["Buy milk", "Write report", "Call Ann"]
    assert listed("work") == []


def test_todotxt_lines_carry_list_only_off_the_default_list(tmp_path: Path):
    src = tmp_path / "todo.txt"
    src.write_text("(A) Pay rent due:2026-12-01\nx 2026-11-20 Sent card +family\n")
    ok("tasks", "import", str(src))
    out = tmp_path / "out.txt"
    ok("tasks", "export", "-f", "todotxt", "-o", str(out))
    assert out.read_text() == src.read_text()  # the default list adds nothing
    ok("tasks", "export", "-f", "todotxt", "--all-lists", "-o", str(out))
    assert out.read_text() == (
        "(A) Pay rent due:2026-12-01 list:default\nx 2026-11-20 Sent card +family list:default\n"
    )
    ok("tasks", "--list", "home", "add", "Fix the tap")
    ok("tasks", "--list", "home", "export", "-f", "todotxt", "-o", str(out))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d Fix the tap list:home\n", out.read_text())


def test_a_bad_list_name_is_an_error_naming_the_record(tmp_path: Path):
    src = tmp_path / "tw.json"
    src.write_text(json.dumps([{"description": "x", "todo_list": "no such/list"}]))
    out = invoke_cli("tasks", "import", "--keep-lists", str(src))
    assert out.code == 1 and "record 1 (line 1): todo_list:" in out.stderr


@pytest.mark.skipif(shutil.which("task") is None, reason="Taskwarrior (`task`) is not installed")
def test_the_list_survives_the_real_taskwarrior(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """todo -> task import -> task export -> todo import --keep-lists: the list is still
    there (Taskwarrior keeps an attribute it has no definition for)."""
    two_lists()
    out = tmp_path / "tw.json"
    ok("tasks", "export", "-f", "taskwarrior", "--all-lists", "-o", str(out))
    env = taskwarrior_env(tmp_path / "tw")
    subprocess.run(["task", "import", str(out)], env=env, check=True, capture_output=True)
    back = subprocess.run(
        ["task", "export"], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert sorted(r["todo_list"] for r in json.loads(back)) == ["default", "work", "work"]
    (tmp_path / "back.json").write_text(back)
    move_home(tmp_path, monkeypatch, "second")
    ok("tasks", "import", "--keep-lists", str(tmp_path / "back.json"))
    assert [t["title"] for t in listed("work")] == ["Write report", "Call Ann"]
    assert [t["title"] for t in listed()] == ["Buy milk"]
