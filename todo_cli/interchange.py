"""Task import and export formats: our own JSON, Taskwarrior's JSON export and todo.txt.

Pure functions over plain data, no database: ``parse_tasks`` turns a file's text into
records for ``TaskStore.import_tasks`` (dicts with the keys of ``Task.to_dict()`` minus
``id``); ``format_tasks`` turns tasks into the text of a file. Every problem in the input is
a ``TodoError`` naming the source and the line ("tasks.txt line 7: ..."), raised before
anything is imported.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import PurePath
from typing import Any

from .errors import TodoError, UsageError
from .store import PRIORITIES, STATUSES, Task

FORMATS = ("json", "taskwarrior", "todotxt")
IMPORT_FORMATS = ("auto", *FORMATS)

_PRIORITIES = PRIORITIES
_STATUSES = STATUSES
_RECORD_KEYS = tuple(f.name for f in dataclass_fields(Task) if f.name not in ("id", "list_name"))

_TW_PRIORITY_IN = {"H": "high", "M": "medium", "L": "low", "": "none"}
_TW_PRIORITY_OUT = {"high": "H", "medium": "M", "low": "L"}
_TXT_PRIORITY_OUT = {"high": "A", "medium": "B", "low": "C"}
_TW_NAMESPACE = uuid.UUID("5c1f0c1e-3d53-4c1b-9f43-6f1f3c7f2a10")


@dataclass
class ParsedImport:
    """What a file holds: records ready for ``TaskStore.import_tasks`` plus what was left out."""

    format: str
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count, e.g. "deleted": 2
    lines: list[int] = field(default_factory=list)  # the line each record starts on

    @property
    def done_count(self) -> int:
        return sum(1 for r in self.records if r["status"] == "done")

    def skipped_text(self) -> str:
        """What was left out, e.g. "2 deleted, 1 recurring template" ("" if nothing)."""
        parts = []
        for reason, n in self.skipped.items():
            noun = reason if n == 1 or reason == "deleted" else reason + "s"
            parts.append(f"{n} {noun}")
        return ", ".join(parts)


class _LineError(Exception):
    """A problem at one line of the input; turned into a TodoError naming the source."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message

    def to_error(self, source: str) -> TodoError:
        return TodoError(
            f"{source} line {self.line}: {self.message}",
            hint="Nothing was imported; fix that line and run the import again.",
        )


# --------------------------------------------------------------------------- detection


def detect_format(text: str, filename: str | None = None) -> str:
    """Guess the format of ``text``: "json", "taskwarrior" or "todotxt".

    A ``.txt`` file is todo.txt. Otherwise text starting with ``[`` or ``{`` is JSON: a list
    (or one object per line) of records with ``description`` is Taskwarrior's export, records
    with ``title`` are ours. Anything else is todo.txt.
    """
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if suffix == ".txt":
        return "todotxt"
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped.startswith(("[", "{")):
        if suffix in (".json", ".jsonl", ".ndjson"):
            return "json"  # let the JSON parser report what is wrong
        return "todotxt"
    first = _first_json_object(stripped)
    if first is None:
        if suffix in (".json", ".jsonl", ".ndjson") or stripped.startswith(("[{", "[\n", "[]")):
            return "json"
        return "todotxt"
    if "description" in first and "title" not in first:
        return "taskwarrior"
    return "json"


def _first_json_object(text: str) -> dict | None:
    decoder = json.JSONDecoder()
    idx = 0
    if text.startswith("["):
        idx = _skip_ws(text, 1)
        if idx < len(text) and text[idx] == "]":
            return {}
    try:
        value, _ = decoder.raw_decode(text, idx)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


# --------------------------------------------------------------------------- import


