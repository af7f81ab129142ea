"""`todo lists ...`: show the task lists with their counts, switch, rename and delete them.

Only typer and the standard library load at module level; the store and config load inside
the commands (start-up stays fast).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..config import Settings
    from ..store import TaskStore

app = typer.Typer(
    help="Task lists: alone, `todo lists` shows them with their open and done counts.",
    invoke_without_command=True,
    rich_markup_mode=None,
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="A list name, e.g. work.")]


def _echo(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def _open() -> tuple[Settings, TaskStore]:
    from ..config import load_settings
    from ..store import TaskStore

    settings = load_settings()
    return settings, TaskStore.open(settings)


def _tasks(n: int) -> str:
    return f"{n:,} task" + ("" if n == 1 else "s")


@app.callback()
def lists_root(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Task lists: alone, `todo lists` shows them with their open and done counts.

    The current list (marked *) comes from `--list`, TODO_LIST or the `list` setting.
    """
    if ctx.invoked_subcommand is not None:
        return
    _settings, store = _open()
    try:
        lists = store.lists()
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps([i.to_dict() for i in lists], ensure_ascii=False) + "\n")
        return
    from ..render import list_lines

    _echo("\n".join(list_lines(lists)))


@app.command("use")
def use(name: NameArg) -> None:
    """Make NAME the current list (stored as the `list` setting)."""
    from ..config import set_value
    from ..listnames import validate_list_name

    clean = validate_list_name(name)
    set_value("list", clean)
    _echo(f"Now on list {clean}.")
    _warn_overridden(clean)


def _warn_overridden(name: str) -> None:
    """Say so when TODO_LIST (environment or .env) still picks another list."""
    from ..config import load_settings

    settings = load_settings()
    if settings.source("list") in ("env", ".env") and settings.list_name != name:
        where = "TODO_LIST in .env" if settings.source("list") == ".env" else "TODO_LIST"
        sys.stderr.write(f"Note: {where} still picks list {settings.list_name}.\n")


@app.command("rename")
def rename(old: NameArg, new: Annotated[str, typer.Argument(metavar="NEW")]) -> None:
    """Rename list OLD to NEW (one undo step: `todo tasks undo`).

    NEW must not have tasks yet. When OLD is the current list, the `list` setting follows
    (unless TODO_LIST picks it).
    """
    from ..config import set_value
    from ..listnames import validate_list_name

    settings, store = _open()
    try:
        moved = store.rename_list(old, new)
    finally:
        store.close()
    source, target = validate_list_name(old), validate_list_name(new)
    _echo(f"Renamed list {source} to {target} ({_tasks(moved)}).")
    if settings.list_name != source:
        return
    # The current list was renamed: the setting follows it (the rename's undo step is
    # recorded in the new name), unless TODO_LIST picks the list.
    if settings.source("list") in ("config", "default"):
        set_value("list", target)
        _echo(f"Now on list {target}.")
    else:
        sys.stderr.write(
            f"Note: TODO_LIST still names {source}; set it to {target} "
            f"(undo the rename with `todo tasks --list {target} undo`).\n"
        )


@app.command("rm")
def rm(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Delete list NAME and every task in it (restorable with `todo tasks undo`).

    Asks first on a terminal; elsewhere it needs --yes.
    """
    from ..errors import NotFoundError, UsageError
    from ..listnames import validate_list_name

    clean = validate_list_name(name)
    _settings, store = _open()
    try:
        info = next((i for i in store.lists() if i.name == clean), None)
        if info is None or info.open + info.done == 0:
            raise NotFoundError(f"No list '{clean}'", hint="Run `todo lists` to see your lists.")
        what = f"list {clean} and its {_tasks(info.open + info.done)}"
        if info.done:
            what += f" ({info.done:,} done)"
        if not yes:
            if not (sys.stdin.isatty() and sys.stdout.isatty()):
                raise UsageError(
                    f"Deleting {what} needs confirmation.",
                    hint="Run it on a terminal to be asked, or add --yes.",
                )
            if not typer.confirm(f"Delete {what}?", default=False):
                _echo("Nothing deleted.")
                return
        deleted = store.delete_list(clean)
    finally:
        store.close()
    _echo(f"Deleted list {clean} ({_tasks(len(deleted))}).")
    sys.stderr.write("Restore it with `todo tasks undo`.\n")
