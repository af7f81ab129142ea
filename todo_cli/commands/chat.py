"""`todo chat`: talk to the todo agent, one-shot or as an interactive session."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..termsafe import clean, json_text

if TYPE_CHECKING:
    from ..agent import ChatSession
    from ..events import Event
    from ..spinner import Spinner


def chat(
    message: Annotated[
        list[str] | None,
        typer.Argument(
            help='What to ask, e.g. "add buy milk tomorrow". Read from stdin when piped; '
            "omit it on a terminal for the interactive session.",
            metavar="MESSAGE",
            show_default=False,
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            "-p",
            metavar="NAME",
            help="openrouter (default), groq, gemini, openai, ollama or custom.",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", metavar="ID", help="Model id to use.")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", metavar="URL", help="Any OpenAI-compatible server's URL."),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Allow deletes and bulk changes without asking."),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object: answer, tool calls with results, usage, model, "
            "conversation id.",
        ),
    ] = False,
    cont: Annotated[
        bool, typer.Option("--continue", "-c", help="Continue the latest conversation.")
    ] = False,
    conversation: Annotated[
        str | None,
        typer.Option("--conversation", metavar="ID", help="Continue the conversation ID."),
    ] = None,
    list_name: Annotated[
        str | None,
        typer.Option(
            "--list", metavar="NAME", help="Work on this task list (default: the `list` setting)."
        ),
    ] = None,
) -> None:
    """Chat with the todo agent: one message, or an interactive session on a terminal.

    Examples: todo chat "add buy milk tomorrow"; echo "what is due today?" | todo chat;
    todo chat -c "and move it to friday". Deletes and bulk changes need --yes here.
    """
    from ..spinner import take_early

    early = take_early()  # started before Typer loaded, for a one-shot message (entry.py)
    try:
        _chat(
            message, provider, model, base_url, yes, as_json, cont, conversation, list_name, early
        )
    finally:
        if early is not None:
            early.stop()  # erased when this run did not use it, or ended with an error


def _chat(
    message: list[str] | None,
    provider: str | None,
    model: str | None,
    base_url: str | None,
    yes: bool,
    as_json: bool,
    cont: bool,
    conversation: str | None,
    list_name: str | None,
    early: Spinner | None,
) -> None:
    if list_name is not None:
        from ..listnames import validate_list_name

        list_name = validate_list_name(list_name)
    elif conversation:
        from .. import conversations

        # A conversation goes on with the list it talks about.
        info = conversations.get_conversation(conversation)
        list_name = info.list_name if info is not None else None
    text = " ".join(message or []).strip()
    if not text and not sys.stdin.isatty():
        from ..textin import read_stdin

        text = read_stdin().strip()
        if not text:
            from ..errors import UsageError

            raise UsageError("No message on stdin.", hint='Try: todo chat "what is due today?"')
    if not text:
        from .. import repl

        if early is not None:
            early.stop()
        repl.run_repl(
            provider=provider,
            model=model,
            base_url=base_url,
            conversation_id=conversation,
            continue_latest=cont,
            yes=yes,
            list_name=list_name,
        )
        return
    one_shot(
        text,
        provider=provider,
        model=model,
        base_url=base_url,
        yes=yes,
        as_json=as_json,
        continue_latest=cont,
        conversation_id=conversation,
        list_name=list_name,
        spinner=early,
    )


def one_shot(
    text: str,
    *,
    provider: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    yes: bool = False,
    as_json: bool = False,
    continue_latest: bool = False,
    conversation_id: str | None = None,
    list_name: str | None = None,
    spinner: Spinner | None = None,
) -> None:
    """Run one turn: answer on stdout as it streams, tool activity on stderr.

    ``spinner``: one already running (started before the command line was parsed)."""
    from ..spinner import terminal_spinner

    if spinner is not None and as_json:
        spinner.stop()
        spinner = None
    # Shown at once on a terminal: the imports below take over a second.
    if spinner is None and not as_json:
        spinner = terminal_spinner()
    try:
        _one_shot(
            text,
            spinner,
            provider=provider,
            model=model,
            base_url=base_url,
            yes=yes,
            as_json=as_json,
            continue_latest=continue_latest,
            conversation_id=conversation_id,
            list_name=list_name,
        )
    finally:
        if spinner is not None:
            spinner.stop()


def _one_shot(
    text: str,
    spinner: Any,
    *,
    provider: str | None,
    model: str | None,
    base_url: str | None,
    yes: bool,
    as_json: bool,
    continue_latest: bool,
    conversation_id: str | None,
    list_name: str | None,
) -> None:
    import asyncio

    from ..config import load_settings

    settings = load_settings({"provider": provider, "list": list_name})
    from ..agent import ChatSession

    session = ChatSession(
        settings,
        provider=provider,
        model=model,
        base_url=base_url,
        conversation_id=conversation_id,
        continue_latest=continue_latest,
    )
    session.endpoint  # noqa: B018 - fail early (missing key, no URL) before any output
    warning = _tool_warning(session, settings)
    if warning and not as_json:
        if spinner is not None:
            spinner.stop()
        _err(warning)
        if spinner is not None:
            spinner.start()
    try:
        asyncio.run(
            _run(session, text, settings=settings, yes=yes, as_json=as_json, spinner=spinner)
        )
    finally:
        session.close()


def _tool_warning(session: ChatSession, settings: Any) -> str | None:
    try:
        from ..catalog import tool_support_warning
    except ImportError:
        return None
    try:
        return tool_support_warning(
            session.model, settings, provider=session.provider_name, base_url=session.base_url
        )
    except Exception:
        return None


def _err(line: str, *, dim: bool = False) -> None:
    line = clean(line)  # tool lines, notices and footers quote titles and server text
    if sys.stderr.isatty():
        line = f"\x1b[2m{line}\x1b[0m" if dim else f"\x1b[33m{line}\x1b[0m"
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class _Output:
    """Where the streamed answer goes: rendered markdown on a terminal, plain text otherwise."""

    def __init__(self, show_reasoning: bool) -> None:
        self.show_reasoning = show_reasoning
        self.md: Any = None
        self.text = ""
        self._in_reasoning = False
        if sys.stdout.isatty():
            from ..mdstream import MarkdownStream
            from ..termsafe import console

            self.md = MarkdownStream(console(highlight=False)).start()
        # On a terminal where stderr is the same screen, side lines go through the live
        # view so they interleave cleanly with the rendered answer.
        self._side_via_md = self.md is not None and sys.stderr.isatty()

    async def ticker(self) -> None:
        """Animate the spinner and render throttled text while the turn runs."""
        import asyncio

        while self.md is not None:
            self.md.tick()
            await asyncio.sleep(0.08)

    def answer(self, delta: str) -> None:
        self._end_reasoning()
        self.text += delta
        if self.md is not None:
            self.md.status(None)
            self.md.markdown(delta)
            self.md.tick()
        else:
            sys.stdout.write(clean(delta))
            sys.stdout.flush()

    def reasoning(self, delta: str) -> None:
        if not self.show_reasoning:
            return
        if self._side_via_md:
            self.md.reasoning(delta)
            self.md.tick()
            return
        if self.text and not self.text.endswith("\n") and self.md is None:
            self.newline()
        self._in_reasoning = True
        delta = clean(delta)
        sys.stderr.write(f"\x1b[2m{delta}\x1b[0m" if sys.stderr.isatty() else delta)
        sys.stderr.flush()

    def _end_reasoning(self) -> None:
        if self._in_reasoning:
            self._in_reasoning = False
            sys.stderr.write("\n")

    def side(self, line: str, *, dim: bool = True) -> None:
        """A tool-activity or notice line."""
        self._end_reasoning()
        if self._side_via_md:
            from rich.text import Text

            self.md.print(Text(clean(line), style="dim" if dim else "yellow"))
            return
        if self.md is None and self.text and not self.text.endswith("\n"):
            self.newline()
        _err(line, dim=dim)

    def newline(self) -> None:
        sys.stdout.write("\n")
        sys.stdout.flush()
        self.text += "\n"

    def close(self) -> None:
        self._end_reasoning()
        if self.md is not None:
            self.md.close()
            self.md = None
        elif self.text and not self.text.endswith("\n"):
            self.newline()


async def _run(
    session: ChatSession,
    text: str,
    *,
    settings: Any,
    yes: bool,
    as_json: bool,
    spinner: Any = None,
):
    import asyncio

    from ..chat_render import tool_activity_line, usage_footer
    from ..errors import ProviderError
    from ..events import (
        ApprovalRequest,
        Notice,
        ReasoningDelta,
        TextDelta,
        ToolCall,
        ToolResult,
        TurnEnd,
    )

    async def approve_all(_request: ApprovalRequest) -> bool:
        return True

    requested = session.model
    calls: dict[str, ToolCall] = {}
    record: list[dict[str, Any]] = []
    approvals: list[dict[str, Any]] = []
    notices: list[str] = []
    answer: list[str] = []
    if spinner is not None and sys.stdout.isatty():
        spinner.stop()  # the rendered answer has its own spinner from here on
    out = None if as_json else _Output(settings.show_reasoning)
    tz = settings.tz
    end: TurnEnd | None = None
    ticker = asyncio.create_task(out.ticker()) if out and out.md is not None else None
    try:
        event: Event
        async for event in session.stream_turn(text, approve=approve_all if yes else None):
            if spinner is not None and not isinstance(event, ToolCall):
                spinner.stop()  # something to show: the line is free again
            if isinstance(event, TextDelta):
                answer.append(event.text)
                if out:
                    out.answer(event.text)
            elif isinstance(event, ReasoningDelta):
                if out:
                    out.reasoning(event.text)
            elif isinstance(event, ToolCall):
                calls[event.call_id] = event
            elif isinstance(event, ToolResult):
                call = calls.get(event.call_id) or ToolCall(event.call_id, event.name, {})
                record.append(
                    {
                        "id": event.call_id,
                        "name": call.name,
                        "arguments": call.arguments,
                        "result": _json_or_text(event.output),
                        "ok": event.ok,
                    }
                )
                line = tool_activity_line(call, event, tz=tz)
                if out and line:
                    out.side(line)
            elif isinstance(event, ApprovalRequest):
                approvals.append({"description": event.description, "approved": yes})
                if out and not yes:
                    out.side(f"! not done without --yes: {event.description}", dim=False)
            elif isinstance(event, Notice):
                notices.append(event.text)
                if out:
                    out.side(event.text, dim=False)
            elif isinstance(event, TurnEnd):
                end = event
    except ProviderError as exc:
        if out:
            out.close()
            out = None
        if as_json:
            _print_json(
                {
                    "text": "".join(answer),
                    "error": {"message": exc.message, "hint": exc.hint},
                    "tool_calls": record,
                    "conversation_id": session.conversation_id,
                    "provider": session.provider_name,
                    "model": requested,
                }
            )
        raise
    finally:
        if ticker is not None:
            ticker.cancel()
        if out:
            out.close()
        await session.aclose()
    assert end is not None
    if as_json:
        _print_json(
            {
                "text": end.final_text or "".join(answer),
                "tool_calls": record,
                "approvals": approvals,
                "usage": {
                    "input_tokens": end.usage.input_tokens,
                    "output_tokens": end.usage.output_tokens,
                    "cost": end.usage.cost,
                },
                "provider": session.provider_name,
                "model": end.model,
                "requested_model": requested,
                "conversation_id": end.conversation_id,
                "notices": notices,
            }
        )
        return
    if end.model and end.model != requested:
        _err(f"(answered by {end.model}, a fallback for {requested})", dim=True)
    if sys.stderr.isatty():
        _err(usage_footer(end), dim=True)


def _json_or_text(output: str) -> Any:
    import json

    try:
        return json.loads(output)
    except ValueError:
        return output


def _print_json(data: dict[str, Any]) -> None:
    import json

    sys.stdout.write(json_text(json.dumps(data, ensure_ascii=False, indent=2)) + "\n")
    sys.stdout.flush()
