"""Repeat rules: parsed from words by code (never by a model), shown back in words, and
stepped forward when a repeating task is completed.

A rule is stored twice: the words as typed (``"every mon, thu at 9am"``) and a normalised
form, an RFC 5545 RRULE value without DTSTART (``"FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;
BYMINUTE=0"``), plus whether it counts from the due date (``every``) or from the completion
(``every!`` / ``after``). ``COUNT`` ("for 5 times") is kept in the rule, and the store counts
the occurrences left itself, since the rule's start moves with every completion.

Grammar (case and commas do not matter)::

    every [N|other] day[s]|week[s]|month[s]|year[s]   daily, weekly, monthly, yearly
    every weekday | every weekend
    every monday | every mon, thu | every other friday | every 2 weeks on mon
    every month on the 15th [and 30th] | every month on the last day | every 15th
    every last friday | every first monday | every 2nd tue  (of the month)
    every jan 15 | every march 15                        (each year)
    every! 3 days | after 3 days                         (counted from the completion)
    ... [at 9am|at 17:30|morning|evening] [until DATE | for N times]

Next due (missed occurrences never pile up):

* ``every``: the first occurrence whose day is after both today and the current due's day.
* ``every!``: the completion's day plus the interval (or the first matching day after it).
* With no due yet, the rule starts today: ``every`` takes the first occurrence from today on
  (from now on when it has a time), ``every!`` starts today.

Month ends and leap days: "on the 31st" falls on the last day of shorter months and
"every year" from 29 February on the 28th in other years (``BYMONTHDAY=28,29,30,31;
BYSETPOS=-1``). Times are wall-clock times in the user's zone, so 09:00 stays 09:00 across
DST changes. ``dateutil`` (a dependency of dateparser) is imported only when stepping.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from . import dates
from .errors import UsageError

__all__ = [
    "Repeat",
    "parse_repeat",
    "describe",
    "first_due",
    "next_due",
    "occurrences",
    "check_rule",
    "STOP_WORDS",
]

STOP_WORDS = ("none", "never", "no", "off", "stop", "")

_HINT = (
    'Try "every day", "every weekday", "every monday", "every mon, thu", "every 2 weeks", '
    '"every month on the 15th", "every last friday", "every year", "every 3 days at 9am", '
    '"every! 3 days" (from completion), with "until dec 31" or "for 5 times".'
)
_DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")  # fmt: skip
_FREQ_UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
_UNIT_FREQ = {
    "d": "DAILY", "day": "DAILY", "days": "DAILY",
    "w": "WEEKLY", "wk": "WEEKLY", "week": "WEEKLY", "weeks": "WEEKLY",
    "mo": "MONTHLY", "month": "MONTHLY", "months": "MONTHLY",
    "y": "YEARLY", "yr": "YEARLY", "year": "YEARLY", "years": "YEARLY",
}  # fmt: skip
_SHORTCUTS = {
    "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "yearly": "YEARLY",
    "annually": "YEARLY", "fortnightly": "WEEKLY;INTERVAL=2", "biweekly": "WEEKLY;INTERVAL=2",
}  # fmt: skip
_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
    "4th": 4, "fifth": 5, "5th": 5, "last": -1,
}  # fmt: skip
_NUMBER = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "other": 2}  # fmt: skip
_TIME_WORDS = {"morning": time(9), "afternoon": time(15), "evening": time(19), "night": time(20)}
_WEEKDAY_WORDS = "|".join(sorted(dates._WEEKDAYS, key=len, reverse=True))
_MONTH_WORDS = "|".join(sorted(dates._MONTHS, key=len, reverse=True))
_DAY_LIST = re.compile(rf"^(?:(?:{_WEEKDAY_WORDS})s?(?:\s*(?:,|and|&|\s)\s*|$))+$")
_MONTH_DAY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?")
_TIME_12 = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?$")
_TIME_24 = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Repeat:
    """A parsed rule: ``text`` as typed, ``rule`` the RRULE value, ``from_`` "due"/"done",
    ``count`` the "for N times" limit (None = no limit)."""

    text: str
    rule: str
    from_: str = "due"
    count: int | None = None

    def describe(self) -> str:
        return describe(self.rule, self.from_)


# --- parsing -----------------------------------------------------------------------------


def parse_repeat(text: str, *, now: datetime | None = None, tz: tzinfo | None = None) -> Repeat:
    """Parse a rule in words; an unknown rule raises ``UsageError`` naming it."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError("The repeat rule is empty.", hint=_HINT)
    raw = " ".join(text.split())
    s = raw.lower().replace(",", " , ")
    s = " ".join(s.split())
    zone = dates.resolve_tz(tz)
    current = dates.now_in(zone, now)
    parts: dict[str, str] = {}
    count: int | None = None

    m = re.search(r"\s+(?:for\s+)?(\d+|" + "|".join(_NUMBER) + r")\s+times?$", s)
    if m:
        count = _number(m.group(1))
        if count is None or count < 1:
            raise _bad(raw)
        s = s[: m.start()]
    m = re.search(r"\s+(?:until|till|til|through|to|ending)\s+(.+)$", s)
    if m:
        until = dates.parse_due(m.group(1), now=current, tz=zone)
        until_day = dates.parse_iso(until, tz=zone)
        if isinstance(until_day, datetime):
            until_day = until_day.astimezone(zone).date()
        parts["UNTIL"] = until_day.strftime("%Y%m%d")
        s = s[: m.start()]
    at = _take_time(s)
    if at is not None:
        s, when = at
        parts["BYHOUR"], parts["BYMINUTE"] = str(when.hour), str(when.minute)

    from_ = "due"
    if s.startswith("every!") or s.startswith("every !"):
        from_, s = "done", s.split("!", 1)[1].strip()
    elif s.startswith("after "):
        from_, s = "done", s[6:].strip()
    elif s.startswith("every ") or s.startswith("each "):
        s = s.split(" ", 1)[1].strip()
    elif s not in _SHORTCUTS and s not in ("weekdays", "weekends"):
        raise _bad(raw)
    body = _body(s.replace(" , ", ", ").strip(" ,"))
    if body is None:
        raise _bad(raw)
    rule = _join({**body, **parts})
    if count is not None:
        rule += f";COUNT={count}"
    return Repeat(text=raw, rule=rule, from_=from_, count=count)


