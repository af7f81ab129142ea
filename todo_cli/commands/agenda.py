"""`todo today` and `todo agenda`: what is overdue, due today and on each coming day.

Only typer and the standard library at module level; the store loads inside the commands.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..limits import MAX_DAYS

DaysOpt = Annotated[
    int,
    typer.Option(
        "--days", "-n", min=1, max=MAX_DAYS, metavar="N", help="How many days, from today."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _show(days: int, as_json: bool) -> None:
    from ..agenda import agenda_json, agenda_lines, build_agenda
    from .tasks import _store

    with _store() as (store, tz):
        sections = build_agenda(store, days=days, tz=tz)
    if as_json:
        import json

        sys.stdout.write(json.dumps(agenda_json(sections), ensure_ascii=False, indent=2) + "\n")
        return
    sys.stdout.write("\n".join(agenda_lines(sections, tz=tz)) + "\n")


def today(as_json: JsonOpt = False) -> None:
    """What is overdue and what is due today (repeating tasks included)."""
    _show(1, as_json)


def agenda(days: DaysOpt = 7, as_json: JsonOpt = False) -> None:
    """Overdue tasks, today, then each of the next days; repeating tasks on every day they
    fall on. Tasks hidden until a later date and undated tasks are left out."""
    _show(days, as_json)
