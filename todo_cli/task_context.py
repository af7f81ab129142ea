"""The open-task list the agent's instructions carry, rebuilt before every model request.

With the tasks the user most likely means already in the prompt, the model can act on
"mark pay rent as done" in one request instead of searching first. Which tasks, within a
token budget (the ``agent.task_list_tokens`` setting): overdue ones, then those due
soonest, recently added or changed, those touched earlier in the conversation, then the
rest; the categories take turns so that none crowds the others out. A counts line says how
many are open, overdue and shown, and how many were left out (the model searches for those).

Titles and projects are the user's data, not instructions: each is a JSON string (quotes,
backslashes and line breaks escaped), so a title can neither pose as an instruction line
nor break the one-line-per-task format.

Standard library only (plus ``dates``); the store is passed in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime, tzinfo
from typing import Any

from . import dates
from .termsafe import one_line

DEFAULT_BUDGET = 1000  # tokens
SETTING = "agent.task_list_tokens"
_PLAIN = re.compile(r"[A-Za-z0-9_-]{1,30}")
_PER_CATEGORY = 200  # candidates fetched per category (a budget never fits more lines)


def estimate_tokens(text: str) -> int:
    """A cautious token count without a tokenizer: task lines (short words, dates, ids,
    quotes) run at about 3.1 characters a token in ``o200k_base``, so 3 characters count
    as one; other than ASCII, each character counts as a token."""
    ascii_chars = sum(1 for ch in text if ch < "\x80")
    return -(-ascii_chars // 3) + (len(text) - ascii_chars)


def quoted(text: str) -> str:
    """User text as a JSON string on one line (control characters escaped or dropped)."""
    return json.dumps(one_line(text), ensure_ascii=False)


def task_line(task: Any, *, now: datetime, tz: tzinfo) -> str:
    """One task as the model sees it in the list, e.g.
    ``#12 "Buy milk" due tomorrow (2026-12-02) high tags:["errand","home"] project:"Home"``.

    The one place that decides what the model sees of a task: add new fields here.
    """
    parts = [f"#{task.id}", quoted(task.title)]
    if task.due:
        parts.append(f"due {_due_words(task.due, now, tz)}")
    if task.priority and task.priority != "none":
        parts.append(task.priority)
    if task.tags:
        tags = [json.loads(quoted(t)) for t in task.tags]
        if all(_PLAIN.fullmatch(t) for t in tags):
            parts.append("tags:" + ",".join(tags))  # plain words need no quotes
        else:
            parts.append("tags:" + json.dumps(tags, ensure_ascii=False, separators=(",", ":")))
    if task.project:
        project = quoted(task.project)
        parts.append(f"project:{project[1:-1] if _PLAIN.fullmatch(project[1:-1]) else project}")
    if getattr(task, "repeat", None):
        from .render import repeat_words

        parts.append(f"repeats:{quoted(repeat_words(task.repeat))}")
    if getattr(task, "parent", None):
        parts.append(f"subtask of #{task.parent}")
    if getattr(task, "blocked", False):
        parts.append("blocked by " + ",".join(f"#{b}" for b in task.blocked_by))
    return " ".join(parts)


def _due_words(due: str, now: datetime, tz: tzinfo) -> str:
    """ "tomorrow (2026-12-02)", "in 3 days (Fri 2026-12-04 17:00)", "Tue 2027-02-10"."""
    try:
        relative = dates.humanize_due(due, now=now, tz=tz)
        value = dates.parse_iso(due, tz=tz)
        overdue = dates.is_overdue(due, now=now, tz=tz)
    except Exception:  # an unreadable stored value: show it as stored
        return due
    words = relative.split(" ")[0] in ("today", "tomorrow", "yesterday", "in") or "ago" in relative
    # The weekday only when no relative words say when it is.
    stamp = "%Y-%m-%d" if words else "%a %Y-%m-%d"
    if isinstance(value, datetime):
        absolute = value.astimezone(tz).strftime(stamp + " %H:%M")
    else:
        absolute = value.strftime(stamp)
    text = f"{relative} ({absolute})" if words else absolute
    evident = "ago" in relative or relative.startswith("yesterday")
    return text + (" overdue" if overdue and not evident else "")


def _candidates(store: Any, touched: Iterable[int]) -> list[Iterator[Any]]:
    """The categories, most likely first, each an iterator of tasks."""
    from .store import TaskQuery

    def query(**kw: Any) -> Iterator[Any]:
        return iter(store.query(TaskQuery(limit=_PER_CATEGORY, **kw)))

    def touched_tasks() -> Iterator[Any]:
        ids = list(dict.fromkeys(touched))[-_PER_CATEGORY:]
        ids.reverse()  # the most recently touched first
        for task_id in ids:
            try:
                task = store.get(task_id)
            except Exception:
                continue
            if task.status == "pending":
                yield task

    return [
        query(overdue=True, sort="due"),
        query(sort="due", due_after="yesterday"),
        query(sort="updated"),
        touched_tasks(),
        query(sort="priority"),
    ]


def _interleave(streams: list[Iterator[Any]]) -> Iterator[Any]:
    """Round-robin over the streams (one task from each in turn), each task once."""
    seen: set[int] = set()
    live = list(streams)
    while live:
        for stream in list(live):
            for task in stream:
                if task.id not in seen:
                    seen.add(task.id)
                    yield task
                    break
            else:
                live.remove(stream)


def build_task_list(
    store: Any,
    *,
    tz: tzinfo,
    now: datetime | None = None,
    budget: int = DEFAULT_BUDGET,
    touched: Iterable[int] = (),
) -> str:
    """The task-list block of the instructions: a counts line, then one line per task.

    Stays within ``budget`` tokens (estimated); the counts line says how many were left out.
    """
    now = now or datetime.now(tz)
    stats = store.stats()
    open_count = stats["open"]
    lines: list[tuple[Any, str]] = []
    used = 60  # the counts line and the heading
    for task in _interleave(_candidates(store, touched)):
        line = task_line(task, now=now, tz=tz)
        cost = estimate_tokens(line) + 1
        if used + cost > budget:
            break
        used += cost
        lines.append((task, line))
    lines.sort(key=lambda pair: _order(pair[0], tz))
    shown = len(lines)
    left = open_count - shown
    counts = f"{open_count} open, {stats['overdue']} overdue, {stats['due_today']} due today"
    if not open_count:
        return f"Open tasks: none ({stats['done']} done)."
    head = f"Open tasks ({counts}; {'all' if not left else shown} shown"
    head += f"; {left} more: search for them):" if left else "):"
    return "\n".join([head, *(line for _, line in lines)])


def _order(task: Any, tz: tzinfo) -> tuple[int, float, int]:
    """Shown lines in due order (undated last), then by id."""
    if not task.due:
        return (1, 0.0, task.id)
    try:
        return (0, float(dates.due_bounds(task.due, tz=tz)[0]), task.id)
    except Exception:
        return (1, 0.0, task.id)


def ids_in(output: str) -> list[int]:
    """Task ids named in a tool result (compact JSON), for "touched in this conversation"."""
    try:
        data = json.loads(output)
    except (TypeError, ValueError):
        return []
    found: list[int] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            task_id = value.get("id")
            if isinstance(task_id, int) and not isinstance(task_id, bool) and "title" in value:
                found.append(task_id)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(data)
    return found
