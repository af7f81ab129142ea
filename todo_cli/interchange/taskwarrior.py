"""Taskwarrior's JSON (`task export` / `task import`, 2.6 and 3.x), without loss.

Import maps what todo models (description, status, entry, modified, end, due, priority,
project, tags, annotations as the notes, uuid) and keeps the whole record as it came in the
task's ``extra["taskwarrior"]`` (UDAs, wait, scheduled, depends, recur, until, start, the
annotations with their own timestamps...). Export starts from that record and writes todo's
value only for the fields that changed in todo since, so Taskwarrior -> todo -> Taskwarrior
gives back every field as it was.
"""

from __future__ import annotations

import re
import uuid as uuid_mod
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from ..listnames import list_name_problem
from ._common import (
    JsonItems,
    LineError,
    ParsedImport,
    basic_reader,
    iso,
    list_written,
    local_iso,
    local_tz,
    parse_any,
    tags_of,
)
from .ourjson import json_array

PRIORITY_IN = {"H": "high", "M": "medium", "L": "low", "": "none"}
LIST_KEY = "todo_list"  # a UDA: the todo list of a task not in the default one
PARENT_KEY = "todo_parent"  # a UDA: the uuid of a subtask's parent (Taskwarrior has none)
REPEAT_KEY = "todo_repeat"  # a UDA: a repeat rule in todo's words, where recur cannot say it
PRIORITY_OUT = {"high": "H", "medium": "M", "low": "L"}
_NAMESPACE = uuid_mod.UUID("5c1f0c1e-3d53-4c1b-9f43-6f1f3c7f2a10")
# Fields todo maps onto its own; `id` and `urgency` are computed by Taskwarrior itself.
MAPPED = frozenset(
    ("uuid", "description", "status", "entry", "modified", "end", "due", "priority")
    + ("project", "tags", "annotations", "wait", "depends", "recur", "until")
    + (LIST_KEY, PARENT_KEY, REPEAT_KEY)
)
INSTANCES = "taskwarrior_instances"  # extra key: the instance records a template collapsed
COMPUTED = frozenset(("id", "urgency"))
_STAMPS = ("entry", "modified", "end", "due")
_TASK_MODEL_KEYS = frozenset(("wait", "scheduled", "depends", PARENT_KEY))
_STATUSES = frozenset(("pending", "waiting", "completed", "recurring", "deleted"))
_BASIC = re.compile(r"(\d{8})T(\d{2})(\d{2})(\d{2})?(Z?)")


def parse_items(items: JsonItems, *, tz: tzinfo, lazy: bool = False) -> ParsedImport:
    """Records from `task export` (array, or one object per line).

    A recurring task (the template, ``status: recurring``, and the instances Taskwarrior
    made from it, ``parent`` = the template's uuid) becomes one repeating task: the rule from
    ``recur`` and ``until``, the due of its first pending instance, and the completed
    instances as its past completions. ``wait`` (or else ``scheduled``) is the hide-until
    date; ``depends`` (uuids) the tasks it is blocked by.

    ``lazy``: the records are made as ``result.incoming`` is read (``ParsedImport``), so
    that an import can write the first ones while the rest are still being read.
    """
    result = ParsedImport(format="taskwarrior", source=items, stamps_checked=True)
    result.expected = len(items.values)
    result.incoming = _records(items, tz, result)
    return result if lazy else result.read_all()


