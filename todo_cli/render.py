"""Rich output for tasks: the task table, one-line summaries, task details, undo reports.

Used by `todo tasks ...` and reusable by the chat UI. Everything takes ``now``/``tz`` so output
is reproducible in tests. Rich is imported only inside the functions that need it.

Speed: a Rich ``Table`` measures every cell, which costs about half a millisecond per row
(5 s for 10,000 rows, and importing rich.console alone takes 70 ms). The CLI therefore draws
its tables with ``fast_table_lines``: the same columns and look, one line per task, ANSI
colours only on a terminal, about 10 µs per task. ``task_table`` (a real Rich table) is for
Rich consoles such as the chat UI.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import IO, TYPE_CHECKING, Any

from . import dates
from .termsafe import one_line  # the sanitiser for one line of text (re-exported)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

RICH_ROWS_MAX = 200  # on a Rich console, longer lists use the fast layout too

MARK_PENDING = "☐"
MARK_DONE = "✓"
MARK_BLOCKED = "⊘"  # pending, waiting for another task
MARK_REPEAT = "↻"
MARK_SUBTASK = "↳ "
PRIORITY_LABEL = {"high": "high", "medium": "med", "low": "low", "none": ""}
PRIORITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "blue"}
_ANSI = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}
_COLUMNS = ("ID", "", "Pri", "Title", "Due", "Tags", "Project", "Wait")
_OPTIONAL = {2, 4, 5, 6, 7}  # columns hidden when every row leaves them empty

Cell = tuple[str, str]  # (text, style)


# --------------------------------------------------------------------------- consoles


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------- cells


def _due_cell(task: Any, now: datetime, tz: tzinfo, cache: dict | None = None) -> Cell:
    if getattr(task, "repeat", None):
        text, style = _plain_due_cell(task, now, tz, cache)
        return (f"{text} {MARK_REPEAT}".strip(), style)
    return _plain_due_cell(task, now, tz, cache)


def _wait_cell(task: Any, now: datetime, tz: tzinfo) -> Cell:
    wait = getattr(task, "wait", None)
    if not wait or task.status == "done":
        return ("", "")
    value = dates.parse_iso(wait, tz=tz)
    moment = value if isinstance(value, datetime) else None
    if moment is None and value <= now.date():  # type: ignore[operator]
        return ("", "")
    if moment is not None and moment <= now:
        return ("", "")
    return ("until " + dates.humanize_due(wait, now=now, tz=tz), "dim")


def _plain_due_cell(task: Any, now: datetime, tz: tzinfo, cache: dict | None = None) -> Cell:
    if not task.due:
        return ("", "")
    done = task.status == "done"
    key = (task.due, done)
    if cache is not None and key in cache:
        return cache[key]
    text = dates.humanize_due(task.due, now=now, tz=tz)
    if done:
        cell = (text, "dim")
    elif dates.is_overdue(task.due, now=now, tz=tz):
        cell = (text, "bold red")
    elif text.startswith("today"):
        cell = (text, "yellow")
    else:
        cell = (text, "")
    if cache is not None:
        cache[key] = cell
    return cell


def task_cells(task: Any, *, now: datetime, tz: tzinfo, _cache: dict | None = None) -> list[Cell]:
    """The table cells of one task, as (text, style) pairs in ``_COLUMNS`` order."""
    done = task.status == "done"
    dim = "dim" if done else ""
    title = one_line(task.title)
    if getattr(task, "_indent", False):
        title = MARK_SUBTASK + title
    if done:
        mark: Cell = (MARK_DONE, "green")
    elif getattr(task, "blocked", False):
        mark = (MARK_BLOCKED, "red")
    else:
        mark = (MARK_PENDING, "")
    return [
        (str(task.id), "dim"),
        mark,
        (
            PRIORITY_LABEL.get(task.priority, task.priority),
            dim or PRIORITY_STYLE.get(task.priority, ""),
        ),
        (title, dim),
        _due_cell(task, now, tz, _cache),
        (hashtags(task.tags), dim or "cyan"),
        (one_line(task.project or ""), dim or "magenta"),
        _wait_cell(task, now, tz),
    ]


def hashtags(tags: Iterable[str]) -> str:
    """Tags as one line of "#home #phone" ("" when there are none)."""
    return one_line(" ".join(["#" + t for t in tags]))


def _rows(tasks: Iterable[Any], now: datetime, tz: tzinfo) -> list[list[Cell]]:
    cache: dict = {}
    return [task_cells(t, now=now, tz=tz, _cache=cache) for t in nest_subtasks(tasks)]


class _Indented:
    """A task shown indented under its parent (the table marks it with "↳")."""

    _indent = True

    def __init__(self, task: Any) -> None:
        self._task = task

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)


def nest_subtasks(tasks: Iterable[Any]) -> list[Any]:
    """Order tasks so that each subtask follows its parent (when the parent is listed too),
    keeping the order otherwise; those subtasks are marked to be drawn indented."""
    items = list(tasks)
    listed = {t.id for t in items}
    kids: dict[int, list[Any]] = {}
    for task in items:
        parent = getattr(task, "parent", None)
        if parent is not None and parent in listed and parent != task.id:
            kids.setdefault(parent, []).append(task)
    if not kids:
        return items
    out: list[Any] = []
    for task in items:
        parent = getattr(task, "parent", None)
        if parent is not None and parent in kids and task in kids[parent]:
            continue
        out.append(task)
        out.extend(_Indented(k) for k in kids.get(task.id, ()))
    return out


def _clock(now: datetime | None, tz: tzinfo | None) -> tuple[datetime, tzinfo]:
    zone = dates.resolve_tz(tz)
    return dates.now_in(zone, now), zone


def _visible_columns(rows: Sequence[Sequence[Cell]]) -> list[int]:
    return [i for i in range(len(_COLUMNS)) if i not in _OPTIONAL or any(r[i][0] for r in rows)]


# --------------------------------------------------------------------------- table


def task_table(
    tasks: Iterable[Any], *, now: datetime | None = None, tz: tzinfo | None = None
) -> Table:
    """A Rich ``Table`` of tasks: id, status mark, priority, title, due (relative), tags, project.

    Columns that are empty for every task (priority, due, tags, project) are left out.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    now, tz = _clock(now, tz)
    rows = _rows(tasks, now, tz)
    cols = _visible_columns(rows)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for i in cols:
        name = _COLUMNS[i]
        if name == "Title":
            table.add_column(name, overflow="fold", ratio=1)
        else:
            table.add_column(name, no_wrap=True, justify="right" if name == "ID" else "left")
    for row in rows:
        table.add_row(*(Text(row[i][0], style=row[i][1]) for i in cols))
    return table


