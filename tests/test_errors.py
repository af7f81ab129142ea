"""Every provider failure becomes one ProviderError line with a cause and a fix (exit 4)."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import fakeserver
import helpers
import pytest
from conftest import SHARED_FIXTURES
from fakeserver import FakeServer

from todo_cli.errors import ExitCode, ProviderError
from todo_cli.events import TextDelta

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet
server = helpers.openrouter_server

OWN = Path(__file__).resolve().parent / "fixtures"
SHARED_ERRORS = SHARED_FIXTURES / "openrouter" / "errors"


@pytest.fixture(autouse=True)
def _offline(no_internet):
    return no_internet


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    from todo_cli import llm

    monkeypatch.setattr(llm, "RETRY_BASE_DELAY", 0.01)


def turn(message: str = "hi", **session_kw: Any) -> tuple[list[Any], ProviderError | None]:
    """Run one turn; return the events seen and the ProviderError raised (if any)."""
    from todo_cli.agent import ChatSession
    from todo_cli.config import load_settings

    session = ChatSession(load_settings(), **session_kw)
    events: list[Any] = []

    async def go() -> ProviderError | None:
        try:
            async for e in session.stream_turn(message):
                events.append(e)
        except ProviderError as exc:
            return exc
        finally:
            await session.aclose()
        return None

    return events, asyncio.run(go())


def text_of(exc: ProviderError) -> str:
    return f"{exc.message} {exc.hint or ''}"


# (file, status, headers, repeat, expected fragments)
CASES = [
    ("401_user_not_found.json", 401, {}, 1, ["rejected the API key", "OPENROUTER_API_KEY",
                                            "todo config set openrouter.api_key"]),
    ("402_insufficient_credits.json", 402, {}, 1, ["credits", "negative balance",
                                                   "free models too"]),
    ("404_no_tool_endpoints.json", 404, {}, 1, ["cannot call tools",
                                                "todo models --free --tools"]),
    ("404_unknown_model.json", 404, {}, 1, ["Unknown model", "todo models --search"]),
    ("400_invalid_model_id.json", 400, {}, 1, ["Unknown model", "todo models --search"]),
    ("429_free_models_per_day.json", 429, {}, 1, ["Daily free-model limit", "50", "1000",
                                                  "00:00 UTC"]),
    ("429_free_models_per_min.json", 429, {}, 4, ["Rate limited", "try again"]),
    ("429_upstream_rate_limited.json", 429, {}, 4, ["Rate limited", "rate-limited upstream"]),
    ("502_provider_error.json", 502, {}, 2, ["server error", "502", "--model"]),
    ("groq_400_tool_use_failed.json", 400, {}, 1, ["malformed tool call", "another model"]),
    ("ollama_400_no_tools.json", 400, {}, 1, ["does not support tool calling"]),
    ("gemini_400_bad_key.json", 400, {}, 1, ["rejected the API key"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "status", "headers", "repeat", "expected"), CASES)
def test_error_bodies_map_to_one_line_with_a_fix(
    server: FakeServer, name: str, status: int, headers: dict, repeat: int, expected: list[str]
) -> None:
    body = (OWN / "errors" / name).read_text()
    for _ in range(repeat):
        server.add_error(status, body, headers=headers)
    _events, exc = turn()
    assert exc is not None
    assert exc.exit_code == ExitCode.PROVIDER
    assert "\n" not in exc.message
    for fragment in expected:
        assert fragment in text_of(exc), (fragment, text_of(exc))
    assert "sk-or-v1-test" not in text_of(exc)
    assert len(server.chat_requests) == repeat  # retried exactly as often as allowed
    assert server.pending == 0


SHARED_CASES = [
    ("401_user_not_found.json", ["rejected the API key"]),
    ("401_no_auth_credentials.json", ["rejected the API key"]),
    ("402_insufficient_credits_2026.json", ["credits", "free models too"]),
    ("404_no_tool_endpoints_2025.json", ["todo models --free --tools"]),
    ("404_no_tool_endpoints_2026.json", ["todo models --free --tools"]),
    ("404_tool_choice_unsupported.json", ["todo models --free --tools"]),
    ("429_upstream_rate_limited.json", ["Rate limited", "temporarily rate-limited upstream"]),
    ("groq_400_tool_use_failed.json", ["malformed tool call"]),
]


@pytest.mark.parametrize(("name", "expected"), SHARED_CASES)
def test_real_recorded_error_bodies(server: FakeServer, name: str, expected: list[str]) -> None:
    path = SHARED_ERRORS / name
    if not path.exists():
        pytest.skip(f"shared fixture {path} is absent")
    body = path.read_text()
    data = json.loads(body)
    code = data["error"]["code"]
    status = code if isinstance(code, int) else 400
    for _ in range(4 if status == 429 else 1):
        server.add_error(status, body)
    _events, exc = turn()
    assert exc is not None and exc.exit_code == ExitCode.PROVIDER
    for fragment in expected:
        assert fragment in text_of(exc)


def test_daily_limit_is_not_retried(server: FakeServer) -> None:
    body = (OWN / "errors" / "429_free_models_per_day.json").read_text()
    server.add_error(429, body, headers={"Retry-After": "1"})
    server.add_text("should not be reached")
    _events, exc = turn()
    assert exc is not None and "resets at 00:00 UTC" in exc.hint
    assert len(server.chat_requests) == 1


def test_retry_after_beyond_the_cap_is_not_waited_for(server: FakeServer) -> None:
    server.add_error(429, headers={"Retry-After": "3600"})
    _events, exc = turn()
    assert exc is not None and "Wait 3600 s" in exc.hint
    assert len(server.chat_requests) == 1


def _midstream(server: FakeServer, body: str) -> None:
    server.add_sse(body)
    events, exc = turn()
    assert exc is not None and exc.exit_code == ExitCode.PROVIDER
    assert exc.message.startswith("The answer stopped")
    return events, exc


def test_error_chunk_in_a_200_stream_keeps_the_partial_answer(server: FakeServer) -> None:
    events, exc = _midstream(server, (OWN / "sse" / "midstream_error.sse").read_text())
    partial = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert partial == "Here is the start of an answer"
    assert "Upstream connection lost" in exc.message


def test_real_midstream_error_chunk(server: FakeServer) -> None:
    path = SHARED_ERRORS / "200_midstream_error_chunk.sse"
    if not path.exists():
        pytest.skip(f"shared fixture {path} is absent")
    _events, exc = _midstream(server, path.read_text())
    assert "Token limit reached" in exc.message


def test_error_chunk_then_next_turn_works(server: FakeServer) -> None:
    from todo_cli.agent import ChatSession
    from todo_cli.config import load_settings

    server.add_stream_error("Partial", {"code": 502, "message": "boom"})
    server.add_text("Recovered")
    session = ChatSession(load_settings())

    async def go():
        with pytest.raises(ProviderError):
            async for _ in session.stream_turn("first"):
                pass
        try:
            return [e async for e in session.stream_turn("second")]
        finally:
            await session.aclose()

    events = asyncio.run(go())
    assert events[-1].final_text == "Recovered"
    users = [m["content"] for m in server.chat_requests[-1].messages if m["role"] == "user"]
    assert users == ["first", "second"]


def test_connection_refused_names_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    monkeypatch.setenv("OPENROUTER_BASE_URL", url)
    monkeypatch.setenv("OPENROUTER_API_KEY", "k")
    _events, exc = turn()
    assert exc is not None and url in exc.message and "Could not connect" in exc.message


def test_ollama_not_running_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OLLAMA_BASE_URL", f"http://127.0.0.1:{port}/v1")
    _events, exc = turn(provider="ollama")
    assert exc is not None and "ollama serve" in exc.hint


def test_timeout(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TODO_TIMEOUT", "0.3")
    server.add_text("late", first_delay=1.0)
    _events, exc = turn()
    assert exc is not None and "did not answer in time" in exc.message
    assert "TODO_TIMEOUT" in exc.hint


def test_missing_key_names_variable_and_command() -> None:
    _events, exc = turn()
    assert exc is not None and exc.exit_code == ExitCode.PROVIDER
    assert "OPENROUTER_API_KEY" in exc.hint and "todo config set openrouter.api_key" in exc.hint


def test_groq_missing_key() -> None:
    _events, exc = turn(provider="groq")
    assert exc is not None
    assert "GROQ_API_KEY" in exc.hint and "todo config set groq.api_key" in exc.hint


def test_custom_provider_without_url_is_a_usage_error() -> None:
    from todo_cli.errors import UsageError

    with pytest.raises(UsageError) as info:
        turn(provider="custom")
    assert "--base-url" in info.value.hint


def test_unknown_tool_goes_back_to_the_model(server: FakeServer) -> None:
    """A made-up tool name is an error the model can correct, not the end of the turn."""
    server.add_tool_call("launch_rocket", {"target": "moon"}, call_id="call_rocket")
    server.add_text("Sorry, I cannot do that.")
    events, exc = turn()
    assert exc is None
    assert events[-1].final_text == "Sorry, I cannot do that."
    followup = server.chat_requests[1].body["messages"]
    answer = next(m for m in followup if m.get("tool_call_id") == "call_rocket")
    assert "There is no tool 'launch_rocket'" in answer["content"]
    assert "add_tasks" in answer["content"] and "delete_tasks" in answer["content"]
