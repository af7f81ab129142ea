"""`todo tasks ...`: manage tasks directly, no model involved.

Each command opens the store, calls one store method inside a journal group (so `todo tasks
undo` reverts the whole command) and renders the result. Only typer and the standard library
are imported at module level; rich, the store and the config load inside the commands.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..termsafe import clean, json_text

if TYPE_CHECKING:
    from datetime import tzinfo

    from ..store import TaskStore

app = typer.Typer(
    help="Manage tasks directly (no model involved). Alone, `todo tasks` lists pending tasks.",
    invoke_without_command=True,
    rich_markup_mode=None,
)

DEFAULT_LIST_LIMIT = 100  # rows in the human table; --json and --limit 0 are not limited
PRIORITY_ALIASES = {
    "none": "none",
    "n": "none",
    "0": "none",
    "low": "low",
    "l": "low",
    "1": "low",
    "medium": "medium",
    "med": "medium",
    "m": "medium",
    "2": "medium",
    "high": "high",
    "h": "high",
    "3": "high",
}
STATUS_CHOICES = ("pending", "done", "all")
SORT_CHOICES = ("due", "priority", "created", "id")
CLEAR_WORDS = ("", "none")
# The `todo tasks --list NAME` of the running command: set by the group callback, which
# runs (and resets it) on every invocation before the subcommand opens the store.
_list_flag: dict[str, str | None] = {"name": None}


# --------------------------------------------------------------------------- helpers


@contextmanager
def _store() -> Iterator[tuple[TaskStore, tzinfo]]:
    from ..config import load_settings
    from ..store import TaskStore

    settings = load_settings({"list": _list_option()})
    store = TaskStore.open(settings)
    store.origin = _origin("cli")
    try:
        yield store, store.tz
    finally:
        store.close()


@contextmanager
def _working(text: str, *, delay: float = 0.5, show: bool = True) -> Iterator[Any]:
    """A spinner on stderr for a step that may take a while (the undo of a big import):
    on a terminal (and when ``show``), from ``delay`` seconds on; erased before anything
    else is printed. Yields the spinner (None where there is none), whose ``text`` the
    step may change as it goes."""
    from ..spinner import terminal_spinner

    spinner = terminal_spinner(text=text, delay=delay) if show else None
    try:
        yield spinner
    finally:
        if spinner is not None:
            spinner.stop()


def _origin(source: str) -> Any:
    """The journal origin of this run: its source and the command line as typed."""
    import shlex

    from ..store import Origin

    return Origin(source, " ".join(["todo", *(shlex.quote(a) for a in sys.argv[1:])]))


def _label(*parts: Any) -> str:
    """The journal label of a command, e.g. "todo tasks done 3 4"."""
    words = ["todo", "tasks"]
    for part in parts:
        if isinstance(part, list | tuple):
            words.extend(str(p) for p in part)
        elif part is not None:
            words.append(str(part))
    return " ".join(words)


def _priority(value: str | None) -> str | None:
    if value is None:
        return None
    key = value.strip().lower()
    if key not in PRIORITY_ALIASES:
        raise typer.BadParameter(
            f"'{value}' is not a priority; use none, low, medium or high.", param_hint="--priority"
        )
    return PRIORITY_ALIASES[key]


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    key = value.strip().lower()
    if key not in choices:
        raise typer.BadParameter(
            f"'{value}' is not one of {', '.join(choices)}.", param_hint=option
        )
    return key


def _print_json(data: Any) -> None:
    """A list prints one task per line (fast for 10,000 tasks); one task is indented."""
    if isinstance(data, list):
        from ..interchange import json_array

        sys.stdout.write(json_text(json_array(data)))
    else:
        sys.stdout.write(json_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n"))


def _echo(line: str = "") -> None:
    sys.stdout.write(clean(line) + "\n")


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
IdsArg = Annotated[
    list[str], typer.Argument(metavar="ID", help="Task ids, e.g. 3 7 12.", show_default=False)
]
IdArg = Annotated[str, typer.Argument(metavar="ID", help="Task id, e.g. 12.")]
WaitOpt = Annotated[
    str | None,
    typer.Option(
        "--wait", "-w", metavar="WHEN", help='Hide the task until then ("monday"); "none" clears.'
    ),
]
ParentOpt = Annotated[
    str | None,
    typer.Option("--parent", metavar="ID", help='Make it a subtask of ID; "none" clears.'),
]
BlockedByOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--blocked-by",
        "-b",
        metavar="ID",
        help='Blocked until task ID is done (repeat for several; "none" clears).',
    ),
]
RepeatOpt = Annotated[
    str | None,
    typer.Option(
        "--repeat",
        "-r",
        metavar="RULE",
        help='Repeat: "every monday", "every! 3 days", "every month on the 15th"; "none" stops.',
    ),
]
YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Also complete open subtasks without asking.")
]


def _blockers(values: list[str] | None) -> list[int] | None:
    """--blocked-by values: ids (also "3,7"), or [] for "none"."""
    if values is None:
        return None
    words = [w for v in values for w in v.replace(",", " ").split()]
    if not words or all(w.lower() in CLEAR_WORDS for w in words):
        return []
    return _ids(words)


def _ids(values: list[str]) -> list[int]:
    """Task ids as typed ("12" or "#12"), duplicates dropped; anything else is a usage error."""
    out: list[int] = []
    for value in values:
        text = value.strip().lstrip("#")
        if not text.isdigit():
            from ..errors import UsageError

            raise UsageError(f"Not a task id: '{value}'.", hint="Task ids are numbers, e.g. 12.")
        if int(text) not in out:
            out.append(int(text))
    return out


# --------------------------------------------------------------------------- commands


def _list_option() -> str | None:
    """The `todo tasks --list NAME` given on this command line, if any."""
    return _list_flag["name"]


@app.callback()
def tasks_root(
    ctx: typer.Context,
    list_name: Annotated[
        str | None,
        typer.Option(
            "--list",
            metavar="NAME",
            help="Work on this list (default: the `list` setting, else default).",
        ),
    ] = None,
) -> None:
    """Manage tasks directly (no model involved). Alone, `todo tasks` lists pending tasks.

    Every command works on the current list: `todo tasks --list work add ...`.
    """
    _list_flag["name"] = None
    if list_name is not None:
        from ..listnames import validate_list_name

        _list_flag["name"] = validate_list_name(list_name)
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_)


@app.command("add")
def add(
    title: Annotated[
        list[str], typer.Argument(help="What to do (words are joined).", show_default=False)
    ],
    due: Annotated[
        str | None,
        typer.Option(
            "--due",
            "-d",
            metavar="WHEN",
            help='When it is due: "tomorrow", "fri 5pm", "2026-12-01".',
        ),
    ] = None,
    priority: Annotated[
        str | None, typer.Option("--priority", "-p", metavar="P", help="none, low, medium or high.")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", "-t", metavar="TAG", help="A tag (repeat for several)."),
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-P", metavar="NAME", help="Project name.")
    ] = None,
    notes: Annotated[
        str | None, typer.Option("--notes", "-n", metavar="TEXT", help="Free-text notes.")
    ] = None,
    wait: WaitOpt = None,
    parent: ParentOpt = None,
    blocked_by: BlockedByOpt = None,
    repeat: RepeatOpt = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Take the title as typed: no inline fields.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a task; fields can be typed inline (quick add).

    Example: todo tasks add buy milk tomorrow 5pm !high #errand @home every monday

    Inline: a due date at the end, !high/!med/!low, #tag, @project, "every ..." rules.
    Quoted words stay in the title; --raw turns inline reading off; flags win.
    """
    from ..quickadd import added_line, argv_words, parse_quick
    from ..render import task_line

    text = " ".join(title).strip()
    quick = None
    with _store() as (store, tz), store.group(_label("add", text)):
        if not raw:
            given = {"due": due, "priority": priority, "project": project, "repeat": repeat}
            skip = frozenset(name for name, value in given.items() if value is not None)
            quick = parse_quick(argv_words(title), tz=tz, skip=skip)
            if quick.recognised and quick.title:
                text = quick.title
                due = due if due is not None else quick.due
                priority = priority if priority is not None else quick.priority
                tag = [*(tag or ()), *quick.tags]
                project = project if project is not None else quick.project
                repeat = repeat if repeat is not None else quick.repeat
            else:
                quick = None
        task = store.add(
            text,
            notes=notes or None,
            priority=_priority(priority) or "none",
            due=due or None,
            tags=tuple(tag or ()),
            project=project or None,
            wait=None if wait is None or wait.strip().lower() in CLEAR_WORDS else wait,
            parent=None if parent is None or parent.strip().lower() in CLEAR_WORDS else parent,
            blocked_by=_blockers(blocked_by) or (),
            repeat=repeat,
        )
    if as_json:
        _print_json(task.to_json())
    elif quick is not None:
        _echo(f"Added {added_line(task, tz=tz)}")
    else:
        _echo(f"Added {task_line(task, tz=tz)}")


