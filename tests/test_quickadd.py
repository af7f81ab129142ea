"""Quick add: inline fields read out of a title, and the words that must stay title words."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from todo_cli.quickadd import parse_quick, split_words

TZ = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)  # Tuesday


def quick(line: str, **kw):
    return parse_quick(split_words(line), now=NOW, tz=TZ, **kw)


def test_the_full_example() -> None:
    q = quick("buy milk tomorrow 5pm !high #errand @home every monday")
    assert (q.title, q.due, q.priority, q.tags, q.project, q.repeat) == (
        "buy milk",
        "2026-11-25T17:00:00+01:00",
        "high",
        ["errand"],
        "home",
        "every monday",
    )
    assert q.recognised


@pytest.mark.parametrize(
    ("line", "title", "due"),
    [
        ("pay rent by friday", "pay rent", "2026-11-27"),
        ("call mom at 5pm", "call mom", "2026-11-24T17:00:00+01:00"),
        ("see doctor dec 1", "see doctor", "2026-12-01"),
        ("renew passport 2027-01-15", "renew passport", "2027-01-15"),
        ("dentist next monday 9:30", "dentist", "2026-11-30T09:30:00+01:00"),
        # misfires that must not happen: date words inside a title stay in it
        ("Tomorrow never dies", "Tomorrow never dies", None),
        ("read Monday notes", "read Monday notes", None),
        ("do it now", "do it now", None),
        ("buy 2 eggs", "buy 2 eggs", None),
        ("email bob@example.com", "email bob@example.com", None),
        ("C++ study", "C++ study", None),
        ("Friday", "Friday", None),  # one word always stays the title
        # quotes keep words literal
        ('"Watch Friday" tomorrow', "Watch Friday", "2026-11-25"),
        ("'buy milk tomorrow'", "buy milk tomorrow", None),
    ],
)
def test_due_dates_and_misfires(line: str, title: str, due: str | None) -> None:
    q = quick(line)
    assert (q.title, q.due) == (title, due)


def test_a_trailing_date_word_is_taken_and_shown() -> None:
    # "Watch Friday" is read as due Friday: the add prints it, quotes or --raw keep it.
    assert (quick("Watch Friday").title, quick("Watch Friday").due) == ("Watch", "2026-11-27")


def test_repeat_rules_inline() -> None:
    assert quick("take pills every day at 9am for 5 times").repeat == (
        "every day at 9am for 5 times"
    )
    assert quick("trash every mon, thu").repeat == "every mon, thu"
    assert quick("haircut every! 4 weeks").repeat == "every! 4 weeks"
    assert quick("check filter after 3 days").repeat == "after 3 days"
    nope = quick("read everything every so often")
    assert (nope.title, nope.repeat) == ("read everything every so often", None)
    assert quick("every day").title == "every day"  # nothing left for a title


def test_fields_given_by_flags_are_not_looked_for() -> None:
    q = quick("call mom friday !high #x", skip=frozenset({"due", "priority"}))
    assert (q.title, q.due, q.priority, q.tags) == ("call mom friday !high", None, None, ["x"])


def test_split_words() -> None:
    assert split_words('a "b c" \'d\' e"') == [("a", False), ("b c", True), ("d", True),
                                               ("e\"", False)]  # fmt: skip
    assert split_words('x "unclosed phrase') == [("x", False), ("unclosed phrase", True)]
