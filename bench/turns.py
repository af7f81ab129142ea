"""Agent turns against the local fake OpenAI-compatible server (``tests/fakeserver.py``).

The server speaks exactly as OpenRouter streams (processing comment, provider keys, tool-call
arguments split over chunks, usage after the finish chunk). It runs either in this process
(a thread: fine when the client is another process, or for one-off recordings) or as its own
process (for timing an in-process client, so the server never competes for this GIL).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .harness import REPO, BenchError, NotAvailable, patched_environ
from .todo_env import require

FAKESERVER = REPO / "tests" / "fakeserver.py"
MODEL = "openai/gpt-oss-20b:free"
FAKE_KEY = "sk-or-v1-bench-not-a-real-key"
ANSWER = (
    "You have a few things due soon: call the plumber before Friday, pay the electricity "
    "bill and book the dentist appointment. Everything else can wait until next week."
)


def fakeserver_module() -> Any:
    """``tests/fakeserver.py`` as a module (it is a test helper, not part of the package)."""
    if not FAKESERVER.exists():
        raise NotAvailable("tests/fakeserver.py is not there yet")
    tests_dir = str(FAKESERVER.parent)
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    import fakeserver  # type: ignore[import-not-found]

    return fakeserver


def turn_script(list_tool: str, arguments: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One tool-calling turn: the model calls the list tool, then answers in text."""
    return [
        {
            "type": "tool_calls",
            "calls": [{"name": list_tool, "arguments": arguments or {}, "id": "call_bench_1"}],
        },
        {"type": "text", "text": ANSWER},
    ]