def cell_len(text: str) -> int:
    """Terminal cells taken by ``text`` (East Asian wide characters and most emoji take 2)."""
    if text.isascii():
        return len(text)
    return sum(map(_char_width, text))


@lru_cache(maxsize=4096)
def _char_width(ch: str) -> int:
    import unicodedata

    if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def fast_table_lines(
    tasks: Iterable[Any],
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    color: bool = False,
    width: int | None = None,
) -> list[str]:
    """The task table as plain lines (ANSI colours if ``color``), same shape as ``task_table``.

    One line per task. With ``width`` the title column is shortened with "…" so that every
    line fits; without it nothing is cut (for pipes and files). About 10 µs per task.
    """
    now, tz = _clock(now, tz)
    rows = _rows(tasks, now, tz)
    cols = _visible_columns(rows)
    header: list[Cell] = [(name, "bold") for name in _COLUMNS]
    # Column by column: each cell's display length is measured once.
    cells = {i: [header[i]] + [r[i] for r in rows] for i in cols}
    lens = {i: [len(t) if t.isascii() else cell_len(t) for t, _ in cells[i]] for i in cols}
    widths = {i: max(lens[i]) for i in cols}
    title = _COLUMNS.index("Title")
    if width is not None:
        fixed = sum(w for i, w in widths.items() if i != title) + 3 * (len(cols) - 1)
        widths[title] = max(10, min(widths[title], width - fixed))
    codes: dict[str, str] = {}
    if color:
        for style in {style for i in cols for _, style in cells[i]}:
            seq = ";".join(_ANSI[s] for s in style.split() if s in _ANSI)
            codes[style] = f"\x1b[{seq}m" if seq else ""

    columns = []
    for i in cols:
        w, right, out = widths[i], _COLUMNS[i] == "ID", []
        for (text, style), n in zip(cells[i], lens[i], strict=True):
            if n > w:  # only the title column can be narrower than its content
                text = truncate_cells(text, w)
                n = cell_len(text)
            if codes and text and codes.get(style):
                text = f"{codes[style]}{text}\x1b[0m"
            pad = " " * (w - n)
            out.append(pad + text if right else text + pad)
        columns.append(out)
    lines = ["   ".join(parts).rstrip() for parts in zip(*columns, strict=True)]
    rule = "─" * (sum(widths.values()) + 3 * (len(cols) - 1))
    return [lines[0], rule, *lines[1:]]


