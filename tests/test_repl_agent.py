"""The chat session with the real agent (``agent.ChatSession``) against the fake server."""

from __future__ import annotations

import asyncio
import os
import signal

import fakeserver
import pytest
from fakeserver import FakeServer
from helpers import point_openrouter_at
from repl_helpers import session

import todo_cli.agent  # noqa: F401  (imported once here: it takes seconds)

fake_server = fakeserver.fake_server


@pytest.fixture
def server(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    point_openrouter_at(monkeypatch, fake_server.url, key="sk-or-v1-dummy", timeout=None)
    return fake_server


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


def _open_titles() -> list[str]:
    from todo_cli.store import TaskQuery, TaskStore

    with TaskStore.open() as store:
        return [t.title for t in store.query(TaskQuery(status="pending"))]


def test_turn_adds_task_then_slash_undo(server: FakeServer) -> None:
    server.add_tool_call(
        "add_tasks", {"tasks": [{"title": "Buy milk", "due": "tomorrow"}]}, cost=0.0012
    )

    async def main() -> None:
        async with session() as d:
            out = await d.send("add buy milk tomorrow")
            assert "+ #1 Buy milk" in out
            assert "Added #1 Buy milk." in out  # composed: no second request
            assert "$0.0012" in out
            assert d.repl.stats == {"open": 1, "overdue": 0, "due_today": 0, "done": 0} or (
                d.repl.stats and d.repl.stats["open"] == 1
            )
            out = await d.send("/tasks")
            assert "Buy milk" in out
            out = await d.send("/undo")
            assert "Undid" in out and "Buy milk" in out
            out = await d.send("/tasks")
            assert "No open tasks" in out

    run(main())
    assert _open_titles() == []


def test_slash_add_done_and_history_resume(server: FakeServer) -> None:
    server.add_text("Hello!")

    async def main() -> None:
        async with session() as d:
            out = await d.send("/add Call mom")
            assert "+ #1 Call mom" in out
            out = await d.send("/done 1")
            assert "✓ #1 Call mom" in out
            out = await d.send("/done 99")
            assert "Error:" in out and "99" in out
            await d.send("hi there")
            first = d.repl.chat.conversation_id
            out = await d.send("/history")
            assert first in out and "hi there" in out
            await d.send("/new")
            assert d.repl.chat.conversation_id != first
            out = await d.send(f"/resume {first[:4]}")
            assert d.repl.chat.conversation_id == first
            assert "hi there" in out and "Hello!" in out

    run(main())


def test_approval_declined_is_told_to_the_agent(server: FakeServer) -> None:
    server.add_tool_calls(
        [("add_tasks", {"tasks": [{"title": "A"}]}), ("add_tasks", {"tasks": [{"title": "B"}]})]
    )
    server.add_tool_call("delete_tasks", {"ids": [1, 2]})
    server.add_text("OK, I left them alone.")

    async def main() -> None:
        async with session() as d:
            await d.send("add A and B")
            await d.send("delete both", wait=False)
            await d.answer("n")
            await d.idle()
            assert "OK, I left them alone." in d.out

    run(main())
    assert sorted(_open_titles()) == ["A", "B"]
    tool_msg = [m for m in server.chat_requests[-1].messages if m.get("role") == "tool"][-1]
    assert "declined" in tool_msg["content"]


def test_ctrl_c_stops_slow_reply_and_next_turn_works(server: FakeServer) -> None:
    server.add_text("word " * 400, delay=0.02)
    server.add_text("Still here.")

    async def main() -> None:
        async with session() as d:
            await d.send("write a lot", wait=False)
            await d.streamed("word word word")
            os.kill(os.getpid(), signal.SIGINT)
            await d.idle()
            assert "Stopped." in d.out
            assert "word word" in d.out  # what was shown stays
            assert d.out.count("word") < 400
            out = await d.send("are you there?")
            assert "Still here." in out

    run(main())
    # The second request carries a valid history: the interrupted reply, then the question.
    messages = server.chat_requests[-1].messages
    assert messages[-1]["content"] == "are you there?"
    assert any(m.get("role") == "assistant" for m in messages)