class ServerProcess:
    """``python tests/fakeserver.py`` as a child process, with a script and a request log."""

    def __init__(self, workdir: Path, script: list[dict[str, Any]]) -> None:
        fakeserver_module()  # NotAvailable when missing
        self.script_file = workdir / "script.json"
        self.log_file = workdir / "requests.jsonl"
        self.script_file.write_text(json.dumps(script), encoding="utf-8")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(FAKESERVER),
                "--port",
                "0",
                "--script",
                str(self.script_file),
                "--log",
                str(self.log_file),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("URL "):
            self.stop()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise BenchError(f"fake server did not start: {line or err.strip()[-200:]}")
        self.url = line.split(" ", 1)[1]

    def chat_bodies(self, wait_for: int = 0, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Bodies of the chat completion requests received so far (the log lags ~50 ms)."""
        deadline = time.monotonic() + timeout
        while True:
            bodies: list[dict[str, Any]] = []
            if self.log_file.exists():
                for line in self.log_file.read_text(encoding="utf-8").splitlines():
                    rec = json.loads(line)
                    if rec["path"].endswith("/chat/completions"):
                        bodies.append(rec["body"])
            if len(bodies) >= wait_for or time.monotonic() > deadline:
                return bodies
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def agent_environ(home: Path, base_url: str) -> dict[str, str]:
    """Settings that point `todo` (the default provider, OpenRouter) at the fake server."""
    return {
        "TODO_HOME": str(home),
        "OPENROUTER_API_KEY": FAKE_KEY,
        "OPENROUTER_BASE_URL": base_url,
        "OPENROUTER_DEFAULT_MODEL": MODEL,
    }


@contextmanager
def chat_session(home: Path, base_url: str) -> Iterator[Any]:
    """A `ChatSession` on ``home`` talking to ``base_url``, inside a patched environment."""
    agent = require("agent")
    config = require("config")
    if not hasattr(agent, "ChatSession"):
        raise NotAvailable("todo_cli/agent.py has no ChatSession yet")
    with patched_environ(**agent_environ(home, base_url)):
        settings = config.load_settings(cwd=home)
        session = agent.ChatSession(settings, provider="openrouter", model=MODEL)
        try:
            yield session
        finally:
            close = getattr(session, "close", None)
            if callable(close):
                result = close()
                if asyncio.iscoroutine(result):
                    asyncio.run(result)


@dataclass
class TurnTiming:
    first_token: float | None  # seconds from the start to the first text delta
    end: float  # seconds from the start to the end of the turn
    events: list[Any] = field(default_factory=list)


async def timed_turn(session: Any, message: str) -> TurnTiming:
    """Run one turn through ``ChatSession.stream_turn``; time the first text and the end."""
    events_mod = require("events")
    first: float | None = None
    events: list[Any] = []
    start = time.perf_counter()
    async for event in session.stream_turn(message):
        if first is None and isinstance(event, events_mod.TextDelta) and event.text:
            first = time.perf_counter() - start
        events.append(event)
    end = time.perf_counter() - start
    if not events or not isinstance(events[-1], events_mod.TurnEnd):
        raise BenchError("stream_turn did not end with TurnEnd")
    return TurnTiming(first, end, events)


def tool_names(body: dict[str, Any]) -> list[str]:
    names = []
    for tool in body.get("tools") or []:
        fn = tool.get("function") or tool
        if fn.get("name"):
            names.append(fn["name"])
    return names


def find_list_tool(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The agent's list tool (name, JSON schema of its parameters) from a recorded request:
    one named for listing, else ``search_tasks`` (which, given no words, lists open tasks)."""
    candidates = []
    for tool in body.get("tools") or []:
        fn = tool.get("function") or tool
        name = fn.get("name", "")
        if re.search(r"list", name) and not re.search(r"conversation|model", name):
            candidates.append((len(name), name, fn.get("parameters") or {}))
    if not candidates:
        candidates = [
            (0, fn.get("name", ""), fn.get("parameters") or {})
            for fn in (t.get("function") or t for t in body.get("tools") or [])
            if fn.get("name") == "search_tasks"
        ]
    if not candidates:
        raise BenchError(f"no list tool among {tool_names(body)}")
    _, name, params = min(candidates)
    return name, params


def instructions_of(body: dict[str, Any]) -> str:
    """The system/developer message text of a recorded request."""
    parts = []
    for msg in body.get("messages") or []:
        if msg.get("role") in ("system", "developer"):
            content = msg.get("content")
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            parts.append(content or "")
    return "\n".join(parts)


def tool_result_of(body: dict[str, Any]) -> str | None:
    """The content of the last tool message of a recorded request."""
    for msg in reversed(body.get("messages") or []):
        if msg.get("role") == "tool":
            content = msg.get("content")
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content
    return None


def record_turn(
    home: Path, script_for: Any, message: str = "What is on my list?"
) -> tuple[list[dict[str, Any]], list[Any]]:
    """Run one discovery turn then one scripted turn in-process; return the request bodies.

    ``script_for(first_request_body)`` returns the script of the second turn (it needs the
    tool names the agent really sends). Returns the chat request bodies of the second turn
    and its events.
    """
    fs = fakeserver_module()
    server = fs.FakeServer().start()

    async def both_turns(session: Any) -> tuple[int, TurnTiming]:
        await timed_turn(session, "hi")
        first = server.chat_requests[0].body
        seen = len(server.chat_requests)
        for spec in script_for(first):
            server.add_spec(spec)
        new_conversation = getattr(session, "new_conversation", None)
        if callable(new_conversation):
            new_conversation()
        return seen, await timed_turn(session, message)

    try:
        server.add_text("Hello.")
        with chat_session(home, server.url) as session:
            seen, timing = asyncio.run(both_turns(session))
        bodies = [r.body for r in server.chat_requests[seen:]]
        return bodies, timing.events
    finally:
        server.stop()


def list_tool_name() -> str:
    """The name of the agent's list tool, read from ``tools.make_tools`` (no model call)."""
    tools_mod = require("tools")
    store_mod = require("store")
    if not hasattr(tools_mod, "make_tools"):
        raise NotAvailable("todo_cli/tools.py has no make_tools yet")
    store = store_mod.TaskStore(":memory:")
    try:
        tools = tools_mod.make_tools(store)
    finally:
        store.close()
    body = {
        "tools": [
            {"type": "function", "function": {"name": t.name, "parameters": {}}} for t in tools
        ]
    }
    return find_list_tool(body)[0]
