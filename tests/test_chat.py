"""`todo chat` one-shot, driven like a user would, then checked in SQLite."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import fakeserver
import helpers
import pytest
from conftest import TODO_EXE
from fakeserver import FakeServer

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet
server = helpers.openrouter_server


@pytest.fixture(autouse=True)
def _offline(no_internet):
    return no_internet


def rows(todo_home: Path) -> list[tuple]:
    with sqlite3.connect(todo_home / "data" / "todo.db") as conn:
        return conn.execute("SELECT id, title, status FROM tasks").fetchall()


def test_one_shot_add_in_a_real_process(fake_server: FakeServer, todo_env, todo_home) -> None:
    fake_server.add_tool_call("add_tasks", {"tasks": [{"title": "Buy milk", "due": "tomorrow"}]})
    env = {
        **todo_env,
        "OPENROUTER_BASE_URL": fake_server.url,
        "OPENROUTER_API_KEY": "sk-or-v1-test",
        "OPENAI_API_KEY": "sk-must-not-be-used",  # tracing would upload with it
    }
    proc = subprocess.run(
        [*TODO_EXE, "chat", "add buy milk tomorrow"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    # One request: the successful add ends the turn with a summary composed by code.
    assert proc.stdout == "Added #1 Buy milk.\n"  # plain text when piped
    assert len(fake_server.chat_requests) == 1
    assert "+ #1 Buy milk (due tomorrow)" in proc.stderr
    assert rows(todo_home) == [(1, "Buy milk", "pending")]


def test_message_from_stdin(server, todo, todo_home) -> None:
    server.add_tool_call("add_tasks", {"tasks": [{"title": "Water plants"}]})
    r = todo("chat", stdin="add water plants\n")
    assert r.code == 0, r.err
    assert r.out == "Added #1 Water plants.\n"
    assert server.chat_requests[0].messages[-1] == {"role": "user", "content": "add water plants"}
    assert rows(todo_home) == [(1, "Water plants", "pending")]


def test_empty_stdin_is_a_usage_error(server, todo) -> None:
    r = todo("chat", stdin="  \n")
    assert r.code == 2 and "No message" in r.err


def test_no_message_on_a_terminal_opens_the_session(server, todo, monkeypatch) -> None:
    from todo_cli import repl

    seen: dict[str, Any] = {}
    monkeypatch.setattr(repl, "run_repl", lambda **kw: seen.update(kw))

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty())
    r = todo("chat", "--model", "x/y", "-c", "--yes")
    assert r.code == 0
    assert seen == {
        "provider": None,
        "model": "x/y",
        "base_url": None,
        "conversation_id": None,
        "continue_latest": True,
        "yes": True,
        "list_name": None,
    }


def test_json_output(server, todo) -> None:
    server.add_tool_calls([("add_tasks", {"tasks": [{"title": "A"}]}), ("search_tasks", {})])
    server.add_text("Added A.", cost=0.0003)
    r = todo("chat", "--json", "add a and list")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["text"] == "Added A."
    assert [c["name"] for c in data["tool_calls"]] == ["add_tasks", "search_tasks"]
    assert data["tool_calls"][0]["arguments"] == {"tasks": [{"title": "A"}]}
    assert (
        data["tool_calls"][0]["result"]["added_tasks"][0]["id"] == 1 and data["tool_calls"][0]["ok"]
    )
    assert data["usage"]["input_tokens"] == 200 and data["usage"]["cost"] == pytest.approx(0.0003)
    assert data["model"] == "openai/gpt-oss-20b:free" and data["provider"] == "openrouter"
    assert len(data["conversation_id"]) == 8
    assert r.err == ""


def test_delete_declined_without_yes_and_done_with_it(server, todo, todo_home) -> None:
    server.add_tool_calls(
        [("add_tasks", {"tasks": [{"title": "A"}]}), ("add_tasks", {"tasks": [{"title": "B"}]})]
    )
    assert todo("chat", "add a and b").code == 0

    server.add_tool_call("delete_tasks", {"ids": [1, 2]})
    server.add_text("I could not delete them without your approval.")
    r = todo("chat", "delete both")
    assert r.code == 0
    assert "not done without --yes: Delete 2 tasks (#1 A, #2 B)" in r.err
    assert "without your approval" in r.out
    assert len(rows(todo_home)) == 2

    server.add_tool_call("delete_tasks", {"ids": [1, 2]})
    r = todo("chat", "--yes", "delete both")
    assert r.code == 0 and "✗ #1 A deleted" in r.err and "✗ #2 B deleted" in r.err
    assert rows(todo_home) == []


def test_continue_and_conversation_flags(server, todo) -> None:
    server.add_text("First.")
    first = json.loads(todo("chat", "--json", "remember apples").out)
    server.add_text("Second.")
    assert todo("chat", "-c", "what did I say?").code == 0
    users = [m["content"] for m in server.chat_requests[-1].messages if m["role"] == "user"]
    assert users == ["remember apples", "what did I say?"]

    server.add_text("Fresh.")
    todo("chat", "new topic")
    assert [m["role"] for m in server.chat_requests[-1].messages] == ["system", "user"]

    server.add_text("Third.")
    todo("chat", "--conversation", first["conversation_id"], "and again")
    users = [m["content"] for m in server.chat_requests[-1].messages if m["role"] == "user"]
    assert users == ["remember apples", "what did I say?", "and again"]

    r = todo("chat", "--conversation", "nope", "hi")
    assert r.code == 3 and "No conversation 'nope'" in r.err


def test_provider_error_exit_code_and_partial_answer(server, todo) -> None:
    server.add_stream_error("Half an ans", {"code": 502, "message": "Upstream died"})
    r = todo("chat", "hi")
    assert r.code == 4
    assert r.out.startswith("Half an ans")
    assert "Error: The answer stopped" in r.err and "Upstream died" in r.err
    assert "Traceback" not in r.err


def test_missing_key_exit_code(todo, monkeypatch) -> None:
    r = todo("chat", "hi")
    assert r.code == 4
    assert "OPENROUTER_API_KEY" in r.err and "todo config set openrouter.api_key" in r.err


def test_connection_refused_exit_code(todo, monkeypatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
    r = todo("chat", "--provider", "groq", "--base-url", "http://127.0.0.1:9/openai/v1", "hi")
    assert r.code == 4 and "http://127.0.0.1:9/openai/v1" in r.err


def test_fallback_model_is_reported(server, todo) -> None:
    server.add_text("Hi!", model="meta-llama/llama-3.3-70b-instruct:free")
    r = todo("chat", "hi")
    assert "answered by meta-llama/llama-3.3-70b-instruct:free" in r.err


def test_model_flag_and_tool_support_warning(server, todo, monkeypatch) -> None:
    from todo_cli import catalog

    monkeypatch.setattr(
        catalog, "tool_support_warning", lambda model_id, settings, **kw: f"{model_id}: no tools"
    )
    server.add_text("Hi!")
    r = todo("chat", "--model", "acme/tiny", "hi")
    assert r.code == 0 and "acme/tiny: no tools" in r.err
    assert server.chat_requests[0].body["model"] == "acme/tiny"


def test_reasoning_hidden_unless_enabled(server, todo) -> None:
    server.add_text("Answer.", reasoning="secret chain of thought")
    r = todo("chat", "hi")
    assert "secret" not in r.out + r.err
    from todo_cli import config

    config.set_value("show_reasoning", True)
    server.add_text("Answer.", reasoning="visible chain of thought")
    r = todo("chat", "hi")
    assert "visible chain of thought" in r.err and r.out == "Answer.\n"


def test_rate_limit_notice_on_stderr(server, todo) -> None:
    server.add_error(429, headers={"Retry-After": "0"})
    server.add_text("Hello.")
    r = todo("chat", "hi")
    assert r.code == 0 and "rate limited, retrying in 1 s" in r.err and r.out == "Hello.\n"


@pytest.mark.parametrize(
    ("status", "body", "fragment"),
    [
        (401, {"error": {"message": "User not found.", "code": 401}}, "rejected the API key"),
        (
            404,
            {"error": {"message": "No endpoints found that support tool use.", "code": 404}},
            "todo models --free --tools",
        ),
        (402, {"error": {"message": "Insufficient credits", "code": 402}}, "free models too"),
    ],
)
def test_http_errors_through_the_cli(server, todo, status, body, fragment) -> None:
    server.add_error(status, body)
    r = todo("chat", "hi")
    assert r.code == 4 and r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0]


def test_custom_server_without_key(todo) -> None:
    with FakeServer(prefix="/v1") as local:
        local.add_text("Local hello.")
        r = todo("chat", "--provider", "custom", "--base-url", local.url, "-m", "qwen2.5", "hi")
        assert r.code == 0, r.err
        assert r.out == "Local hello.\n"
        req = local.chat_requests[0]
        assert req.path == "/v1/chat/completions" and req.body["model"] == "qwen2.5"
        assert req.headers["authorization"] == "Bearer not-needed"
        assert "x-title" not in req.headers
        assert "max_tokens" not in req.body and "usage" not in req.body
        assert req.body["stream_options"] == {"include_usage": True}
