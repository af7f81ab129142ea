"""One agent turn for an HTTP request: as one JSON answer, or as server-sent events.

Built on ``ChatSession.stream_turn`` and its plain events (``todo_cli.events``), the same
path the CLI's one-shot `todo chat` takes: deletes and bulk completes run only when the
request says ``"confirm": true``; otherwise they are declined, listed in ``approvals``, and
the model is told they were not done. Provider failures keep the CLI's message and hint and
get an HTTP status: 429 rate limits, 504 time-outs, 503 a provider that cannot be reached or
is not set up, 502 any other failure of the provider.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ..errors import ProviderError, UsageError
from ..events import ApprovalRequest, Event, Notice, TextDelta, ToolCall, ToolResult, TurnEnd
from .scoping import ServerConfig, TurnLocks, open_user_store, user_conversation

CONFIRM_HINT = 'tell the user to send the request again with "confirm": true'


class TurnRecord:
    """Collects a turn's events into the answer the seed's clients expect."""

    def __init__(self, confirm: bool) -> None:
        self.conversation_id = ""
        self.confirm = confirm
        self.calls: dict[str, ToolCall] = {}
        self.tool_calls: list[dict[str, Any]] = []
        self.approvals: list[dict[str, Any]] = []
        self.notices: list[str] = []
        self.text: list[str] = []
        self.end: TurnEnd | None = None

    def add(self, event: Started | Event) -> tuple[str, dict[str, Any]] | None:
        """Record ``event``; returns its server-sent event (name, data), or None."""
        if isinstance(event, Started):
            self.conversation_id = event.conversation_id
            return "start", {"conversation_id": event.conversation_id}
        if isinstance(event, TextDelta):
            self.text.append(event.text)
            return "text", {"text": event.text}
        if isinstance(event, ToolCall):
            self.calls[event.call_id] = event
            return "tool_call", {
                "id": event.call_id,
                "tool": event.name,
                "arguments": event.arguments,
            }
        if isinstance(event, ToolResult):
            call = self.calls.get(event.call_id) or ToolCall(event.call_id, event.name, {})
            entry = {
                "tool": call.name,
                "arguments": call.arguments,
                "result": _json_or_text(event.output),
                "ok": event.ok,
            }
            self.tool_calls.append(entry)
            return "tool_result", {"id": event.call_id, **entry}
        if isinstance(event, ApprovalRequest):
            entry = {
                "tool": event.name,
                "arguments": event.arguments,
                "description": event.description,
                "approved": self.confirm,
            }
            self.approvals.append(entry)
            return "approval", entry
        if isinstance(event, Notice):
            self.notices.append(event.text)
            return "notice", {"text": event.text}
        if isinstance(event, TurnEnd):
            self.end = event
        return None  # reasoning stays on the server, as in the CLI by default

    def result(self) -> dict[str, Any]:
        end = self.end or TurnEnd(final_text="")
        return {
            "conversation_id": self.conversation_id,
            "response": end.final_text or "".join(self.text),
            "tool_calls": self.tool_calls,
            "approvals": self.approvals,
            "usage": {
                "input_tokens": end.usage.input_tokens,
                "output_tokens": end.usage.output_tokens,
                "cost": end.usage.cost,
            },
            "model": end.model,
            "notices": self.notices,
        }


class TurnRunner:
    """Runs users' turns: one at a time per user (so per conversation too); a second
    request of the same user waits its turn, first come, first served.

    Each user's ``ChatSession`` (agent, tools bound to the user's list, HTTP client) is
    kept between turns, the ``max_idle`` most recently used ones, so a turn does not pay
    for building the agent again.
    """

    def __init__(self, config: ServerConfig, *, max_idle: int = 64) -> None:
        self.config = config
        database = config.settings.database
        self.locks = TurnLocks(database.url, connect_timeout=database.connect_timeout)
        self.max_idle = max_idle
        self._idle: OrderedDict[str, Any] = OrderedDict()  # user -> ChatSession
        self._tasks: set[asyncio.Task[None]] = set()  # turns running

    def check(self, user: str, conversation_id: str | None, message: str) -> str:
        """Validate a request before anything runs; returns the message to send.

        UsageError for an empty or too long message, ProviderNotReady (503) when the
        provider is not set up. (Whose conversation it is, is checked when the turn holds
        the user's lock: a conversation whose first turn is still running exists then.)
        """
        text = message.strip()
        if not text:
            raise UsageError(
                "The message is empty.", hint='Send e.g. {"message": "what is due today?"}.'
            )
        limit = self.config.max_message_chars
        if len(text) > limit:
            raise UsageError(
                f"The message is {len(text)} characters long; the limit is {limit}.",
                hint="Send a shorter message.",
            )
        from ..llm import resolve_endpoint

        cfg = self.config
        try:
            resolve_endpoint(cfg.settings, cfg.provider, cfg.model, cfg.base_url)
        except (ProviderError, UsageError) as exc:
            raise ProviderNotReady(exc.message, hint=exc.hint) from None
        return text

    def _new_session(self, user: str) -> Any:
        from ..agent import ChatSession

        cfg = self.config
        store = open_user_store(cfg, user)
        try:
            session = ChatSession(
                cfg.settings,
                provider=cfg.provider,
                model=cfg.model,
                base_url=cfg.base_url,
                store=store,
                conversation_store=cfg.conversations(),
            )
        except BaseException:
            store.close()
            raise
        session.unattended_hint = CONFIRM_HINT
        return session

    async def _close(self, session: Any) -> None:
        try:
            await session.aclose()
        finally:
            session.store.close()

    async def turn(
        self,
        user: str,
        conversation_id: str | None,
        message: str,
        *,
        confirm: bool,
        stop: asyncio.Event | None = None,
    ) -> AsyncIterator[Started | Event]:
        """``Started`` with the conversation id, then the turn's events.

        The turn runs in a task of its own, so a request that is cancelled (its client
        went away) never cuts the turn's clean-up short: leaving this iterator, or setting
        ``stop``, stops the turn the way Ctrl-C does in the CLI (the model call ends, what
        was done stays stored, the history stays valid) and the task finishes by itself.
        """
        stop = stop or asyncio.Event()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        async def produce() -> None:
            try:
                async for item in self._events(
                    user, conversation_id, message, confirm=confirm, stop=stop
                ):
                    queue.put_nowait(item)
            except Exception as exc:
                queue.put_nowait(_Raised(exc))
            finally:
                queue.put_nowait(_END)

        task = asyncio.create_task(produce())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, _Raised):
                    raise item.exc
                yield item
        finally:
            if not task.done():
                stop.set()

    async def _events(
        self,
        user: str,
        conversation_id: str | None,
        message: str,
        *,
        confirm: bool,
        stop: asyncio.Event | None = None,
    ) -> AsyncIterator[Started | Event]:
        """The turn itself (one at a time per user); ``stop`` cancels it."""

        async def approve_all(_request: ApprovalRequest) -> bool:
            return True

        async with self.locks.hold(user):
            if stop is not None and stop.is_set():
                return  # the client left while waiting for its turn
            if conversation_id is not None:
                user_conversation(self.config, user, conversation_id)  # NotFoundError
            session = self._idle.pop(user, None) or self._new_session(user)
            reusable = False
            canceller = asyncio.create_task(_cancel_when(stop, session)) if stop else None
            turn = session.stream_turn(message, approve=approve_all if confirm else None)
            try:
                if conversation_id is None:
                    session.new_conversation()
                elif conversation_id != session.conversation_id:
                    session.resume(conversation_id)  # (the same one keeps its connection)
                yield Started(session.conversation_id)
                async for event in turn:
                    yield event
                reusable = True
            except ProviderError:
                reusable = True
                raise
            finally:
                if canceller is not None:
                    canceller.cancel()
                await turn.aclose()  # a consumer that left: the turn cleans up now
                if reusable:
                    self._idle[user] = session
                    while len(self._idle) > self.max_idle:
                        _, old = self._idle.popitem(last=False)
                        await self._close(old)
                else:
                    await self._close(session)

    async def aclose(self) -> None:
        """Wait for the running turns, then close every kept session (at shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=30)
        while self._idle:
            _, session = self._idle.popitem()
            await self._close(session)


_END = object()


class _Raised:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc


async def _cancel_when(stop: asyncio.Event, session: Any) -> None:
    await stop.wait()
    session.cancel()


@dataclass
class Started:
    """The turn has its conversation (a new one has its id now)."""

    conversation_id: str


class ProviderNotReady(ProviderError):
    """The server's provider is not set up (no key, no URL or model): 503."""


def provider_status(exc: ProviderError) -> tuple[int, dict[str, str]]:
    """The HTTP status (and headers) for a provider failure, from the error it came from."""
    import openai

    if isinstance(exc, ProviderNotReady):
        return 503, {}

    from ..llm import _retry_after

    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in chain:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    for err in chain:
        if (
            isinstance(err, openai.APITimeoutError | TimeoutError)
            or "Timeout" in type(err).__name__
        ):
            return 504, {}
        if isinstance(err, openai.APIStatusError):
            if err.status_code == 429:
                after = _retry_after(err)
                return 429, {"Retry-After": str(max(1, int(after or 60)))}
            if err.status_code == 503:
                return 503, {}
            return 502, {}
        if isinstance(err, openai.APIConnectionError):
            return 503, {}
    return 502, {}  # an error inside the answer, a malformed answer, too many steps


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _json_or_text(output: str) -> Any:
    try:
        return json.loads(output)
    except ValueError:
        return output