def _bad(text: str) -> UsageError:
    return UsageError(f"Could not understand the repeat rule '{text}'.", hint=_HINT)


def _number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return _NUMBER.get(word)


def _take_time(s: str) -> tuple[str, time] | None:
    """A trailing "at 9am" / "at 17:30" / "9am" / "morning" -> (rest, time)."""
    m = re.search(r"(?:^|\s)(?:at\s+)?(\d{1,2}(?::\d{2})?\s*[ap]\.?m\.?|\d{1,2}:\d{2})$", s)
    if m:
        word = m.group(1).replace(" ", "")
        t12, t24 = _TIME_12.match(word), _TIME_24.match(word)
        if t12:
            hour, minute = int(t12.group(1)), int(t12.group(2) or 0)
            if not 1 <= hour <= 12 or minute > 59:
                return None
            hour = hour % 12 + (12 if t12.group(3) == "p" else 0)
        elif t24:
            hour, minute = int(t24.group(1)), int(t24.group(2))
            if hour > 23 or minute > 59:
                return None
        else:  # pragma: no cover - the pattern only matches those two forms
            return None
        return s[: m.start()].strip(), time(hour, minute)
    m = re.search(r"(?:^|\s)(?:in the\s+|at\s+)?(morning|afternoon|evening|night)$", s)
    if m:
        return s[: m.start()].strip(), _TIME_WORDS[m.group(1)]
    return None


def _days(text: str) -> list[str] | None:
    """ "mon, thu" / "monday and thursday" -> ["MO", "TH"]; None if not a list of days."""
    if not _DAY_LIST.match(text):
        return None
    found = re.findall(rf"\b({_WEEKDAY_WORDS})s?\b", text)
    codes = sorted({dates._WEEKDAYS[w] for w in found})
    return [_DAY_CODES[i] for i in codes] if codes else None


def _month_days(text: str) -> list[int] | None:
    """ "15th" / "1st and 15th" / "the 15th" -> [15] / [1, 15]."""
    text = re.sub(r"\bthe\b", " ", text)
    words = [w for w in re.split(r"[\s,]+|\band\b|&", text) if w]
    if not words:
        return None
    out: list[int] = []
    for word in words:
        m = _MONTH_DAY.fullmatch(word)
        if not m or not 1 <= int(m.group(1)) <= 31:
            return None
        out.append(int(m.group(1)))
    return sorted(set(out))


