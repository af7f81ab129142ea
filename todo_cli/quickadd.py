"""Quick add: fields typed inline in a task's title, read by code.

    buy milk tomorrow 5pm !high #errand @home every monday

* ``!high`` / ``!medium`` / ``!med`` / ``!low`` (also ``!h``, ``!m``, ``!l``, ``!none``):
  priority;
* ``#tag`` or ``+tag``: a tag (several allowed); ``@name``: the project — the same words
  as the session's ``/tasks`` filters;
* ``every ...`` / ``every! ...`` / ``after N days``: a repeat rule, the longest run of words
  from there that ``repeat.parse_repeat`` accepts;
* a due date: the longest run of words at the end of what is left that the date parser's own
  phrases accept ("tomorrow 5pm", "by friday", "next monday at 9", "dec 1", ISO dates).
  ``dateparser`` is never asked, so a stray word is not taken for a date.

Words marked literal (quoted) are always title words and are never part of a run. At least
one word stays in the title: "Friday" alone is a task called Friday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from . import dates
from .errors import UsageError

__all__ = ["QuickAdd", "parse_quick", "split_words"]

_PRIORITY = {
    "high": "high", "h": "high", "hi": "high", "medium": "medium", "med": "medium",
    "m": "medium", "low": "low", "l": "low", "lo": "low", "none": "none",
}  # fmt: skip
_TAG = re.compile(r"^[#+](\w[\w./-]*)$")
_PROJECT = re.compile(r"^@(\w[\w./-]*)$")
_NOT_A_DUE = {"now", "this", "at", "on", "by", "due"}
# A quote opens a phrase only at the start of a word, so "it's" is one plain word.
_WORD = re.compile(r'(?<!\S)"([^"]*)"?|(?<!\S)\'([^\']*)\'?|(\S+)')


@dataclass
class QuickAdd:
    """What quick add found: the title left over and each recognised field."""

    title: str
    due: str | None = None
    priority: str | None = None
    tags: list[str] = field(default_factory=list)
    project: str | None = None
    repeat: str | None = None
    recognised: bool = False


def split_words(text: str) -> list[tuple[str, bool]]:
    """Split a line into (word, literal) pairs; "double" or 'single' quotes at the start of
    a word keep a phrase literal (one word). An unclosed quote runs to the end of the line."""
    out: list[tuple[str, bool]] = []
    for m in _WORD.finditer(text):
        if m.group(3) is not None:
            out.append((m.group(3), False))
        else:
            phrase = m.group(1) if m.group(1) is not None else m.group(2)
            if phrase and phrase.strip():
                out.append((phrase.strip(), True))
    return out


def _due(words: list[str], now: datetime, tz: tzinfo) -> str | None:
    text = " ".join(words)
    if text.lower() in _NOT_A_DUE:
        return None
    try:
        if dates._ISO_DATE.match(text) or dates._ISO_DATETIME.match(text):
            return dates.parse_due(text, now=now, tz=tz)
        return dates._parse_common(text, now, tz)
    except (UsageError, ValueError):
        return None


def _repeat(words: list[str], now: datetime, tz: tzinfo) -> bool:
    from .repeat import parse_repeat

    try:
        parse_repeat(" ".join(words), now=now, tz=tz)
    except UsageError:
        return False
    return True


def parse_quick(
    words: list[tuple[str, bool]],
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    skip: frozenset[str] = frozenset(),
) -> QuickAdd:
    """Read the fields out of ``words`` ((word, literal) pairs). Fields named in ``skip``
    ("due", "priority", "tags", "project", "repeat": given by a flag) are not looked for,
    so their words stay in the title."""
    zone = dates.resolve_tz(tz)
    current = dates.now_in(zone, now)
    result = QuickAdd(title="")
    rest: list[tuple[str, bool]] = []
    for word, literal in words:
        low = word.lower()
        is_priority = low.startswith("!") and low[1:] in _PRIORITY
        if not literal and "priority" not in skip and is_priority and result.priority is None:
            result.priority = _PRIORITY[low[1:]]
            continue
        if not literal and "tags" not in skip and (m := _TAG.match(word)):
            if m.group(1).casefold() not in {t.casefold() for t in result.tags}:
                result.tags.append(m.group(1))
            continue
        m = None if literal or "project" in skip or result.project else _PROJECT.match(word)
        if m:
            result.project = m.group(1)
            continue
        rest.append((word, literal))

    if "repeat" not in skip:
        rest = _take_repeat(rest, result, current, zone)
    if "due" not in skip:
        plain = [w for w, _ in rest]
        # the longest run of non-literal words at the end, keeping one title word
        start = len(rest)
        while start > 0 and not rest[start - 1][1]:
            start -= 1
        for i in range(max(start, 1), len(rest)):
            due = _due(plain[i:], current, zone)
            if due is not None:
                result.due = due
                rest = rest[:i]
                break
    result.title = " ".join(w for w, _ in rest).strip()
    result.recognised = any(
        (result.due, result.priority, result.tags, result.project, result.repeat)
    )
    return result


def _take_repeat(
    rest: list[tuple[str, bool]], result: QuickAdd, now: datetime, tz: tzinfo
) -> list[tuple[str, bool]]:
    for i, (word, literal) in enumerate(rest):
        low = word.lower()
        if literal or i == 0 or low not in ("every", "every!", "after"):
            continue
        end = i + 1
        while end < len(rest) and not rest[end][1]:
            end += 1
        for j in range(end, i + 1, -1):
            phrase = [w for w, _ in rest[i:j]]
            if _repeat(phrase, now, tz):
                result.repeat = " ".join(phrase)
                return rest[:i] + rest[j:]
    return rest


def argv_words(args: list[str]) -> list[tuple[str, bool]]:
    """Command-line words: an argument with spaces in it was quoted, so it is literal;
    other arguments are split as typed (quotes inside them count too)."""
    out: list[tuple[str, bool]] = []
    for arg in args:
        quoted = re.search(r"(?<!\S)[\"']", arg)
        if any(ch.isspace() for ch in arg.strip()) and not quoted:
            out.append((arg.strip(), True))
        else:
            out.extend(split_words(arg))
    return out


def added_line(task: object, *, tz: tzinfo | None = None, now: datetime | None = None) -> str:
    """What was added, field by field, so a wrong guess shows at once:
    "#12 buy milk · due Wed 2 Dec 17:00 · high · #errand · @home · every Monday"."""
    from .render import hashtags, one_line, repeat_words

    parts = [f"#{task.id} {one_line(task.title)}"]  # type: ignore[attr-defined]
    due = getattr(task, "due", None)
    if due:
        parts.append("due " + dates.short_date(due, tz=tz, now=now))
    if getattr(task, "priority", "none") != "none":
        parts.append(task.priority)  # type: ignore[attr-defined]
    if getattr(task, "tags", None):
        parts.append(hashtags(task.tags))  # type: ignore[attr-defined]
    if getattr(task, "project", None):
        parts.append("@" + one_line(task.project))  # type: ignore[attr-defined]
    if getattr(task, "repeat", None):
        parts.append(repeat_words(task.repeat))  # type: ignore[attr-defined]
    if getattr(task, "wait", None):
        parts.append("hidden until " + dates.short_date(task.wait, tz=tz, now=now))  # type: ignore[attr-defined]
    return " · ".join(parts)