@app.command("list")
def list_(
    status: Annotated[
        str, typer.Option("--status", "-s", metavar="STATUS", help="pending, done or all.")
    ] = "pending",
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Include done tasks (same as --status all).")
    ] = False,
    priority: Annotated[
        str | None, typer.Option("--priority", "-p", metavar="P", help="Only this priority.")
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", "-t", metavar="TAG", help="Only tasks with this tag.")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-P", metavar="NAME", help="Only this project.")
    ] = None,
    due_before: Annotated[
        str | None,
        typer.Option("--due-before", metavar="WHEN", help='Due before this date ("friday", ISO).'),
    ] = None,
    due_after: Annotated[
        str | None, typer.Option("--due-after", metavar="WHEN", help="Due after this date.")
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue tasks.")] = False,
    today: Annotated[bool, typer.Option("--today", help="Only tasks due today.")] = False,
    done_: Annotated[
        bool,
        typer.Option(
            "--done", help="Done tasks and completions of repeating ones (= --status done)."
        ),
    ] = False,
    waiting: Annotated[
        bool, typer.Option("--waiting", help="Only tasks hidden until a later date (--wait).")
    ] = False,
    repeating: Annotated[bool, typer.Option("--repeating", help="Only repeating tasks.")] = False,
    blocked: Annotated[
        bool, typer.Option("--blocked", help="Only tasks blocked by an unfinished task.")
    ] = False,
    parent: Annotated[
        str | None, typer.Option("--parent", metavar="ID", help="Only the subtasks of ID.")
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", metavar="KEY", help="due, priority, created or id.")
    ] = "due",
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=0,
            metavar="N",
            help=f"Show at most N tasks; 0 = all. Default: {DEFAULT_LIST_LIMIT} in the "
            "table, all with --json.",
        ),
    ] = None,
    offset: Annotated[
        int, typer.Option("--offset", metavar="N", min=0, help="Skip the first N tasks.")
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List tasks (pending ones, soonest due first, by default)."""
    from ..render import print_tasks
    from ..store import TaskQuery

    status = "all" if all_ else _choice(status, STATUS_CHOICES, "--status")
    if done_:
        status = "done"
    if limit is None:
        limit = 0 if as_json else DEFAULT_LIST_LIMIT
    q = TaskQuery(
        status=None if status == "all" else status,
        priority=_priority(priority),
        tag=tag,
        project=project,
        due_before=due_before,
        due_after=due_after,
        overdue=overdue,
        due_today=today,
        waiting=True if waiting else None,
        repeating=repeating,
        blocked=True if blocked else None,
        parent=_ids([parent])[0] if parent is not None else None,
        sort=_choice(sort, SORT_CHOICES, "--sort"),
        limit=limit or None,
        offset=offset,
    )
    with _store() as (store, tz):
        tasks = store.query(q)
        more = 0
        if limit and len(tasks) == limit and not as_json:
            more = store.count(q) - offset - len(tasks)
        if status == "done" and not as_json and not offset:
            tasks = _with_completions(store, tasks, q, limit)
    if as_json:
        _print_json([t.to_json() for t in tasks])
        return
    if not tasks:
        message = _empty_message(q, offset)
        if store.list_name != "default":  # say where, so an empty list is not a surprise
            message = f"In list {store.list_name}: {message[0].lower()}{message[1:]}"
        _echo(message)
        return
    print_tasks(tasks, tz=tz, more=more)


def _with_completions(store: Any, tasks: list[Any], q: Any, limit: int) -> list[Any]:
    """Done tasks plus one row per recorded completion of a repeating task, newest first."""
    from dataclasses import replace

    filtered = any((q.priority, q.tag, q.project, q.due_before, q.due_after, q.overdue))
    if filtered or q.due_today or q.text or q.parent is not None or q.waiting or q.blocked:
        return tasks
    records = store.done_records(limit=limit or None)
    if not records:
        return tasks
    rows = [
        replace(task, status="done", due=rec["due"], completed_at=rec["at"])
        for task, rec in records
        if not q.repeating or task.repeat
    ]
    if not q.repeating:
        rows += tasks
    rows.sort(key=lambda t: _epoch(t.completed_at), reverse=True)
    return rows[:limit] if limit else rows


def _epoch(stamp: str | None) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(stamp or "").timestamp()
    except ValueError:
        return 0.0


def _empty_message(q: Any, offset: int) -> str:
    filtered = any(
        (q.priority, q.tag, q.project, q.due_before, q.due_after, q.overdue, q.due_today, offset)
    ) or any((q.waiting, q.repeating, q.blocked, q.parent is not None))
    if filtered:
        return "No tasks match."
    if q.status == "pending":
        return "No pending tasks. Add one with `todo tasks add ...`."
    if q.status == "done":
        return "No done tasks yet."
    return "No tasks yet. Add one with `todo tasks add ...`."


@app.command("show")
def show(
    task_id: IdArg,
    as_json: JsonOpt = False,
) -> None:
    """Show every field of one task, its subtasks and its past completions."""
    from ..render import completion_lines, task_detail_lines, task_line

    (tid,) = _ids([task_id])
    with _store() as (store, tz):
        task = store.get(tid)
        history = store.completions(tid)
        kids = store.subtasks(tid)
    if as_json:
        _print_json({**task.to_json(), "completions": history})
        return
    lines = task_detail_lines(task, tz=tz)
    if kids:
        lines.append("  Subtasks:")
        lines.extend(f"    {task_line(k, tz=tz)}" for k in kids)
    lines += completion_lines(history, tz=tz)
    _echo("\n".join(lines))


@app.command("edit")
def edit(
    task_id: IdArg,
    title: Annotated[str | None, typer.Option("--title", metavar="TEXT", help="New title.")] = None,
    due: Annotated[
        str | None,
        typer.Option("--due", "-d", metavar="WHEN", help='New due date; "none" clears it.'),
    ] = None,
    priority: Annotated[
        str | None, typer.Option("--priority", "-p", metavar="P", help="none, low, medium or high.")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", "-t", metavar="TAG", help="Replace all tags (repeat for several)."),
    ] = None,
    add_tag: Annotated[
        list[str] | None, typer.Option("--add-tag", metavar="TAG", help="Add a tag (repeatable).")
    ] = None,
    remove_tag: Annotated[
        list[str] | None,
        typer.Option("--remove-tag", metavar="TAG", help="Remove a tag (repeatable)."),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option("--project", "-P", metavar="NAME", help='New project; "none" clears it.'),
    ] = None,
    notes: Annotated[
        str | None, typer.Option("--notes", "-n", metavar="TEXT", help='New notes; "" clears them.')
    ] = None,
    wait: WaitOpt = None,
    parent: ParentOpt = None,
    blocked_by: BlockedByOpt = None,
    repeat: RepeatOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change fields of a task.

    Example: todo tasks edit 3 --due friday --add-tag home --priority high
    """
    from ..render import change_summary

    fields: dict[str, Any] = {}
    if title is not None:
        fields["title"] = title
    if due is not None:
        fields["due"] = None if due.strip().lower() in CLEAR_WORDS else due
    if priority is not None:
        fields["priority"] = _priority(priority)
    if tag is not None:
        fields["tags"] = [t for t in tag if t]
    if add_tag:
        fields["add_tags"] = list(add_tag)
    if remove_tag:
        fields["remove_tags"] = list(remove_tag)
    if project is not None:
        fields["project"] = None if project.strip().lower() in CLEAR_WORDS else project
    if notes is not None:
        fields["notes"] = notes or None
    if wait is not None:
        fields["wait"] = None if wait.strip().lower() in CLEAR_WORDS else wait
    if parent is not None:
        fields["parent"] = None if parent.strip().lower() in CLEAR_WORDS else parent
    if blocked_by is not None:
        fields["blocked_by"] = _blockers(blocked_by)
    if repeat is not None:
        fields["repeat"] = repeat
    if not fields:
        from ..errors import UsageError

        raise UsageError(
            "Nothing to change.",
            hint="Give at least one of --title, --due, --priority, --tag, --add-tag, "
            "--remove-tag, --project, --notes, --wait, --parent, --blocked-by, --repeat.",
        )
    (tid,) = _ids([task_id])
    with _store() as (store, tz), store.group(_label("edit", tid)):
        before = store.get(tid)
        after = store.update(tid, **fields)
    if as_json:
        _print_json(after.to_json())
        return
    _echo(f"Updated {change_summary(before, after, tz=tz)}")


def _bulk(verb: str, method: str, values: list[str], past: str, as_json: bool) -> None:
    from ..render import one_line

    ids = _ids(values)
    with _store() as (store, _tz), store.group(_label(verb, ids)):
        tasks = getattr(store, method)(ids)
    if as_json:
        _print_json([t.to_json() for t in tasks])
        return
    for task in tasks:
        _echo(f"{past} #{task.id} {one_line(task.title)}")


JsonTasksOpt = Annotated[
    bool, typer.Option("--json", help="Print the tasks as they are now, as JSON.")
]


@app.command("done")
def done(ids: IdsArg, yes: YesOpt = False, as_json: JsonTasksOpt = False) -> None:
    """Mark tasks done (several ids at once: todo tasks done 3 7).

    A repeating task moves to its next occurrence and records the completion. A task with
    open subtasks needs --yes, which completes the subtasks too.
    """
    from ..render import one_line, repeat_words, task_line

    wanted = _ids(ids)
    with _store() as (store, tz), store.group(_label("done", wanted)):
        tasks = store.complete(wanted, subtasks=yes)
    if as_json:
        _print_json([t.to_json() for t in tasks])
        return
    for task in tasks:
        if task.repeat and task.status == "pending":
            _echo(f"Done {task_line(task, tz=tz).replace(' (due ', ' · next due ', 1).rstrip(')')}")
        elif task.repeat:
            _echo(f"Done #{task.id} {one_line(task.title)} · {repeat_words(task.repeat)}: no more")
        else:
            _echo(f"Done #{task.id} {one_line(task.title)}")


@app.command("skip")
def skip(ids: IdsArg, as_json: JsonTasksOpt = False) -> None:
    """Move repeating tasks to their next occurrence without recording a completion."""
    from ..render import one_line, task_line

    wanted = _ids(ids)
    with _store() as (store, tz), store.group(_label("skip", wanted)):
        tasks = store.skip(wanted)
    if as_json:
        _print_json([t.to_json() for t in tasks])
        return
    for task in tasks:
        if task.status == "done":
            _echo(f"Skipped #{task.id} {one_line(task.title)}: that was the last occurrence")
        else:
            line = task_line(task, tz=tz).replace(" (due ", " · next due ", 1).rstrip(")")
            _echo(f"Skipped to {line}")


@app.command("reopen")
def reopen(ids: IdsArg, as_json: JsonTasksOpt = False) -> None:
    """Mark done tasks pending again."""
    _bulk("reopen", "reopen", ids, "Reopened", as_json)


@app.command("rm")
def rm(ids: IdsArg, as_json: JsonTasksOpt = False) -> None:
    """Delete tasks (and their subtasks).

    All or nothing: an unknown id deletes none. `todo tasks undo` restores them. With
    --json: the tasks as they were.
    """
    _bulk("rm", "delete", ids, "Deleted", as_json)
    sys.stderr.write("Restore with `todo tasks undo`.\n")


@app.command("undo")
def undo() -> None:
    """Undo the last change; repeat to go further back.

    One change is a whole command (or one chat turn), e.g. all tasks of `done 3 4 5`.
    """
    from ..render import undo_lines

    with _store() as (store, tz), _working("undoing…"):
        result = store.undo(mine=True)
    _echo("\n".join(undo_lines(result, tz=tz)))


@app.command("redo")
def redo() -> None:
    """Take back the last undo; repeat to redo further undos.

    A new change made after an undo ends the chain: there is nothing to redo then.
    """
    from ..render import undo_lines

    with _store() as (store, tz), _working("redoing…"):
        result = store.redo(mine=True)
    _echo("\n".join(undo_lines(result, tz=tz, verb="Redid")))


@app.command("search")
def search(
    text: Annotated[list[str], typer.Argument(help="Words to find.", show_default=False)],
    all_: Annotated[bool, typer.Option("--all", "-a", help="Include done tasks.")] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=0, metavar="N", help="Show at most N matches; 0 = all.")
    ] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Full-text search in titles, notes, tags and projects."""
    from ..render import print_tasks

    query = " ".join(text).strip()
    if not query:
        from ..errors import UsageError

        raise UsageError("Nothing to search for.", hint='Try `todo tasks search "milk"`.')
    with _store() as (store, tz):
        tasks = store.search(query, status=None if all_ else "pending", limit=limit or None)
    if as_json:
        _print_json([t.to_json() for t in tasks])
    elif not tasks:
        scope = "" if all_ else " (pending tasks; add --all to include done ones)"
        _echo(f"No tasks match “{query}”{scope}.")
    else:
        print_tasks(tasks, tz=tz)


@app.command("export")
def export(
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", metavar="FORMAT", help="json (ours), taskwarrior or todotxt."
        ),
    ] = "json",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write to this file (atomically) instead of stdout.",
        ),
    ] = None,
    all_lists: Annotated[
        bool, typer.Option("--all-lists", help="Every list, not only the current one.")
    ] = False,
) -> None:
    """Export every task (pending and done) of the current list."""
    from ..errors import TodoError
    from ..interchange import FORMATS, format_tasks
    from ..store import DatabaseDamagedError, TaskQuery

    fmt = _choice(fmt, FORMATS, "--format")
    salvaged: str | None = None
    with _store() as (store, tz):
        try:
            tasks = store.query(TaskQuery(status=None, sort="id", limit=None, all_lists=all_lists))
        except DatabaseDamagedError:
            # A damaged file: save every row that can still be read, one at a time.
            tasks, highest = store.salvage(all_lists=all_lists)
            salvaged = (
                f"Warning: {store.path} is damaged; exported the {_tasks(len(tasks))} that "
                f"could still be read, of ids 1 to {highest:,} (the others were lost to the "
                "damage, or deleted before)."
            )
        if salvaged is None:
            for task in tasks:
                if task.done_count:  # a repeating task's past completions go along (json)
                    with suppress(TodoError):  # (another list's: its last one only)
                        task.history = store.completions(task.id)  # type: ignore[attr-defined]
    text = format_tasks(tasks, fmt, tz=tz, all_lists=all_lists)
    if salvaged:
        sys.stderr.write(clean(salvaged) + "\n")
    if output is None or str(output) == "-":
        # Exact when piped or redirected; on a terminal nothing in a title may act on it.
        sys.stdout.write(clean(text) if sys.stdout.isatty() else text)
        return
    _write_atomic(output, text)
    sys.stderr.write(clean(f"Exported {_tasks(len(tasks))} to {output} ({fmt}).") + "\n")


def _write_atomic(path: Path, text: str) -> None:
    import tempfile

    from ..errors import TodoError

    path = path.expanduser()
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise TodoError(f"Cannot write {path}: {exc.strerror}.") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise TodoError(f"Cannot write {path}: {exc.strerror}.") from None
        raise


@app.command("import")
def import_(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="File to import; - reads standard input.")
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", metavar="FORMAT", help="auto (default), json, taskwarrior or todotxt."
        ),
    ] = "auto",
    keep_lists: Annotated[
        bool,
        typer.Option(
            "--keep-lists",
            help="Put each task in the list the file names (list, todo_list, list:NAME),"
            " not the current one.",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was imported as one JSON object.")
    ] = False,
) -> None:
    """Import tasks: our JSON export, a Taskwarrior export or todo.txt.

    All or nothing: a bad line is reported with its number and nothing is imported.
    `todo tasks undo` removes a whole import again.
    """
    from ..interchange import IMPORT_FORMATS

    fmt = _choice(fmt, IMPORT_FORMATS, "--format")
    text, source = _read_input(file)
    # A big import builds hundreds of thousands of small objects that all stay alive: the
    # cyclic garbage collector would scan them again and again for nothing (a third of
    # the time at 100,000 records). Nothing here makes cycles; it runs again at the end.
    gc.disable()
    try:
        _import(text, fmt, file, source, keep_lists=keep_lists, as_json=as_json)
    finally:
        gc.enable()


def _import(
    text: str, fmt: str, file: str, source: str, *, keep_lists: bool, as_json: bool
) -> None:
    from ..errors import UsageError
    from ..interchange import import_report, import_summary, match_lines, parse_tasks
    from ..store import TaskQuery

    with _store() as (store, tz):
        store.origin = _origin("import")
        # (a Taskwarrior file is read as it is written: the store's work overlaps)
        parsed = parse_tasks(
            text, fmt, source=source, filename=None if file == "-" else file, tz=tz, lazy=True
        )
        if parsed.format == "todotxt" and parsed.records:
            # (with --keep-lists the file may name any list: match against every one)
            existing = store.query(TaskQuery(status=None, sort="id", all_lists=keep_lists))
            match_lines(parsed, existing, tz=tz)
        total = parsed.expected or len(parsed.records)
        counted = "importing… {:,} of " + f"{total:,} records"
        with (
            _working(counted.format(0), delay=0, show=total >= _PROGRESS_FROM) as spinner,
            store.group(_label("import", file)),
        ):

            def progress(done: int) -> None:
                spinner.text = counted.format(done)

            try:
                result = store.import_tasks(
                    parsed.stream(),
                    keep_lists=keep_lists,
                    stamps_checked=parsed.stamps_checked,
                    expected=total,
                    progress=progress if spinner is not None else None,
                )
            except UsageError as exc:
                raise _record_error(exc, parsed.places, source) from None
        here = store.list_name
    elsewhere = 0
    if not keep_lists:
        elsewhere = sum(1 for r in parsed.records if r.get("list") not in (None, here))
    if as_json:
        summary = import_summary(parsed, result, source)
        _print_json({**summary, "list": here, "naming_another_list": elsewhere})
        return
    for line in import_report(parsed, result, source):
        _echo(line)
    if elsewhere:
        _echo(
            f"{_tasks(elsewhere).capitalize()} named another list; new ones went to"
            f" {here} (`--keep-lists` puts each in the list it names)."
        )


# From this many records on (about a second), an import on a terminal shows how far it is.
_PROGRESS_FROM = 5000


def _record_error(exc: Any, places: list[str], source: str) -> Exception:
    """The store names a bad record by its position ("Record 3: ..."): name its place in
    the file instead ("tasks.txt line 7", "tw.json record 3 (line 1)")."""
    import re

    from ..interchange import record_error

    m = re.match(r"Record (\d+): (.*)", exc.message, re.S)
    if not m or not 0 < int(m.group(1)) <= len(places):
        return exc
    return record_error(source, places[int(m.group(1)) - 1], m.group(2))


def _read_input(file: str) -> tuple[str, str]:
    from ..errors import NotFoundError, TodoError
    from ..interchange import decode_text

    if file == "-":
        from ..textin import read_stdin

        return read_stdin(), "standard input"
    path = Path(file).expanduser()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"No such file: {file}") from None
    except OSError as exc:
        raise TodoError(f"Cannot read {file}: {exc.strerror}.") from None
    try:
        return decode_text(data), file
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TodoError(
            f"{file} line {line}: not valid UTF-8 text.", hint="Nothing was imported."
        ) from None


def _tasks(n: int) -> str:
    return f"{n:,} task" + ("" if n == 1 else "s")