def parse_tasks(
    text: str,
    fmt: str = "auto",
    *,
    source: str = "input",
    filename: str | None = None,
    tz: tzinfo | None = None,
) -> ParsedImport:
    """Parse a whole file into import records; any bad line raises ``TodoError``.

    ``source`` names the input in error messages ("FILE line 7: ..."); ``tz`` is the user's
    zone, used to turn Taskwarrior's UTC stamps and todo.txt's plain dates into local times.
    """
    if fmt not in IMPORT_FORMATS:
        raise UsageError(
            f"Unknown import format '{fmt}'.", hint=f"Use one of: {', '.join(IMPORT_FORMATS)}."
        )
    tz = tz or _local_tz()
    if fmt == "auto":
        fmt = detect_format(text, filename)
    if fmt == "todotxt":
        return parse_todotxt(text, tz=tz, source=source)
    try:
        items = list(_json_items(text))
        if fmt == "taskwarrior":
            return _parse_taskwarrior_items(items, tz=tz)
        return _parse_json_items(items, tz=tz)
    except _LineError as exc:
        raise exc.to_error(source) from None


def parse_todotxt(text: str, *, tz: tzinfo | None = None, source: str = "input") -> ParsedImport:
    """Parse todo.txt lines (see https://github.com/todotxt/todo.txt).

    ``x`` marks a completed task, ``(A)``/``(B)``/``(C)`` map to high/medium/low (any later
    letter to low), the completion and creation dates become timestamps, the first
    ``+project`` is the project (further ones become tags), ``@context`` becomes a tag and
    ``due:YYYY-MM-DD`` the due date. Other ``key:value`` pairs stay in the title.
    """
    tz = tz or _local_tz()
    result = ParsedImport(format="todotxt")
    for lineno, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            result.records.append(_parse_todotxt_line(line, lineno, tz))
        except _LineError as exc:
            raise exc.to_error(source) from None
        result.lines.append(lineno)
    return result


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PRIORITY_RE = re.compile(r"^\(([A-Z])\)$")


def _parse_todotxt_line(line: str, lineno: int, tz: tzinfo) -> dict[str, Any]:
    tokens = line.split()
    done = False
    priority = "none"
    completed: date | None = None
    created: date | None = None
    if tokens and tokens[0] == "x":
        done = True
        tokens.pop(0)
        if tokens and _DATE_RE.match(tokens[0]):
            completed = _txt_date(tokens.pop(0), lineno)
            if tokens and _DATE_RE.match(tokens[0]):
                created = _txt_date(tokens.pop(0), lineno)
    if tokens and (m := _PRIORITY_RE.match(tokens[0])):
        priority = _txt_priority(m.group(1))
        tokens.pop(0)
    if not done and tokens and _DATE_RE.match(tokens[0]):
        created = _txt_date(tokens.pop(0), lineno)

    words: list[str] = []
    tags: list[str] = []
    project: str | None = None
    due: str | None = None
    for tok in tokens:
        if len(tok) > 1 and tok[0] == "+":
            if project is None:
                project = tok[1:]
            else:
                _add_unique(tags, tok[1:])
        elif len(tok) > 1 and tok[0] == "@":
            _add_unique(tags, tok[1:])
        elif tok.startswith("due:") and len(tok) > 4:
            due = _txt_due(tok[4:], lineno, tz)
        elif tok.startswith("pri:") and re.fullmatch(r"[A-Za-z]", tok[4:]):
            priority = _txt_priority(tok[4:].upper())  # kept on completed tasks by some apps
        else:
            words.append(tok)
    title = " ".join(words)
    if not title:
        raise _LineError(lineno, f"the task has no text: {line!r}")
    created_at = _midnight(created, tz) if created else None
    completed_at = _midnight(completed, tz) if completed else None
    if done and completed_at is None:
        completed_at = created_at
    return _record(
        title=title,
        status="done" if done else "pending",
        priority=priority,
        due=due,
        tags=tags,
        project=project,
        created_at=created_at,
        updated_at=completed_at or created_at,
        completed_at=completed_at,
    )


def _txt_priority(letter: str) -> str:
    return {"A": "high", "B": "medium"}.get(letter, "low")


def _txt_date(token: str, lineno: int) -> date:
    try:
        return date.fromisoformat(token)
    except ValueError:
        raise _LineError(lineno, f"'{token}' is not a valid date (expected YYYY-MM-DD)") from None


