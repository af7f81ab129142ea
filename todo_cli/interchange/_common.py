"""What the three formats share: the parse result, line errors, JSON items, dates."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from ..errors import TodoError
from ..fastjson import orjson
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
    kept: dict[str, int] = field(default_factory=dict)
    lossy: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Where each record came from: a (place, line) pair, or the number (an int) of a JSON
    # item that ``source`` places when asked (only an error message or a test needs it).
    spots: list[Any] = field(default_factory=list)
    source: JsonItems | None = None
    # The records' time stamps are in the store's own form (``import_tasks``'s
    # ``stamps_checked``): this parser wrote every one of them.
    stamps_checked: bool = False
    # Records still to be made (a lazy parse): each one read from here is added to
    # ``records`` first. ``expected``: at most how many records there are in all.
    incoming: Iterator[dict[str, Any]] | None = None
    expected: int | None = None

    def read_all(self) -> ParsedImport:
        """Make every record still to come (``incoming``): ``records`` and the counts are
        then whole."""
        for _record in self.stream(after=len(self.records)):
            pass
        return self

    def stream(self, after: int = 0) -> Iterator[dict[str, Any]]:
        """The records made so far (from number ``after`` on), then each one still to
        come, as it is made."""
        yield from self.records[after:]
        if self.incoming is not None:
            incoming, self.incoming = self.incoming, None
            yield from incoming

    @property
    def done_count(self) -> int:
        return sum(1 for r in self.records if r["status"] == "done")

    @property
    def lines(self) -> list[int]:
        """The line each record starts on."""
        return [self.spot(i)[1] for i in range(len(self.spots))]

    @property
    def places(self) -> list[str]:
        """Each record's place for an error message: "line 7" or "record 3 (line 1)"."""
        return [self.spot(i)[0] for i in range(len(self.spots))]

    def spot(self, index: int) -> tuple[str, int]:
        spot = self.spots[index]
        if isinstance(spot, int):
            assert self.source is not None
            return self.source.spot(spot)
        return spot  # type: ignore[no-any-return]

    def skipped_text(self) -> str:
        """What was left out, e.g. "2 deleted, 1 recurring template" ("" if nothing)."""
        return _counts(self.skipped, plural=lambda reason: reason != "deleted")

    def kept_text(self) -> str:
        """Fields kept for export but not used, most frequent first ("wait 3, estimate 2")."""
        items = sorted(self.kept.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{name} {n:,}" for name, n in items)

    def add(self, record: dict[str, Any], lineno: int, place: str) -> None:
        self.records.append(record)
        self.spots.append((place, lineno))

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


def _counts(table: dict[str, int], *, plural: Any) -> str:
    parts = []
    for reason, n in table.items():
        noun = reason + "s" if n != 1 and plural(reason) else reason
        parts.append(f"{n:,} {noun}")
    return ", ".join(parts)


class Item(int):
    """The number (from 0) of an item of a JSON input, standing for its place in the text,
    which ``JsonItems.spot`` finds only when an error message needs it."""

    __slots__ = ()


class LineError(Exception):
    """A problem at one place of the input; turned into a TodoError naming the source.
    ``place``: "line 7", a line number, or an ``Item`` (placed by ``locate``)."""

    def __init__(self, place: str | int, message: str) -> None:
        super().__init__(message)
        self.item = place if isinstance(place, Item) else None
        self.place = f"line {place}" if isinstance(place, int) else place
        self.message = message

    def at_item(self, index: int) -> LineError:
        """The same problem, at item ``index`` of a JSON input (placed by ``locate``)."""
        self.item = Item(index)
        return self

    def locate(self, items: JsonItems) -> LineError:
        if self.item is not None:
            self.place = items.spot(self.item)[0]
            self.item = None
        return self

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


class JsonItems:
    """The items of a JSON input (an array, one object, or one value per line), decoded in
    one go, each with its place in the text for error messages ("record 3 (line 2)",
    "line 7"). A well-formed array is decoded by the fast decoder and its places are found
    only when asked; anything it refuses goes through ``json_items``, which names the bad
    place or reads what the standard decoder still accepts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._spots: list[tuple[str, int]] | None = None
        self.values: list[Any] = []
        values = _decode_array(text)
        if values is not None:
            self.values = values
            return
        spots = []
        for place, line, value in json_items(text):
            spots.append((place, line))
            self.values.append(value)
        self._spots = spots

    @classmethod
    def of(cls, items: Iterable[tuple[str, int, Any]]) -> JsonItems:
        """Items already decoded, with their places: (place, line, value) triples."""
        new = cls.__new__(cls)
        new.text = ""
        triples = list(items)
        new.values = [value for _place, _line, value in triples]
        new._spots = [(place, line) for place, line, _value in triples]
        return new

    def spot(self, index: int) -> tuple[str, int]:
        """(place, line) of item ``index``."""
        if self._spots is None:
            self._spots = [(place, line) for place, line, _value in json_items(self.text)]
        return self._spots[index]


def _decode_array(text: str) -> list[Any] | None:
    """A JSON array decoded by orjson; None for anything else, for invalid JSON, and when
    orjson is not installed (the caller then reads it the slow way)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped.startswith("["):
        return None
    fast = orjson()
    if fast is None:
        return None
    try:
        values = fast.loads(stripped)
    except ValueError:
        return None
    return values if isinstance(values, list) else None


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
            except RecursionError:
                raise LineError(f"record {number} (line {line})", _TOO_DEEP) from None
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
    except (json.JSONDecodeError, RecursionError):
        pass
    else:
        line = lines.at(start)
        yield f"line {line}", line, single
        return
    fast = orjson()
    loads = fast.loads if fast is not None else json.loads
    for lineno, raw in enumerate(text.splitlines(), start=1):
        raw = raw.strip().rstrip(",")
        if not raw:
            continue
        try:
            value = loads(raw)
        except ValueError:  # (what orjson refuses, the standard decoder reads or explains)
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise LineError(lineno, f"invalid JSON: {exc.msg}") from None
            except RecursionError:
                raise LineError(lineno, _TOO_DEEP) from None
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
    except (json.JSONDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


# (Python's decoder recurses once per level: thousands of levels exhaust its stack)
_TOO_DEEP = "invalid JSON: nested too deeply (no task record has more than a few levels)"


def tags_of(item: dict[str, Any], place: str | int) -> list[str]:
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


_UNSEEN: Any = object()
_MINUTES_SECONDS = frozenset(f"{m:02d}{s:02d}" for m in range(60) for s in range(60))


@functools.cache
def basic_reader(tz: tzinfo) -> Callable[[str], str | None]:
    """A reader of `task export`'s stamps (``20261201T170000Z``: 16 characters, UTC) as
    local ISO 8601 date-times in ``tz``, as ``iso(moment.astimezone(tz))`` would write
    them; it gives None for text that is not a valid stamp of that form. Each UTC hour
    (the stamp's first 11 characters) is checked and turned into local time once: where
    the zone is a whole number of hours off UTC all through that hour, the local date and
    hour and the offset are kept, and each stamp of that hour only adds its minutes and
    seconds; elsewhere (a half-hour zone, a change of offset) it is turned by datetime."""
    hours: dict[str, tuple[str, str] | tzinfo | None] = {}

    def read(text: str) -> str | None:
        if len(text) != 16 or text[8] != "T" or text[15] != "Z":
            return None
        head = text[:11]
        found = hours.get(head, _UNSEEN)
        if found is _UNSEEN:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return None
            if moment.tzinfo is not UTC or not text.isascii():
                return None
            if len(hours) > 50_000:
                hours.clear()
            found = hours[head] = _hour_local(moment, tz)
        if text[11:15] not in _MINUTES_SECONDS:
            return None
        if type(found) is tuple:
            return f"{found[0]}{text[11:13]}:{text[13:15]}{found[1]}"
        moment = datetime.fromisoformat(text)
        return iso(moment.astimezone(found if found is not None else tz))  # type: ignore[arg-type]

    return read


def _hour_local(moment: datetime, tz: tzinfo) -> tuple[str, str] | tzinfo | None:
    """For the UTC hour of ``moment``: ("YYYY-MM-DDTHH:" in local time, "+HH:MM") when
    the zone's offset is the same whole number of hours through it; else the fixed zone
    of that hour (a part-hour offset), or None (the offset changes within the hour)."""
    found = _hour_offset(moment, tz)
    if found is None:
        return None
    suffix, fixed = found
    offset = fixed.utcoffset(None)
    start = moment.replace(minute=0, second=0).astimezone(fixed)
    if offset is None or offset.total_seconds() % 3600:
        return fixed
    return start.isoformat()[:14], suffix


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
