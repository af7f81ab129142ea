"""Lists in the chat session: `/list`, `--list`, the toolbar, and the real agent (against the
fake OpenRouter server over HTTP) acting on the current list only."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import fakeserver
import pytest
from fakeserver import FakeServer
from helpers import point_openrouter_at
from repl_helpers import session

import todo_cli.agent  # noqa: F401  (imported once here: it takes seconds)
from todo_cli.store import TaskStore

fake_server = fakeserver.fake_server


@pytest.fixture
def server(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    point_openrouter_at(monkeypatch, fake_server.url, key="sk-or-v1-dummy", timeout=None)
    return fake_server


def rows(todo_home: Path) -> list[tuple]:
    with sqlite3.connect(todo_home / "data" / "todo.db") as conn:
        return conn.execute("SELECT id, title, list FROM tasks ORDER BY id").fetchall()


def toolbar(d) -> str:  # noqa: ANN001
    return "".join(t for _, t in d.repl._toolbar())


def test_the_agent_works_on_the_current_list_and_follows_a_switch(
    server: FakeServer, todo_home: Path
) -> None:
    with TaskStore.open() as store:
        store.add("Buy milk")  # #1 in default
    server.add_tool_call(
        "add_tasks", {"tasks": [{"title": "Write report"}]}
    )  # ends the turn: one request
    server.add_tool_calls([("search_tasks", {}), ("complete_tasks", {"ids": [2]})])
    server.add_text("Listed.")

    async def main() -> None:
        async with session(list_name="work") as d:
            assert "list work" in toolbar(d)
            out = await d.send("add write report")
            assert "+ #2 Write report" in out
            work_conv = d.repl.chat.conversation_id
            out = await d.send("/list")
            assert "* work" in out and "  default" in out
            out = await d.send("/list default")
            assert "Now on list default (1 open, 0 done); new conversation" in out
            assert "list " not in toolbar(d)  # the default list is not named
            out = await d.send("what is open? and finish #2")
            assert "No task #2" in out  # the other list's task is out of reach
            assert d.repl.stats is not None and d.repl.stats["open"] == 1
            default_conv = d.repl.chat.conversation_id
            out = await d.send("/history")  # this list's conversations only
            assert default_conv in out and work_conv not in out
            start = len(d.out)
            await d.send("/undo", wait=False)  # the failed turn changed nothing: the add before
            await d.answer("y")  # it was made outside this session, so /undo asks first
            await d.idle()
            out = d.out[start:]
            assert "Buy milk" in out and "Write report" not in out
            await d.send("/list work")
            out = await d.send("/history")
            assert work_conv in out and default_conv not in out
            out = await d.send("/undo")
            assert "Write report" in out

    asyncio.run(main())
    assert rows(todo_home) == []
    requests = server.chat_requests
    # the second conversation starts fresh: its first request has no earlier turn in it
    texts = [str(m.get("content")) for m in requests[1].messages if m.get("role") == "user"]
    assert texts == ["what is open? and finish #2"]
    # the open-task list in the instructions is the current list's
    system = str(requests[1].messages[0].get("content"))
    assert "Buy milk" in system and "Write report" not in system
    list_result = next(m for m in requests[2].messages if m.get("role") == "tool")
    assert "Buy milk" in str(list_result.get("content"))
    assert "Write report" not in str(list_result.get("content"))


def test_slash_list_errors_and_completion(todo_home: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-test")

    async def main() -> None:
        async with session([]) as d:
            out = await d.send("/list two/words")
            assert "Error: 'two/words' is not a valid list name." in out
            await d.send("/list groceries")
            out = await d.send("/list")
            assert "* groceries" in out  # the current list shows even while empty
            await d.send("/add Apples")
            slash = d.repl.slash if hasattr(d.repl, "slash") else None
            from todo_cli.slash import SlashCommands

            commands = slash or SlashCommands(d.repl)
            assert [name for name, _ in commands.complete_list("g")] == ["groceries"]

    asyncio.run(main())
    assert rows(todo_home) == [(1, "Apples", "groceries")]
