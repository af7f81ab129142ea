"""What the three formats share: the parse result, line errors, JSON items, dates."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from ..errors import TodoError
from ..listnames import DEFAULT_LIST
from ..store import Task

RECORD_KEYS = tuple(f.name for f in dataclass_fields(Task) if f.name not in ("id", "list_name"))
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NOTHING_IMPORTED = "Nothing was imported; fix that record and run the import again."


@dataclass
class ParsedImport:
    """What a file holds: records ready for ``TaskStore.import_tasks`` plus what was left out.

    ``skipped``: reason -> count of records not imported ("deleted": 2). ``kept``: field ->
    count of records with a field todo does not use, kept as it came and written back on
    export ("wait": 3). ``lossy``: field -> count of records where something could not be
    kept at all. ``notes``: sentences for the import report.
    """

    format: str
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)  # the line each record starts on
    places: list[str] = field(default_factory=list)  # "line 7" or "record 3 (line 1)"
    kept: dict[str, int] = field(default_factory=dict)
    lossy: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def done_count(self) -> int:
        return sum(1 for r in self.records if r["status"] == "done")

    def skipped_text(self) -> str:
        """What was left out, e.g. "2 deleted, 1 recurring template" ("" if nothing)."""
        return _counts(self.skipped, plural=lambda reason: reason != "deleted")

    def kept_text(self) -> str:
        """Fields kept for export but not used, most frequent first ("wait 3, estimate 2")."""
        items = sorted(self.kept.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{name} {n:,}" for name, n in items)

    def add(self, record: dict[str, Any], lineno: int, place: str) -> None:
        self.records.append(record)
        self.lines.append(lineno)
        self.places.append(place)

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


def _counts(table: dict[str, int], *, plural: Any) -> str:
    parts = []
    for reason, n in table.items():
        noun = reason + "s" if n != 1 and plural(reason) else reason
        parts.append(f"{n:,} {noun}")
    return ", ".join(parts)


class LineError(Exception):
    """A problem at one place of the input; turned into a TodoError naming the source."""

    def __init__(self, place: str | int, message: str) -> None:
        super().__init__(message)
        self.place = f"line {place}" if isinstance(place, int) else place
        self.message = message

    def to_error(self, source: str) -> TodoError:
        return TodoError(f"{source} {self.place}: {self.message}", hint=_NOTHING_IMPORTED)


def record_error(source: str, place: str, message: str) -> TodoError:
    return TodoError(f"{source} {place}: {message}", hint=_NOTHING_IMPORTED)


def decode_text(data: bytes) -> str:
    """A file's bytes as text: UTF-8 (a byte-order mark dropped). Taskwarrior 2.6 writes a
    character outside the Basic Multilingual Plane (an emoji) as two encoded UTF-16
    surrogates (CESU-8), which strict UTF-8 refuses: such pairs are read as the character
    they stand for. Raises UnicodeDecodeError for anything else that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            loose = data.decode("utf-8-sig", "surrogatepass")
            return loose.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeError:
            raise exc from None


# --------------------------------------------------------------------------- JSON input


class _Lines:
    """Line numbers of offsets into one text, counted forward only (linear overall)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.idx = 0
        self.line = 1

    def at(self, idx: int) -> int:
        if idx < self.idx:  # never needed by the callers; kept correct anyway
            self.idx, self.line = 0, 1
        self.line += self.text.count("\n", self.idx, idx)
        self.idx = idx
        return self.line


def json_items(text: str) -> Iterator[tuple[str, int, Any]]:
    """Yield (place, line, value) for each element of a JSON array or each JSON line.

    ``place`` names the record for error messages: "record 3 (line 1)" in an array (a
    one-line array has every record on line 1), "line 7" for one object per line.
    """
    text = text.lstrip("\ufeff")
    start = _skip_ws(text, 0)
    if start == len(text):
        return
    decoder = json.JSONDecoder()
    lines = _Lines(text)
    if text[start] == "[":
        idx = _skip_ws(text, start + 1)
        if idx < len(text) and text[idx] == "]":
            _expect_end(text, idx + 1, lines)
            return
        number = 0
        while True:
            number += 1
            line = lines.at(idx)
            try:
                value, end = decoder.raw_decode(text, idx)
            except json.JSONDecodeError as exc:
                where = f"record {number} (line {lines.at(exc.pos)})"
                raise LineError(where, f"invalid JSON: {exc.msg}") from None
            yield f"record {number} (line {line})", line, value
            idx = _skip_ws(text, end)
            if idx < len(text) and text[idx] == ",":
                idx = _skip_ws(text, idx + 1)
                continue
            if idx < len(text) and text[idx] == "]":
                _expect_end(text, idx + 1, lines)
                return
            raise LineError(lines.at(idx), "invalid JSON: expected ',' or ']'")
    # A single object (`todo tasks show 3 --json`, free-form JSON), or one JSON value per
    # line (Taskwarrior `task export rc.json.array=off`, JSON Lines).
    try:
        single = json.loads(text)
    except json.JSONDecodeError:
        pass
    else:
        line = lines.at(start)
        yield f"line {line}", line, single
        return
    for lineno, raw in enumerate(text.splitlines(), start=1):
        raw = raw.strip().rstrip(",")
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise LineError(lineno, f"invalid JSON: {exc.msg}") from None
        yield f"line {lineno}", lineno, value


def _expect_end(text: str, idx: int, lines: _Lines) -> None:
    idx = _skip_ws(text, idx)
    if idx != len(text):
        raise LineError(lines.at(idx), "invalid JSON: unexpected text after the list")


def _skip_ws(text: str, idx: int) -> int:
    while idx < len(text) and text[idx] in " \t\r\n":
        idx += 1
    return idx


def first_json_object(text: str) -> dict | None:
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


def tags_of(item: dict[str, Any], place: str) -> list[str]:
    """The record's tags (both JSON formats keep them as a list of strings)."""
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise LineError(place, "tags must be a list of strings")
    return tags


