"""Recorded OpenRouter streams (shared fixtures) and hand-written ones through ChatSession."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import fakeserver
import pytest
from conftest import SHARED_FIXTURES
from fakeserver import FakeServer
from helpers import point_openrouter_at

from todo_cli.events import ReasoningDelta, TextDelta, ToolResult

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet

OWN_SSE = Path(__file__).resolve().parent / "fixtures" / "sse"
SHARED_SSE = SHARED_FIXTURES / "openrouter" / "sse"


@pytest.fixture(autouse=True)
def _offline(no_internet):
    return no_internet


@pytest.fixture
def server(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    point_openrouter_at(monkeypatch, fake_server.url, timeout=None)
    return fake_server


def run(message: str, **kw) -> list:
    from todo_cli.agent import ChatSession
    from todo_cli.config import load_settings

    session = ChatSession(load_settings(), **kw)

    async def go():
        try:
            return [e async for e in session.stream_turn(message)]
        finally:
            await session.aclose()

    return asyncio.run(go())


def test_recorded_plain_text_stream(server: FakeServer) -> None:
    path = SHARED_SSE / "plain_text.sse"
    if not path.exists():
        pytest.skip(f"shared fixture {path} is absent")
    server.add_sse(path.read_text())
    events = run("name two penguins")
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Pebbles and Skipper."
    end = events[-1]
    assert end.model == "openai/gpt-4o"  # from the chunks, not the requested model
    assert end.usage.input_tokens == 17 and end.usage.output_tokens == 6
    assert end.usage.cost == pytest.approx(0.0001025)


def test_reasoning_and_split_tool_call_stream(server: FakeServer, todo_home: Path) -> None:
    server.add_sse((OWN_SSE / "reasoning_tool_call.sse").read_text())
    events = run("remind me to water the plants")
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Add the task."
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.ok and '"title":"Water plants"' in result.output
    with sqlite3.connect(todo_home / "data" / "todo.db") as conn:
        assert conn.execute("SELECT title FROM tasks").fetchall() == [("Water plants",)]
    # A successful add ends the turn without a second request; the next turn sends the
    # call, its output and the composed reply.
    assert events[-1].final_text == "Added #1 Water plants."
    assert events[-1].usage.input_tokens == 812
    server.add_text("Sure.")
    run("thanks", continue_latest=True)
    second = server.chat_requests[1].messages
    assert second[-3]["role"] == "tool" and second[-3]["tool_call_id"] == "call_abc123"
    assert second[-2] == {"role": "assistant", "content": "Added #1 Water plants."}
