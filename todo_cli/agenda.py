"""The agenda: overdue tasks, today, then each following day, with repeating tasks shown on
every day they fall on inside the range.

``build_agenda`` reads the store once (pending tasks that are not hidden, due before the end
of the range) and projects repeating tasks forward with ``repeat.occurrences``; an ``every!``
rule is projected as if each occurrence were completed on time. An overdue repeating task is
listed under "Overdue" and then on the days after today where its rule falls (completing it
moves it to the first of those). Undated tasks are not on the agenda.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from . import dates
from .limits import MAX_DAYS

__all__ = ["AgendaSection", "build_agenda", "agenda_lines", "agenda_json", "MAX_DAYS"]


@dataclass
class AgendaSection:
    """One heading of the agenda: ``day`` None is the overdue section."""

    day: date | None
    label: str
    tasks: list[Any] = field(default_factory=list)


def _day_of(due: str, tz: tzinfo) -> date:
    value = dates.parse_iso(due, tz=tz)
    return value.astimezone(tz).date() if isinstance(value, datetime) else value


def _sort_key(task: Any, tz: tzinfo) -> tuple[int, float, int]:
    value = dates.parse_iso(task.due, tz=tz)
    timed = isinstance(value, datetime)
    return (0 if timed else 1, value.timestamp() if isinstance(value, datetime) else 0.0, task.id)


def day_label(day: date, today: date) -> str:
    """ "Today · Tue 1 Dec", "Tomorrow · Wed 2 Dec", "Thu 3 Dec" (year when not this one)."""
    text = f"{day:%a} {day.day} {day:%b}" + (f" {day.year}" if day.year != today.year else "")
    if day == today:
        return f"Today · {text}"
    if day == today + timedelta(days=1):
        return f"Tomorrow · {text}"
    return text


def build_agenda(
    store: Any, *, days: int = 7, now: datetime | None = None, tz: tzinfo | None = None
) -> list[AgendaSection]:
    """Overdue, then ``days`` days from today (1 = today only). Today is always present;
    other days only when something falls on them."""
    from .errors import UsageError
    from .repeat import occurrences
    from .store import TaskQuery

    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise UsageError(f"The number of days must be 1 to {MAX_DAYS}, not {days!r}.")
    zone = dates.resolve_tz(tz or getattr(store, "tz", None))
    current = dates.now_in(zone, now)
    today = current.date()
    end = today + timedelta(days=days - 1)
    tasks = store.query(TaskQuery(due_before=(end + timedelta(days=1)).isoformat(), limit=None))
    overdue = AgendaSection(None, "Overdue")
    by_day: dict[date, list[Any]] = {}
    for task in tasks:
        if not task.due:
            continue
        late = dates.is_overdue(task.due, now=current, tz=zone)
        if late:
            overdue.tasks.append(task)
        else:
            by_day.setdefault(_day_of(task.due, zone), []).append(task)
        rule = task.repeat
        if not rule:
            continue
        start = today + timedelta(days=1) if late else today
        try:
            projected = occurrences(rule["rule"], task.due, start, end, tz=zone)
        except UsageError:
            continue  # a damaged stored rule: the task still shows on its own due
        for due in projected:
            if due == task.due:
                continue
            copy = replace(task, due=due)
            copy.blocked = task.blocked
            by_day.setdefault(_day_of(due, zone), []).append(copy)
    overdue.tasks.sort(key=lambda t: _sort_key(t, zone))
    sections = [overdue] if overdue.tasks else []
    for offset in range(days):
        day = today + timedelta(days=offset)
        items = sorted(by_day.get(day, []), key=lambda t: _sort_key(t, zone))
        if items or day == today:
            sections.append(AgendaSection(day, day_label(day, today), items))
    return sections


def _item_line(task: Any, section: AgendaSection, tz: tzinfo, now: datetime) -> str:
    from .render import (
        MARK_BLOCKED,
        MARK_PENDING,
        MARK_REPEAT,
        PRIORITY_LABEL,
        hashtags,
        one_line,
        repeat_words,
    )

    mark = MARK_BLOCKED if getattr(task, "blocked", False) else MARK_PENDING
    value = dates.parse_iso(task.due, tz=tz)
    if section.day is None:
        when = dates.humanize_due(task.due, now=now, tz=tz)
    elif isinstance(value, datetime):
        when = f"{value.astimezone(tz):%H:%M}"
    else:
        when = ""
    parts = [f"{mark} {when:<5}" if section.day is not None else f"{mark} {when}"]
    parts.append(f"#{task.id} {one_line(task.title)}")
    if task.priority != "none":
        parts.append(PRIORITY_LABEL.get(task.priority, task.priority))
    if task.tags:
        parts.append(hashtags(task.tags))
    if task.project:
        parts.append("@" + one_line(task.project))
    if task.repeat:
        parts.append(f"{MARK_REPEAT} {repeat_words(task.repeat)}")
    return "  " + "  ".join(p for p in parts if p)


def agenda_lines(
    sections: list[AgendaSection], *, now: datetime | None = None, tz: tzinfo | None = None
) -> list[str]:
    """The agenda as plain text lines: a heading per section, one line per task."""
    zone = dates.resolve_tz(tz)
    current = dates.now_in(zone, now)
    lines: list[str] = []
    for section in sections:
        if lines:
            lines.append("")
        lines.append(section.label)
        if not section.tasks:
            lines.append("  Nothing due.")
        lines.extend(_item_line(t, section, zone, current) for t in section.tasks)
    return lines


def agenda_json(sections: list[AgendaSection]) -> list[dict[str, Any]]:
    """``[{"day": "2026-12-01" | null (overdue), "tasks": [task JSON...]}]``; a repeating
    task's later occurrences carry that day's ``due``."""
    return [
        {
            "day": s.day.isoformat() if s.day else None,
            "label": s.label,
            "tasks": [t.to_json() for t in s.tasks],
        }
        for s in sections
    ]