def _monthday_parts(days: list[int]) -> dict[str, str]:
    if len(days) == 1 and days[0] > 28:  # the 31st falls on the last day of shorter months
        return {"BYMONTHDAY": ",".join(str(d) for d in range(28, days[0] + 1)), "BYSETPOS": "-1"}
    return {"BYMONTHDAY": ",".join(map(str, days))}


def _body(s: str) -> dict[str, str] | None:
    if s in _SHORTCUTS:
        freq, _, every_n = _SHORTCUTS[s].partition(";INTERVAL=")
        return {"FREQ": freq, **({"INTERVAL": every_n} if every_n else {})}
    if s in ("weekday", "weekdays", "work day", "workday", "workdays", "business day"):
        return {"FREQ": "WEEKLY", "BYDAY": "MO,TU,WE,TH,FR"}
    if s in ("weekend", "weekends", "weekend day"):
        return {"FREQ": "WEEKLY", "BYDAY": "SA,SU"}
    interval = 1
    m = re.match(r"^(\d+|" + "|".join(_NUMBER) + r")\s+(.*)$", s)
    if m and _number(m.group(1)) is not None:
        interval = _number(m.group(1)) or 0
        if interval < 1:
            return None
        s = m.group(2)
    out: dict[str, str] = {"INTERVAL": str(interval)} if interval > 1 else {}

    unit, _, rest = s.partition(" ")
    if unit in _UNIT_FREQ:
        freq = _UNIT_FREQ[unit]
        out = {"FREQ": freq, **out}
        rest = re.sub(r"^(on the|on|the)\s+", "", rest.strip())
        if not rest:
            return out
        if freq == "WEEKLY" and (days := _days(rest)):
            return {**out, "BYDAY": ",".join(days)}
        if freq == "MONTHLY":
            if rest in ("last day", "last day of the month", "end", "end of the month"):
                return {**out, "BYMONTHDAY": "-1"}
            if (mdays := _month_days(rest)) is not None:
                return {**out, **_monthday_parts(mdays)}
            nth = _nth_weekday(rest)
            if nth:
                return {**out, "BYDAY": nth}
        return None
    if s in ("last day of the month", "last day of month", "end of the month", "end of month"):
        return {"FREQ": "MONTHLY", **out, "BYMONTHDAY": "-1"}
    if days := _days(s):
        return {"FREQ": "WEEKLY", **out, "BYDAY": ",".join(days)}
    nth = _nth_weekday(re.sub(r"\s+of\s+(the\s+)?month$", "", s))
    if nth:
        return {"FREQ": "MONTHLY", **out, "BYDAY": nth}
    if interval == 1:
        ym = re.match(rf"^({_MONTH_WORDS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?$", s) or re.match(
            rf"^(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_WORDS})\.?$", s
        )
        if ym:
            a, b = ym.group(1), ym.group(2)
            month, day = (dates._MONTHS[a], int(b)) if a.isalpha() else (dates._MONTHS[b], int(a))
            try:
                date(2024, month, day)
            except ValueError:
                return None
            parts = {"BYMONTH": str(month)}
            parts.update(
                {"BYMONTHDAY": "28,29", "BYSETPOS": "-1"}
                if (month, day) == (2, 29)
                else {"BYMONTHDAY": str(day)}
            )
            return {"FREQ": "YEARLY", **parts}
        mdays = _month_days(s)
        if mdays is not None and re.search(r"\d(st|nd|rd|th)\b", s):
            return {"FREQ": "MONTHLY", **_monthday_parts(mdays)}
    return None


def _nth_weekday(s: str) -> str | None:
    m = re.fullmatch(rf"(\w+)\s+({_WEEKDAY_WORDS})", s)
    if not m or m.group(1) not in _ORDINALS:
        return None
    return f"{_ORDINALS[m.group(1)]}{_DAY_CODES[dates._WEEKDAYS[m.group(2)]]}"


