"""Our own JSON format: an array of ``Task.to_dict()`` (what ``todo tasks list --json`` prints)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import tzinfo
from typing import Any

from ..listnames import list_name_problem
from ..store import PRIORITIES, STATUSES
from ._common import JsonItems, LineError, ParsedImport, iso_due, iso_stamp, record, tags_of


def parse_items(items: JsonItems, *, tz: tzinfo) -> ParsedImport:
    """Records from our own export; ``uuid`` and ``extra`` come back as they went out."""
    result = ParsedImport(format="json", source=items)
    n = -1
    try:
        for n, item in enumerate(items.values):
            result.records.append(_record(item, n, tz))
            result.spots.append(n)  # (an item number: placed when asked)
    except LineError as exc:  # the records name no place yet: the item does
        raise exc.at_item(n) from None
    return result


def _record(item: Any, place: int, tz: tzinfo) -> dict[str, Any]:
    """One item of our own export as an import record (``place``: its number)."""
    if not isinstance(item, dict):
        raise LineError(place, "expected a JSON object for each task")
    if "title" not in item and "description" in item:
        raise LineError(place, "this looks like a Taskwarrior record; use --format taskwarrior")
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        raise LineError(place, "the task has no title")
    status = item.get("status") or "pending"
    if status not in STATUSES:
        raise LineError(place, f"unknown status '{status}' (expected pending or done)")
    priority = item.get("priority") or "none"
    if priority not in PRIORITIES:
        raise LineError(place, f"unknown priority '{priority}' (expected {', '.join(PRIORITIES)})")
    tags = tags_of(item, place)
    for key in ("notes", "project", "uuid"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise LineError(place, f"{key} must be a string")
    list_name = item.get("list")
    if list_name is not None:
        problem = list_name_problem(list_name)
        if problem:
            raise LineError(place, problem)
        list_name = list_name.strip().lower()
    extra = item.get("extra")
    if extra is not None and not isinstance(extra, dict):
        raise LineError(place, "extra must be a JSON object")
    due = item.get("due")
    if due is not None and due != "":
        if not isinstance(due, str):
            raise LineError(place, "due must be an ISO 8601 string")
        try:
            due = iso_due(due, tz)
        except ValueError:
            raise LineError(place, f"'{due}' is not a valid due date (ISO 8601)") from None
    stamps: dict[str, str | None] = {}
    for key in ("created_at", "updated_at", "completed_at"):
        value = item.get(key)
        if value is None or value == "":
            stamps[key] = None
            continue
        try:
            stamps[key] = iso_stamp(value, tz)
        except (TypeError, ValueError):
            raise LineError(place, f"{key} '{value}' is not an ISO 8601 timestamp") from None
    links = _task_model(item, place, tz)
    return record(
        **links,
        title=title.strip(),
        notes=item.get("notes") or None,
        status=status,
        priority=priority,
        due=due or None,
        tags=tags,
        project=item.get("project") or None,
        uuid=item.get("uuid") or None,
        extra=extra or None,
        **({"list": list_name} if list_name else {}),
        **stamps,
    )


def _task_model(item: dict[str, Any], place: str | int, tz: tzinfo) -> dict[str, Any]:
    """wait, repeat, completions and the links between records (parent, blocked_by by the
    records' ``id``), checked for their types; the store validates the values."""
    out: dict[str, Any] = {}
    wait = item.get("wait")
    if wait not in (None, ""):
        if not isinstance(wait, str):
            raise LineError(place, "wait must be an ISO 8601 string")
        try:
            out["wait"] = iso_due(wait, tz)
        except ValueError:
            raise LineError(place, f"'{wait}' is not a valid wait date (ISO 8601)") from None
    repeat = item.get("repeat")
    if repeat is not None:
        if not isinstance(repeat, (dict, str)):
            raise LineError(place, "repeat must be an object or a rule in words")
        out["repeat"] = repeat
    for key in ("id", "parent"):
        value = item.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise LineError(place, f"{key} must be a task id (a whole number)")
        if value is not None:
            out[key] = value
    blocked = item.get("blocked_by")
    if blocked is not None:
        if not isinstance(blocked, list) or any(
            isinstance(b, bool) or not isinstance(b, int) for b in blocked
        ):
            raise LineError(place, "blocked_by must be a list of task ids")
        out["blocked_by"] = blocked
    for key in ("completions", "last_done"):
        if item.get(key) is not None:
            out[key] = item[key]
    return out


def json_array(items: Iterable[Any]) -> str:
    """A JSON array with one compact object per line (the shape `task export` prints).

    Readable, diff- and grep-friendly, and several times faster than ``indent=2`` (which
    makes the json module fall back to its pure-Python encoder).
    """
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    if not lines:
        return "[]\n"
    return "[\n" + ",\n".join(lines) + "\n]\n"


def export_json(tasks: Iterable[Any]) -> str:
    """Our own format: a JSON array of ``Task.to_dict()``, the same shape as ``list --json``."""
    return json_array(_with_history(t) for t in tasks)


def _with_history(t: Any) -> dict[str, Any]:
    """``to_dict``, plus the completion records the exporter attached (``history``)."""
    data: dict[str, Any] = t.to_dict()
    history = getattr(t, "history", None)
    if history:
        data["completions"] = history
    return data