def _records(items: JsonItems, tz: tzinfo, result: ParsedImport) -> Iterator[dict[str, Any]]:
    """Each record of ``parse_items`` (also kept in ``result.records``); once the last is
    made, the counts of what was kept and skipped are in ``result`` too."""
    values = items.values
    templates = {
        item["uuid"]: item
        for item in values
        if isinstance(item, dict) and item.get("status") == "recurring" and item.get("uuid")
    }
    instances: dict[str, list[dict[str, Any]]] = {}
    if templates:
        for item in values:
            if isinstance(item, dict) and item.get("status") != "recurring":
                parent = item.get("parent")
                if isinstance(parent, str) and parent in templates:
                    instances.setdefault(parent, []).append(item)
    merged = 0
    keysets: dict[tuple[str, ...], int] = {}  # the fields records came with, and how often
    odd_priority = 0
    records, spots = result.records, result.spots
    read = basic_reader(tz)
    n = -1
    try:
        for n, item in enumerate(values):
            if type(item) is not dict:
                raise LineError(n, "expected a JSON object for each task")
            status = item.get("status") or "pending"
            parent = item.get("parent")
            if type(parent) is str and parent in templates and status != "recurring":
                merged += 1  # part of its template's repeating task
                continue
            if status == "deleted":
                result.count(result.skipped, "deleted")  # deleted tasks are history
                continue
            rec = to_record(item, n, tz, read)
            if status == "recurring" or _TASK_MODEL_KEYS.intersection(item):
                _task_model_fields(
                    rec, item, instances.get(item.get("uuid") or "", []) if instances else [], n, tz
                )
                if status == "recurring" and rec.get("repeat") is None:
                    result.count(result.lossy, "recur (not in days, weeks, months or years)")
            keys = tuple(item)
            keysets[keys] = keysets.get(keys, 0) + 1
            if "id" in item or "urgency" in item:  # computed by Taskwarrior itself
                kept = {k: v for k, v in item.items() if k not in COMPUTED}
            else:
                kept = item  # (decoded for this import alone: nothing else holds it)
            priority = item.get("priority") or ""
            if priority not in PRIORITY_IN:
                odd_priority += 1
            rec["extra"] = {"taskwarrior": kept}
            if instances and instances.get(item.get("uuid") or ""):
                rec["extra"][INSTANCES] = [
                    {k: v for k, v in i.items() if k not in COMPUTED}
                    for i in instances[item["uuid"]]
                ]
            records.append(rec)
            spots.append(n)  # (an item number: placed when asked)
            yield rec
    except LineError as exc:  # the records name no place yet: the item does
        raise exc.at_item(n) from None
    for keys, count in keysets.items():
        for key in keys:
            if key not in MAPPED and key not in COMPUTED:
                result.kept[key] = result.kept.get(key, 0) + count
    if odd_priority:
        result.kept["priority (not H, M or L)"] = odd_priority
    if merged:
        result.notes.append(
            f"{merged:,} recurring instance{'s' if merged != 1 else ''} became part of "
            "their repeating task (past ones are its completions)."
        )


def _task_model_fields(
    rec: dict[str, Any],
    item: dict[str, Any],
    instances: list[dict[str, Any]],
    place: str | int,
    tz: tzinfo,
) -> None:
    """wait, blocked-by uuids, the parent's uuid and the repeat rule of one record (in
    place)."""
    from ..repeat import from_duration

    for key in ("wait", "scheduled"):
        value = item.get(key)
        if value not in (None, "") and rec.get("wait") is None:
            rec["wait"] = _due_form(parse_date(value, tz, place, key), tz)
    depends = item.get("depends")
    if isinstance(depends, str):
        depends = [d for d in depends.split(",") if d.strip()]
    if isinstance(depends, list):
        rec["blocked_by_uuids"] = [d.strip() for d in depends if isinstance(d, str)]
    parent = item.get(PARENT_KEY)
    if isinstance(parent, str) and parent.strip():
        rec["parent_uuid"] = parent.strip()
    if item.get("status") != "recurring":
        return
    words = item.get(REPEAT_KEY) or from_duration(str(item.get("recur") or ""))
    if not words:
        rec["status"] = "pending"
        return
    until = item.get("until")
    if until not in (None, "") and "until" not in str(words):
        day = parse_date(until, tz, place, "until").astimezone(tz).date()
        words = f"{words} until {day.isoformat()}"
    rec["repeat"] = str(words)
    pending = [i for i in instances if i.get("status") in ("pending", "waiting") and i.get("due")]
    if pending:
        dues = [parse_date(i["due"], tz, place, "due") for i in pending]
        rec["due"] = _due_form(min(dues), tz)
    done = [i for i in instances if i.get("status") == "completed" and i.get("end")]
    history = []
    for i in done:
        end = parse_date(i["end"], tz, place, "end")
        due = parse_date(i["due"], tz, place, "due") if i.get("due") else None
        history.append((end, {"at": iso(end.astimezone(tz)), "due": _due_form(due, tz)}))
    if history:
        rec["completions"] = [h for _end, h in sorted(history, key=lambda pair: pair[0])]


