"""Test helpers for the chat session: drive a real ``Repl`` through a prompt-toolkit pipe.

``run_session(script)`` starts the REPL on a pipe input with a dummy output and a Rich
console writing to a string; ``Driver.send`` types a line and waits until the REPL is back
at its prompt. ``ScriptedChat`` stands in for ``agent.ChatSession`` (same interface), for
the tests that check rendering and control flow without HTTP.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from todo_cli.events import (
    ApprovalRequest,
    Event,
    TextDelta,
    ToolCall,
    ToolResult,
    TurnEnd,
    Usage,
)
from todo_cli.repl import Repl
from todo_cli.termsafe import console as safe_console

TIMEOUT = 10.0


class ScriptedChat:
    """Same interface as ``agent.ChatSession``; each turn plays the next script.

    A script is a list of events; a float in it means "sleep that long"; an
    ``ApprovalRequest`` is passed to the ``approve`` callback and its answer recorded.
    """

    def __init__(self, scripts: list[list[Any]], **kwargs: Any) -> None:
        self.scripts = list(scripts)
        self.kwargs = kwargs
        self.provider_name = kwargs.get("provider") or "openrouter"
        self.model = kwargs.get("model") or "test/model"
        self.conversation_id = kwargs.get("conversation_id") or "c-0001"
        self.messages: list[str] = []
        self.answers: list[bool] = []
        self.cancelled = False
        self.started = asyncio.Event()

    def set_model(self, model: str) -> None:
        self.model = model

    def set_provider(self, name: str) -> None:
        self.provider_name = name

    def new_conversation(self) -> str:
        self.conversation_id = f"c-{len(self.messages) + 2:04d}"
        return self.conversation_id

    def resume(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id

    async def stream_turn(
        self,
        message: str,
        *,
        approve: Callable[[ApprovalRequest], Awaitable[bool]] | None = None,
    ) -> AsyncIterator[Event]:
        self.messages.append(message)
        script = self.scripts.pop(0) if self.scripts else [TextDelta("ok")]
        self.started.set()
        text = ""
        try:
            for item in script:
                if isinstance(item, float | int):
                    await asyncio.sleep(item)
                elif isinstance(item, ApprovalRequest):
                    ok = await approve(item) if approve else False
                    self.answers.append(ok)
                    yield item
                    yield ToolResult(item.call_id, item.name, json.dumps({"ok": ok}))
                elif isinstance(item, Exception):
                    raise item
                else:
                    if isinstance(item, TextDelta):
                        text += item.text
                    yield item
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        yield TurnEnd(
            final_text=text,
            usage=Usage(input_tokens=120, output_tokens=30, cost=0.0001),
            model=self.model,
            conversation_id=self.conversation_id,
        )


def words(text: str, delay: float = 0.0) -> list[Any]:
    """A reply as word-sized TextDelta events, with an optional delay between them."""
    out: list[Any] = []
    for piece in text.split(" "):
        out.append(TextDelta(piece + " "))
        if delay:
            out.append(delay)
    return out


def tool(name: str, arguments: dict[str, Any], output: str, call_id: str = "call_1") -> list[Any]:
    return [ToolCall(call_id, name, arguments), ToolResult(call_id, name, output)]


class Driver:
    """Types into a running ``Repl`` and reads what it printed."""

    def __init__(self, repl: Repl, pipe: Any, buffer: io.StringIO, task: asyncio.Task[Any]):
        self.repl = repl
        self.pipe = pipe
        self.buffer = buffer
        self.task = task

    @property
    def out(self) -> str:
        return self.buffer.getvalue()

    async def wait_for(self, cond: Callable[[], bool], what: str = "condition") -> None:
        async with asyncio.timeout(TIMEOUT):
            while not cond():
                if self.task.done():
                    self.task.result()  # raise what the session raised
                    raise AssertionError(f"session ended while waiting for {what}")
                await asyncio.sleep(0.01)

    async def idle(self) -> None:
        await self.wait_for(self.repl.idle.is_set, "the prompt")

    async def send(self, text: str, *, wait: bool = True) -> str:
        """Type ``text`` + Enter at the prompt; return what it printed (when ``wait``)."""
        await self.idle()
        start = len(self.out)
        self.repl.idle.clear()
        self.pipe.send_text(text + "\r")
        if wait:
            await self.idle()
        return self.out[start:]

    async def streamed(self, text: str) -> None:
        """Wait until the reply being streamed contains ``text``."""
        await self.wait_for(
            lambda: self.repl.view is not None and text in self.repl.view.text, repr(text)
        )

    async def answer(self, text: str) -> None:
        """Answer a question asked outside the main prompt (approval, key)."""
        await self.wait_for(
            lambda: (
                self.repl._confirm_session is not None and self.repl._confirm_session.app.is_running
            ),
            "a question",
        )
        self.pipe.send_text(text + "\r")

    async def quit(self) -> None:
        await self.idle()
        self.pipe.send_text("\x04")  # Ctrl-D
        async with asyncio.timeout(TIMEOUT):
            await self.task


@asynccontextmanager
async def session(
    scripts: list[list[Any]] | None = None,
    *,
    chat: ScriptedChat | None = None,
    history: Any = None,
    output: Any = None,
    **kwargs: Any,
) -> AsyncIterator[Driver]:
    """Run a Repl on a pipe; yields a Driver. Ctrl-D ends it if the test did not.

    ``output`` is prompt-toolkit's (default: a dummy that draws nothing); the session's
    other output goes to a string through a console like the session's own.
    """
    buffer = io.StringIO()
    console = safe_console(file=buffer, width=100, force_terminal=False, color_system=None)
    made: list[ScriptedChat] = []

    def factory(settings: Any, **kw: Any) -> ScriptedChat:
        made.append(chat if chat is not None else ScriptedChat(scripts or [], **kw))
        made[-1].kwargs.update(kw)
        return made[-1]

    with create_pipe_input() as pipe:
        repl = Repl(
            input=pipe,
            output=output if output is not None else DummyOutput(),
            console=console,
            chat_factory=factory if (scripts is not None or chat is not None) else None,
            history=history if history is not None else InMemoryHistory(),
            **kwargs,
        )
        repl.made = made  # type: ignore[attr-defined]
        task = asyncio.create_task(repl.run())
        driver = Driver(repl, pipe, buffer, task)
        try:
            yield driver
            if not task.done():
                await driver.quit()
        finally:
            if not task.done():
                task.cancel()
                with __import__("contextlib").suppress(BaseException):
                    await task