def _txt_due(value: str, lineno: int, tz: tzinfo) -> str:
    try:
        return _iso_due(value, tz)
    except ValueError:
        raise _LineError(
            lineno, f"'due:{value}' is not a valid date (expected due:YYYY-MM-DD)"
        ) from None


def _json_items(text: str) -> Iterator[tuple[int, Any]]:
    """Yield (line number, value) for each element of a JSON array or each JSON line."""
    text = text.lstrip("\ufeff")
    start = _skip_ws(text, 0)
    if start == len(text):
        return
    decoder = json.JSONDecoder()
    if text[start] == "[":
        idx = _skip_ws(text, start + 1)
        if idx < len(text) and text[idx] == "]":
            _expect_end(text, idx + 1)
            return
        while True:
            try:
                value, end = decoder.raw_decode(text, idx)
            except json.JSONDecodeError as exc:
                raise _LineError(exc.lineno, f"invalid JSON: {exc.msg}") from None
            yield _lineno(text, idx), value
            idx = _skip_ws(text, end)
            if idx < len(text) and text[idx] == ",":
                idx = _skip_ws(text, idx + 1)
                continue
            if idx < len(text) and text[idx] == "]":
                _expect_end(text, idx + 1)
                return
            raise _LineError(_lineno(text, idx), "invalid JSON: expected ',' or ']'")
    # A single object (`todo tasks show 3 --json`), or one JSON value per line (Taskwarrior
    # `task export rc.json.array=off`, JSON Lines).
    try:
        single = json.loads(text)
    except json.JSONDecodeError:
        pass
    else:
        yield _lineno(text, start), single
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip().rstrip(",")
        if not line:
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _LineError(lineno, f"invalid JSON: {exc.msg}") from None
        yield lineno, value


def _expect_end(text: str, idx: int) -> None:
    idx = _skip_ws(text, idx)
    if idx != len(text):
        raise _LineError(_lineno(text, idx), "invalid JSON: unexpected text after the list")


def _skip_ws(text: str, idx: int) -> int:
    while idx < len(text) and text[idx] in " \t\r\n":
        idx += 1
    return idx


def _lineno(text: str, idx: int) -> int:
    return text.count("\n", 0, idx) + 1


def _parse_json_items(items: list[tuple[int, Any]], *, tz: tzinfo) -> ParsedImport:
    """Records from our own export (also what `todo tasks list --json` prints)."""
    result = ParsedImport(format="json")
    for lineno, item in items:
        if not isinstance(item, dict):
            raise _LineError(lineno, "expected a JSON object for each task")
        if "title" not in item and "description" in item:
            raise _LineError(
                lineno, "this looks like a Taskwarrior record; use --format taskwarrior"
            )
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            raise _LineError(lineno, "the task has no title")
        status = item.get("status") or "pending"
        if status not in _STATUSES:
            raise _LineError(lineno, f"unknown status '{status}' (expected pending or done)")
        priority = item.get("priority") or "none"
        if priority not in _PRIORITIES:
            raise _LineError(
                lineno, f"unknown priority '{priority}' (expected {', '.join(_PRIORITIES)})"
            )
        tags = _tags(item, lineno)
        for key in ("notes", "project"):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise _LineError(lineno, f"{key} must be a string")
        due = item.get("due")
        if due is not None and due != "":
            if not isinstance(due, str):
                raise _LineError(lineno, "due must be an ISO 8601 string")
            try:
                due = _iso_due(due, tz)
            except ValueError:
                raise _LineError(lineno, f"'{due}' is not a valid due date (ISO 8601)") from None
        stamps: dict[str, str | None] = {}
        for key in ("created_at", "updated_at", "completed_at"):
            value = item.get(key)
            if value is None or value == "":
                stamps[key] = None
                continue
            try:
                stamps[key] = _iso_stamp(value, tz)
            except (TypeError, ValueError):
                raise _LineError(lineno, f"{key} '{value}' is not an ISO 8601 timestamp") from None
        result.lines.append(lineno)
        result.records.append(
            _record(
                title=title.strip(),
                notes=item.get("notes") or None,
                status=status,
                priority=priority,
                due=due or None,
                tags=tags,
                project=item.get("project") or None,
                **stamps,
            )
        )
    return result


