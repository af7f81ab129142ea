"""Interactive `todo chat` session (prompt-toolkit).

The prompt appears at once: the Agents SDK and the OpenAI client (over a second to import)
load in a background thread while the user types; the first turn waits for them. A turn
runs as an asyncio task fed by ``ChatSession.stream_turn``; Ctrl-C cancels that task (the
agent core stops the model call and tools) and the prompt comes back. Slash commands
(``slash.py``) work without a model and without a key.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.styles import Style

from .chat_state import ChatState, SessionTotals, format_cost, format_tokens
from .errors import ProviderError, TodoError, with_stop
from .termsafe import clean, one_line

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output
    from rich.console import Console

    from .events import ApprovalRequest, ToolCall, ToolResult, TurnEnd
    from .mdstream import MarkdownStream

# What the background thread imports while the user types: the agent (Agents SDK, openai)
# and what a turn renders with.
PRELOAD_MODULES = (
    "rich.console",
    "rich.markdown",
    "rich.live",
    "rich.spinner",
    "todo_cli.mdstream",
    "todo_cli.agent",
)

STYLE = Style.from_dict(
    {
        "prompt": "ansicyan bold",
        "continuation": "ansibrightblack",
        "bottom-toolbar": "noreverse bg:#262626 #a8a8a8",
        "bottom-toolbar.key": "bg:#262626 #d7d7d7 bold",
        "bottom-toolbar.warn": "bg:#262626 ansired",
    }
)

QUIT_HINT = "Press Ctrl-D or type /exit to quit."


class Preloader(threading.Thread):
    """Imports the heavy modules in the background; ``wait()`` joins and re-raises."""

    def __init__(
        self,
        modules: tuple[str, ...] = PRELOAD_MODULES,
        *,
        before: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="todo-preload", daemon=True)
        self.modules = modules
        self.before = before  # cheap work that should come first (toolbar counts)
        self.error: BaseException | None = None
        self.seconds = 0.0

    def run(self) -> None:
        began = time.perf_counter()
        if self.before is not None:
            with contextlib.suppress(Exception):
                self.before()
        for name in self.modules:
            try:
                importlib.import_module(name)
            except BaseException as exc:  # reported by wait(), in the main thread
                if self.error is None:
                    self.error = exc
        self.seconds = time.perf_counter() - began

    def wait(self) -> None:
        if not self.is_alive() and self.ident is None:
            self.start()
        self.join()
        if self.error is not None:
            raise self.error


def usage_footer(end: TurnEnd, requested_model: str | None = None) -> str:
    """The dim line after a turn: tokens in/out, cost when known, model that answered."""
    from .chat_render import usage_footer as footer

    return footer(end, requested_model=requested_model)


def tool_activity_line(call: ToolCall | None, result: ToolResult, tz: Any = None) -> str | None:
    """A short line for a finished tool call ("+ #12 Buy milk (due Fri)")."""
    from .chat_render import tool_activity_line as activity_line
    from .events import ToolCall

    return activity_line(call or ToolCall(result.call_id, result.name, {}), result, tz=tz)


class Repl:
    """The interactive session: prompt, turns, slash commands, toolbar.

    Everything that touches the outside world can be injected for tests: ``input`` and
    ``output`` (prompt-toolkit), ``console`` (Rich), ``chat_factory`` (builds the chat
    session; default: ``agent.ChatSession`` once the background import is done),
    ``history`` and ``store``.
    """

    def __init__(
        self,
        *,
        provider: str | None = None,
        model: str | None = None,
        base_url: str | None = None,
        conversation_id: str | None = None,
        continue_latest: bool = False,
        yes: bool = False,
        input: Input | None = None,
        output: Output | None = None,
        console: Console | None = None,
        chat_factory: Callable[..., Any] | None = None,
        preloader: Preloader | None = None,
        history: History | None = None,
        store: Any = None,
        settings: Any = None,
        list_name: str | None = None,
    ) -> None:
        self.input = input
        self.output = output
        self._console = console
        self.state = ChatState(
            provider=provider,
            model=model,
            base_url=base_url,
            conversation_id=conversation_id,
            continue_latest=continue_latest,
            settings=settings,
            list_name=list_name,
        )
        self.yes = yes
        self._chat_factory = chat_factory
        self.preloader = preloader
        self._store = store
        self._store_failed = False
        self._store_lock = threading.Lock()
        self.stats: dict[str, int] | None = None
        self._history = history
        self._session: PromptSession[str] | None = None
        self._confirm_session: PromptSession[str] | None = None
        self._turn_task: asyncio.Task[Any] | None = None
        self.view: MarkdownStream | None = None  # the reply being shown, during a turn
        self._cancel_requested = False
        self._cancelled_at = 0.0
        self.idle = asyncio.Event()  # set while waiting at the main prompt (tests)
        self.turn_count = 0
        from .slash import SlashCommands

        self.commands = SlashCommands(self)
        self.load_seconds: float | None = None  # time the first turn waited for imports

    @property
    def console(self) -> Console:
        """The Rich console for everything but the prompt (created on first use: Rich
        costs ~30 ms to import, which the first prompt does not need)."""
        if self._console is None:
            from .termsafe import console

            self._console = console(highlight=False)
        return self._console

    # -- settings, state (kept in ``self.state``; these read and change it) ------------

    @property
    def settings(self) -> Any:
        return self.state.settings

    @settings.setter
    def settings(self, value: Any) -> None:
        self.state.settings = value

    @property
    def chat(self) -> Any:
        """The agent's ChatSession (None until the first turn)."""
        return self.state.chat

    @chat.setter
    def chat(self, value: Any) -> None:
        self.state.chat = value

    @property
    def show_reasoning(self) -> bool:
        return self.state.show_reasoning

    @show_reasoning.setter
    def show_reasoning(self, value: bool) -> None:
        self.state.show_reasoning = value

    @property
    def totals(self) -> SessionTotals:
        return self.state.totals

    @property
    def session_id(self) -> str:
        return self.state.session_id

    @property
    def _model_ids(self) -> dict[str, list[str]]:
        return self.state.model_id_cache

    def reload_settings(self) -> None:
        """Re-read settings (after a key or setting was stored)."""
        self.state.reload_settings()

    @property
    def provider_name(self) -> str:
        return self.state.provider_name

    @property
    def model(self) -> str | None:
        return self.state.model

    @property
    def conversation_label(self) -> str:
        return self.state.conversation_label

    def provider_config(self, name: str | None = None) -> Any:
        return self.state.provider_config(name)

    def has_key(self) -> bool:
        """True when the current provider has a key or needs none."""
        return self.state.has_key()

    def key_hint(self) -> str:
        """How to get and set a key for the current provider."""
        return self.state.key_hint()

    def key_changed(self) -> None:
        """A key was stored: the next turn builds its client with it."""
        self.state.key_changed()

    def model_ids(self) -> list[str]:
        """Model ids of the current provider from the cached catalog (no network)."""
        return self.state.model_ids()

    def set_model(self, model: str) -> None:
        self.state.set_model(model)

    def set_provider(self, name: str) -> None:
        self.state.set_provider(name)

    def new_conversation(self) -> str | None:
        return self.state.new_conversation()

    def resume(self, conversation_id: str) -> None:
        self.state.resume(conversation_id)

    @property
    def store(self) -> Any:
        """The task store, opened on first use (None if it cannot be opened)."""
        with self._store_lock:
            if self._store is None and not self._store_failed:
                try:
                    from .store import TaskStore

                    self._store = TaskStore.open(self.settings)
                except Exception:
                    self._store_failed = True
                    raise
            if self._store is not None and getattr(self._store, "origin", False) is None:
                from .store import Origin

                self._store.origin = Origin("session", session=self.session_id)
            return self._store

    def _open_store(self) -> Any:
        try:
            return self.store
        except Exception:
            return None

    def refresh_stats(self) -> None:
        """Re-read the open/overdue counts shown in the toolbar (any thread)."""
        try:
            store = self.store
            self.stats = store.stats() if store is not None else None
        except Exception:
            self.stats = None
        app = self._session.app if self._session is not None else None
        if app is not None and app.is_running:
            app.invalidate()

    def _after_first_render(self, app: Any) -> None:
        """The prompt is on screen: now load the heavy parts in the background."""
        preloader = self.preloader
        if preloader is not None and preloader.ident is None:
            preloader.start()

    # -- the prompt ---------------------------------------------------------------------

    def _key_bindings(self) -> KeyBindings:
        kb = KeyBindings()

        @kb.add("enter")
        def _submit(event: Any) -> None:
            buffer = event.current_buffer
            state = buffer.complete_state
            if state is not None and state.current_completion is not None:
                buffer.complete_state = None  # Enter on a chosen completion takes it
                return
            buffer.validate_and_handle()

        @kb.add("escape", "enter")
        def _newline(event: Any) -> None:
            event.current_buffer.insert_text("\n")

        @kb.add("c-c")
        def _interrupt(event: Any) -> None:
            buffer = event.current_buffer
            if buffer.text:
                buffer.reset()  # like a shell: Ctrl-C drops the line being typed
            else:
                event.app.exit(exception=KeyboardInterrupt, style="class:aborting")

        return kb

    def _toolbar(self) -> FormattedText:
        parts: list[tuple[str, str]] = [("class:bottom-toolbar.key", f" {self.provider_name}")]
        parts.append(("", f" · {one_line(self.model or '(no model)')}"))
        list_name = getattr(self._store, "list_name", None) or self.state.list_flag
        if list_name and list_name != "default":
            parts.append(("class:bottom-toolbar.key", f" · list {list_name}"))
        conv = one_line(self.conversation_label)
        if len(conv) > 14:
            conv = conv[:12] + "…"
        parts.append(("", f" · {conv}"))
        t = self.totals
        if t.turns:
            tokens = f" · {format_tokens(t.input_tokens + t.output_tokens)} tokens"
            if t.cost is not None:
                tokens += f" {format_cost(t.cost)}"
            parts.append(("", tokens))
        if self.stats is not None:
            parts.append(("", f" · {self.stats.get('open', 0)} open"))
            today = self.stats.get("due_today", 0)
            if today:
                parts.append(("", f", {today} due today"))
            overdue = self.stats.get("overdue", 0)
            if overdue:
                parts.append(("class:bottom-toolbar.warn", f", {overdue} overdue"))
            for key in ("blocked", "waiting"):
                if self.stats.get(key):
                    parts.append(("", f", {self.stats[key]} {key}"))
        if not self.has_key():
            parts.append(("class:bottom-toolbar.warn", " · no API key (/key)"))
        parts.append(("", " "))
        return FormattedText(parts)

    @property
    def session(self) -> PromptSession[str]:
        if self._session is None:
            from .slash import SlashCompleter

            history = self._history
            if history is None:
                try:
                    from .config import get_paths

                    path = get_paths().ensure().history_file
                    if not path.exists():  # what people type is theirs alone: 0600
                        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
                    history = FileHistory(str(path))
                except OSError:
                    history = InMemoryHistory()
            self._session = PromptSession(
                history=history,
                auto_suggest=AutoSuggestFromHistory(),
                completer=SlashCompleter(self.commands),
                complete_while_typing=True,
                multiline=True,
                key_bindings=self._key_bindings(),
                prompt_continuation=lambda width, line_number, wrap_count: FormattedText(
                    [("class:continuation", "… ".rjust(width))]
                ),
                bottom_toolbar=self._toolbar,
                style=STYLE,
                input=self.input,
                output=self.output,
                enable_suspend=True,
            )
            self._session.app.after_render += self._after_first_render
        return self._session

    async def ask(self, message: str, *, password: bool = False) -> str:
        """One line of input outside the main prompt (confirmations, the key)."""
        if self._confirm_session is None:
            self._confirm_session = PromptSession(input=self.input, output=self.output)
        return await self._confirm_session.prompt_async(
            message, is_password=password, set_exception_handler=False
        )

    # -- main loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Run the session until Ctrl-D or /exit."""
        # Between prompts the terminal never falls back to line mode (see _KeysKept);
        # prompt-toolkit's raw mode comes back to this one after each prompt.
        with self.between_prompts():
            await self._run()

    async def _run(self) -> None:
        # A failure in a background task (e.g. an HTTP connection closing late) must not
        # take over the prompt the way prompt-toolkit's "Press ENTER" handler does.
        asyncio.get_running_loop().set_exception_handler(_quiet_exception_handler)
        self.print_banner()
        if self.preloader is None or self.preloader.before is None:
            self.refresh_stats()
        if not self.has_key():
            await self.offer_key()
        try:
            while True:
                self.idle.set()
                try:
                    text = await self.session.prompt_async(
                        [("class:prompt", "› ")], style=STYLE, set_exception_handler=False
                    )
                except KeyboardInterrupt:
                    self.console.print(f"[dim]{QUIT_HINT}[/]")
                    continue
                except EOFError:
                    break
                finally:
                    self.idle.clear()
                text = text.strip()
                if not text:
                    continue
                if text.startswith("/") and not text.startswith("//"):
                    if not await self.commands.dispatch(text):
                        break
                else:
                    await self.run_turn(text[1:] if text.startswith("//") else text)
                self.refresh_stats()
        finally:
            self.close()

    def close(self) -> None:
        chat, self.chat = self.chat, None
        if chat is not None and hasattr(chat, "close"):
            with contextlib.suppress(Exception):
                chat.close()
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()

    def print_banner(self) -> None:
        """Two lines above the first prompt (printed without Rich, which loads later)."""
        model = one_line(self.model or "(no model)")
        lines = [
            ("bold", "todo chat"),
            ("ansibrightblack", f" · {self.provider_name} · {model}\n"),
            (
                "ansibrightblack",
                "/help for commands · Esc Enter adds a line · Ctrl-C stops a reply · "
                "Ctrl-D quits\n",
            ),
        ]
        if self._console is not None:  # injected console (tests): keep all output in one place
            self.console.print("".join(text for _, text in lines), end="", markup=False)
        else:
            from prompt_toolkit import print_formatted_text

            print_formatted_text(FormattedText(lines), end="", output=self.output)
        if self.state.pending_conversation:
            self.print_resumed(self.state.pending_conversation)
        elif self.state.continue_latest:
            self.console.print("[dim]Continuing the latest conversation.[/]")

    def print_resumed(self, conversation_id: str) -> None:
        """Say which conversation continues, with its last exchange (dim)."""
        from rich.text import Text

        try:
            from .conversations import conversation_messages, get_conversation

            info = get_conversation(conversation_id)
            messages = conversation_messages(conversation_id)
        except Exception:
            info, messages = None, []
        line = f"Continuing conversation {conversation_id}"
        if info is not None:
            line += f" ({info.turns} turn{'s' if info.turns != 1 else ''}): {info.title}"
        self.console.print(Text(one_line(line), style="dim"))
        for role, text in messages[-2:]:
            who = "you" if role == "user" else "todo"
            flat = one_line(text)
            if len(flat) > 100:
                flat = flat[:99] + "…"
            self.console.print(Text(f"  {who}: {flat}", style="dim italic"))

    async def offer_key(self) -> None:
        """Explain how to get a key and offer to store one (hidden input)."""
        self.console.print(f"[yellow]{self.key_hint()}[/]")
        try:
            await self.commands.paste_key(skip_hint=True)
        except (KeyboardInterrupt, EOFError):
            self.console.print("[dim]Skipped. Slash commands work meanwhile (/help).[/]")

    # -- a turn -------------------------------------------------------------------------

    async def _ensure_chat(self, view: MarkdownStream) -> Any:
        if self.chat is not None:
            return self.chat
        factory = self._chat_factory
        if factory is None:
            if "todo_cli.agent" not in sys.modules:
                # The Agents SDK takes a second or more to import: never block the loop on it.
                if self.preloader is None:
                    self.preloader = Preloader()
                    self.preloader.start()
                view.status("loading…")
                began = time.perf_counter()
                await asyncio.to_thread(self.preloader.wait)
                self.load_seconds = time.perf_counter() - began
                view.status("thinking…")
            from .agent import ChatSession

            factory = ChatSession
        self.chat = factory(
            self.settings,
            provider=self.state.provider,
            model=self.state.model_choice,
            base_url=self.state.base_url,
            conversation_id=self.state.pending_conversation,
            continue_latest=self.state.continue_latest,
            store=self._open_store(),
        )
        self.state.pending_conversation = None
        self.state.continue_latest = False
        return self.chat

    async def run_turn(self, message: str) -> TurnEnd | None:
        """Send one message and render the reply; never raises for provider errors."""
        from rich.text import Text

        from .mdstream import MarkdownStream

        if not self.has_key():
            self.console.print(f"[yellow]{self.key_hint()}[/]")
            return None
        view = MarkdownStream(self.console)
        self.view = view
        view.start("thinking…")
        ticker = asyncio.create_task(self._tick(view))
        self._cancel_requested = False
        end: TurnEnd | None = None
        task = asyncio.create_task(self._consume(message, view))
        self._turn_task = task
        self._install_sigint()
        try:
            with self.between_prompts():
                end = await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the session itself is being torn down
        except ProviderError as exc:
            view.print(_error_text(exc))
        except TodoError as exc:
            view.print(_error_text(exc))
        except Exception as exc:  # keep the session alive whatever the agent does
            if os.environ.get("TODO_DEBUG"):
                import traceback

                traceback.print_exc()
            view.print(_error_text(exc, prefix=f"{type(exc).__name__}: "))
        finally:
            self._remove_sigint()
            self._turn_task = None
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            view.close()
            self.view = None
        self.turn_count += 1
        if end is not None:
            self.totals.add(end)
            footer = usage_footer(end, requested_model=self._requested_model())
            if footer:
                self.console.print(Text(footer, style="dim"))
        elif self._cancel_requested:
            self.console.print("[dim]Stopped.[/]")
        return end

    def between_prompts(self) -> contextlib.AbstractContextManager[Any]:
        """Keep keys typed outside a prompt for the next one (on a real terminal)."""
        return _KeysKept() if self.input is None else contextlib.nullcontext()

    def _requested_model(self) -> str | None:
        chat = self.chat
        return str(chat.model) if chat is not None and getattr(chat, "model", None) else None

    def _tz(self) -> Any:
        try:
            return self.settings.tz
        except Exception:
            return None

    async def _tick(self, view: MarkdownStream) -> None:
        while True:
            await asyncio.sleep(0.05)
            view.tick()

    async def _consume(self, message: str, view: MarkdownStream) -> TurnEnd | None:
        from rich.text import Text

        from .events import (
            ApprovalRequest,
            Notice,
            ReasoningDelta,
            TextDelta,
            ToolCall,
            ToolResult,
            TurnEnd,
        )

        chat = await self._ensure_chat(view)

        async def approve(request: ApprovalRequest) -> bool:
            return await self.approve(request, view)

        calls: dict[str, ToolCall] = {}
        end: TurnEnd | None = None
        stream = chat.stream_turn(message, approve=approve)
        async with contextlib.aclosing(stream) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    view.status(None)
                    view.markdown(event.text)
                elif isinstance(event, ReasoningDelta):
                    if self.show_reasoning:
                        view.status(None)
                        view.reasoning(event.text)
                elif isinstance(event, ToolCall):
                    calls[event.call_id] = event
                    view.flush()
                    view.status(f"{event.name.replace('_', ' ')}…")
                elif isinstance(event, ToolResult):
                    line = tool_activity_line(calls.get(event.call_id), event, tz=self._tz())
                    for part in clean(line or "").splitlines():
                        view.print(Text(part, style=_line_style(part, event.ok)))
                    view.status("thinking…")
                elif isinstance(event, Notice):
                    view.print(Text(one_line(event.text), style="yellow"))
                elif isinstance(event, TurnEnd):
                    end = event
                elif isinstance(event, ApprovalRequest):
                    pass  # answered through the approve callback
        return end

    async def approve(self, request: ApprovalRequest, view: MarkdownStream | None = None) -> bool:
        """Ask the user about a destructive tool call: "Delete 3 tasks (...)? [y/N]"."""
        from rich.text import Text

        from .chat_render import approval_prompt

        question = approval_prompt(request)  # "Delete 2 tasks (#4 Buy milk, …)? [y/N]"
        if self.yes:
            if view is not None:
                what = question.removesuffix("? [y/N]")
                view.print(Text(f"{what}: approved (--yes)", style="dim"))
            return True
        if view is not None:
            view.close()  # the live region must not fight with the question
        try:
            answer = await self.ask(question + " ")
        except KeyboardInterrupt:
            self.cancel_turn()
            answer = ""
        except EOFError:
            answer = ""
        finally:
            self._install_sigint()  # prompt-toolkit removed ours
            if view is not None and not self._cancel_requested:
                view.start("thinking…")
        return answer.strip().lower() in ("y", "yes")

    # -- Ctrl-C during a turn -----------------------------------------------------------

    def cancel_turn(self) -> None:
        """Stop the running turn (what Ctrl-C does while a reply streams).

        A second Ctrl-C right after the first is ignored: the agent is tidying up the stored
        conversation, and interrupting that could leave a tool call without its result.
        """
        task = self._turn_task
        if task is None or task.done():
            return
        now = time.monotonic()
        if self._cancel_requested and now - self._cancelled_at < 3.0:
            return
        self._cancel_requested = True
        self._cancelled_at = now
        task.cancel()

    def _install_sigint(self) -> None:
        if self._turn_task is None:
            return
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self.cancel_turn)

    def _remove_sigint(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)