def truncate_cells(text: str, width: int) -> str:
    if width <= 1:
        return "…"[:width]
    out = []
    used = 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def color_enabled(stream: Any) -> bool:
    """Colours for this stream: a terminal, NO_COLOR unset and TERM not "dumb"."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def print_tasks(
    tasks: Sequence[Any],
    *,
    console: Console | None = None,
    file: IO[str] | None = None,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    more: int = 0,
    more_hint: str = "use --limit 0 to show all",
) -> None:
    """Print a task table; ``more`` > 0 adds a line saying how many matching tasks were left out.

    Without ``console`` (the CLI) the table is drawn by ``fast_table_lines`` straight to
    ``file`` (stdout): one line per task, colours and title shortening only on a terminal,
    and no Rich import. With a Rich ``console`` (the chat UI) short lists are a Rich table.
    """
    more_line = f"… and {more:,} more ({more_hint})." if more > 0 else None
    if console is not None and len(tasks) <= RICH_ROWS_MAX:
        console.print(task_table(tasks, now=now, tz=tz))
        if more_line:
            console.print(more_line, style="dim", markup=False)
        return
    if console is not None:
        color = console.is_terminal and not console.no_color and console.color_system is not None
        width = console.width if console.is_terminal else None
        stream = console.file
    else:
        stream = file or sys.stdout
        color = color_enabled(stream)
        width = terminal_width(stream)
    lines = fast_table_lines(tasks, now=now, tz=tz, color=color, width=width)
    if more_line:
        lines.append(f"\x1b[2m{more_line}\x1b[0m" if color else more_line)
    stream.write("\n".join(lines) + "\n")
    stream.flush()


def terminal_width(stream: Any) -> int | None:
    """The terminal's width in columns, or None (no limit) when ``stream`` is not a terminal."""
    return _terminal_width() if _isatty(stream) else None


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


# --------------------------------------------------------------------------- one-liners


def task_line(task: Any, *, now: datetime | None = None, tz: tzinfo | None = None) -> str:
    """A one-line summary: "#12 Buy milk (due tomorrow)", "#3 Call mom (done)"."""
    text = f"#{task.id} {one_line(task.title)}"
    if task.status == "done":
        return text + " (done)"
    extras = []
    if task.due:
        now, tz = _clock(now, tz)
        extras.append(f"due {dates.humanize_due(task.due, now=now, tz=tz)}")
    if getattr(task, "repeat", None):
        extras.append(repeat_words(task.repeat))
    if extras:
        return text + f" ({', '.join(extras)})"
    return text


def repeat_words(rule: dict[str, Any] | None) -> str:
    """A stored repeat rule in words ("every Monday"), with the occurrences left."""
    if not rule:
        return ""
    from .repeat import describe

    left = rule.get("left")
    text = str(rule.get("rule") or "")
    if left is not None:  # say what is left rather than the original count
        text = ";".join(p for p in text.split(";") if not p.upper().startswith("COUNT="))
    try:
        words = describe(text, rule.get("from") or "due")
    except (KeyError, ValueError, IndexError):
        words = one_line(str(rule.get("text") or ""))
    if left is not None:
        words += f", {left} more time{'s' if left != 1 else ''}" if left else ", ended"
    return words


def task_detail_lines(
    task: Any, *, now: datetime | None = None, tz: tzinfo | None = None
) -> list[str]:
    """Every field of one task as aligned "Label: value" lines (for `todo tasks show`)."""
    now, tz = _clock(now, tz)
    lines = [f"#{task.id} {one_line(task.title)}"]
    status = task.status
    if status == "pending" and getattr(task, "blocked", False):
        status = "pending, blocked"
    fields: list[tuple[str, str | None]] = [
        ("Status", status),
        ("Priority", task.priority),
        ("Due", _due_detail(task.due, now, tz)),
        ("Repeat", repeat_words(getattr(task, "repeat", None)) or None),
        ("Wait", _wait_detail(getattr(task, "wait", None), now, tz)),
        ("Parent", f"#{task.parent}" if getattr(task, "parent", None) else None),
        ("Blocked by", _id_words(getattr(task, "blocked_by", None))),
        ("Tags", hashtags(task.tags) or None),
        ("Project", one_line(task.project or "") or None),
        ("Created", _stamp(task.created_at, tz)),
        ("Updated", _stamp(task.updated_at, tz)),
        ("Completed", _stamp(task.completed_at, tz)),
    ]
    for label, value in fields:
        if value:
            lines.append(f"  {label + ':':<11}{value}")
    if task.notes:
        lines.append("  Notes:")
        lines.extend("    " + one_line(line) for line in task.notes.splitlines())
    return lines


