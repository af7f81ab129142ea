"""Command groups that build each subcommand the first time it is looked up.

Before a Typer app runs anything, Typer turns every command of it into a Click command:
it reads each function's signature and evaluates its annotations, about 1-3 ms a command
and 70 ms for `todo`'s whole tree, while `todo tasks list` runs one command of it and
`todo --help` only lists names and one-line summaries. ``defer(app)`` takes the commands
and sub-apps registered on ``app`` (and on its sub-apps) out of Typer's hands; the group
Typer then builds for an app holds its callback and options only, and builds a subcommand,
with Typer's own functions and settings, when it is looked up. Help listings read a
subcommand's summary without building it. The result is the same tree, built in part.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, ClassVar

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandInfo, TyperInfo

__all__ = ["LazyGroup", "defer"]


class LazyGroup(TyperGroup):
    """A Typer group whose subcommands are built on first lookup (see ``defer``)."""

    # Set on the subclass ``defer`` makes for each app.
    app: ClassVar[typer.Typer]
    deferred_commands: ClassVar[list[CommandInfo]] = []
    deferred_groups: ClassVar[list[TyperInfo]] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pretty_exceptions_short = self.app.pretty_exceptions_short  # a parent's wins
        self._listing = False
        self.commands = _Commands(self, dict(self.commands))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        commands = self.commands
        if self._listing and isinstance(commands, _Commands):
            return commands.summary(cmd_name)
        return commands.get(cmd_name)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names alone: building waits for a lookup

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        self._listing = True  # the listing needs each subcommand's summary, not the command
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False

    def build_command(self, info: CommandInfo) -> Any:
        return typer.main.get_command_from_info(
            info,
            pretty_exceptions_short=self.pretty_exceptions_short,
            rich_markup_mode=self.rich_markup_mode,
        )

    def build_group(self, info: TyperInfo) -> Any:
        more: dict[str, Any] = {}
        if hasattr(self, "suggest_commands"):  # Typers that suggest commands pass it down
            more["suggest_commands"] = self.suggest_commands
        group = typer.main.get_group_from_info(
            info,
            pretty_exceptions_short=self.pretty_exceptions_short,
            rich_markup_mode=self.rich_markup_mode,
            **more,
        )
        if isinstance(group, LazyGroup):
            group.pretty_exceptions_short = self.pretty_exceptions_short
        return group


class _Commands(MutableMapping[str, Any]):
    """A group's subcommands by name, in Typer's order (commands, then sub-apps); each is
    built on first access."""

    def __init__(self, group: LazyGroup, built: dict[str, Any]) -> None:
        self.group = group
        self.built = built
        self.makers: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {}
        for command in group.deferred_commands:
            self.makers.setdefault(_command_name(command), _command_makers(group, command))
        for sub in group.deferred_groups:
            self.makers.setdefault(_group_name(sub), _group_makers(group, sub))
        self.order = list(dict.fromkeys([*self.makers, *built]))

    def __getitem__(self, name: str) -> Any:
        if name in self.built:
            return self.built[name]
        build, _ = self.makers[name]  # KeyError: no such command
        command = self.built[name] = build()
        return command

    def summary(self, name: str) -> Any:
        """What a help listing shows of ``name`` (its name, summary and hidden flag): the
        command when built, else a stand-in made from its help text."""
        if name in self.built or name not in self.makers:
            return self.get(name)
        return self.makers[name][1]()

    def __setitem__(self, name: str, command: Any) -> None:
        self.built[name] = command
        if name not in self.order:
            self.order.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self.order:
            raise KeyError(name)
        self.order.remove(name)
        self.built.pop(name, None)
        self.makers.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.order))

    def __len__(self) -> int:
        return len(self.order)

    def __contains__(self, name: object) -> bool:
        return name in self.order


def _command_name(info: CommandInfo) -> str:
    assert info.callback is not None, "a command needs a callback"
    return info.name or typer.main.get_command_name(info.callback.__name__)


def _group_name(info: TyperInfo) -> str:
    name = typer.main.solve_typer_info_defaults(info).name
    assert name, "a deferred sub-app needs a name"
    return str(name)


def _command_makers(
    group: LazyGroup, info: CommandInfo
) -> tuple[Callable[[], Any], Callable[[], Any]]:
    def summary() -> Any:
        if info.cls not in (None, TyperCommand):  # its own summary rule, maybe
            return group.commands[_command_name(info)]
        help_text = (
            inspect.getdoc(info.callback) if info.help is None else inspect.cleandoc(info.help)
        )
        return TyperCommand(
            name=_command_name(info),
            help=help_text,
            short_help=info.short_help,
            hidden=info.hidden,
            deprecated=info.deprecated,
        )

    return (lambda: group.build_command(info)), summary


def _group_makers(group: LazyGroup, info: TyperInfo) -> tuple[Callable[[], Any], Callable[[], Any]]:
    def summary() -> Any:
        solved = typer.main.solve_typer_info_defaults(info)
        if solved.cls not in (None, TyperGroup) and not issubclass(solved.cls, LazyGroup):
            return group.commands[_group_name(info)]
        return TyperGroup(
            name=_group_name(info),
            help=solved.help,
            short_help=solved.short_help,
            hidden=solved.hidden,
            deprecated=solved.deprecated,
        )

    return (lambda: group.build_group(info)), summary


def defer(app: typer.Typer) -> typer.Typer:
    """Make ``app`` and every sub-app registered on it build their subcommands lazily.

    Call it once, after every command and sub-app is registered."""
    if isinstance(app.info.cls, type) and issubclass(app.info.cls, LazyGroup):
        return app  # already deferred
    assert app.info.cls is None or isinstance(app.info.cls, typer.models.DefaultPlaceholder), (
        "an app with its own group class cannot be deferred"
    )
    for sub in app.registered_groups:
        assert sub.typer_instance is not None
        defer(sub.typer_instance)
    group_class = type(
        "LazyGroup",
        (LazyGroup,),
        {
            "app": app,
            "deferred_commands": app.registered_commands,
            "deferred_groups": app.registered_groups,
            "__module__": __name__,
        },
    )
    app.registered_commands, app.registered_groups = [], []
    app.info.cls = group_class
    return app