class _KeysKept:
    """The terminal between two prompts (while a reply streams, a slash command prints, a
    turn winds down after Ctrl-C): keys typed meanwhile are not echoed and wait, byte for
    byte, for the next prompt.

    Outside prompt-toolkit's raw mode the terminal would be in canonical (line) mode, where
    the kernel edits what is typed: Ctrl-D there is "end of file" and reaches the next prompt
    as a NUL byte, so the session would miss a Ctrl-D pressed at the wrong moment (and
    backspace or Ctrl-U would edit text the prompt never saw). So canonical mode, echo and
    input translation are off as in prompt-toolkit's raw mode; ISIG stays on (Ctrl-C still
    stops a reply) with NOFLSH (and does not discard what was typed); output is untouched.
    """

    def __init__(self) -> None:
        self.saved: list[Any] | None = None

    def __enter__(self) -> _KeysKept:
        try:
            import termios

            if sys.stdin.isatty():
                fd = sys.stdin.fileno()
                self.saved = termios.tcgetattr(fd)
                attrs = termios.tcgetattr(fd)
                attrs[0] &= ~(
                    termios.ICRNL | termios.INLCR | termios.IGNCR | termios.IXON | termios.IXOFF
                )
                attrs[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN)
                attrs[3] |= termios.NOFLSH | termios.ISIG
                attrs[6][termios.VMIN] = 1
                attrs[6][termios.VTIME] = 0
                termios.tcsetattr(fd, termios.TCSANOW, attrs)
        except (ImportError, OSError, ValueError):
            self.saved = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            import termios

            with contextlib.suppress(OSError, ValueError):
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, self.saved)


