"""ChatSession against the fake OpenRouter: turns, events, approvals, undo, history."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import fakeserver
import helpers
import pytest
from fakeserver import FakeServer

from todo_cli.events import (
    ApprovalRequest,
    Notice,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolResult,
    TurnEnd,
)

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet
server = helpers.openrouter_server


@pytest.fixture(autouse=True)
def _offline(no_internet):
    return no_internet


def new_session(**kw: Any):
    from todo_cli.agent import ChatSession
    from todo_cli.config import load_settings

    return ChatSession(load_settings(), **kw)


_OPEN: list[Any] = []


def arun(session, coro):
    """Run ``coro`` on the session's own event loop (one per session, like the REPL's)."""
    runner = getattr(session, "_test_runner", None)
    if runner is None:
        runner = session._test_runner = asyncio.Runner()
        _OPEN.append(session)
    return runner.run(coro)


@pytest.fixture(autouse=True)
def _close_sessions():
    yield
    while _OPEN:
        session = _OPEN.pop()
        session._test_runner.run(session.aclose())
        session._test_runner.close()


def run_turn(session, message: str, approve=None) -> list[Any]:
    async def go():
        return [e async for e in session.stream_turn(message, approve=approve)]

    return arun(session, go())


def rows(todo_home: Path) -> list[tuple]:
    db = todo_home / "data" / "todo.db"
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, title, status, due, priority FROM tasks").fetchall()


def tool_messages(request) -> list[dict]:
    return [m for m in request.messages if m.get("role") == "tool"]


def assert_history_valid(messages: list[dict]) -> None:
    """Every assistant tool call is answered by a tool message right after it."""
    pending: set[str] = set()
    for m in messages:
        if m.get("role") == "tool":
            assert m["tool_call_id"] in pending, m
            pending.discard(m["tool_call_id"])
            continue
        assert not pending, f"tool calls without output before {m}"
        for call in m.get("tool_calls") or []:
            assert call["id"], "empty tool call id"
            pending.add(call["id"])
    assert not pending, f"dangling tool calls: {pending}"


def test_one_turn_with_two_tools_adds_rows_and_streams_events(server, todo_home) -> None:
    server.add_tool_calls(
        [
            ("add_tasks", {"tasks": [{"title": "Buy milk", "due": "tomorrow"}]}),
            ("add_tasks", {"tasks": [{"title": "Call mom"}]}),
        ],
        reasoning="The user wants two tasks.",
        cost=0.0012,
    )
    session = new_session()
    events = run_turn(session, "add buy milk tomorrow and call mom")

    assert [r[1] for r in rows(todo_home)] == ["Buy milk", "Call mom"]
    kinds = [type(e) for e in events]
    assert kinds.count(ToolCall) == 2 and kinds.count(ToolResult) == 2
    assert ReasoningDelta in kinds and kinds[-1] is TurnEnd
    # Both calls were changes that succeeded: the turn ends without a second request,
    # with a summary composed from the results after the tool results.
    assert len(server.chat_requests) == 1
    first_text = kinds.index(TextDelta)
    assert all(k is not TextDelta for k in kinds[:first_text])
    assert kinds.index(TextDelta) > max(i for i, k in enumerate(kinds) if k is ToolResult)
    summary = "Added #1 Buy milk and #2 Call mom."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == summary
    results = [e for e in events if isinstance(e, ToolResult)]
    assert all(r.ok for r in results)
    assert json.loads(results[0].output)["added_tasks"][0]["title"] == "Buy milk"
    end = events[-1]
    assert end.final_text == summary
    assert end.usage.input_tokens == 100 and end.usage.output_tokens > 0
    assert end.usage.cost == pytest.approx(0.0012)
    assert end.model == "openai/gpt-oss-20b:free"
    assert end.conversation_id == session.conversation_id and not end.cancelled
    # The next turn carries both calls, their outputs and the summary as the reply.
    server.add_text("You're welcome.")
    run_turn(session, "thanks")
    messages = server.chat_requests[1].messages
    assert len(tool_messages(server.chat_requests[1])) == 2
    assert_history_valid(messages)
    assert messages[-2] == {"role": "assistant", "content": summary}
    # Earlier turns' reasoning is not sent again.
    assert "reasoning" not in json.dumps(messages)


def test_request_shape_for_openrouter(server, monkeypatch) -> None:
    server.add_text("Hi")
    from todo_cli import config

    config.set_value("openrouter.fallback_models", ["meta/llama:free"])
    config.set_value("timezone", "America/New_York")
    session = new_session()
    run_turn(session, "hello")
    req = server.chat_requests[0]
    body = req.body
    assert body["model"] == "openai/gpt-oss-20b:free"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 4096
    assert body["usage"] == {"include": True}
    assert body["models"] == ["openai/gpt-oss-20b:free", "meta/llama:free"]
    assert req.headers["authorization"] == "Bearer sk-or-v1-test"
    assert req.headers["x-openrouter-title"] == "todo" and req.headers["x-title"] == "todo"
    assert req.headers["http-referer"].startswith("https://")
    system = body["messages"][0]
    assert system["role"] == "system"
    assert "America/New_York" in system["content"]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("America/New_York"))
    assert now.strftime("%Y-%m-%d") in system["content"]
    assert now.strftime("%A") in system["content"]
    names = {t["function"]["name"] for t in body["tools"]}
    assert {"add_tasks", "search_tasks", "delete_tasks", "undo_last_change"} <= names


def test_model_that_answered_is_reported(server) -> None:
    server.add_text("Hi", model="meta-llama/llama-3.3-70b-instruct:free")
    end = run_turn(new_session(), "hello")[-1]
    assert end.model == "meta-llama/llama-3.3-70b-instruct:free"


def test_one_undo_reverts_a_whole_turn(server, todo_home) -> None:
    from todo_cli.store import TaskStore

    server.add_tool_call("add_tasks", {"tasks": [{"title": "Keep me"}]})
    # A lookup among the calls sends the results back to the model, which goes on.
    server.add_tool_calls(
        [
            ("add_tasks", {"tasks": [{"title": "A"}]}),
            ("add_tasks", {"tasks": [{"title": "B"}]}),
            ("search_tasks", {"text": "a"}),
        ]
    )
    server.add_tool_call("complete_tasks", {"ids": [1]})
    session = new_session()
    run_turn(session, "add keep me")
    run_turn(session, "add a and b, complete 1")
    assert len(rows(todo_home)) == 3
    with TaskStore(todo_home / "data" / "todo.db") as store:
        result = store.undo()
        assert len(result.changes) == 3
    assert rows(todo_home) == [(1, "Keep me", "pending", None, "none")]


def test_destructive_call_declined_without_approver(server, todo_home) -> None:
    server.add_tool_calls(
        [("add_tasks", {"tasks": [{"title": "A"}]}), ("add_tasks", {"tasks": [{"title": "B"}]})]
    )
    session = new_session()
    run_turn(session, "add a and b")
    server.add_tool_call("delete_tasks", {"ids": [1, 2]})
    server.add_text("I did not delete them: that needs your approval.")
    events = run_turn(session, "delete both")
    approvals = [e for e in events if isinstance(e, ApprovalRequest)]
    assert len(approvals) == 1
    assert approvals[0].description == "Delete 2 tasks (#1 A, #2 B)"
    assert len(rows(todo_home)) == 2
    declined = [e for e in events if isinstance(e, ToolResult)]
    assert declined and not declined[-1].ok and "--yes" in declined[-1].output
    # The model was told, and the history it got is valid.
    last = server.chat_requests[-1]
    assert "Not done" in tool_messages(last)[-1]["content"]
    assert_history_valid(last.messages)


def test_destructive_call_approved_and_declined_by_user(server, todo_home) -> None:
    server.add_tool_calls(
        [("add_tasks", {"tasks": [{"title": title}]}) for title in ("A", "B", "C")]
    )
    session = new_session()
    run_turn(session, "add a b c")
    asked: list[ApprovalRequest] = []

    async def yes(req: ApprovalRequest) -> bool:
        asked.append(req)
        return True

    async def no(req: ApprovalRequest) -> bool:
        asked.append(req)
        return False

    server.add_tool_call("delete_tasks", {"ids": [3]})
    run_turn(session, "delete c", approve=yes)
    assert [r[1] for r in rows(todo_home)] == ["A", "B"]

    server.add_tool_call("complete_tasks", {"ids": [1, 2]})
    server.add_text("ok, left them")
    events = run_turn(session, "complete both", approve=no)
    assert asked[-1].name == "complete_tasks" and asked[-1].arguments == {"ids": [1, 2]}
    assert [r[2] for r in rows(todo_home)] == ["pending", "pending"]
    assert "declined" in [e for e in events if isinstance(e, ToolResult)][-1].output

    # Completing one task needs no approval.
    server.add_tool_call("complete_tasks", {"ids": [1]})
    count = len(asked)
    run_turn(session, "complete a", approve=no)
    assert len(asked) == count
    assert [r[2] for r in rows(todo_home)] == ["done", "pending"]


def test_gemini_empty_tool_call_ids_just_work(server, todo_home) -> None:
    server.add_tool_calls(
        [
            {"name": "add_tasks", "arguments": {"tasks": [{"title": "One"}]}, "id": ""},
            {"name": "add_tasks", "arguments": {"tasks": [{"title": "Two"}]}, "id": ""},
        ]
    )
    session = new_session()
    events = run_turn(session, "add one and two")
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert len({c.call_id for c in calls}) == 2 and all(c.call_id for c in calls)
    assert [r[1] for r in rows(todo_home)] == ["One", "Two"]
    # And the stored conversation replays correctly on the next turn.
    server.add_text("Sure.")
    run_turn(session, "thanks")
    assert_history_valid(server.chat_requests[1].messages)


def test_rate_limit_retry_honours_retry_after_with_notice(server) -> None:
    import time

    server.add_error(
        429,
        {"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-min."}},
        headers={"Retry-After": "1"},
    )
    server.add_text("Hello after waiting")
    started = time.monotonic()
    events = run_turn(new_session(), "hi")
    waited = time.monotonic() - started
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert notices == ["rate limited, retrying in 1 s"]
    assert events[-1].final_text == "Hello after waiting"
    assert 0.8 < waited < 10  # sanity only
    assert len(server.chat_requests) == 2


def _slow_reply(server: FakeServer) -> None:
    server.add_text("one two three four five six seven eight nine ten", delay=0.2)


def test_cancelling_the_task_keeps_history_valid(server) -> None:
    session = new_session()
    server.add_tool_call("add_tasks", {"tasks": [{"title": "Slow"}]}, delay=1.0)

    async def go():
        seen: list[Any] = []

        async def consume():
            async for e in session.stream_turn("add slow"):
                seen.append(e)

        task = asyncio.create_task(consume())
        while not server.chat_requests:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # inside the tool-call stream
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return seen

    arun(session, go())
    server.add_text("Next answer")
    events = run_turn(session, "next")
    assert events[-1].final_text == "Next answer"
    assert_history_valid(server.chat_requests[-1].messages)
    users = [m["content"] for m in server.chat_requests[-1].messages if m["role"] == "user"]
    assert users == ["add slow", "next"]


def test_cancel_after_a_tool_ran_keeps_call_and_output(server, todo_home) -> None:
    session = new_session()
    server.add_tool_calls(
        [("add_tasks", {"tasks": [{"title": "Kept"}]}), ("search_tasks", {"text": "kept"})]
    )
    _slow_reply(server)

    async def go():
        async def consume():
            async for e in session.stream_turn("add kept"):
                if isinstance(e, TextDelta):
                    task.cancel()
                    await asyncio.sleep(0)

        task = asyncio.create_task(consume())
        with pytest.raises(asyncio.CancelledError):
            await task

    arun(session, go())
    assert [r[1] for r in rows(todo_home)] == ["Kept"]
    server.add_text("ok")
    run_turn(session, "what did you do?")
    messages = server.chat_requests[-1].messages
    assert_history_valid(messages)
    assert any("Kept" in (m.get("content") or "") for m in messages if m["role"] == "tool")


def test_session_cancel_ends_with_cancelled_turn_end(server) -> None:
    session = new_session()
    _slow_reply(server)

    async def go():
        events = []
        async for e in session.stream_turn("talk"):
            events.append(e)
            if isinstance(e, TextDelta):
                session.cancel()
        return events

    events = arun(session, go())
    end = events[-1]
    assert isinstance(end, TurnEnd) and end.cancelled
    assert end.final_text.startswith("one")
    server.add_text("fine")
    run_turn(session, "again")
    messages = server.chat_requests[-1].messages
    assert_history_valid(messages)
    assistant = [m for m in messages if m["role"] == "assistant"]
    assert assistant and "[interrupted]" in assistant[-1]["content"]


def test_conversations_listed_continued_and_resumed(server) -> None:
    from todo_cli import conversations
    from todo_cli.errors import NotFoundError

    server.add_text("first answer")
    server.add_text("second answer")
    s1 = new_session()
    run_turn(s1, "first question")
    run_turn(s1, "follow-up")
    s2 = new_session()
    server.add_text("other")
    run_turn(s2, "another conversation")
    found = conversations.list_conversations()
    assert {c.id for c in found} == {s1.conversation_id, s2.conversation_id}
    info = conversations.get_conversation(s1.conversation_id)
    assert info.title == "first question" and info.turns == 2
    assert conversations.conversation_messages(s1.conversation_id)[:2] == [
        ("user", "first question"),
        ("assistant", "first answer"),
    ]

    resumed = new_session(conversation_id=s1.conversation_id)
    server.add_text("third answer")
    run_turn(resumed, "third")
    users = [m["content"] for m in server.chat_requests[-1].messages if m["role"] == "user"]
    assert users == ["first question", "follow-up", "third"]
    assert new_session(continue_latest=True).conversation_id == s1.conversation_id
    with pytest.raises(NotFoundError):
        new_session(conversation_id="nope")
    assert new_session().new_conversation() not in (s1.conversation_id, s2.conversation_id)


def test_long_history_is_trimmed_for_the_model_but_kept(server, monkeypatch) -> None:
    from todo_cli import agent, conversations

    monkeypatch.setattr(agent, "HISTORY_LIMIT", 5)
    session = new_session()
    for n in range(4):
        server.add_tool_call("search_tasks", {})
        server.add_text(f"answer {n}")
        run_turn(session, f"question {n}")
    messages = server.chat_requests[-1].messages
    assert messages[1]["role"] == "user"  # after the system message, never a tool output
    assert len(messages) <= 1 + 5 + 3  # system, trimmed history, this turn
    assert_history_valid(messages)
    assert conversations.get_conversation(session.conversation_id).turns == 4


def test_valid_history_repairs_cuts_and_dangling_calls() -> None:
    from todo_cli.agent import valid_history

    call = {"type": "function_call", "call_id": "c1", "name": "x", "arguments": "{}"}
    out = {"type": "function_call_output", "call_id": "c1", "output": "{}"}
    user = {"role": "user", "content": "hi"}
    assert valid_history([out, user, call, out]) == [user, call, out]
    repaired = valid_history([user, call, user])
    assert repaired[1] == call and repaired[2]["type"] == "function_call_output"
    assert repaired[2]["call_id"] == "c1" and repaired[4] == user
    # Strict providers want an assistant message between tool output and a user message.
    assert repaired[3] == {"role": "assistant", "content": "[interrupted]"}
    assert valid_history([user, call, out, user])[3]["role"] == "assistant"


def test_set_model_and_provider(server) -> None:
    session = new_session()
    session.set_model("other/model")
    server.add_text("hi")
    run_turn(session, "hello")
    assert server.chat_requests[-1].body["model"] == "other/model"
    session.set_provider("groq")
    assert session.provider_name == "groq" and session.model == "llama-3.3-70b-versatile"


def test_create_todo_agent_public_api(server, todo_home) -> None:
    from agents import Agent, Runner

    from todo_cli.agent import create_todo_agent

    agent = create_todo_agent(auto_approve=True)
    assert isinstance(agent, Agent)
    server.add_tool_call("add_tasks", {"tasks": [{"title": "From the API"}]})

    async def go():
        try:
            return await Runner.run(agent, "add from the api")
        finally:
            await agent.model._client.close()

    result = asyncio.run(go())
    assert result.final_output == "Added #1 From the API."  # composed: one request
    assert len(server.chat_requests) == 1
    assert [r[1] for r in rows(todo_home)] == ["From the API"]


def test_missing_key_is_a_provider_error(monkeypatch) -> None:
    from todo_cli.errors import ExitCode, ProviderError

    with pytest.raises(ProviderError) as info:
        new_session().endpoint  # noqa: B018
    assert "OPENROUTER_API_KEY" in str(info.value)
    assert "todo config set openrouter.api_key" in str(info.value)
    assert info.value.exit_code == ExitCode.PROVIDER


def test_tracing_is_disabled_and_nothing_leaves_the_machine(
    server, monkeypatch, no_internet
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-looking-key")
    server.add_tool_call("add_tasks", {"tasks": [{"title": "Private"}]})
    run_turn(new_session(), "add private")
    from agents.tracing import get_trace_provider

    provider = get_trace_provider()
    provider.force_flush()
    assert getattr(provider, "_disabled", True) is True
    assert no_internet.attempts == []
    hosts = {r.headers.get("host") for r in server.requests}
    assert hosts == {f"127.0.0.1:{server.port}"}


def test_cancel_while_waiting_for_approval(server, todo_home) -> None:
    server.add_tool_call("add_tasks", {"tasks": [{"title": "A"}]})
    session = new_session()
    run_turn(session, "add a")
    server.add_tool_call("delete_tasks", {"ids": [1]})

    async def go():
        async def never(_req: ApprovalRequest) -> bool:
            await asyncio.sleep(30)
            return True

        async def consume():
            async for _ in session.stream_turn("delete a", approve=never):
                pass

        task = asyncio.create_task(consume())
        while not any(r.body["messages"][-1].get("content") == "delete a"
                      for r in server.chat_requests):  # fmt: skip
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    arun(session, go())
    assert [r[1] for r in rows(todo_home)] == ["A"]
    server.add_text("ok")
    run_turn(session, "never mind")
    assert_history_valid(server.chat_requests[-1].messages)


def test_closing_the_stream_early_stops_the_run(server) -> None:
    session = new_session()
    _slow_reply(server)

    async def go():
        stream = session.stream_turn("talk")
        async for e in stream:
            if isinstance(e, TextDelta):
                break
        await stream.aclose()

    arun(session, go())
    server.add_text("fine")
    run_turn(session, "again")
    assert_history_valid(server.chat_requests[-1].messages)
    assert len(server.chat_requests) == 2
