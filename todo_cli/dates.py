"""Due dates: natural-language parsing and friendly display, in code (not by a model).

Stored forms:

* a date without a time stays a plain date, ``"2026-11-25"``;
* a date with a time is ISO 8601 with the user's UTC offset, ``"2026-11-27T17:00:00-05:00"``.

The common phrases ("today", "tomorrow", "tonight", "friday", "next friday 5pm",
"in 3 days", "dec 1", "end of week", ISO dates...) are handled here with the standard library
only. Anything else falls back to ``dateparser``, imported lazily because importing it costs
about 0.2 s. Every function takes ``now`` and ``tz`` so callers (and tests) can pin the clock.

Conventions:

* A bare weekday ("friday") and "next friday" both mean the *coming* one, never today:
  said on a Friday they mean a week later. "this friday" includes today.
* A time with no day ("5pm") means today, or tomorrow if that time has already passed.
* "tonight" is today at 20:00; "morning", "afternoon" and "evening" are 09:00, 15:00 and
  19:00 ("tomorrow morning", "this evening", "friday afternoon").
* "end of week" is the coming Sunday (today if it is Sunday); "next week" is next Monday;
  "next month" the 1st of next month.
* A date-only due is overdue once its day is over; a due with a time once that moment passed.
"""

from __future__ import annotations

import functools
import os
import re
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from .errors import UsageError
from .textin import shown

__all__ = [
    "parse_due",
    "humanize_due",
    "is_overdue",
    "short_date",
    "local_timezone",
    "resolve_tz",
    "now_in",
    "parse_iso",
    "due_bounds",
]

_HINT = (
    'Try "today", "tomorrow", "friday 5pm", "next monday", "in 3 days", "dec 1" '
    'or an ISO date such as "2026-12-01" or "2026-12-01 17:00".'
)

_WEEKDAYS = {
    "monday": 0, "mon": 0,
    "tuesday": 1, "tue": 1, "tues": 1,
    "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3,
    "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip
_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "couple": 2,
    "a couple of": 2, "a few": 3, "few": 3,
}  # fmt: skip
_UNITS = {
    "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "wk": "weeks", "wks": "weeks", "week": "weeks", "weeks": "weeks",
    "mo": "months", "month": "months", "months": "months",
    "y": "years", "yr": "years", "yrs": "years", "year": "years", "years": "years",
}  # fmt: skip

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?$", re.I
)
_TIME_WORDS = {
    "noon": time(12, 0),
    "midday": time(12, 0),
    "midnight": time(0, 0),
    "morning": time(9, 0),
    "afternoon": time(15, 0),
    "evening": time(19, 0),
}


class _Phrases:
    """The patterns of due phrases, each compiled the first time it is used: ~4 ms at the
    start of every command, and listing tasks (which reads stored dates) needs none."""

    @functools.cached_property
    def time_12(self) -> re.Pattern[str]:
        return re.compile(r"(?:\bat\s+)?\b(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?(?![a-z])")

    @functools.cached_property
    def time_24(self) -> re.Pattern[str]:
        return re.compile(r"(?:\bat\s+)?\b(\d{1,2}):(\d{2})\b")

    @functools.cached_property
    def time_word(self) -> re.Pattern[str]:
        return re.compile(
            r"(?:\b(?:at|in the)\s+)?\b(noon|midday|midnight|morning|afternoon|evening)\b"
        )

    @functools.cached_property
    def relative(self) -> re.Pattern[str]:
        numbers = "|".join(sorted((re.escape(k) for k in _NUMBERS), key=len, reverse=True))
        units = "|".join(sorted(_UNITS, key=len, reverse=True))
        return re.compile(rf"^(?:in\s+)?(\d+|{numbers})\s*({units})(?:\s+from\s+(?:now|today))?$")

    @functools.cached_property
    def month_day(self) -> re.Pattern[str]:
        return re.compile(
            rf"^({_month_words()})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+(\d{{4}}))?$"
        )

    @functools.cached_property
    def day_month(self) -> re.Pattern[str]:
        return re.compile(
            rf"^(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_month_words()})\.?(?:\s+(\d{{4}}))?$"
        )

    @functools.cached_property
    def weekday(self) -> re.Pattern[str]:
        return re.compile(
            r"^(this|next|coming|on)?\s*("
            + "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
            + r")$"
        )

    @functools.cached_property
    def time_hint(self) -> re.Pattern[str]:
        return re.compile(
            r"\d:\d|\d\s*[ap]\.?m\b|\b(noon|midday|midnight|tonight|hours?|hrs?|minutes?|mins?|"
            r"o'?clock|morning|afternoon|evening|night)\b"
        )