def _quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Background task failures: silent unless debugging (the turn reports its own errors)."""
    if os.environ.get("TODO_DEBUG"):
        loop.default_exception_handler(context)


def _line_style(line: str, ok: bool) -> str:
    if not ok or line.startswith(("!", "✗")):
        return "red"
    if line.startswith(("+", "✓")):
        return "green"
    if line.startswith(("~", "↺", "↶")):
        return "yellow"
    return "dim"


def _error_text(exc: BaseException, prefix: str = "") -> Any:
    from rich.text import Text

    message = one_line(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
    hint = one_line(getattr(exc, "hint", None) or "")
    if hint:
        message = with_stop(message)
    text = Text(f"Error: {prefix}{message}", style="red")
    if hint:
        text.append(f" {hint}", style="dim")
    return text


def run_repl(
    *,
    provider: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    conversation_id: str | None = None,
    continue_latest: bool = False,
    yes: bool = False,
    list_name: str | None = None,
) -> None:
    """Open the interactive chat session on the terminal (returns on Ctrl-D or /exit)."""
    notice = None
    if conversation_id:
        from . import conversations  # (SQLite: not loaded before the prompt otherwise)

        if conversations.get_conversation(conversation_id) is None:
            from .errors import NotFoundError

            raise NotFoundError(
                f"No conversation '{conversation_id}'.",
                hint="Run `todo chat` and type /history to list them.",
            )
    elif continue_latest:
        from . import conversations
        from .config import load_settings

        current = list_name or load_settings().list_name
        conversation_id = conversations.latest_conversation_id(list_name=current)
        if conversation_id is None:
            notice = "No earlier conversation: starting a new one."
    repl = Repl(
        provider=provider,
        model=model,
        base_url=base_url,
        conversation_id=conversation_id,
        yes=yes,
        list_name=list_name,
    )
    # Started once the first prompt is drawn: it would otherwise compete for the GIL
    # with the start-up itself.
    repl.preloader = Preloader(before=repl.refresh_stats)
    if notice:
        repl.console.print(f"[dim]{notice}[/]")
    asyncio.run(repl.run())
