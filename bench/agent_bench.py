"""Client-side cost of one streamed tool-calling turn: `todo`'s agent vs a bare client.

Both talk to the same local fake server (its own process, no artificial delay), which
streams the same two answers to each: first a call of the list tool, then a text answer.
`todo` runs the turn through ``ChatSession.stream_turn`` (Agents SDK, tool execution against
a real store, conversation history in SQLite). The bare ``openai.AsyncOpenAI`` client then
replays the exact two request bodies `todo` sent (recorded by the server) and reads both
streams, parsing the tool-call arguments. Time to first token is from the start of the
turn to the first text delta of the final answer; turn end is when the last event arrived.
Runs alternate between the two so machine noise hits both alike.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from typing import Any

from .data import generate_tasks
from .harness import BenchError, Context, Figure, Series
from .todo_env import db_path, load_tasks, open_store
from .turns import (
    FAKE_KEY,
    ServerProcess,
    chat_session,
    list_tool_name,
    timed_turn,
    turn_script,
)

TARGET_RATIO = 1.2
MESSAGE = "What is on my list?"


def _split_body(create: Any, body: dict[str, Any]) -> dict[str, Any]:
    """``create(**kwargs)`` arguments for a recorded body: known parameters by name, the
    rest (provider extras) through ``extra_body``; same JSON on the wire."""
    known = set(inspect.signature(create).parameters)
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in body.items():
        (kwargs if key in known else extra)[key] = value
    kwargs["stream"] = True
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


async def bare_turn(client: Any, bodies: list[dict[str, Any]]) -> tuple[float | None, float]:
    """Issue the recorded requests with a bare client; (first text delta, end) in seconds."""
    create = client.chat.completions.create
    first: float | None = None
    start = time.perf_counter()
    for body in bodies:
        stream = await create(**_split_body(create, body))
        calls: dict[int, list[str]] = {}
        async for chunk in stream:
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content and first is None:
                    first = time.perf_counter() - start
                for call in delta.tool_calls or []:
                    calls.setdefault(call.index, []).append(
                        (call.function.arguments if call.function else None) or ""
                    )
        for parts in calls.values():
            json.loads("".join(parts) or "{}")
    return first, time.perf_counter() - start


def run(ctx: Context) -> list[Figure]:
    from openai import AsyncOpenAI

    tool = list_tool_name()
    home = ctx.tmpdir("home-agent")
    store = open_store(db_path(home))
    try:
        load_tasks(store, generate_tasks(20, seed=5))
    finally:
        store.close()
    iterations = ctx.warmup + ctx.runs
    script = turn_script(tool) * (2 * iterations)
    workdir = ctx.tmpdir("fakeserver")
    todo_first: list[float] = []
    todo_end: list[float] = []
    bare_first: list[float] = []
    bare_end: list[float] = []

    with ServerProcess(workdir, script) as server, chat_session(home, server.url) as session:

        async def measure() -> None:
            client = AsyncOpenAI(base_url=server.url, api_key=FAKE_KEY)
            bodies: list[dict[str, Any]] | None = None
            for i in range(iterations):
                session.new_conversation()
                turn = await timed_turn(session, MESSAGE)
                if bodies is None:
                    bodies = server.chat_bodies(wait_for=2)
                    if len(bodies) != 2:
                        raise BenchError(f"expected 2 requests in the turn, saw {len(bodies)}")
                first, end = await bare_turn(client, bodies)
                if turn.first_token is None or first is None:
                    raise BenchError("a turn streamed no text")
                if i >= ctx.warmup:
                    todo_first.append(turn.first_token)
                    todo_end.append(turn.end)
                    bare_first.append(first)
                    bare_end.append(end)
            await client.close()

        ctx.log(f"{iterations} turns through ChatSession and {iterations} with a bare client")
        asyncio.run(measure())

    tf, te, bf, be = (Series(s) for s in (todo_first, todo_end, bare_first, bare_end))
    ratio_first = tf.median / bf.median
    ratio_end = te.median / be.median
    extra = {
        "todo_first_token_ms": tf.to_dict(1000),
        "todo_turn_ms": te.to_dict(1000),
        "bare_first_token_ms": bf.to_dict(1000),
        "bare_turn_ms": be.to_dict(1000),
        "tool": tool,
    }
    return [
        Figure(
            "agent.first_token",
            "turn: time to first token (todo agent)",
            tf.median * 1000,
            "ms",
            reference=f"bare openai client {bf.median * 1000:.1f} ms",
            ratio=f"{ratio_first:.2f}x bare",
            note="tool call, then the text answer; local fake server, no delay",
            extra=extra,
        ),
        Figure(
            "agent.turn_end",
            "turn: time to turn end (todo agent)",
            te.median * 1000,
            "ms",
            target=f"≤ {TARGET_RATIO}x bare client",
            reference=f"bare openai client {be.median * 1000:.1f} ms",
            ratio=f"{ratio_end:.2f}x bare",
            met=ratio_end <= TARGET_RATIO,
            note=f"client-side overhead {(te.median - be.median) * 1000:.1f} ms per turn "
            f"(two requests, one `{tool}` call)",
            extra={"ratio": ratio_end, "overhead_ms": (te.median - be.median) * 1000},
        ),
    ]
