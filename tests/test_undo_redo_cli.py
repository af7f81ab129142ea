"""`todo tasks redo`, and the session's /undo and /redo saying whose change they take back."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from helpers import invoke_cli, run_todo
from repl_helpers import session

from todo_cli.store import TaskQuery, TaskStore


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-test")


def record_questions(d) -> list[str]:  # noqa: ANN001
    """The questions the session asks outside its prompt (shown by prompt-toolkit)."""
    asked: list[str] = []
    ask = d.repl.ask

    async def recording(message: str, **kw):  # noqa: ANN202
        asked.append(message)
        return await ask(message, **kw)

    d.repl.ask = recording
    return asked


def titles() -> list[str]:
    with TaskStore.open() as store:
        return [t.title for t in store.query(TaskQuery(status=None, sort="id"))]


def test_cli_redo_after_undo(todo, todo_home: Path) -> None:
    assert todo("tasks", "add", "Buy milk").code == 0
    assert todo("tasks", "done", "1").code == 0
    undo = todo("tasks", "undo")
    assert undo.out == "Undid: #1 Buy milk: done → pending\n"
    redo = todo("tasks", "redo")
    assert redo.code == 0, redo.err
    assert redo.out == "Redid: #1 Buy milk: pending → done\n"
    again = todo("tasks", "redo")
    assert again.code == 3
    assert again.err == "Error: Nothing to redo.\n"
    with sqlite3.connect(todo_home / "data" / "todo.db") as conn:
        rows = conn.execute(
            "SELECT source, source_ref, user IS NOT NULL AND host IS NOT NULL"
            " FROM journal_groups ORDER BY seq"
        ).fetchall()
    assert rows == [
        ("cli", "todo tasks add 'Buy milk'", 1),
        ("cli", "todo tasks done 1", 1),
        ("cli", "todo tasks undo", 1),
        ("cli", "todo tasks redo", 1),
    ]


def test_cli_redo_walks_several_undos_and_a_new_change_ends_it() -> None:
    for title in ("a", "b", "c"):
        invoke_cli("tasks", "add", title)
    for _ in range(3):
        invoke_cli("tasks", "undo")
    assert titles() == []
    assert invoke_cli("tasks", "redo").stdout == "Redid: restored #1 a\n"
    assert invoke_cli("tasks", "redo").stdout == "Redid: restored #2 b\n"
    assert titles() == ["a", "b"]
    invoke_cli("tasks", "add", "d")
    out = invoke_cli("tasks", "redo")
    assert out.code == 3 and "Nothing to redo" in out.stderr
    assert titles() == ["a", "b", "d"]


def test_session_undo_asks_before_taking_back_another_terminals_command(
    key: None, todo_env: dict[str, str]
) -> None:
    async def main() -> None:
        async with session([]) as d:
            asked = record_questions(d)
            await d.send("/add Mine")
            # typed in another terminal while the session is open
            other = await asyncio.to_thread(run_todo, todo_env, "tasks", "add", "Theirs")
            assert other.returncode == 0
            await d.send("/undo", wait=False)
            await d.answer("n")
            await d.idle()
            assert asked[0].startswith(
                "Undo “todo tasks add Theirs”, made by the command `todo tasks add Theirs`"
                " (another terminal, "
            )
            assert asked[0].endswith(")? [y/N] ")
            assert "Nothing was undone." in d.out
            assert titles() == ["Mine", "Theirs"]
            await d.send("/undo", wait=False)
            await d.answer("y")
            await d.idle()
            assert "Undid: removed #2 Theirs" in d.out
            out = await d.send("/undo")  # this session's own /add: no question
            assert "Undid: removed #1 Mine" in out and "(made by this session" in out
            assert len(asked) == 2
            out = await d.send("/redo")  # the undo just made here: no question either
            assert "Redid: restored #1 Mine" in out
            assert titles() == ["Mine"]

    asyncio.run(main())


def test_session_redo_asks_for_an_undo_made_elsewhere(key: None, todo_env) -> None:
    invoke_cli("tasks", "add", "a")

    async def main() -> None:
        async with session([]) as d:
            asked = record_questions(d)
            await d.send("/tasks")
            undo = await asyncio.to_thread(run_todo, todo_env, "tasks", "undo")
            assert undo.returncode == 0
            await d.send("/redo", wait=False)
            await d.answer("y")
            await d.idle()
            assert len(asked) == 1
            assert asked[0].startswith(
                "Redo “undo todo tasks add a”, made by the command `todo tasks undo`"
                " (another terminal, "
            )
            assert "Redid: restored #1 a" in d.out
            out = await d.send("/redo")
            assert "Error: Nothing to redo." in out

    asyncio.run(main())
    assert titles() == ["a"]