_ORDER = ("FREQ", "INTERVAL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "BYHOUR", "BYMINUTE")


def _join(parts: dict[str, str]) -> str:
    keys = [k for k in _ORDER if k in parts] + [k for k in parts if k not in _ORDER]
    return ";".join(f"{k}={parts[k]}" for k in keys)


_FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_PARTS = frozenset((*_ORDER, "COUNT", "UNTIL"))


def check_rule(rule: str, *, imported: bool = False) -> str:
    """A stored rule checked the way the store uses it: only the parts and frequencies
    ``parse_repeat`` writes, a whole INTERVAL and COUNT from 1 (dateutil looks for the next
    occurrence of an INTERVAL=0 rule for ever), an UNTIL date, and days that ``dateutil``
    takes. ``imported`` (a file's rule, which no parse of words made): it must also fall at
    least once, unless its interval takes it past the year 9999. UsageError says what is
    wrong; the rule is returned as it is."""
    problem = _rule_problem(rule, imported)
    if problem is not None:
        raise UsageError(f"The repeat rule '{rule}' is not valid: {problem}.")
    return rule


@functools.lru_cache(maxsize=256)  # (a file repeats its rules; a list shows them again)
def _rule_problem(rule: str, imported: bool) -> str | None:
    p = split_rule(rule)
    unknown = sorted(set(p) - _PARTS)
    if p.get("FREQ") not in _FREQS:
        return "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"
    if unknown:
        return f"todo does not use {unknown[0]}"
    for key in ("INTERVAL", "COUNT"):
        value = p.get(key)
        if value is not None and not (value.isdigit() and int(value) > 0):
            return f"{key} must be a whole number from 1"
    until = p.get("UNTIL")
    if until is not None:
        try:
            datetime.strptime(until[:8], "%Y%m%d")
        except ValueError:
            return "UNTIL must be a date (YYYYMMDD)"
    start = datetime(2026, 1, 1)
    try:
        rr = _rrule(rule, start)
    except UsageError as exc:
        return f"a part it names is not valid ({exc.message.rsplit(': ', 1)[-1].rstrip('.')})"
    if imported and until is None and "INTERVAL" not in p and rr.after(start) is None:
        return "no day ever matches it"
    return None


def split_rule(rule: str) -> dict[str, str]:
    """ "FREQ=WEEKLY;BYDAY=MO" -> {"FREQ": "WEEKLY", "BYDAY": "MO"}."""
    out: dict[str, str] = {}
    for item in rule.split(";"):
        key, _, value = item.partition("=")
        if key.strip():
            out[key.strip().upper()] = value.strip().upper()
    return out


# --- words -------------------------------------------------------------------------------


def _ordinal(n: int) -> str:
    if n == -1:
        return "last"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def describe(rule: str, from_: str = "due") -> str:
    """The rule in words: "every Monday and Thursday at 09:00 until Thu 31 Dec 2026"."""
    p = split_rule(rule)
    freq = p.get("FREQ", "DAILY")
    n = int(p.get("INTERVAL", "1") or 1)
    unit = _FREQ_UNITS.get(freq, freq.lower())
    every = "every!" if from_ == "done" else "every"
    head = f"{every} {unit}" if n == 1 else f"{every} {n} {unit}s"
    byday = [d for d in p.get("BYDAY", "").split(",") if d]
    setpos = p.get("BYSETPOS")
    monthdays = [int(d) for d in p.get("BYMONTHDAY", "").split(",") if d]
    if monthdays and setpos == "-1":
        monthdays = [max(monthdays)]
    if freq == "WEEKLY" and byday:
        if byday == ["MO", "TU", "WE", "TH", "FR"] and n == 1:
            head = f"{every} weekday"
        elif byday == ["SA", "SU"] and n == 1:
            head = f"{every} weekend day"
        else:
            names = _and([_DAY_NAMES[_DAY_CODES.index(d)] for d in byday if d in _DAY_CODES])
            head = f"{every} {names}" if n == 1 else f"{head} on {names}"
    elif freq == "MONTHLY" and byday:
        m = re.fullmatch(r"([+-]?\d+)?(\w\w)", byday[0])
        if m and m.group(2) in _DAY_CODES:
            day = _DAY_NAMES[_DAY_CODES.index(m.group(2))]
            nth = _ordinal(int(m.group(1) or 1))
            head = f"{every} {nth} {day}" + ("" if n == 1 else f" every {n} months")
    elif freq == "MONTHLY" and monthdays:
        days = (
            "the last day" if monthdays == [-1] else "the " + _and(list(map(_ordinal, monthdays)))
        )
        head += f" on {days}"
    elif freq == "YEARLY" and p.get("BYMONTH") and monthdays:
        head = f"{every} {_MONTH_NAMES[int(p['BYMONTH']) - 1]} {monthdays[0]}"
    if "BYHOUR" in p:
        head += f" at {int(p['BYHOUR']):02d}:{int(p.get('BYMINUTE', '0') or 0):02d}"
    if from_ == "done":
        head = head.replace("every!", "every", 1) + " after completion"
    if "UNTIL" in p:
        until = datetime.strptime(p["UNTIL"][:8], "%Y%m%d").date()
        head += f" until {until:%a} {until.day} {until:%b %Y}"
    if "COUNT" in p:
        head += f", {p['COUNT']} times"
    return head


# --- stepping ----------------------------------------------------------------------------


def _rrule(rule: str, dtstart: datetime) -> Any:
    from dateutil.rrule import rrulestr

    p = split_rule(rule)
    p.pop("COUNT", None)  # the store counts occurrences itself; the start moves
    freq = p.get("FREQ")
    # Anchor rules without a day on the start's day, with month-end clamping.
    if freq == "MONTHLY" and "BYMONTHDAY" not in p and "BYDAY" not in p:
        p.update(_monthday_parts([dtstart.day]))
    if freq == "YEARLY" and not any(k in p for k in ("BYMONTH", "BYDAY", "BYMONTHDAY")):
        p["BYMONTH"] = str(dtstart.month)
        p.update(_monthday_parts([dtstart.day]))
    if "UNTIL" in p:
        p["UNTIL"] = p["UNTIL"][:8] + "T235959"
    p.setdefault("BYHOUR", str(dtstart.hour))
    p.setdefault("BYMINUTE", str(dtstart.minute))
    p["BYSECOND"] = "0"
    try:
        return rrulestr(_join(p), dtstart=dtstart)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"The stored repeat rule '{rule}' is not valid: {exc}.") from None