def _due_form(moment: datetime | None, tz: tzinfo) -> str | None:
    """A Taskwarrior moment as todo stores a due: local midnight is a plain date."""
    if moment is None:
        return None
    local = moment.astimezone(tz)
    return local.date().isoformat() if local.time() == time(0) else iso(local)


def to_record(
    item: dict[str, Any],
    place: str | int,
    tz: tzinfo,
    read: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:
    """The todo fields of one Taskwarrior record (``extra`` not set); ``read`` is
    ``basic_reader(tz)``, for a caller that has it at hand."""
    read = read or basic_reader(tz)
    get = item.get
    status = get("status") or "pending"
    if status not in _STATUSES:
        raise LineError(place, f"unknown Taskwarrior status '{status}'")
    description = get("description")
    if type(description) is not str or not (title := description.strip()):
        raise LineError(place, "the task has no description")
    tw_priority = get("priority") or ""
    if type(tw_priority) is not str:
        raise LineError(place, "priority must be a string")
    tags = get("tags") or []
    try:
        if type(tags) is not list:
            raise TypeError
        "".join(tags)  # (quicker than looking at each: refuses anything but text)
    except TypeError:
        tags = tags_of(item, place)  # raises
    tags = list(dict.fromkeys(tags)) if len(tags) > 1 else list(tags)
    project = get("project")
    if project is not None and type(project) is not str:
        raise LineError(place, "project must be a string")
    uuid = get("uuid")
    if uuid is not None and type(uuid) is not str:
        raise LineError(place, "uuid must be a string")
    annotations = get("annotations")
    stamps = []
    for key in _STAMPS:  # what `task export` writes the quick way, anything else by _stamp
        value = get(key)
        stamp = read(value) if type(value) is str else None
        if stamp is None and value is not None:
            stamp = _stamp(value, tz, place, key)
        stamps.append(stamp)
    entry, modified, end, due = stamps
    if due is not None and due[11:19] == "00:00:00":
        due = due[:10]  # `task add ... due:2026-12-01` stores local midnight: a plain date
    done = status == "completed"
    rec = {
        "title": title,
        "notes": _notes(annotations, place, tz, read) if annotations else None,
        "status": "done" if done else "pending",
        "priority": PRIORITY_IN.get(tw_priority, "none"),
        "due": due,
        "tags": tags,
        "project": project or None,
        "created_at": entry,
        "updated_at": modified or end or entry,
        "completed_at": (end or modified or entry) if done else None,
        "uuid": uuid or None,
        "extra": None,
        "wait": None,
        "parent": None,
        "blocked_by": None,
        "repeat": None,
        "done_count": None,
        "last_done": None,
    }
    list_name = get(LIST_KEY)
    if list_name is not None:
        problem = list_name_problem(list_name)
        if problem:
            raise LineError(place, f"{LIST_KEY}: {problem}")
        rec["list"] = list_name.strip().lower()
    return rec


def _stamp(value: Any, tz: tzinfo, place: str | int, key: str) -> str | None:
    """A Taskwarrior date in any form `task import` takes as a local ISO 8601 date-time
    (None for an empty one)."""
    if value == "":
        return None
    return local_iso(parse_date(value, tz, place, key), tz)


def _notes(
    annotations: Any, place: str | int, tz: tzinfo, read: Callable[[str], str | None]
) -> str | None:
    if not annotations:
        return None
    if not isinstance(annotations, list):
        raise LineError(place, "annotations must be a list")
    parts = []
    for ann in annotations:
        text = ann.get("description") if isinstance(ann, dict) else None
        if not isinstance(text, str):
            raise LineError(place, "each annotation needs a description")
        entry = ann.get("entry")
        if entry not in (None, "") and (type(entry) is not str or read(entry) is None):
            parse_date(entry, tz, place, "annotation entry")  # (raises when it is not one)
        parts.append(text)
    return "\n".join(parts) or None


def parse_date(value: Any, tz: tzinfo, place: str | int, key: str) -> datetime:
    """Every form `task import` takes: 20261201T170000Z (UTC; without Z, local time),
    extended ISO 8601 (2026-12-01T17:00:00Z, with an offset, or local), a plain date
    (20261201 or 2026-12-01, local midnight), and UNIX epoch seconds (string or number)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _epoch(value, place, key)
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 16 and text[8] == "T" and text[15] == "Z" and text.isascii():
            try:  # what `task export` writes
                return datetime.fromisoformat(text)
            except ValueError:
                pass
        if text.isdigit():
            if len(text) == 8:
                day = _date(text, place, key)
                return datetime.combine(day, time(0), tzinfo=tz)
            return _epoch(int(text), place, key)
        if m := _BASIC.fullmatch(text):
            try:
                naive = datetime.strptime(
                    m.group(1) + m.group(2) + m.group(3) + (m.group(4) or "00"), "%Y%m%d%H%M%S"
                )
            except ValueError:
                pass
            else:
                return naive.replace(tzinfo=UTC if m.group(5) else tz)
        else:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    raise LineError(place, f"{key} '{value}' is not a Taskwarrior date (like 20261201T170000Z)")


def _epoch(value: float, place: str | int, key: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise LineError(place, f"{key} '{value}' is out of range for a date") from None


def _date(text: str, place: str | int, key: str) -> date:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise LineError(place, f"{key} '{text}' is not a valid date") from None


# --------------------------------------------------------------------------- export


def export_taskwarrior(
    tasks: Iterable[Any], *, tz: tzinfo | None = None, all_lists: bool = False
) -> str:
    """A JSON array that `task import` accepts (Taskwarrior 2.6 and 3.x).

    A repeating task is a recurring template (``recur``, ``due``, ``until``) from which
    Taskwarrior makes the instances; one imported from Taskwarrior and not changed since
    goes back with the instances it came with. A task's list goes in the ``todo_list``
    attribute when it is not the default list, or for every task with ``all_lists``."""
    tz = tz or local_tz()
    tasks = list(tasks)
    uuids = {t.id: task_uuid(t) for t in tasks}
    out: list[dict[str, Any]] = []
    for t in tasks:
        rec = to_taskwarrior(t, tz, uuids)
        _put(rec, LIST_KEY, list_written(t, all_lists))
        out.append(rec)
        kept = (getattr(t, "extra", None) or {}).get(INSTANCES)
        if kept and rec.get("status") == "recurring" and _unchanged(t, tz):
            out.extend(kept)
    return json_array(out)


def task_uuid(t: Any) -> str:
    return getattr(t, "uuid", "") or str(uuid_mod.uuid5(_NAMESPACE, f"{t.id}/{t.created_at}"))


def _unchanged(t: Any, tz: tzinfo) -> bool:
    """Imported from Taskwarrior and not changed in todo since (every change stamps it)."""
    raw = ((getattr(t, "extra", None) or {}).get("taskwarrior")) or None
    if not isinstance(raw, dict):
        return False
    try:
        return to_record(raw, "", tz)["updated_at"] == t.updated_at
    except LineError:
        return False


def to_taskwarrior(t: Any, tz: tzinfo, uuids: dict[int, str] | None = None) -> dict[str, Any]:
    """One task as a Taskwarrior record: the record it came from (if any), with todo's
    value written for every field that changed in todo since."""
    raw = ((getattr(t, "extra", None) or {}).get("taskwarrior")) or None
    seen: dict[str, Any] | None = None
    if isinstance(raw, dict):
        try:
            seen = to_record(raw, "", tz)
        except LineError:
            seen = None
    out: dict[str, Any] = dict(raw) if seen is not None and raw else {}

    def changed(name: str) -> bool:
        return seen is None or seen[name] != getattr(t, name)

    out["uuid"] = task_uuid(t)
    unchanged = seen is not None and seen["updated_at"] == t.updated_at
    if changed("title"):
        out["description"] = t.title
    if changed("status"):
        out["status"] = "completed" if t.status == "done" else "pending"
    if changed("created_at"):
        out["entry"] = stamp(t.created_at, tz)
    if changed("updated_at"):
        out["modified"] = stamp(t.updated_at, tz)
    if changed("completed_at") or changed("status"):
        _put(
            out, "end", stamp(t.completed_at, tz) if t.status == "done" and t.completed_at else None
        )
    template = isinstance(raw, dict) and raw.get("status") == "recurring"
    if changed("due") and not (unchanged and template):  # a template keeps its own due
        _put(out, "due", stamp(t.due, tz) if t.due else None)
    if changed("priority"):
        _put(out, "priority", PRIORITY_OUT.get(t.priority))
    if changed("project"):
        _put(out, "project", t.project or None)
    if changed("tags"):
        _put(out, "tags", list(t.tags) or None)
    if changed("notes"):
        _put(out, "annotations", _annotations(t, raw, tz))
    if not unchanged:
        _task_model_out(out, t, tz, uuids or {}, raw)
    return out


def _task_model_out(
    out: dict[str, Any], t: Any, tz: tzinfo, uuids: dict[int, str], raw: Any
) -> None:
    """wait, depends and the repeat rule, from todo's values."""
    from ..repeat import exact_in_duration, from_duration, to_duration, until_date

    wait = getattr(t, "wait", None)
    _put(out, "wait", stamp(wait, tz) if wait else None)
    parent = getattr(t, "parent", None)
    _put(out, PARENT_KEY, uuids.get(parent) if parent is not None else None)
    blockers = [uuids[b] for b in getattr(t, "blocked_by", None) or [] if b in uuids]
    if blockers and isinstance(raw, dict) and isinstance(raw.get("depends"), str):
        _put(out, "depends", ",".join(blockers))  # as Taskwarrior 2.5 wrote it
    else:
        _put(out, "depends", blockers or None)
    rule = getattr(t, "repeat", None)
    recur = to_duration(rule["rule"]) if rule and t.due and t.status != "done" else None
    for key in ("recur", "until", "mask", "rtype", REPEAT_KEY):
        out.pop(key, None)
    if recur is None or rule is None:
        if out.get("status") == "recurring":
            out["status"] = "completed" if t.status == "done" else "pending"
        return
    out["status"] = "recurring"
    out["recur"] = recur
    until = until_date(rule["rule"])
    if until is not None:
        out["until"] = stamp(until.isoformat(), tz)
    if rule.get("from") == "done" or not exact_in_duration(rule["rule"]):
        out[REPEAT_KEY] = rule.get("text")  # what recur cannot say, for todo
    elif rule.get("text") != from_duration(recur):
        out[REPEAT_KEY] = rule.get("text")  # "every monday", not just "every week"


def _annotations(t: Any, raw: Any, tz: tzinfo) -> list[dict[str, Any]] | None:
    """The notes as annotations, one per line; a line that was an annotation keeps its
    timestamp, a new one gets the task's last change."""
    lines = [line for line in (t.notes or "").split("\n") if line.strip()]
    if not lines:
        return None
    pool = [a for a in (raw.get("annotations") or []) if isinstance(a, dict)] if raw else []
    result = []
    for line in lines:
        match = next((a for a in pool if a.get("description") == line), None)
        if match is not None:
            pool.remove(match)
            result.append(match)
        else:
            result.append({"entry": stamp(t.updated_at, tz), "description": line})
    return result


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        out.pop(key, None)
    else:
        out[key] = value


def stamp(value: str, tz: tzinfo) -> str:
    return parse_any(value, tz).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
