"""`todo db ...`: where the tasks are stored, and copying them between databases.

Only typer and the standard library load at module level.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

app = typer.Typer(
    help="The task database: which one is in use (`todo db status`), and copying lists "
    "between this machine's SQLite file and a PostgreSQL server (`todo db copy`).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _echo(line: str) -> None:
    from ..termsafe import clean

    sys.stdout.write(clean(line) + "\n")


@app.command("status")
def status(json_out: JsonOpt = False) -> None:
    """Which database holds the tasks (the password masked), its lists and schema."""
    from ..config import load_settings
    from ..dbcopy import current_place
    from ..store import TaskStore

    settings = load_settings()
    place = current_place(settings)
    store = TaskStore.open(settings)
    try:
        lists = store.lists()
        pending = store.pending_migrations()
    finally:
        store.close()
    if store.backend == "postgresql":
        from ..store.postgres import PG_MIGRATION_NAMES as names
    else:
        from ..store import MIGRATION_NAMES as names
    source = settings.database.url_source if place.url else "default"
    applied = len(names) - len(pending)
    data = {
        "backend": store.backend,
        "location": place.shown,
        "source": source,
        "migrations": {"applied": applied, "total": len(names)},
        "lists": [info.to_dict() for info in lists],
    }
    if json_out:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    kind = "PostgreSQL server" if place.url else "SQLite file"
    where = f" (database.url from {settings.describe_source(source)})" if place.url else ""
    _echo(f"Tasks are in the {kind} {place.shown}{where}.")
    _echo(f"Schema: {applied} of {len(names)} migrations applied.")
    total_open = sum(info.open for info in lists)
    total_done = sum(info.done for info in lists)
    _echo(
        f"{len(lists)} list{'s' if len(lists) != 1 else ''}: {total_open:,} open, "
        f"{total_done:,} done (`todo lists` shows each)."
    )


@app.command("copy")
def copy(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="DB",
            help="Copy from the database in use to DB: a postgresql:// URL, `sqlite` (this "
            "machine's todo.db) or sqlite:PATH.",
        ),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="DB",
            help="Copy from DB (same forms) into the database in use.",
        ),
    ] = None,
    list_name: Annotated[
        str | None,
        typer.Option(
            "--list", "-l", metavar="NAME", help="The list to copy (default: the current one)."
        ),
    ] = None,
    all_lists: Annotated[bool, typer.Option("--all-lists", help="Copy every list.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Copy a list between this machine's SQLite file and a PostgreSQL server, matched by
    uuid: running it again changes nothing. The database in use is the one `database.url`
    names (else the SQLite file); the other side is --to or --from.

    Examples: `todo db copy --to postgresql://me@db.example.com/todo` (local tasks to the
    server), `todo db copy --from sqlite` (with database.url set: this machine's file to the
    server), `todo db copy --to sqlite:backup.db --all-lists`.
    """
    import shlex

    from ..config import load_settings
    from ..dbcopy import copy_tasks, current_place, open_place, parse_place
    from ..dburl import mask_url
    from ..errors import UsageError
    from ..listnames import validate_list_name
    from ..store import Origin

    if (to is None) == (from_ is None):
        raise UsageError(
            "Give one of --to DB or --from DB.",
            hint="--to copies from the database in use, --from into it.",
        )
    if list_name is not None and all_lists:
        raise UsageError("Give --list NAME or --all-lists, not both.")
    settings = load_settings()
    here = current_place(settings)
    other = parse_place(to if to is not None else from_ or "", settings)
    source, target = (here, other) if to is not None else (other, here)
    if source.same_as(target):
        raise UsageError(
            f"{source.shown} is the database in use: nothing to copy.",
            hint="Name the other database with --to or --from.",
        )
    source_store = open_place(source, settings, create=False)
    try:
        names = (
            [info.name for info in source_store.lists() if info.open or info.done]
            if all_lists
            else [validate_list_name(list_name or settings.list_name)]
        )
        target_store = open_place(target, settings, create=True)
        try:
            target_store.use_list(names[0] if names else settings.list_name)
            # The command line goes into the journal: never with a password in it.
            command = " ".join(["todo", *(shlex.quote(mask_url(a)) for a in sys.argv[1:])])
            target_store.origin = Origin("import", command)
            result = copy_tasks(
                source_store,
                target_store,
                lists=names,
                label=f"todo db copy from {source.shown}",
                source_place=source,
                target_place=target,
            )
        finally:
            target_store.close()
    finally:
        source_store.close()
    if json_out:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    _echo(result.line())