def pin(rule: str, from_: str, due: str | None, *, tz: tzinfo | None = None) -> str:
    """A rule that names no day ("every month", "every year") fixed to the due's day, so
    that a short month does not move it for good (31 Jan → 28 Feb → 31 Mar)."""
    if from_ == "done" or not due:
        return rule
    p = split_rule(rule)
    if any(k in p for k in ("BYDAY", "BYMONTHDAY", "BYMONTH")):
        return rule
    day = dates.parse_iso(due, tz=dates.resolve_tz(tz))
    if isinstance(day, datetime):
        day = day.astimezone(dates.resolve_tz(tz)).date()
    if p.get("FREQ") == "MONTHLY":
        p.update(_monthday_parts([day.day]))
    elif p.get("FREQ") == "YEARLY":
        p["BYMONTH"] = str(day.month)
        p.update(_monthday_parts([day.day]) if (day.month, day.day) != (2, 29) else {})
        if (day.month, day.day) == (2, 29):
            p.update({"BYMONTHDAY": "28,29", "BYSETPOS": "-1"})
    else:
        return rule
    count = p.pop("COUNT", None)
    until = p.pop("UNTIL", None)
    out = _join(p)
    if until:
        out += f";UNTIL={until}"
    if count:
        out += f";COUNT={count}"
    return out


def _wall(value: str | None, tz: tzinfo) -> tuple[datetime | None, bool]:
    """A stored due as a naive local wall-clock datetime, and whether it had a time."""
    if not value:
        return None, False
    parsed = dates.parse_iso(value, tz=tz)
    if isinstance(parsed, datetime):
        return parsed.astimezone(tz).replace(tzinfo=None), True
    return datetime.combine(parsed, time()), False


def _rule_time(rule: str) -> time | None:
    p = split_rule(rule)
    if "BYHOUR" not in p:
        return None
    return time(int(p["BYHOUR"]), int(p.get("BYMINUTE", "0") or 0))


def _store_form(moment: datetime, timed: bool, tz: tzinfo) -> str:
    if not timed:
        return moment.date().isoformat()
    return dates.now_in(tz, moment).isoformat(timespec="seconds")


def _has_day_parts(rule: str) -> bool:
    p = split_rule(rule)
    return any(k in p for k in ("BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS"))