def _month_words() -> str:
    return "|".join(sorted(_MONTHS, key=len, reverse=True))


_phrases = _Phrases()

TONIGHT = time(20, 0)


# --- time zones and clocks ---------------------------------------------------------------


@lru_cache(maxsize=1)
def local_timezone() -> tzinfo:
    """The system's local time zone, as a DST-aware ``ZoneInfo`` when it can be named."""
    from zoneinfo import ZoneInfo

    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except Exception:  # noqa: BLE001 - an odd TZ value falls back to the system zone
            pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo" + os.sep in target:
            return ZoneInfo(target.split("zoneinfo" + os.sep, 1)[1])
    except Exception:  # noqa: BLE001
        pass
    return datetime.now().astimezone().tzinfo or UTC


def resolve_tz(tz: tzinfo | None) -> tzinfo:
    """``tz`` itself, or the local time zone when it is None."""
    return tz if tz is not None else local_timezone()


def now_in(tz: tzinfo | None = None, now: datetime | None = None) -> datetime:
    """The current moment (or ``now``) as an aware datetime in ``tz``.

    A naive ``now`` is read as wall-clock time in ``tz``.
    """
    zone = resolve_tz(tz)
    if now is None:
        return datetime.now(zone)
    if now.tzinfo is None:
        return _localize(now, zone)
    return now.astimezone(zone)


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    """Attach ``tz`` to a wall-clock time; a time skipped by DST moves forward."""
    aware = naive.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz)


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def parse_iso(iso: str, *, tz: tzinfo | None = None) -> date | datetime:
    """Read a stored due value: a ``date`` for "YYYY-MM-DD", else an aware ``datetime``.

    Naive date-times are read in ``tz``. Raises ``ValueError`` for anything else.
    """
    text = iso.strip()
    if _ISO_DATE.match(text):
        return date.fromisoformat(text)
    dt = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    if dt.tzinfo is None:
        dt = _localize(dt, resolve_tz(tz))
    return dt


# --- parsing -----------------------------------------------------------------------------


def parse_due(text: str, *, now: datetime | None = None, tz: tzinfo | None = None) -> str:
    """Turn a due date typed by a person into its stored ISO form.

    "tomorrow" -> "2026-11-25"; "next friday 5pm" -> "2026-11-27T17:00:00-05:00";
    "in 3 days", "dec 1", "2026-12-01", "2026-12-01 17:00" and ISO strings work too.
    Raises ``UsageError`` naming the input when it cannot be understood.
    """
    if not isinstance(text, str) or not text.strip():
        raise UsageError("The due date is empty.", hint=_HINT)
    zone = resolve_tz(tz)
    try:
        result = _parse_due(text, now_in(zone, now), zone)
        due_bounds(result, tz=zone)  # its day must fit the calendar too (sorting needs it)
    except (OverflowError, ValueError) as exc:
        # e.g. "in 10000 years", "9999-12-31" (its day ends in the year 10000)
        if isinstance(exc, ValueError) and "range" not in str(exc):
            raise _bad(text) from None
        raise UsageError(
            f"The date '{shown(text)}' is too far away.",
            hint="Use a date before 9999-12-31, e.g. 2030-12-31.",
        ) from None
    return result


def _parse_due(text: str, current: datetime, zone: tzinfo) -> str:
    raw = text.strip()

    if _ISO_DATE.match(raw):
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise _bad(text) from None
    if _ISO_DATETIME.match(raw):
        try:
            dt = datetime.fromisoformat(re.sub(r"\s*(Z|z)$", "+00:00", raw).replace(" ", "T", 1))
        except ValueError:
            raise _bad(text) from None
        dt = _localize(dt, zone) if dt.tzinfo is None else dt.astimezone(zone)
        return _iso(dt)

    result = _parse_common(raw, current, zone)
    if result is None:
        result = _parse_fallback(raw, current, zone)
    if result is None:
        raise _bad(text)
    return result


def _bad(text: str) -> UsageError:
    return UsageError(f"Could not understand the date '{shown(text)}'.", hint=_HINT)


