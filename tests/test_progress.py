"""Feedback for slow steps on a terminal: the spinner's delayed start, and `todo tasks
undo` of a big import (a spinner line on stderr from half a second on, erased before the
report; nothing for a quick undo, nothing when not on a terminal)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import TODO_EXE
from helpers import invoke_cli, run_on_pty

from todo_cli.spinner import Spinner
from todo_cli.store import TaskStore


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_spinner_stopped_within_its_delay_shows_nothing():
    out = FakeTerminal()
    Spinner(out, "undoing…").start(delay=0.5).stop()
    assert out.getvalue() == ""


def test_a_delayed_spinner_draws_after_its_delay_and_erases_its_line():
    out = FakeTerminal()
    spinner = Spinner(out, "undoing…").start(delay=0.05)
    deadline = time.monotonic() + 10
    while "undoing…" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    spinner.stop()
    assert "undoing…" in out.getvalue()
    assert out.getvalue().endswith("\r\x1b[2K")


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_the_undo_of_a_big_import_shows_a_spinner_on_a_terminal(
    todo_home: Path, todo_env: dict[str, str]
):
    store = TaskStore(todo_home / "data" / "todo.db", tz=ZoneInfo("UTC"))
    with store, store.group("import"):
        store.import_tasks([{"title": f"Task {i}"} for i in range(12000)])
    screen, code, _ = run_on_pty(
        [*TODO_EXE, "tasks", "undo"], todo_env, prompt=b"\x00never", reply=b""
    )
    assert code == 0, screen
    assert "undoing…" in screen
    erased = screen.rindex("\r\x1b[2K")
    assert "undoing" not in screen[erased:] and "Undid" in screen[erased:]
    quick = invoke_cli("tasks", "add", "one more")
    assert quick.code == 0
    screen, code, _ = run_on_pty(
        [*TODO_EXE, "tasks", "undo"], todo_env, prompt=b"\x00never", reply=b""
    )
    assert code == 0 and "Undid" in screen and "undoing" not in screen, screen
