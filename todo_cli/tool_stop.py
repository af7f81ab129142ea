"""Turns that end without another model request once the tools have said it all.

When every tool call of a model response succeeded and was a change (add, update,
complete, reopen, delete, undo) or ``show_tasks``, asking the model again would only buy a
sentence that re-types what the tool lines already show. ``compose_answer`` writes that
answer in code instead: one summary line for the changes, and a Markdown table for
``show_tasks``. It returns None (back to the model) when any call failed or was declined
(its result is an error), or when a call was a lookup whose result the model must read.

Standard library only (plus ``dates``). Titles are user data: Markdown characters are
escaped so a title renders as the text it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from . import dates
from .termsafe import one_line

CHANGE_TOOLS = frozenset(
    {
        "add_task",
        "add_tasks",
        "update_task",
        "complete_tasks",
        "reopen_tasks",
        "delete_tasks",
        "undo_last_change",
    }
)
SHOW_TOOLS = frozenset({"show_tasks"})
TITLE_MAX = 60
_MARKDOWN = re.compile(r"([\\`*_\[\]|~<])")


def md(text: str, limit: int = TITLE_MAX) -> str:
    """User text for a Markdown line: one line, clipped, Markdown characters escaped."""
    line = one_line(str(text))
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return _MARKDOWN.sub(r"\\\1", line)


def _ref(task: dict[str, Any]) -> str:
    return f"#{task.get('id')} {md(task.get('title', ''))}"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    if len(items) > 6:
        items = [*items[:5], f"{len(items) - 5} more"]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _due(iso: Any, tz: tzinfo, now: datetime | None) -> str:
    if not iso:
        return ""
    try:
        return dates.humanize_due(str(iso), now=now, tz=tz)
    except Exception:
        return str(iso)


def _load(output: Any) -> dict[str, Any] | None:
    try:
        data = json.loads(output) if isinstance(output, str) else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def compose_answer(
    results: Iterable[tuple[str, Any]], *, tz: tzinfo, now: datetime | None = None
) -> str | None:
    """The turn's answer from ``(tool name, output)`` pairs, or None to ask the model again."""
    pairs = list(results)
    if not pairs:
        return None
    loaded: list[tuple[str, dict[str, Any]]] = []
    for name, output in pairs:
        data = _load(output)
        if name not in CHANGE_TOOLS | SHOW_TOOLS or data is None or "error" in data:
            return None
        loaded.append((name, data))
    added: list[str] = []
    clauses: list[str] = []
    tables: list[str] = []
    for name, data in loaded:
        if name in SHOW_TOOLS:
            tables.append(tasks_table(data.get("tasks") or [], data.get("more") or 0, tz, now))
            continue
        if "added" in data:
            added.append(_ref(data["added"]))
        for task in data.get("added_tasks") or []:
            added.append(_ref(task))
        if "updated" in data:
            clauses.append(_updated(data, tz, now))
        for key, verb in (
            ("completed", "marked {} done"),
            ("reopened", "reopened {}"),
            ("deleted", "deleted {}"),
        ):
            if key in data:
                refs = [
                    _ref(t)
                    + (f" (next due {_due(t['next_due'], tz, now)})" if "next_due" in t else "")
                    for t in data[key] or []
                ]
                clauses.append(verb.format(_join(refs)))
        if "undone" in data:
            n = len(data.get("changes") or [])
            label = md(data["undone"] or "the last change")
            clauses.append(f"undid {label} ({n} change{'' if n == 1 else 's'})")
    if added:
        clauses.insert(0, f"added {_join(added)}")
    parts = []
    if clauses:
        line = "; ".join(clauses)
        parts.append(line[0].upper() + line[1:] + ".")
    parts.extend(tables)
    return "\n\n".join(parts) or None


def _updated(data: dict[str, Any], tz: tzinfo, now: datetime | None) -> str:
    task = data["updated"]
    changed = [c for c in data.get("changed") or [] if c]
    details = []
    for field in changed:
        if field == "due":
            details.append(f"due {_due(task.get('due'), tz, now)}" if task.get("due") else "no due")
        elif field == "priority":
            details.append(f"priority {task.get('priority', 'none')}")
        elif field == "title":
            details.append("renamed")
        else:
            details.append(field.replace("_", " "))
    return f"updated {_ref(task)}" + (f" ({', '.join(details)})" if details else "")


def tasks_table(
    tasks: list[dict[str, Any]], more: int, tz: tzinfo, now: datetime | None = None
) -> str:
    """Tasks as a Markdown table (empty columns left out), then how many were left out."""
    if not tasks:
        return "No matching tasks."
    columns: list[tuple[str, Any]] = [
        ("ID", lambda t: str(t.get("id"))),
        ("", lambda t: "✓" if t.get("status") == "done" else ""),
        ("Title", lambda t: md(t.get("title", ""), 80)),
        ("Due", lambda t: _due(t.get("due"), tz, now)),
        ("Pri", lambda t: t.get("priority", "") if t.get("priority") != "none" else ""),
        ("Tags", lambda t: " ".join(md("#" + tag, 30) for tag in t.get("tags") or [])),
        ("Project", lambda t: md(t.get("project") or "", 30)),
    ]
    rows = [[cell(t) for _, cell in columns] for t in tasks]
    keep = [
        i
        for i, (name, _) in enumerate(columns)
        if name in ("ID", "Title") or any(r[i] for r in rows)
    ]
    lines = [
        "| " + " | ".join(columns[i][0] or "✓" for i in keep) + " |",
        "|" + "|".join("--:" if columns[i][0] == "ID" else "---" for i in keep) + "|",
    ]
    lines += ["| " + " | ".join(row[i] for i in keep) + " |" for row in rows]
    if more:
        lines += ["", f"… and {more:,} more."]
    return "\n".join(lines)