# --------------------------------------------------------------------------- records, dates


def record(**values: Any) -> dict[str, Any]:
    rec = dict.fromkeys(RECORD_KEYS)
    rec.update(values)
    rec["tags"] = list(dict.fromkeys(rec.get("tags") or []))
    return rec


def list_written(task: Any, all_lists: bool) -> str | None:
    """The list name an export writes for ``task``: its list when that is not the default
    one, or always with ``all_lists``; None for nothing."""
    name = getattr(task, "list_name", None) or DEFAULT_LIST
    return name if all_lists or name != DEFAULT_LIST else None


def local_tz() -> tzinfo:
    return datetime.now().astimezone().tzinfo or UTC


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


# (zone, UTC year, month, day, hour) -> the zone's offset all through that hour, as text and
# as a fixed zone, or None when it changes within the hour.
_HOURS: dict[tuple[Any, int, int, int, int], tuple[str, tzinfo] | None] = {}


def local_iso(moment: datetime, tz: tzinfo) -> str:
    """``iso(moment.astimezone(tz))``, quicker for a whole-second UTC moment: the zone's
    offset is looked up once per hour of UTC time, not for every stamp."""
    if moment.tzinfo is not UTC or moment.microsecond:
        return iso(moment.astimezone(tz))
    key = (tz, moment.year, moment.month, moment.day, moment.hour)
    if key in _HOURS:
        found = _HOURS[key]
    else:
        if len(_HOURS) > 50_000:
            _HOURS.clear()
        found = _HOURS[key] = _hour_offset(moment, tz)
    if found is None:  # the zone's offset changes within this hour
        return iso(moment.astimezone(tz))
    return moment.astimezone(found[1]).isoformat()


_BASIC_HOURS: dict[tuple[Any, str], tuple[str, tzinfo] | None] = {}


def basic_local(text: str, tz: tzinfo) -> str | None:
    """`task export`'s stamp (``20261201T170000Z``, 16 characters, UTC) as a local ISO 8601
    date-time, as ``iso(moment.astimezone(tz))`` would write it; None when ``text`` is not
    a valid stamp of that form. The zone's offset is looked up once per UTC hour (the
    first 11 characters, checked then), and for a zero offset the text is reused as it is."""
    key = (tz, text[:11])
    if key in _BASIC_HOURS:
        found = _BASIC_HOURS[key]
        rest = text[11:15]  # minutes and seconds: the hour was checked when it was cached
        if not (rest.isascii() and rest.isdigit() and rest[0] < "6" and rest[2] < "6"):
            return None
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is not UTC or not text.isascii():
            return None
        if len(_BASIC_HOURS) > 50_000:
            _BASIC_HOURS.clear()
        found = _BASIC_HOURS[key] = _hour_offset(moment, tz)
    if found is None:  # the zone's offset changes within this hour
        return iso(datetime.fromisoformat(text).astimezone(tz))
    suffix, fixed = found
    if suffix == "+00:00":
        t = text
        return f"{t[0:4]}-{t[4:6]}-{t[6:8]}T{t[9:11]}:{t[11:13]}:{t[13:15]}+00:00"
    return datetime.fromisoformat(text).astimezone(fixed).isoformat()


def _hour_offset(moment: datetime, tz: tzinfo) -> tuple[str, tzinfo] | None:
    start = moment.replace(minute=0, second=0)
    first = start.astimezone(tz).utcoffset()
    last = (start + timedelta(seconds=3599)).astimezone(tz).utcoffset()
    if first is None or first != last:
        return None
    fixed = timezone(first)
    return datetime(2000, 1, 1, tzinfo=fixed).isoformat()[19:], fixed


def midnight(d: date, tz: tzinfo) -> str:
    return iso(datetime.combine(d, time(0), tzinfo=tz))


def iso_due(value: str, tz: tzinfo) -> str:
    """A due value as we store it: "YYYY-MM-DD", or a date-time with an offset."""
    if DATE_RE.match(value):
        return date.fromisoformat(value).isoformat()
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return iso(parsed)


def iso_stamp(value: Any, tz: tzinfo) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.isoformat()


def parse_any(value: str, tz: tzinfo) -> datetime:
    """A stored date or date-time as an aware datetime (a plain date is local midnight)."""
    if DATE_RE.match(value):
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=tz)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def local_date(value: str, tz: tzinfo) -> str:
    if DATE_RE.match(value):
        return value
    return parse_any(value, tz).astimezone(tz).date().isoformat()