def _id_words(ids: Iterable[int] | None) -> str | None:
    return ", ".join(f"#{i}" for i in ids) if ids else None


def _wait_detail(wait: str | None, now: datetime, tz: tzinfo) -> str | None:
    if not wait:
        return None
    text = f"hidden until {dates.short_date(wait, tz=tz, now=now)}"
    value = dates.parse_iso(wait, tz=tz)
    passed = value <= now if isinstance(value, datetime) else value <= now.date()
    return text + (" (shown since)" if passed else "")


def completion_lines(
    records: Sequence[dict[str, Any]], *, now: datetime | None = None, tz: tzinfo | None = None
) -> list[str]:
    """ "Completed 3 times:" and one line per record, newest first (for `show`)."""
    if not records:
        return []
    now, tz = _clock(now, tz)
    n = len(records)
    lines = [f"  Completed {n} time{'s' if n != 1 else ''}:"]
    for rec in reversed(records[-20:]):
        line = f"    {_stamp(rec.get('at'), tz)}"
        if rec.get("due"):
            line += f" (was due {dates.short_date(rec['due'], tz=tz, now=now)})"
        lines.append(line)
    if n > 20:
        lines.append(f"    … and {n - 20:,} earlier")
    return lines


def _due_detail(due: str | None, now: datetime, tz: tzinfo) -> str | None:
    if not due:
        return None
    rel = dates.humanize_due(due, now=now, tz=tz)
    exact = dates.short_date(due, tz=tz, now=now)
    text = rel if rel == exact else f"{rel} ({exact})"
    if dates.is_overdue(due, now=now, tz=tz):
        text += " — overdue"
    return text


def _stamp(value: str | None, tz: tzinfo) -> str | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


# --------------------------------------------------------------------------- undo

UNDO_LINES_MAX = 20


def undo_lines(
    result: Any,
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    verb: str = "Undid",
) -> list[str]:
    """Describe what an undo (or, with ``verb="Redid"``, a redo) did, before → after.

    One change: ["Undid: restored #7 Call mom"]. Several: a heading with the undone
    command's label, then one indented line per task (at most ``UNDO_LINES_MAX``).
    """
    now, tz = _clock(now, tz)
    count = len(result.changes)
    descs = [_change_line(c, now, tz) for c in result.changes[:UNDO_LINES_MAX]]
    if count == 1:
        return [f"{verb}: {descs[0]}"]
    what = f" {result.label}" if result.label else ""
    lines = [f"{verb}{what} ({count} changes):"]
    lines.extend("  " + d for d in descs)
    if count > UNDO_LINES_MAX:
        lines.append(f"  … and {count - UNDO_LINES_MAX:,} more")
    return lines


def change_owner(
    info: Any,
    *,
    session: str | None = None,
    conversation: str | None = None,
    tz: tzinfo | None = None,
) -> tuple[str, bool]:
    """Whose change a journal group (``store.GroupInfo``) is, in words, and whether it
    belongs to the asker: the chat ``session`` it was made in, or the agent
    ``conversation`` asking. E.g. ("the command `todo tasks add x` (another terminal,
    10:42)", False)."""
    origin = info.origin
    when = _short_time(info.created_at, tz)
    if origin is None:
        return f"an earlier change ({when}; its origin was not recorded)", False
    who = f"{info.user}@{info.host}" if info.user and info.host else info.user or info.host
    mine = _whoami_text()
    place = "another terminal" if not who or who == mine else f"{one_line(who)}"
    if origin.source == "chat":
        if conversation is not None and origin.ref == conversation:
            return f"the agent, in this conversation ({when})", True
        if session is not None and origin.session == session:
            return f"the agent, in this session ({when})", True
        where = "another session" if origin.session else "a `todo chat` command"
        return f"the agent, in {where} (conversation {one_line(origin.ref or '?')}, {when})", False
    if origin.source == "session":
        if session is not None and origin.session == session:
            return f"this session ({when})", True
        return f"another chat session ({when})", False
    if origin.source == "server":
        return f"`todo serve`, for user {one_line(origin.ref or '?')} ({when})", False
    if origin.ref:
        return f"the command `{one_line(origin.ref)}` ({place}, {when})", False
    return f"{one_line(origin.source)} ({place}, {when})", False


