"""Slash commands of the chat session: `/help`, `/tasks`, `/undo`, `/model`, ...

Commands are the ``cmd_<name>`` methods of ``SlashCommands``: the first docstring line is
the help text, ``usage`` attributes name the arguments, ``complete_<name>`` methods
complete arguments. None of them needs a model or a key.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from .errors import NotFoundError, TodoError, UsageError, with_stop
from .termsafe import one_line

if TYPE_CHECKING:
    from .chat_state import Session

ALIASES = {"quit": "exit", "q": "exit", "ls": "tasks", "?": "help"}
TASK_FILTER_WORDS = (
    "all", "done", "today", "overdue", "high", "medium", "low", "waiting", "repeating", "blocked"
)  # fmt: skip


def _usage(text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        func.usage = text  # type: ignore[attr-defined]
        return func

    return mark


def parse_task_filters(args: str) -> dict[str, Any]:
    """`/tasks` filter words -> TaskQuery fields.

    ``all`` / ``done`` (status), ``today``, ``overdue``, ``high`` / ``medium`` / ``low``,
    ``waiting`` (hidden until later), ``repeating``, ``blocked``, ``#tag`` or ``+tag``,
    ``@project``, anything else is searched for in the text.
    """
    fields: dict[str, Any] = {}
    words: list[str] = []
    for word in args.split():
        low = word.lower()
        if low == "all":
            fields["status"] = None
        elif low == "done":
            fields["status"] = "done"
        elif low == "today":
            fields["due_today"] = True
        elif low == "overdue":
            fields["overdue"] = True
        elif low in ("high", "medium", "low"):
            fields["priority"] = low
        elif low == "waiting":
            fields["waiting"] = True
        elif low == "repeating":
            fields["repeating"] = True
        elif low == "blocked":
            fields["blocked"] = True
        elif word[0] in "#+" and len(word) > 1:
            fields["tag"] = word[1:]
        elif word[0] == "@" and len(word) > 1:
            fields["project"] = word[1:]
        else:
            words.append(word)
    if words:
        fields["text"] = " ".join(words)
    return fields


class SlashCommands:
    """The slash commands, bound to a running ``Repl``."""

    def __init__(self, repl: Session) -> None:
        self.repl = repl

    @property
    def console(self) -> Any:
        return self.repl.console

    # -- discovery and dispatch ---------------------------------------------------------

    def names(self) -> list[str]:
        """Every command name, in the order of the help."""
        return [name[4:] for name in _COMMAND_ORDER]

    def handler(self, name: str) -> Callable[..., Any]:
        return getattr(self, f"cmd_{name}")

    def help_line(self, name: str) -> str:
        doc = inspect.getdoc(self.handler(name)) or ""
        return doc.splitlines()[0] if doc else ""

    def usage(self, name: str) -> str:
        return str(getattr(self.handler(name), "usage", ""))

    def resolve(self, word: str) -> str | None:
        """A typed command word (without "/") -> a command name: exact, alias, unique prefix."""
        word = word.lower()
        names = self.names()
        if word in names:
            return word
        if word in ALIASES:
            return ALIASES[word]
        matches = [n for n in names if n.startswith(word)]
        return matches[0] if len(matches) == 1 else None

    async def dispatch(self, line: str) -> bool:
        """Run one slash command line; returns False when the session should end."""
        parts = line[1:].split(None, 1)
        word = parts[0] if parts else "help"
        args = parts[1] if len(parts) > 1 else ""
        name = self.resolve(word)
        if name is None:
            self.unknown(word)
            return True
        try:
            result = self.handler(name)(args.strip())
            if inspect.isawaitable(result):
                result = await result
        except TodoError as exc:
            self.error(exc)
            return True
        except (KeyboardInterrupt, EOFError):  # Ctrl-C / Ctrl-D at a question (/key)
            self.console.print("[dim]Cancelled.[/]")
            return True
        except Exception as exc:  # a broken command must not end the session
            if os.environ.get("TODO_DEBUG"):
                raise
            self.console.print(f"[red]Error: /{name} failed: {_escape(str(exc) or repr(exc))}[/]")
            return True
        return result is not False

    def unknown(self, word: str) -> None:
        names = self.names() + list(ALIASES)
        close = difflib.get_close_matches(word.lower(), names, n=1, cutoff=0.5)
        prefix = [n for n in self.names() if n.startswith(word.lower())]
        suggestion = ALIASES.get(close[0], close[0]) if close else None
        if prefix and len(prefix) > 1:
            hint = "Did you mean " + " or ".join(f"/{n}" for n in prefix) + "?"
        elif suggestion:
            hint = f"Did you mean /{suggestion}?"
        else:
            hint = "Type /help for the list."
        self.console.print(
            f"[red]Unknown command /{_escape(word)}.[/] {hint} "
            "[dim](To send a message that starts with /, type // first.)[/]"
        )

    def error(self, exc: TodoError) -> None:
        message = with_stop(exc.message) if exc.hint else exc.message
        line = f"[red]Error: {_escape(message)}[/]"
        if exc.hint:
            line += f" [dim]{_escape(exc.hint)}[/]"
        self.console.print(line)

    # -- commands -----------------------------------------------------------------------

    def cmd_help(self, args: str) -> None:
        """Show the commands and keys."""
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        table.add_column(style="cyan", no_wrap=True)
        table.add_column()
        for name in self.names():
            usage = self.usage(name)
            table.add_row(f"/{name}" + (f" {usage}" if usage else ""), self.help_line(name))
        self.console.print(table)
        self.console.print(
            "[dim]Enter sends · Esc Enter (or Alt-Enter) adds a line · Tab completes · "
            "→ accepts a suggestion · Ctrl-C stops a reply · Ctrl-D quits[/]"
        )

    @_usage(
        "[all|done] [today|overdue] [high|medium|low] [waiting|repeating|blocked] [#tag] "
        "[@project] [words]"
    )
    def cmd_tasks(self, args: str) -> None:
        """List tasks (pending by default)."""
        from . import render
        from .store import TaskQuery

        limit = 50
        fields = parse_task_filters(args)
        store = self.repl.store
        tasks = store.query(TaskQuery(**fields, limit=limit))
        if not tasks:
            self.console.print("[dim]No tasks match.[/]" if args else "[dim]No open tasks.[/]")
            return
        more = 0
        if len(tasks) >= limit:
            more = store.count(TaskQuery(**fields)) - len(tasks)
        render.print_tasks(
            tasks,
            console=self.console,
            tz=self._tz(),
            more=more,
            more_hint="narrow it down, e.g. /tasks today",
        )

    @_usage("TITLE [WHEN] [!high] [#tag] [@project] [every …]")
    def cmd_add(self, args: str) -> None:
        """Add a task; due date, !priority, #tags, @project and "every …" inline."""
        from . import render
        from .quickadd import added_line, parse_quick, split_words

        if not args:
            raise UsageError("Nothing to add.", hint="Usage: /add buy milk tomorrow !high #shop")
        store = self.repl.store
        quick = parse_quick(split_words(args), tz=self._tz())
        with store.group(f"add {args[:40]}"):
            if quick.recognised and quick.title:
                task = store.add(
                    quick.title,
                    due=quick.due,
                    priority=quick.priority or "none",
                    tags=quick.tags,
                    project=quick.project,
                    repeat=quick.repeat,
                )
                line = added_line(task, tz=self._tz())
            else:
                task = store.add(" ".join(w for w, _ in split_words(args)) or args)
                line = render.task_line(task, tz=self._tz())
        self.console.print(f"[green]+ {_escape(line)}[/]")

    @_usage("")
    def cmd_today(self, args: str) -> None:
        """Overdue tasks and what is due today (repeating ones included)."""
        self._agenda(1)

    @_usage("[DAYS]")
    def cmd_agenda(self, args: str) -> None:
        """Overdue, today and each of the next days (7 unless DAYS is given)."""
        text = args.strip()
        if text and not text.isdigit():
            raise UsageError(f"Not a number of days: '{text}'.", hint="Usage: /agenda 14")
        self._agenda(int(text) if text else 7)

    def _agenda(self, days: int) -> None:
        from .agenda import agenda_lines, build_agenda

        tz = self._tz()
        for line in agenda_lines(build_agenda(self.repl.store, days=days, tz=tz), tz=tz):
            style = "bold" if line and not line.startswith(" ") else ""
            self.console.print(_escape(line), style=style or None)

    @_usage("ID [ID…]")
    def cmd_done(self, args: str) -> Any:
        """Mark tasks done (a repeating task moves to its next due)."""
        from .store import OpenSubtasksError

        ids = _parse_ids(args, "/done 3 7")
        try:
            self._complete(ids, subtasks=bool(getattr(self.repl, "yes", False)))
        except OpenSubtasksError as exc:
            return self._confirm_done(ids, exc)
        return None

    async def _confirm_done(self, ids: list[int], exc: Any) -> None:
        question = f"{with_stop(one_line(exc.message))} Complete them too? [y/N] "
        answer = await self.repl.ask(question)
        if answer.strip().lower() in ("y", "yes"):
            self._complete(ids, subtasks=True)
        else:
            self.console.print("[dim]Nothing was completed.[/]")

    def _complete(self, ids: list[int], *, subtasks: bool) -> None:
        from . import dates, render

        store = self.repl.store
        with store.group("done " + " ".join(f"#{i}" for i in ids)):
            tasks = store.complete(ids, subtasks=subtasks)
        for task in tasks:
            line = f"#{task.id} {task.title}"
            if task.repeat and task.status == "pending" and task.due:
                when = dates.humanize_due(task.due, tz=self._tz())
                line += f" · next due {when}, {render.repeat_words(task.repeat)}"
            self.console.print(f"[green]✓ {_escape(line)}[/]")

    async def cmd_undo(self, args: str) -> None:
        """Undo the last change (a whole chat turn, or one command); asks first when it
        was made elsewhere (another terminal, another session)."""
        await self._take_back("undo")

    async def cmd_redo(self, args: str) -> None:
        """Take back the last undo (repeat for more)."""
        await self._take_back("redo")

    async def _take_back(self, action: str) -> None:
        from . import render

        store = self.repl.store
        info = store.last_change() if action == "undo" else store.next_redo()
        if info is None:
            raise NotFoundError(f"Nothing to {action}.")
        whose, own = render.change_owner(info, session=self.repl.session_id, tz=self._tz())
        label = info.label or "the last change"
        if not own:
            question = f"{action.capitalize()} “{render.one_line(label)}”, made by {whose}?"
            answer = await self.repl.ask(f"{question} [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                self.console.print(f"[dim]Nothing was {action}ne.[/]")
                return
        if action == "undo":
            result = store.undo(group_id=info.id)
            lines = render.undo_lines(result, tz=self._tz())
        else:
            result = store.redo(group_id=info.id)
            lines = render.undo_lines(result, tz=self._tz(), verb="Redid")
        for line in lines:
            self.console.print(_escape(line))
        if own:
            self.console.print(f"[dim](made by {_escape(whose)})[/]")

    @_usage("[NAME]")
    def cmd_list(self, args: str) -> None:
        """Show the task lists, or switch to list NAME (in a new conversation)."""
        from . import render

        store = self.repl.store
        if store is None:
            raise TodoError("The task database is not available.")
        if not args:
            for line in render.list_lines(store.lists()):
                self.console.print(_escape(line), highlight=False)
            self.console.print("[dim]Switch with /list NAME.[/]")
            return
        name = store.use_list(args.split()[0])
        conv = self.repl.new_conversation()
        info = next(i for i in store.lists() if i.name == name)
        counts = f"{info.open} open, {info.done} done" if info.open + info.done else "empty"
        self.console.print(
            f"Now on list [bold]{_escape(name)}[/] ({counts})"
            + (f"; new conversation {conv}." if conv else ".")
        )
        self.repl.refresh_stats()

    def complete_list(self, text: str) -> Iterator[tuple[str, str]]:
        try:
            lists = self.repl.store.lists()
        except Exception:
            return
        for info in lists:
            if info.name.startswith(text.lower()):
                yield info.name, f"{info.open} open, {info.done} done"

    @_usage("[ID]")
    def cmd_model(self, args: str) -> None:
        """Show or switch the model (Tab lists the cached catalog)."""
        if not args:
            self.console.print(f"Model: [bold]{_escape(self.repl.model or '(none)')}[/]")
            self.console.print("[dim]Switch with /model ID; find ids with `todo models`.[/]")
            return
        model = args.split()[0]
        self.repl.set_model(model)
        self.console.print(f"Model: [bold]{_escape(model)}[/] [dim](for this session)[/]")
        self._model_warning(model)

    def _model_warning(self, model: str) -> None:
        try:
            from .catalog import cached_catalog, close_matches, no_tools_message

            catalog = cached_catalog(self.repl.settings, provider=self.repl.provider_name)
            if catalog is None:
                return
            known = catalog.get(model)
            if known is not None and known.tools is False:
                self.console.print(f"[yellow]{_escape(no_tools_message(model, catalog))}[/]")
            elif known is None and catalog.models:
                close = close_matches(model, catalog.models)
                hint = f" Did you mean {', '.join(close)}?" if close else ""
                self.console.print(
                    f"[yellow]'{_escape(model)}' is not in the cached model list.{hint}[/]"
                )
        except Exception:
            pass

    @_usage("[NAME]")
    def cmd_provider(self, args: str) -> None:
        """Show or switch the provider (openrouter, groq, gemini, openai, ollama, custom)."""
        from .providers import PROVIDERS

        if not args:
            self.console.print(f"Provider: [bold]{self.repl.provider_name}[/]")
            self.console.print(f"[dim]Choices: {', '.join(PROVIDERS)}.[/]")
            return
        self.repl.set_provider(args.split()[0])
        self.console.print(
            f"Provider: [bold]{self.repl.provider_name}[/] · model "
            f"[bold]{_escape(self.repl.model or '(none)')}[/] [dim](for this session)[/]"
        )
        if not self.repl.has_key():
            self.console.print(f"[yellow]{_escape(self.repl.key_hint())}[/]")

    def cmd_new(self, args: str) -> None:
        """Start a new conversation (the old one stays in /history)."""
        conv = self.repl.new_conversation()
        self.console.print(f"New conversation{f' {conv}' if conv else ''}.")

    def cmd_history(self, args: str) -> None:
        """List past conversations of this list: id, date, first message."""
        from rich.table import Table

        conversations = self._conversations()
        if not conversations:
            self.console.print("[dim]No conversations yet.[/]")
            return
        current = self.repl.conversation_label
        table = Table.grid(padding=(0, 2))
        table.add_column(style="cyan", no_wrap=True)
        table.add_column(style="dim", no_wrap=True)
        table.add_column(overflow="ellipsis", no_wrap=True)
        for info in conversations:
            mark = " *" if info.id == current else ""
            title = _escape(info.title or "")
            table.add_row(f"{info.id}{mark}", _short_stamp(info.updated_at, self._tz()), title)
        self.console.print(table)
        self.console.print("[dim]/resume ID continues one.[/]")

    @_usage("ID")
    def cmd_resume(self, args: str) -> None:
        """Continue a past conversation."""
        if not args:
            raise UsageError("Which conversation?", hint="Usage: /resume ID (see /history).")
        wanted = args.split()[0]
        ids = [c.id for c in self._conversations(limit=1000)]
        matches = [i for i in ids if i == wanted] or [i for i in ids if i.startswith(wanted)]
        if len(matches) != 1:
            from .errors import NotFoundError

            many = len(matches) > 1
            raise NotFoundError(
                f"{'Several conversations start with' if many else 'No conversation'} '{wanted}'.",
                hint="See /history for the ids.",
            )
        self.repl.resume(matches[0])
        self.repl.print_resumed(matches[0])

    def cmd_usage(self, args: str) -> None:
        """Tokens and cost of this session."""
        from .chat_state import format_cost

        t = self.repl.totals
        if not t.turns:
            self.console.print("[dim]No turns yet in this session.[/]")
            return
        cost = format_cost(t.cost) if t.cost is not None else "not reported"
        self.console.print(
            f"{t.turns} turn{'s' if t.turns != 1 else ''} · {t.input_tokens:,} tokens in · "
            f"{t.output_tokens:,} out · cost {cost}"
        )
        if t.models:
            models = ", ".join(f"{m} ({n})" for m, n in t.models.items())
            self.console.print(f"[dim]Answered by: {_escape(models)}[/]")

    def cmd_clear(self, args: str) -> None:
        """Clear the screen (the conversation goes on; /new starts another)."""
        self.console.clear()

    def cmd_config(self, args: str) -> None:
        """Show the settings and where each comes from (keys masked)."""
        from rich.table import Table

        from .config import format_value, mask_value

        table = Table.grid(padding=(0, 2))
        table.add_column(style="cyan", no_wrap=True)
        table.add_column()
        table.add_column(style="dim")
        for key, value, source in self.repl.settings.items():
            other = "." in key and not key.startswith(("models.", self.repl.provider_name + "."))
            if source == "default" and not args and other:
                continue  # other providers' defaults are noise here (/config all lists them)
            shown = format_value(mask_value(key, value))
            table.add_row(key, _escape(shown), source)
        self.console.print(table)
        self.console.print(
            "[dim]Change with `todo config set KEY VALUE`; /config all lists all.[/]"
        )

    def cmd_reasoning(self, args: str) -> None:
        """Show or hide the model's reasoning (toggle)."""
        self.repl.show_reasoning = not self.repl.show_reasoning
        state = "shown" if self.repl.show_reasoning else "hidden"
        self.console.print(
            f"Reasoning {state} [dim](for this session; keep it with "
            "`todo config set show_reasoning true|false`)[/]"
        )

    def cmd_key(self, args: str) -> Any:
        """Paste an API key for the current provider (hidden; stored 0600)."""
        return self.paste_key()

    async def paste_key(self, *, skip_hint: bool = False) -> None:
        """Read a key with hidden input and store it with config.set_value."""
        from .config import display_path, get_paths, set_value

        repl = self.repl
        provider = repl.provider_config().provider
        prompt = f"Paste your {provider.label} key (hidden; Enter to skip): "
        key = (await repl.ask(prompt, password=True)).strip()
        if not key:
            if skip_hint:
                self.console.print("[dim]Skipped. Slash commands work meanwhile (/help).[/]")
            else:
                self.console.print("[dim]No key stored.[/]")
            return
        if key.startswith("/") or len(key) < 8 or any(c.isspace() for c in key):
            # A slash command or a sentence typed at the hidden prompt is not a key.
            self.console.print(
                "[yellow]That does not look like an API key; nothing stored.[/] "
                "[dim]Type /key to paste one.[/]"
            )
            return
        set_value(f"{provider.name}.api_key", key)
        repl.reload_settings()
        repl.key_changed()
        where = display_path(get_paths().config_file)
        self.console.print(f"[green]Key saved[/] to {where} [dim](readable only by you)[/].")

    def cmd_exit(self, args: str) -> bool:
        """Quit (Ctrl-D does too)."""
        return False

    # -- helpers ------------------------------------------------------------------------

    def _tz(self) -> Any:
        try:
            return self.repl.settings.tz
        except TodoError:
            return None

    def _conversations(self, limit: int = 20) -> list[Any]:
        from .conversations import list_conversations

        store = self.repl.store
        list_name = store.list_name if store is not None else None
        return list(list_conversations(limit=limit, list_name=list_name))

    # -- argument completion ------------------------------------------------------------

    def complete_model(self, text: str) -> Iterator[tuple[str, str]]:
        ids = self.repl.model_ids()
        low = text.lower()
        starts = [m for m in ids if m.lower().startswith(low)]
        inside = [m for m in ids if low in m.lower() and m not in starts]
        for model in starts + inside:
            yield model, ""

    def complete_provider(self, text: str) -> Iterator[tuple[str, str]]:
        from .providers import PROVIDERS

        for name, provider in PROVIDERS.items():
            if name.startswith(text.lower()):
                yield name, provider.label

    def complete_resume(self, text: str) -> Iterator[tuple[str, str]]:
        try:
            conversations = self._conversations()
        except Exception:
            return
        for info in conversations:
            if info.id.startswith(text):
                yield info.id, (info.title or "")[:40]

    def complete_done(self, text: str) -> Iterator[tuple[str, str]]:
        from .store import TaskQuery

        try:
            tasks = self.repl.store.query(TaskQuery(status="pending", sort="id", limit=200))
        except Exception:
            return
        word = text.split(" ")[-1] if text else ""
        for task in tasks:
            if str(task.id).startswith(word):
                yield str(task.id), task.title[:40]

    def complete_tasks(self, text: str) -> Iterator[tuple[str, str]]:
        word = text.split(" ")[-1] if text else ""
        for w in TASK_FILTER_WORDS:
            if w.startswith(word.lower()):
                yield w, ""


_COMMAND_ORDER = [
    "cmd_help",
    "cmd_tasks",
    "cmd_add",
    "cmd_today",
    "cmd_agenda",
    "cmd_done",
    "cmd_undo",
    "cmd_redo",
    "cmd_list",
    "cmd_model",
    "cmd_provider",
    "cmd_new",
    "cmd_history",
    "cmd_resume",
    "cmd_usage",
    "cmd_clear",
    "cmd_config",
    "cmd_reasoning",
    "cmd_key",
    "cmd_exit",
]
assert all(hasattr(SlashCommands, n) for n in _COMMAND_ORDER)
assert {n for n in dir(SlashCommands) if n.startswith("cmd_")} == set(_COMMAND_ORDER)


class SlashCompleter(Completer):
    """Completes "/command" names, then the command's arguments."""

    def __init__(self, commands: SlashCommands) -> None:
        self.commands = commands

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        text = document.text_before_cursor
        if not text.startswith("/") or "\n" in text:
            return
        word, space, args = text[1:].partition(" ")
        if not space:
            for name in self.commands.names():
                if name.startswith(word.lower()):
                    yield Completion(
                        f"/{name}",
                        start_position=-len(text),
                        display_meta=self.commands.help_line(name),
                    )
            return
        resolved = self.commands.resolve(word)
        complete = getattr(self.commands, f"complete_{resolved}", None) if resolved else None
        if complete is None:
            return
        current = args.split(" ")[-1] if args else ""
        try:
            for value, meta in complete(args):
                yield Completion(value, start_position=-len(current), display_meta=meta)
        except Exception:
            return


def _parse_ids(args: str, example: str) -> list[int]:
    ids: list[int] = []
    for word in args.replace(",", " ").split():
        try:
            ids.append(int(word.lstrip("#")))
        except ValueError:
            raise UsageError(f"'{word}' is not a task id.", hint=f"Usage: {example}") from None
    if not ids:
        raise UsageError("Which task?", hint=f"Usage: {example}")
    return ids


def _short_stamp(value: str | None, tz: Any = None) -> str:
    """SQLite's UTC "YYYY-MM-DD HH:MM:SS" as local "Tue 24 Nov 09:15"."""
    if not value:
        return ""
    from datetime import UTC, datetime

    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return value[:16]
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(tz).strftime("%a %d %b %H:%M")


def _escape(text: str) -> str:
    """Outside text for one line of Rich markup: inert (``termsafe.one_line``), no markup."""
    from rich.markup import escape

    return escape(one_line(text))