def first_due(
    rule: str, from_: str = "due", *, now: datetime | None = None, tz: tzinfo | None = None
) -> str | None:
    """The due a new repeating task starts with: the first occurrence from today on."""
    zone = dates.resolve_tz(tz)
    current = dates.now_in(zone, now)
    at = _rule_time(rule)
    start = datetime.combine(current.date(), at or time())
    if from_ == "done" and not _has_day_parts(rule):
        moment: datetime | None = start
        if at is not None and dates.now_in(zone, start) < current:
            moment = start + timedelta(days=1)
    else:
        rr = _rrule(rule, start)
        floor = current.replace(tzinfo=None, second=0, microsecond=0) if at else start
        moment = rr.after(floor, inc=True)
    if moment is None:
        return None
    return _store_form(moment, at is not None, zone)


def next_due(
    rule: str,
    from_: str,
    due: str | None,
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> str | None:
    """The due after completing (or skipping) the occurrence ``due`` at ``now``.

    None means the rule has ended (its UNTIL date is passed).
    """
    check_rule(rule)  # (one stored before imports checked rules: an error, not a hang)
    zone = dates.resolve_tz(tz)
    current = dates.now_in(zone, now)
    today = current.date()
    anchor, timed = _wall(due, zone)
    at = _rule_time(rule)
    if at is not None:
        timed = True
    if from_ == "done":
        clock = at or (anchor.time() if anchor is not None and timed else time())
        start = datetime.combine(today, clock)
        if not _has_day_parts(rule):
            p = split_rule(rule)
            n = int(p.get("INTERVAL", "1") or 1)
            moment = _add(start, p.get("FREQ", "DAILY"), n)
            return _check_until(rule, moment, timed, zone)
        rr = _rrule(rule, start)
        moment = rr.after(datetime.combine(today, time.max))
        return None if moment is None else _store_form(moment, timed, zone)
    if anchor is None:
        anchor = datetime.combine(today, at or time())
    elif at is not None:
        anchor = datetime.combine(anchor.date(), at)
    rr = _rrule(rule, anchor)
    floor = max(anchor.date(), today)
    moment = rr.after(datetime.combine(floor, time.max))
    return None if moment is None else _store_form(moment, timed, zone)


def _add(start: datetime, freq: str, n: int) -> datetime:
    from dateutil.relativedelta import relativedelta

    unit = {"DAILY": "days", "WEEKLY": "weeks", "MONTHLY": "months", "YEARLY": "years"}[freq]
    return start + relativedelta(**{unit: n})  # type: ignore[arg-type]


def _check_until(rule: str, moment: datetime, timed: bool, tz: tzinfo) -> str | None:
    until = split_rule(rule).get("UNTIL")
    if until and moment.date() > datetime.strptime(until[:8], "%Y%m%d").date():
        return None
    return _store_form(moment, timed, tz)


def occurrences(
    rule: str, due: str, start: date, end: date, *, tz: tzinfo | None = None
) -> list[str]:
    """Stored-form dues of the task's occurrences from ``due`` on whose day falls in
    ``[start, end]`` (the agenda's projection; ``every!`` rules assume on-time completion)."""
    check_rule(rule)
    zone = dates.resolve_tz(tz)
    anchor, timed = _wall(due, zone)
    assert anchor is not None
    at = _rule_time(rule)
    if at is not None:
        timed = True
        anchor = datetime.combine(anchor.date(), at)
    out: list[str] = []
    if start <= anchor.date() <= end:
        out.append(due)
    rr = _rrule(rule, anchor)
    lo = datetime.combine(max(start, anchor.date() + timedelta(days=1)), time())
    hi = datetime.combine(end, time.max)
    for moment in rr.between(lo, hi, inc=True):
        if moment.date() > anchor.date():
            out.append(_store_form(moment, timed, zone))
    return out


# --- other tools' notations (Taskwarrior recur, todo.txt rec:) ----------------------------

_DURATION = re.compile(
    r"^(\d+)\s*(d|days?|w|wks?|weeks?|mo|mos|months?|q|qtrs?|quarters?|y|yrs?|years?)$"
)
_TW_WORDS = {
    "daily": "every day", "day": "every day", "weekdays": "every weekday",
    "weekly": "every week", "week": "every week", "biweekly": "every 2 weeks",
    "fortnight": "every 2 weeks", "monthly": "every month", "month": "every month",
    "bimonthly": "every 2 months", "quarterly": "every 3 months", "semiannual": "every 6 months",
    "annual": "every year", "yearly": "every year", "year": "every year",
    "biannual": "every 2 years", "biyearly": "every 2 years",
}  # fmt: skip


def from_duration(text: str) -> str | None:
    """A Taskwarrior ``recur`` value ("weekly", "2w", "3mo", "P1W", "weekdays") as a rule in
    words ("every 2 weeks"), or None when it is not one of ours (hours, minutes...)."""
    value = (text or "").strip().lower()
    if value in _TW_WORDS:
        return _TW_WORDS[value]
    iso = re.fullmatch(r"p(\d+)([dwmy])", value)
    if iso:
        value = iso.group(1) + {"d": "d", "w": "w", "m": "mo", "y": "y"}[iso.group(2)]
    m = _DURATION.match(value)
    if not m or int(m.group(1)) < 1:
        return None
    n, unit = int(m.group(1)), m.group(2)
    if unit.startswith("q"):
        n, unit = 3 * n, "mo"
    word = {"d": "day", "w": "week", "m": "month", "y": "year"}[unit[0]]
    return f"every {word}" if n == 1 else f"every {n} {word}s"


def to_duration(rule: str) -> str | None:
    """The rule as a Taskwarrior ``recur`` value ("weekly", "3d", "2mo", "weekdays"), the
    day-naming parts left to the due date; None when it has none (e.g. no FREQ)."""
    p = split_rule(rule)
    freq = p.get("FREQ")
    n = int(p.get("INTERVAL", "1") or 1)
    if freq == "WEEKLY" and p.get("BYDAY") == "MO,TU,WE,TH,FR" and n == 1:
        return "weekdays"
    names = {"DAILY": ("daily", "d"), "WEEKLY": ("weekly", "w"), "MONTHLY": ("monthly", "mo"),
             "YEARLY": ("yearly", "y")}  # fmt: skip
    if freq not in names:
        return None
    word, unit = names[freq]
    return word if n == 1 else f"{n}{unit}"


def exact_in_duration(rule: str) -> bool:
    """Whether ``to_duration`` (with the due date as its anchor) says all the rule says."""
    p = split_rule(rule)
    if p.get("FREQ") == "WEEKLY" and p.get("BYDAY") == "MO,TU,WE,TH,FR":
        return p.get("INTERVAL", "1") == "1" and "BYHOUR" not in p
    days = p.get("BYDAY", "")
    one_day = bool(days) and "," not in days and days.isalpha()
    monthday = p.get("BYMONTHDAY", "")
    one_monthday = bool(monthday) and ("," not in monthday or p.get("BYSETPOS") == "-1")
    if p.get("FREQ") == "WEEKLY" and days:
        return one_day and "BYHOUR" not in p
    if "BYDAY" in p:
        return False
    if p.get("BYMONTHDAY"):
        return one_monthday and "BYHOUR" not in p
    return "BYHOUR" not in p


def until_date(rule: str) -> date | None:
    """The rule's UNTIL day, if it has one."""
    until = split_rule(rule).get("UNTIL")
    return datetime.strptime(until[:8], "%Y%m%d").date() if until else None


def from_rec(value: str) -> str | None:
    """A todo.txt ``rec:`` value (topydo, SimpleTask: "1w" from completion, "+1w" from the
    due date; d, w, m, y and b for business days) as a rule in words, or None."""
    m = re.fullmatch(r"(\+?)(\d+)([dwmyb])", (value or "").strip().lower())
    if not m or int(m.group(2)) < 1:
        return None
    strict, n, unit = m.group(1) == "+", int(m.group(2)), m.group(3)
    if unit == "b":
        return "every weekday" if n == 1 and strict else None
    word = {"d": "day", "w": "week", "m": "month", "y": "year"}[unit]
    body = word if n == 1 else f"{n} {word}s"
    return f"every {body}" if strict else f"every! {body}"


def to_rec(rule: str, from_: str) -> str | None:
    """The rule as a todo.txt ``rec:`` value ("+1w", "3d", "+1b"), or None."""
    p = split_rule(rule)
    freq = p.get("FREQ")
    n = int(p.get("INTERVAL", "1") or 1)
    plus = "" if from_ == "done" else "+"
    if freq == "WEEKLY" and p.get("BYDAY") == "MO,TU,WE,TH,FR" and n == 1 and plus:
        return "+1b"
    unit = {"DAILY": "d", "WEEKLY": "w", "MONTHLY": "m", "YEARLY": "y"}.get(freq or "")
    return f"{plus}{n}{unit}" if unit else None