def _parse_common(raw: str, now: datetime, tz: tzinfo) -> str | None:
    """The phrases handled without dateparser; None means "not one of ours"."""
    s = re.sub(r"[,\s]+", " ", raw.lower()).strip()
    s = re.sub(r"^(due|by|on)\s+", "", s)

    at: time | None = None
    for pattern in (_phrases.time_12, _phrases.time_24, _phrases.time_word):
        m = pattern.search(s)
        if m is None:
            continue
        at = _time_from_match(pattern, m, raw)
        s = (s[: m.start()] + " " + s[m.end() :]).strip()
        s = re.sub(r"\s+", " ", s)
        s = re.sub(r"\s*\bat$", "", s).strip()
        break

    today = now.date()
    if s == "this" and at is not None:  # "this evening"
        s = "today"
    if s in ("", "today", "tod"):
        if at is None:
            return today.isoformat() if s else None
        moment = _localize(datetime.combine(today, at), tz)
        if not s and moment <= now:  # a bare "5pm" that has passed means tomorrow
            moment = _localize(datetime.combine(today + timedelta(days=1), at), tz)
        return _iso(moment)
    if s == "now" and at is None:
        return _iso(now.replace(second=0, microsecond=0))
    if s == "tonight":
        return _iso(_localize(datetime.combine(today, at or TONIGHT), tz))

    day = _parse_day(s, now)
    if isinstance(day, datetime):  # "in 3 hours": a moment, a separate time makes no sense
        return None if at is not None else _iso(day)
    if day is None:
        return None
    if at is None:
        return day.isoformat()
    return _iso(_localize(datetime.combine(day, at), tz))


def _time_from_match(pattern: re.Pattern[str], m: re.Match[str], raw: str) -> time:
    if pattern is _phrases.time_word:
        return _TIME_WORDS[m.group(1)]
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if pattern is _phrases.time_12:
        if not 1 <= hour <= 12 or minute > 59:
            raise _bad(raw)
        hour = hour % 12 + (12 if m.group(3) == "p" else 0)
    elif hour > 23 or minute > 59:
        raise _bad(raw)
    return time(hour, minute)


def _parse_day(s: str, now: datetime) -> date | datetime | None:
    today = now.date()
    if s in ("tomorrow", "tmr", "tmrw", "tomorow"):
        return today + timedelta(days=1)
    if s == "yesterday":
        return today - timedelta(days=1)
    if s in ("day after tomorrow", "the day after tomorrow", "overmorrow"):
        return today + timedelta(days=2)
    if s in ("end of week", "end of the week", "eow", "this week", "end of this week"):
        return today + timedelta(days=6 - today.weekday())
    if s in ("weekend", "this weekend", "the weekend"):
        return today + timedelta(days=max(0, 5 - today.weekday()))
    if s in ("next week", "start of next week"):
        return today + timedelta(days=7 - today.weekday())
    if s in ("end of month", "end of the month", "eom", "this month"):
        return _add_months(today.replace(day=1), 1) - timedelta(days=1)
    if s in ("next month", "start of next month"):
        return _add_months(today.replace(day=1), 1)
    if s in ("end of year", "end of the year", "eoy"):
        return date(today.year, 12, 31)
    if _ISO_DATE.match(s):
        try:
            return date.fromisoformat(s)
        except ValueError:
            return None

    m = _phrases.weekday.match(s)
    if m:
        target = _WEEKDAYS[m.group(2)]
        ahead = (target - today.weekday()) % 7
        if ahead == 0 and m.group(1) != "this":
            ahead = 7
        return today + timedelta(days=ahead)

    s2 = re.sub(r"^in (a|an) ", "in 1 ", s)
    m = _phrases.relative.match(s2)
    if m:
        amount = _NUMBERS.get(m.group(1))
        n = amount if amount is not None else int(m.group(1))
        unit = _UNITS[m.group(2)]
        if unit in ("minutes", "hours"):  # elapsed time, so DST changes count
            later = now.astimezone(UTC) + timedelta(**{unit: n})
            return later.astimezone(now.tzinfo).replace(second=0, microsecond=0)
        if unit == "days":
            return today + timedelta(days=n)
        if unit == "weeks":
            return today + timedelta(weeks=n)
        if unit == "months":
            return _add_months(today, n)
        return _add_months(today, 12 * n)

    m = _phrases.month_day.match(s)
    if m:
        return _month_day(_MONTHS[m.group(1)], int(m.group(2)), m.group(3), today)
    m = _phrases.day_month.match(s)
    if m:
        return _month_day(_MONTHS[m.group(2)], int(m.group(1)), m.group(3), today)
    return None