def _parse_taskwarrior_items(items: list[tuple[int, Any]], *, tz: tzinfo) -> ParsedImport:
    """Records from `task export` (Taskwarrior 2.x or 3.x), array or one object per line."""
    result = ParsedImport(format="taskwarrior")
    for lineno, item in items:
        if not isinstance(item, dict):
            raise _LineError(lineno, "expected a JSON object for each task")
        status = item.get("status", "pending")
        if status in ("deleted", "recurring"):
            # Deleted tasks are history; a recurring parent is a template for its instances.
            reason = "deleted" if status == "deleted" else "recurring template"
            result.skipped[reason] = result.skipped.get(reason, 0) + 1
            continue
        if status not in ("pending", "waiting", "completed"):
            raise _LineError(lineno, f"unknown Taskwarrior status '{status}'")
        description = item.get("description")
        if not isinstance(description, str) or not description.strip():
            raise _LineError(lineno, "the task has no description")
        tw_priority = item.get("priority") or ""
        if tw_priority not in _TW_PRIORITY_IN:
            raise _LineError(lineno, f"unknown priority '{tw_priority}' (expected H, M or L)")
        tags = _tags(item, lineno)
        project = item.get("project")
        if project is not None and not isinstance(project, str):
            raise _LineError(lineno, "project must be a string")
        notes = _tw_notes(item.get("annotations"), lineno)
        stamps: dict[str, datetime | None] = {}
        for key in ("entry", "modified", "end", "due"):
            value = item.get(key)
            stamps[key] = _tw_time(value, lineno, key) if value else None
        done = status == "completed"
        due = None
        if stamps["due"] is not None:
            local = stamps["due"].astimezone(tz)
            # `task add ... due:2026-12-01` stores local midnight: keep it a plain date.
            due = local.date().isoformat() if local.time() == time(0) else _iso(local)
        entry = _iso(stamps["entry"].astimezone(tz)) if stamps["entry"] else None
        end = _iso(stamps["end"].astimezone(tz)) if stamps["end"] else None
        modified = _iso(stamps["modified"].astimezone(tz)) if stamps["modified"] else None
        result.lines.append(lineno)
        result.records.append(
            _record(
                title=description.strip(),
                notes=notes,
                status="done" if done else "pending",
                priority=_TW_PRIORITY_IN[tw_priority],
                due=due,
                tags=tags,
                project=project or None,
                created_at=entry,
                updated_at=modified or end or entry,
                completed_at=(end or modified or entry) if done else None,
            )
        )
    return result


def _tags(item: dict[str, Any], lineno: int) -> list[str]:
    """The record's tags (both JSON formats keep them as a list of strings)."""
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _LineError(lineno, "tags must be a list of strings")
    return tags


def _tw_notes(annotations: Any, lineno: int) -> str | None:
    if not annotations:
        return None
    if not isinstance(annotations, list):
        raise _LineError(lineno, "annotations must be a list")
    parts = []
    for ann in annotations:
        text = ann.get("description") if isinstance(ann, dict) else None
        if not isinstance(text, str):
            raise _LineError(lineno, "each annotation needs a description")
        parts.append(text)
    return "\n".join(parts) or None


def _tw_time(value: Any, lineno: int, key: str) -> datetime:
    """Taskwarrior stamps look like 20261201T170000Z (UTC); ISO 8601 is accepted too."""
    if isinstance(value, str):
        try:
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise _LineError(lineno, f"{key} '{value}' is not a Taskwarrior date (like 20261201T170000Z)")


# --------------------------------------------------------------------------- export


def format_tasks(tasks: Iterable[Any], fmt: str = "json", *, tz: tzinfo | None = None) -> str:
    """Render tasks (objects with the ``Task`` fields) as the text of an export file."""
    tasks = list(tasks)
    tz = tz or _local_tz()
    if fmt == "json":
        return export_json(tasks)
    if fmt == "taskwarrior":
        return export_taskwarrior(tasks, tz=tz)
    if fmt == "todotxt":
        return export_todotxt(tasks, tz=tz)
    raise UsageError(f"Unknown export format '{fmt}'.", hint=f"Use one of: {', '.join(FORMATS)}.")


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
    return json_array(t.to_dict() for t in tasks)