def _short_time(stamp: str | None, tz: tzinfo | None) -> str:
    if not stamp:
        return "unknown time"
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return one_line(stamp)
    local = moment.astimezone(tz) if tz is not None else moment
    today = datetime.now(local.tzinfo).date()
    return local.strftime("%H:%M" if local.date() == today else "%Y-%m-%d %H:%M")


def _whoami_text() -> str | None:
    from .store import whoami

    user, host = whoami()
    return f"{user}@{host}" if user and host else user or host


def _change_line(change: Any, now: datetime, tz: tzinfo) -> str:
    before, after = change.before, change.after
    if before is None and after is not None:
        return f"restored #{after.id} {one_line(after.title)}"
    if after is None and before is not None:
        return f"removed #{before.id} {one_line(before.title)}"
    if before is None or after is None:  # pragma: no cover - nothing changed
        return "nothing changed"
    return change_summary(before, after, now=now, tz=tz)


def change_summary(
    before: Any, after: Any, *, now: datetime | None = None, tz: tzinfo | None = None
) -> str:
    """One task's change, before → after: "#3 Buy milk: done → pending; priority low → high"."""
    now, tz = _clock(now, tz)
    diffs = _field_diffs(before, after, now, tz)
    return f"#{after.id} {one_line(after.title)}: " + ("; ".join(diffs) if diffs else "no change")


def _field_diffs(before: Any, after: Any, now: datetime, tz: tzinfo) -> list[str]:
    out = []
    if before.status != after.status:
        out.append(f"{before.status} → {after.status}")
    if before.title != after.title:
        out.append(f"title “{one_line(before.title)}” → “{one_line(after.title)}”")
    if before.priority != after.priority:
        out.append(f"priority {before.priority} → {after.priority}")
    if before.due != after.due:
        out.append(f"due {_due_word(before.due, now, tz)} → {_due_word(after.due, now, tz)}")
    if list(before.tags) != list(after.tags):
        out.append(f"tags {_tags_word(before.tags)} → {_tags_word(after.tags)}")
    if before.project != after.project:
        out.append(
            f"project {one_line(before.project or 'none')} → {one_line(after.project or 'none')}"
        )
    if before.notes != after.notes:
        out.append("notes restored" if after.notes else "notes cleared")
    if getattr(before, "list_name", None) != getattr(after, "list_name", None):
        out.append(f"list {before.list_name} → {after.list_name}")
    b_rep, a_rep = getattr(before, "repeat", None), getattr(after, "repeat", None)
    if (b_rep or {}).get("rule") != (a_rep or {}).get("rule"):
        out.append(f"repeat {repeat_words(b_rep) or 'none'} → {repeat_words(a_rep) or 'none'}")
    if getattr(before, "done_count", 0) != getattr(after, "done_count", 0):
        out.append(f"completions {before.done_count} → {after.done_count}")
    b_wait, a_wait = getattr(before, "wait", None), getattr(after, "wait", None)
    if b_wait != a_wait:
        out.append(f"wait {_due_word(b_wait, now, tz)} → {_due_word(a_wait, now, tz)}")
    if getattr(before, "parent", None) != getattr(after, "parent", None):
        out.append(f"parent {_hash(before.parent)} → {_hash(after.parent)}")
    if list(getattr(before, "blocked_by", [])) != list(getattr(after, "blocked_by", [])):
        b_ids = _id_words(before.blocked_by) or "none"
        out.append(f"blocked by {b_ids} → {_id_words(after.blocked_by) or 'none'}")
    return out


def _hash(task_id: int | None) -> str:
    return f"#{task_id}" if task_id else "none"


def _due_word(due: str | None, now: datetime, tz: tzinfo) -> str:
    return dates.humanize_due(due, now=now, tz=tz) if due else "none"


def _tags_word(tags: Sequence[str]) -> str:
    return hashtags(tags) or "none"


def list_lines(lists: Sequence[Any]) -> list[str]:
    """Task lists (``store.ListInfo``) as aligned lines: a header, then `* name  open  done`
    with * marking the current list."""
    width = max(len("list"), *(len(info.name) for info in lists))
    counts = [(f"{info.open:,}", f"{info.done:,}") for info in lists]
    w_open = max(len("open"), *(len(o) for o, _ in counts))
    w_done = max(len("done"), *(len(d) for _, d in counts))
    lines = [f"  {'list':<{width}}  {'open':>{w_open}}  {'done':>{w_done}}"]
    for info, (open_, done) in zip(lists, counts, strict=True):
        mark = "*" if info.current else " "
        lines.append(f"{mark} {info.name:<{width}}  {open_:>{w_open}}  {done:>{w_done}}")
    return lines