def _month_day(month: int, day: int, year: str | None, today: date) -> date | None:
    try:
        if year:
            return date(int(year), month, day)
        candidate = date(today.year, month, day)
        if candidate < today:
            candidate = date(today.year + 1, month, day)
        return candidate
    except ValueError:
        return None


def _add_months(d: date, months: int) -> date:
    index = d.month - 1 + months
    year, month = d.year + index // 12, index % 12 + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, min(d.day, day))
        except ValueError:
            if not MINYEAR <= year <= MAXYEAR:
                raise OverflowError(f"year {year} is out of range") from None
            continue
    raise ValueError(f"no day {d.day} in {year}-{month:02d}")


def _parse_fallback(raw: str, now: datetime, tz: tzinfo) -> str | None:
    """Anything else goes to dateparser (imported here: it is slow to import)."""
    import dateparser

    settings: dict[str, object] = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "RETURN_AS_TIMEZONE_AWARE": True,
    }
    name = getattr(tz, "key", None)
    if name:
        settings["TIMEZONE"] = name
    else:
        offset = now.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        settings["TIMEZONE"] = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    try:
        result = dateparser.parse(raw, languages=["en"], settings=settings)
    except Exception:  # noqa: BLE001 - dateparser raises assorted errors on odd input
        return None
    if result is None:
        return None
    result = _localize(result, tz) if result.tzinfo is None else result.astimezone(tz)
    if _phrases.time_hint.search(raw.lower()):
        return _iso(result.replace(microsecond=0))
    return result.date().isoformat()


# --- display -----------------------------------------------------------------------------


def _local(value: date | datetime, tz: tzinfo) -> date | datetime:
    return value.astimezone(tz) if isinstance(value, datetime) else value


def short_date(iso: str, *, tz: tzinfo | None = None, now: datetime | None = None) -> str:
    """Compact display: "Fri 28 Nov" or "Fri 28 Nov 17:00" (year added when not this year)."""
    zone = resolve_tz(tz)
    value = _local(parse_iso(iso, tz=zone), zone)
    year = now_in(zone, now).year
    day = value.date() if isinstance(value, datetime) else value
    text = f"{day:%a} {day.day} {day:%b}"
    if day.year != year:
        text += f" {day.year}"
    if isinstance(value, datetime):
        text += f" {value:%H:%M}"
    return text


def humanize_due(iso: str, *, now: datetime | None = None, tz: tzinfo | None = None) -> str:
    """Relative display: "today", "tomorrow", "in 3 days", "yesterday", "3 days ago",
    "today 17:00", else the short date ("Fri 28 Nov", "Fri 28 Nov 17:00")."""
    zone = resolve_tz(tz)
    current = now_in(zone, now)
    value = _local(parse_iso(iso, tz=zone), zone)
    day = value.date() if isinstance(value, datetime) else value
    delta = (day - current.date()).days
    if isinstance(value, datetime):
        words = {0: "today", 1: "tomorrow", -1: "yesterday"}.get(delta)
        if words:
            return f"{words} {value:%H:%M}"
        return short_date(iso, tz=zone, now=current)
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    if 1 < delta < 7:
        return f"in {delta} days"
    if -7 < delta < -1:
        return f"{-delta} days ago"
    return short_date(iso, tz=zone, now=current)


def is_overdue(iso: str, *, now: datetime | None = None, tz: tzinfo | None = None) -> bool:
    """A date-only due is overdue from the next day on; a date-time once it has passed."""
    zone = resolve_tz(tz)
    current = now_in(zone, now)
    value = parse_iso(iso, tz=zone)
    if isinstance(value, datetime):
        return value < current
    return value < current.date()


def due_bounds(iso: str, *, tz: tzinfo | None = None) -> tuple[int, int]:
    """The span a due value covers, as UNIX seconds ``(start, end)`` (end exclusive).

    A date covers its whole local day; a date-time is a single instant (``end = start``).
    """
    zone = resolve_tz(tz)
    value = parse_iso(iso, tz=zone)
    if isinstance(value, datetime):
        ts = int(value.timestamp())
        return ts, ts
    start = _localize(datetime.combine(value, time()), zone)
    end = _localize(datetime.combine(value + timedelta(days=1), time()), zone)
    return int(start.timestamp()), int(end.timestamp())