def export_taskwarrior(tasks: Iterable[Any], *, tz: tzinfo | None = None) -> str:
    """A JSON array that `task import` accepts (Taskwarrior 2.6 and 3.x)."""
    tz = tz or _local_tz()
    out = []
    for t in tasks:
        rec: dict[str, Any] = {
            "uuid": str(uuid.uuid5(_TW_NAMESPACE, f"{t.id}/{t.created_at}")),
            "description": t.title,
            "status": "completed" if t.status == "done" else "pending",
            "entry": _tw_stamp(t.created_at, tz),
            "modified": _tw_stamp(t.updated_at, tz),
        }
        if t.status == "done" and t.completed_at:
            rec["end"] = _tw_stamp(t.completed_at, tz)
        if t.due:
            rec["due"] = _tw_stamp(t.due, tz)
        if t.priority in _TW_PRIORITY_OUT:
            rec["priority"] = _TW_PRIORITY_OUT[t.priority]
        if t.project:
            rec["project"] = t.project
        if t.tags:
            rec["tags"] = list(t.tags)
        if t.notes:
            rec["annotations"] = [{"entry": _tw_stamp(t.updated_at, tz), "description": t.notes}]
        out.append(rec)
    return json_array(out)


def export_todotxt(tasks: Iterable[Any], *, tz: tzinfo | None = None) -> str:
    """One todo.txt line per task. Notes and times of day other than the due time are lost."""
    tz = tz or _local_tz()
    lines = []
    for t in tasks:
        parts: list[str] = []
        done = t.status == "done"
        if done:
            parts.append("x")
            if t.completed_at:
                parts.append(_local_date(t.completed_at, tz))
            if t.created_at:
                if not t.completed_at:
                    parts.append(_local_date(t.created_at, tz))
                parts.append(_local_date(t.created_at, tz))
        else:
            if t.priority in _TXT_PRIORITY_OUT:
                parts.append(f"({_TXT_PRIORITY_OUT[t.priority]})")
            if t.created_at:
                parts.append(_local_date(t.created_at, tz))
        parts.append(" ".join(t.title.split()))
        if t.project:
            parts.append("+" + _txt_word(t.project))
        parts.extend("@" + _txt_word(tag) for tag in t.tags)
        if t.due:
            parts.append("due:" + t.due)
        if done and t.priority in _TXT_PRIORITY_OUT:
            parts.append(f"pri:{_TXT_PRIORITY_OUT[t.priority]}")
        lines.append(" ".join(parts))
    return "\n".join(lines) + ("\n" if lines else "")


def _txt_word(value: str) -> str:
    return "_".join(value.split())


# --------------------------------------------------------------------------- helpers


def _record(**fields: Any) -> dict[str, Any]:
    rec = dict.fromkeys(_RECORD_KEYS)
    rec.update(fields)
    rec["tags"] = list(dict.fromkeys(rec.get("tags") or []))
    return rec


def _add_unique(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


def _local_tz() -> tzinfo:
    return datetime.now().astimezone().tzinfo or UTC


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def _midnight(d: date, tz: tzinfo) -> str:
    return _iso(datetime.combine(d, time(0), tzinfo=tz))


def _iso_due(value: str, tz: tzinfo) -> str:
    """A due value as we store it: "YYYY-MM-DD", or a date-time with an offset."""
    if _DATE_RE.match(value):
        return date.fromisoformat(value).isoformat()
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return _iso(parsed)


def _iso_stamp(value: Any, tz: tzinfo) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.isoformat()


def _parse_any(value: str, tz: tzinfo) -> datetime:
    """A stored date or date-time as an aware datetime (a plain date is local midnight)."""
    if _DATE_RE.match(value):
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=tz)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _tw_stamp(value: str, tz: tzinfo) -> str:
    return _parse_any(value, tz).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local_date(value: str, tz: tzinfo) -> str:
    if _DATE_RE.match(value):
        return value
    return _parse_any(value, tz).astimezone(tz).date().isoformat()
