"""The model client sends the Agents SDK's messages and tools as they are, without the
openai client's second walk over them: the request on the wire is the one the stock client
sends, over real HTTP to the fake server."""

from __future__ import annotations

import asyncio
from typing import Any

import fakeserver
import helpers
import pytest
from fakeserver import FakeServer

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet
server = helpers.openrouter_server


@pytest.fixture(autouse=True)
def _offline(no_internet):
    return no_internet


MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You manage a todo list."},
    {"role": "user", "content": "add pay rent"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "add_tasks", "arguments": '{"tasks": [{"title": "x"}]}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "Added #1 pay rent."},
    {"role": "assistant", "content": "Added #1 pay rent."},
    {"role": "user", "content": [{"type": "text", "text": "thanks ✓"}]},
]
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "add_tasks",
            "description": "Add tasks.",
            "parameters": {
                "type": "object",
                "properties": {"tasks": {"type": "array", "items": {"type": "object"}}},
                "required": ["tasks"],
            },
        },
    }
]


def _endpoint(url: str) -> Any:
    from todo_cli.llm import Endpoint
    from todo_cli.providers import get_provider

    return Endpoint(get_provider("openrouter"), url, "openai/gpt-oss-20b:free", "sk-or-v1-test")


async def _send(client: Any, **kwargs: Any) -> None:
    stream = await client.chat.completions.create(**kwargs)
    async for _ in stream:
        pass
    await client.close()


def _same_request_both_ways(server: FakeServer, **kwargs: Any) -> tuple[Any, Any]:
    """Send ``kwargs`` with the stock client and with ours; the two recorded requests.
    (A callable value is called for each send, for iterators.)"""
    import openai

    from todo_cli.llm import make_client

    endpoint = _endpoint(server.url)
    server.add_text("ok").add_text("ok")
    stock = openai.AsyncOpenAI(
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,
        default_headers=make_client(endpoint).default_headers,
        max_retries=0,
    )
    for client in (stock, make_client(endpoint)):
        sent = {k: v() if callable(v) else v for k, v in kwargs.items()}
        asyncio.run(_send(client, **sent))
    first, second = server.chat_requests[-2:]
    return first, second


def _comparable_headers(headers: dict[str, str]) -> dict[str, str]:
    # (x-stainless-async names the event loop library the client detected, which the
    # first client of a process may not know yet)
    volatile = {"x-stainless-async", "x-stainless-read-timeout"}
    return {k: v for k, v in headers.items() if k not in volatile}


def test_messages_and_tools_go_out_exactly_as_the_stock_client_sends_them(
    server: FakeServer,
) -> None:
    stock, ours = _same_request_both_ways(
        server,
        model="openai/gpt-oss-20b:free",
        messages=MESSAGES,
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=4096,
        extra_body={"usage": {"include": True}, "models": ["a", "b"]},
        extra_headers={"X-Extra": "1"},
    )
    assert ours.body == stock.body
    assert ours.body["messages"] == MESSAGES and ours.body["tools"] == TOOLS
    assert ours.body["models"] == ["a", "b"]
    assert _comparable_headers(ours.headers) == _comparable_headers(stock.headers)


def test_the_callers_extra_body_still_wins_and_other_data_takes_the_usual_path(
    server: FakeServer,
) -> None:
    # An extra_body that names "messages" overrides them, as with the stock client.
    stock, ours = _same_request_both_ways(
        server,
        model="m",
        messages=MESSAGES,
        stream=True,
        extra_body={"messages": MESSAGES[:2]},
    )
    assert ours.body == stock.body and ours.body["messages"] == MESSAGES[:2]
    # Messages that are not plain JSON lists (a tuple, an iterator) are converted by the
    # client itself, as before.
    stock, ours = _same_request_both_ways(
        server,
        model="m",
        messages=lambda: tuple(MESSAGES),
        tools=lambda: iter(TOOLS),
        stream=True,
    )
    assert ours.body == stock.body and ours.body["messages"] == MESSAGES


def test_what_an_agent_turn_sends_is_what_the_client_walk_would_have_left(
    server: FakeServer, todo_home: Any
) -> None:
    """The client's own walk over the request types changes nothing in the requests a real
    agent turn makes (tool definitions, tool calls and results, several turns): skipping
    it changes nothing on the wire."""
    from openai._utils._transform import async_maybe_transform
    from openai.types.chat import completion_create_params

    from todo_cli.agent import ChatSession
    from todo_cli.config import load_settings

    server.add_tool_call("add_tasks", {"tasks": [{"title": "Pay rent", "due": "friday"}]})
    server.add_text("Anything else?")
    server.add_tool_call("search_tasks", {"text": "rent"})
    server.add_text("Found it.")
    session = ChatSession(load_settings())

    async def turns() -> None:
        for message in ("add pay rent on friday", "hello", "find rent"):
            async for _ in session.stream_turn(message):
                pass
        await session.aclose()

    asyncio.run(turns())
    assert len(server.chat_requests) >= 3
    for request in server.chat_requests:
        body = request.body
        assert body["tools"] and body["messages"]
        walked = asyncio.run(
            async_maybe_transform(body, completion_create_params.CompletionCreateParamsStreaming)
        )
        assert walked == body
