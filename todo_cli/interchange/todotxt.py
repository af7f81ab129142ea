"""todo.txt (https://github.com/todotxt/todo.txt), read as the tools that write it mean it,
and written back line for line.

Each task keeps the line it came from (``extra["todotxt"]``). Export writes that line as it
was while the task still says what the line says; a task changed in todo gets the line edited
in place (priority, dates, words, +projects, @contexts and key:value pairs keep their order;
what was removed goes, what was added comes at the end). Nothing is invented: a creation or
completion date is written only when the task really has one.

Normalisations (documented): a byte-order mark, CRLF line ends and blank lines are dropped;
the file ends with a newline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import Any

from ..listnames import list_name_problem
from ._common import (
    DATE_RE,
    LineError,
    ParsedImport,
    iso,
    iso_due,
    list_written,
    local_date,
    local_tz,
    parse_any,
    record,
)

_PRIORITY_RE = re.compile(r"^\(([A-Z])\)$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3])[.h]?([0-5]\d)$")
PRIORITY_OUT = {"high": "A", "medium": "B", "low": "C"}
TIME_KEY = "duetime"  # due:2026-12-04 duetime:17.00 (todo.txt values carry no colons)
LIST_KEY = "list"  # list:work, the todo list of a task not in the default one
MATCH_NOTE = (
    "todo.txt has no uuids: each line was matched as a whole against the tasks already here"
    " and the lines they came from (a line edited elsewhere comes in as a new task)."
)


def letter_priority(letter: str) -> str:
    """(A) high, (B) medium, (C) to (Z) low."""
    return {"A": "high", "B": "medium"}.get(letter, "low")


@dataclass
class Line:
    """One todo.txt line, split the way todo.txt tools read it."""

    text: str
    done: bool = False
    letter: str | None = None  # the priority letter, from "(A)" or, on done tasks, "pri:A"
    letter_prefix: bool = False  # written as "(A)" (also "x (A) ..." as some tools do)
    completed: date | None = None
    created: date | None = None
    body: list[str] = field(default_factory=list)


def split_line(text: str, lineno: int = 0) -> Line:
    tokens = text.split()
    line = Line(text)
    if tokens and tokens[0] == "x":
        line.done = True
        tokens.pop(0)
        if tokens and (m := _PRIORITY_RE.match(tokens[0])):  # "x (A) 2026-11-22 ..."
            line.letter, line.letter_prefix = m.group(1), True
            tokens.pop(0)
        if tokens and DATE_RE.match(tokens[0]):
            line.completed = _date(tokens.pop(0), lineno)
            if tokens and DATE_RE.match(tokens[0]):
                line.created = _date(tokens.pop(0), lineno)
    else:
        if tokens and (m := _PRIORITY_RE.match(tokens[0])):
            line.letter, line.letter_prefix = m.group(1), True
            tokens.pop(0)
        if tokens and DATE_RE.match(tokens[0]):
            line.created = _date(tokens.pop(0), lineno)
    line.body = tokens
    if line.done and line.letter is None:
        for tok in tokens:
            if tok.startswith("pri:") and re.fullmatch(r"[A-Za-z]", tok[4:]):
                line.letter = tok[4:].upper()  # kept on completed tasks by some apps
    return line


def _kind(tok: str, done: bool) -> str:
    if len(tok) > 1 and tok[0] in "+@":
        return tok[0]
    if tok.startswith("due:") and len(tok) > 4:
        return "due"
    if tok.startswith(TIME_KEY + ":") and _TIME_RE.match(tok[len(TIME_KEY) + 1 :]):
        return "time"
    if done and tok.startswith("pri:") and re.fullmatch(r"[A-Za-z]", tok[4:]):
        return "pri"
    if tok.startswith("t:") and DATE_RE.match(tok[2:]):
        return "t"
    if tok.startswith("rec:") and _rec_words(tok[4:]):
        return "rec"
    if tok.startswith(LIST_KEY + ":") and list_name_problem(tok[len(LIST_KEY) + 1 :]) is None:
        return "list"
    return "word"


def _rec_words(value: str) -> str | None:
    from ..repeat import from_rec

    return from_rec(value)


def fields_of(line: Line, lineno: int, tz: tzinfo) -> dict[str, Any]:
    """The todo fields the line says (title, status, priority, due, tags, project, dates)."""
    words: list[str] = []
    tags: list[str] = []
    project: str | None = None
    due_day: str | None = None
    due_time: str | None = None
    wait: str | None = None
    repeat: str | None = None
    list_name: str | None = None
    for tok in line.body:
        kind = _kind(tok, line.done)
        if kind == "+":
            if project is None:
                project = tok[1:]
            elif tok[1:] not in tags:
                tags.append(tok[1:])
        elif kind == "@":
            if tok[1:] not in tags:
                tags.append(tok[1:])
        elif kind == "due":
            due_day = tok[4:]
        elif kind == "time":
            due_time = tok[len(TIME_KEY) + 1 :]
        elif kind == "t":
            wait = _date(tok[2:], lineno).isoformat()
        elif kind == "rec":
            repeat = _rec_words(tok[4:])
        elif kind == "list":
            list_name = tok[len(LIST_KEY) + 1 :].strip().lower()
        elif kind == "word":
            words.append(tok)
    due = _due(due_day, due_time, lineno, tz) if due_day else None
    title = " ".join(words) or " ".join(t for t in line.body if _kind(t, line.done) in ("+", "@"))
    if not title:
        raise LineError(lineno, f"the task has no text: '{line.text.strip()}'")
    created_at = _midnight(line.created, tz) if line.created else None
    completed_at = _midnight(line.completed, tz) if line.completed else None
    if line.done and completed_at is None:
        completed_at = created_at
    return record(
        title=title,
        status="done" if line.done else "pending",
        priority=letter_priority(line.letter) if line.letter else "none",
        due=due,
        tags=tags,
        project=project,
        created_at=created_at,
        updated_at=completed_at or created_at,
        completed_at=completed_at,
        wait=wait,
        repeat=repeat,
        **({"list": list_name} if list_name else {}),
    )


def parse_todotxt(text: str, *, tz: tzinfo | None = None, source: str = "input") -> ParsedImport:
    """Parse todo.txt lines: ``x`` done, ``(A)`` high, ``(B)`` medium, ``(C)``-``(Z)`` low (the
    letter is kept), completion and creation dates, the first ``+project`` is the project and
    further ones and ``@contexts`` tags, ``due:YYYY-MM-DD`` (with ``duetime:HH.MM``) the due
    date. Other ``key:value`` pairs stay in the title. Blank lines, CRLF and a BOM are fine."""
    tz = tz or local_tz()
    result = ParsedImport(format="todotxt")
    for lineno, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = split_line(raw, lineno)
            rec = fields_of(line, lineno, tz)
        except LineError as exc:
            raise exc.to_error(source) from None
        if line.letter and line.letter > "C":
            result.count(result.kept, "priority letters D-Z (listed as low; letter kept)")
        rec["extra"] = {"todotxt": raw}
        result.add(rec, lineno, f"line {lineno}")
    if result.records:
        result.notes.append(MATCH_NOTE)
    return result


def match_lines(parsed: ParsedImport, existing: Iterable[Any], *, tz: tzinfo) -> int:
    """Give each record whose line is exactly the line an existing task exports to, or else
    the line it was imported from (the file is older than the changes made here since),
    that task's uuid and last change (so the store leaves it alone). Returns how many
    matched."""
    by_line: dict[str, list[Any]] = {}
    came_from: dict[str, list[Any]] = {}
    for task in existing:  # as an export of its list writes it, and one of every list
        for text in dict.fromkeys((to_line(task, tz), to_line(task, tz, all_lists=True))):
            by_line.setdefault(text, []).append(task)
        origin = (getattr(task, "extra", None) or {}).get("todotxt")
        if isinstance(origin, str):
            came_from.setdefault(origin, []).append(task)
    taken: set[int] = set()
    lines = [(rec, (rec.get("extra") or {}).get("todotxt")) for rec in parsed.records]
    for tasks in (by_line, came_from):  # (a line as it exports now goes first)
        for rec, line in lines:
            if rec.get("uuid") is not None or not isinstance(line, str):
                continue
            task = next((t for t in tasks.get(line, ()) if t.id not in taken), None)
            if task is not None:
                taken.add(task.id)
                rec["uuid"], rec["updated_at"] = task.uuid, task.updated_at
    return len(taken)


# --------------------------------------------------------------------------- export


def export_todotxt(
    tasks: Iterable[Any], *, tz: tzinfo | None = None, all_lists: bool = False
) -> str:
    """One todo.txt line per task (notes have no place in todo.txt and are not written).
    A task's list is a ``list:NAME`` pair when it is not the default list, or on every
    line with ``all_lists``."""
    tz = tz or local_tz()
    lines = [to_line(t, tz, all_lists=all_lists) for t in tasks]
    return "\n".join(lines) + ("\n" if lines else "")


def to_line(t: Any, tz: tzinfo, *, all_lists: bool = False) -> str:
    raw_text = (getattr(t, "extra", None) or {}).get("todotxt")
    raw: Line | None = None
    if isinstance(raw_text, str):
        try:
            raw = split_line(raw_text)
            seen = fields_of(raw, 0, tz)
        except LineError:
            raw = None
        else:
            if _says_the_same(raw, seen, t, tz) and seen.get("list") == list_written(t, all_lists):
                return raw_text
    return _build(t, raw, tz, all_lists)


def _says_the_same(raw: Line, seen: dict[str, Any], t: Any, tz: tzinfo) -> bool:
    for name in ("title", "status", "priority", "due", "tags", "project", "wait"):
        if seen[name] != getattr(t, name):
            return False
    if _rec_token(t) != next((tok for tok in raw.body if _kind(tok, raw.done) == "rec"), None):
        return False
    if raw.created and (
        not t.created_at or local_date(t.created_at, tz) != raw.created.isoformat()
    ):
        return False
    return not raw.completed or (
        bool(t.completed_at) and local_date(t.completed_at, tz) == raw.completed.isoformat()
    )


def _build(t: Any, raw: Line | None, tz: tzinfo, all_lists: bool = False) -> str:
    done = t.status == "done"
    letter = PRIORITY_OUT.get(t.priority)
    if raw is not None and raw.letter and letter_priority(raw.letter) == t.priority:
        letter = raw.letter
    parts: list[str] = []
    # A date the task has is written; one the import had to make up (the line had none) is not.
    write_created = bool(t.created_at) and (raw is None or raw.created is not None)
    if done:
        parts.append("x")
        prefix_letter = letter and raw is not None and raw.done and raw.letter_prefix
        if prefix_letter:
            parts.append(f"({letter})")
        made_up_completion = raw is not None and raw.done and raw.completed is None
        if t.completed_at and not made_up_completion:
            parts.append(local_date(t.completed_at, tz))
            if write_created:
                parts.append(local_date(t.created_at, tz))
    else:
        if letter:
            parts.append(f"({letter})")
        if write_created:
            parts.append(local_date(t.created_at, tz))
    parts.extend(_body(t, raw, tz, all_lists))
    if done and letter and not (raw is not None and raw.done and raw.letter_prefix):
        parts.append(f"pri:{letter}")
    return " ".join(parts)


def _due_tokens(t: Any, tz: tzinfo) -> tuple[str | None, str | None]:
    if not t.due:
        return None, None
    if DATE_RE.match(t.due):
        return f"due:{t.due}", None
    local = parse_any(t.due, tz).astimezone(tz)
    return f"due:{local.date().isoformat()}", f"{TIME_KEY}:{local:%H.%M}"


def _rec_token(t: Any) -> str | None:
    """rec:+1w (from the due) / rec:3d (from completion) for a repeating task."""
    from ..repeat import to_rec

    rule = getattr(t, "repeat", None)
    value = to_rec(rule["rule"], rule.get("from") or "due") if rule else None
    return f"rec:{value}" if value else None


def _wait_token(t: Any, tz: tzinfo) -> str | None:
    wait = getattr(t, "wait", None)
    if not wait:
        return None
    return f"t:{wait if DATE_RE.match(wait) else local_date(wait, tz)}"


def _body(t: Any, raw: Line | None, tz: tzinfo, all_lists: bool) -> list[str]:
    out = _body_core(t, raw, tz)
    name = list_written(t, all_lists)
    extra = {
        "t": _wait_token(t, tz),
        "rec": _rec_token(t),
        "list": f"{LIST_KEY}:{name}" if name else None,
    }
    if raw is not None:  # where the line had them
        for i, tok in enumerate(out):
            kind = _kind(tok, raw.done)
            if kind in extra:
                out[i] = extra.pop(kind) or ""
    out.extend(tok for tok in extra.values() if tok)
    return [tok for tok in out if tok]


def _body_core(t: Any, raw: Line | None, tz: tzinfo) -> list[str]:
    due_tok, time_tok = _due_tokens(t, tz)
    tags = list(t.tags)
    if raw is None:
        plain = t.title.split()
        if t.project:
            plain.append("+" + _word(t.project))
        plain.extend("@" + _word(tag) for tag in tags)
        plain.extend(tok for tok in (due_tok, time_tok) if tok)
        return plain
    seen_title = fields_of(raw, 0, tz)["title"]
    same_title = seen_title == t.title
    was_project = {tok[1:] for tok in raw.body if _kind(tok, raw.done) == "+"}
    out: list[str] = []
    placed: set[str] = set()
    title_placed = False
    for tok in raw.body:
        kind = _kind(tok, raw.done)
        if kind == "word":
            if same_title:
                out.append(tok)
            elif not title_placed:
                out.extend(t.title.split())
                title_placed = True
        elif kind in "+@":
            name = tok[1:]
            wanted = name in tags or (kind == "+" and name == t.project)
            if wanted and tok not in placed:
                out.append(tok)
                placed.add(tok)
                placed.add(name)
        elif kind == "due" and due_tok and "due" not in placed:
            out.append(due_tok)
            placed.add("due")
        elif kind == "time" and time_tok and "time" not in placed:
            out.append(time_tok)
            placed.add("time")
        elif kind in ("t", "rec", "list") and kind not in placed:
            out.append(tok)  # replaced by todo's value in _body
            placed.add(kind)
    if not same_title and not title_placed:
        out[:0] = t.title.split()
    if t.project and t.project not in placed:
        out.append("+" + _word(t.project))
        placed.add(t.project)
    for tag in tags:
        if tag not in placed:
            out.append(("+" if tag in was_project else "@") + _word(tag))
    if due_tok and "due" not in placed:
        out.append(due_tok)
    if time_tok and "time" not in placed:
        out.append(time_tok)
    return out


def _word(value: str) -> str:
    return "_".join(value.split())


# --------------------------------------------------------------------------- helpers


def _date(token: str, lineno: int) -> date:
    try:
        return date.fromisoformat(token)
    except ValueError:
        raise LineError(lineno, f"'{token}' is not a valid date (expected YYYY-MM-DD)") from None


def _due(day: str, clock: str | None, lineno: int, tz: tzinfo) -> str:
    try:
        if not DATE_RE.match(day):
            return iso_due(day, tz)  # a date-time, as earlier versions of todo wrote it
        value = date.fromisoformat(day)
    except ValueError:
        raise LineError(
            lineno, f"'due:{day}' is not a valid date (expected due:YYYY-MM-DD)"
        ) from None
    if clock is None:
        return value.isoformat()
    m = _TIME_RE.match(clock)
    assert m is not None
    return iso(datetime.combine(value, time(int(m.group(1)), int(m.group(2))), tzinfo=tz))


def _midnight(d: date, tz: tzinfo) -> str:
    return iso(datetime.combine(d, time(0), tzinfo=tz))
