"""Due-date parsing and display, with a pinned clock and explicit time zones."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from todo_cli import dates
from todo_cli.dates import humanize_due, is_overdue, parse_due, short_date
from todo_cli.errors import UsageError

NY = ZoneInfo("America/New_York")
UTC = UTC
BERLIN = ZoneInfo("Europe/Berlin")
# Tuesday 24 November 2026, 10:30 in New York.
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=NY)


def p(text: str, now: datetime = NOW, tz=NY) -> str:
    return parse_due(text, now=now, tz=tz)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", "2026-11-24"),
        ("Today", "2026-11-24"),
        ("tomorrow", "2026-11-25"),
        ("tmrw", "2026-11-25"),
        ("yesterday", "2026-11-23"),
        ("day after tomorrow", "2026-11-26"),
        ("tonight", "2026-11-24T20:00:00-05:00"),
        ("tonight 9pm", "2026-11-24T21:00:00-05:00"),
        # weekdays: the coming one, never today ("this" includes today)
        ("friday", "2026-11-27"),
        ("fri", "2026-11-27"),
        ("next friday", "2026-11-27"),
        ("on friday", "2026-11-27"),
        ("tuesday", "2026-12-01"),
        ("this tuesday", "2026-11-24"),
        ("monday", "2026-11-30"),
        ("friday 5pm", "2026-11-27T17:00:00-05:00"),
        ("friday at 5pm", "2026-11-27T17:00:00-05:00"),
        ("Friday, 5 PM", "2026-11-27T17:00:00-05:00"),
        ("next friday 5pm", "2026-11-27T17:00:00-05:00"),
        ("5pm friday", "2026-11-27T17:00:00-05:00"),
        ("friday 17:30", "2026-11-27T17:30:00-05:00"),
        ("tomorrow 9:15am", "2026-11-25T09:15:00-05:00"),
        ("tomorrow at noon", "2026-11-25T12:00:00-05:00"),
        ("tomorrow midnight", "2026-11-25T00:00:00-05:00"),
        ("12am tomorrow", "2026-11-25T00:00:00-05:00"),
        ("12pm tomorrow", "2026-11-25T12:00:00-05:00"),
        ("tomorrow morning", "2026-11-25T09:00:00-05:00"),
        ("friday afternoon", "2026-11-27T15:00:00-05:00"),
        ("this evening", "2026-11-24T19:00:00-05:00"),
        ("tomorrow in the evening", "2026-11-25T19:00:00-05:00"),
        ("evening", "2026-11-24T19:00:00-05:00"),
        # a bare time: today if still ahead, else tomorrow
        ("5pm", "2026-11-24T17:00:00-05:00"),
        ("9am", "2026-11-25T09:00:00-05:00"),
        ("today 9am", "2026-11-24T09:00:00-05:00"),
        # relative
        ("in 3 days", "2026-11-27"),
        ("in 1 day", "2026-11-25"),
        ("in a week", "2026-12-01"),
        ("in 2 weeks", "2026-12-08"),
        ("in two weeks", "2026-12-08"),
        ("3 days from now", "2026-11-27"),
        ("in 3 hours", "2026-11-24T13:30:00-05:00"),
        ("in an hour", "2026-11-24T11:30:00-05:00"),
        ("in 45 minutes", "2026-11-24T11:15:00-05:00"),
        ("in 3 months", "2027-02-24"),
        ("in 1 year", "2027-11-24"),
        ("next week", "2026-11-30"),
        ("next month", "2026-12-01"),
        ("end of week", "2026-11-29"),
        ("end of month", "2026-11-30"),
        ("this weekend", "2026-11-28"),
        ("end of year", "2026-12-31"),
        # calendar dates
        ("2026-12-01", "2026-12-01"),
        ("2026-12-01 17:00", "2026-12-01T17:00:00-05:00"),
        ("2026-12-01T17:00", "2026-12-01T17:00:00-05:00"),
        ("2026-12-01 5pm", "2026-12-01T17:00:00-05:00"),
        ("dec 1", "2026-12-01"),
        ("Dec 1st", "2026-12-01"),
        ("december 1", "2026-12-01"),
        ("1 dec", "2026-12-01"),
        ("1st of december", "2026-12-01"),
        ("dec 1 5pm", "2026-12-01T17:00:00-05:00"),
        ("dec 1 2027", "2027-12-01"),
        ("nov 24", "2026-11-24"),  # today stays this year
        ("nov 23", "2027-11-23"),  # passed: next year
        ("jan 5", "2027-01-05"),
    ],
)
def test_common_forms(text: str, expected: str) -> None:
    assert p(text) == expected


def test_common_forms_do_not_import_dateparser() -> None:
    sys.modules.pop("dateparser", None)
    for text in ("tomorrow", "next friday 5pm", "in 3 days", "dec 1", "2026-12-01 17:00"):
        p(text)
    assert "dateparser" not in sys.modules


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the 3rd of march", "2027-03-03"),
        ("12/1", "2026-12-01"),
        ("the 3rd of march at 4pm", "2027-03-03T16:00:00-05:00"),
    ],
)
def test_fallback_to_dateparser(text: str, expected: str) -> None:
    sys.modules.pop("dateparser", None)
    assert p(text) == expected
    assert "dateparser" in sys.modules


@pytest.mark.parametrize("text", ["blorp", "13pm", "25:00", "feb 30", "2026-13-45", "  "])
def test_unparseable_names_the_input(text: str) -> None:
    with pytest.raises(UsageError) as info:
        p(text)
    if text.strip():
        assert f"'{text}'" in info.value.message
    assert info.value.hint


def test_iso_with_offset_is_converted_to_the_users_zone() -> None:
    assert p("2026-12-01T22:00:00Z") == "2026-12-01T17:00:00-05:00"
    assert p("2026-12-01T17:00:00+01:00", tz=UTC) == "2026-12-01T16:00:00+00:00"
    assert p("2026-12-01T17:00:00-05:00") == "2026-12-01T17:00:00-05:00"


def test_same_text_in_different_zones() -> None:
    # 02:00 UTC on 25 Nov is still 24 Nov (21:00) in New York.
    instant = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert p("today", now=instant, tz=UTC) == "2026-11-25"
    assert p("today", now=instant, tz=NY) == "2026-11-24"
    assert p("tomorrow 9am", now=instant, tz=NY) == "2026-11-25T09:00:00-05:00"
    assert p("tomorrow 9am", now=instant, tz=UTC) == "2026-11-26T09:00:00+00:00"
    assert p("in 2 hours", now=instant, tz=BERLIN) == "2026-11-25T05:00:00+01:00"


def test_naive_now_is_read_in_the_zone() -> None:
    assert p("tomorrow 9am", now=datetime(2026, 11, 24, 23, 0)) == "2026-11-25T09:00:00-05:00"


def test_dst_crossing_uses_the_offset_of_the_target_date() -> None:
    # New York leaves DST on 1 Nov 2026 and enters it on 14 Mar 2027.
    before_fall = datetime(2026, 10, 30, 12, 0, tzinfo=NY)  # Friday, EDT (-04:00)
    assert p("monday 9am", now=before_fall) == "2026-11-02T09:00:00-05:00"
    assert p("in 3 days", now=before_fall) == "2026-11-02"
    before_spring = datetime(2027, 3, 12, 12, 0, tzinfo=NY)  # Friday, EST (-05:00)
    assert p("sunday 9am", now=before_spring) == "2027-03-14T09:00:00-04:00"
    # 02:30 does not exist on 14 Mar 2027: it moves forward an hour.
    assert p("2027-03-14 02:30", now=before_spring) == "2027-03-14T03:30:00-04:00"
    # "in 24 hours" is 24 real hours, so the wall clock shows 13:00 after the change.
    assert p("in 48 hours", now=before_spring) == "2027-03-14T13:00:00-04:00"


def test_default_zone_is_the_local_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    dates.local_timezone.cache_clear()
    try:
        assert dates.resolve_tz(None) == ZoneInfo("Asia/Tokyo")
        assert parse_due("2026-12-01 09:00") == "2026-12-01T09:00:00+09:00"
    finally:
        dates.local_timezone.cache_clear()


def test_is_overdue() -> None:
    assert is_overdue("2026-11-23", now=NOW, tz=NY)
    assert not is_overdue("2026-11-24", now=NOW, tz=NY)  # due today: not overdue yet
    assert not is_overdue("2026-11-25", now=NOW, tz=NY)
    assert is_overdue("2026-11-24T10:00:00-05:00", now=NOW, tz=NY)
    assert not is_overdue("2026-11-24T11:00:00-05:00", now=NOW, tz=NY)
    # the same instant written with another offset
    assert is_overdue("2026-11-24T15:29:00+00:00", now=NOW, tz=NY)
    # date-only depends on the zone's "today": at 02:00 UTC, New York is still on the 24th
    late = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert is_overdue("2026-11-24", now=late, tz=UTC)
    assert not is_overdue("2026-11-24", now=late, tz=NY)


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("2026-11-24", "today"),
        ("2026-11-25", "tomorrow"),
        ("2026-11-23", "yesterday"),
        ("2026-11-27", "in 3 days"),
        ("2026-11-21", "3 days ago"),
        ("2026-12-04", "Fri 4 Dec"),
        ("2027-01-08", "Fri 8 Jan 2027"),
        ("2026-11-24T17:00:00-05:00", "today 17:00"),
        ("2026-11-25T09:00:00-05:00", "tomorrow 09:00"),
        ("2026-11-27T17:00:00-05:00", "Fri 27 Nov 17:00"),
        ("2026-11-25T03:00:00+00:00", "today 22:00"),  # shown in the user's zone
    ],
)
def test_humanize_due(iso: str, expected: str) -> None:
    assert humanize_due(iso, now=NOW, tz=NY) == expected


def test_short_date() -> None:
    assert short_date("2026-11-28", tz=NY, now=NOW) == "Sat 28 Nov"
    assert short_date("2026-11-28T17:00:00-05:00", tz=NY, now=NOW) == "Sat 28 Nov 17:00"
    assert short_date("2026-11-28T22:00:00+00:00", tz=NY, now=NOW) == "Sat 28 Nov 17:00"
    assert short_date("2026-11-28", tz=UTC) in ("Sat 28 Nov", "Sat 28 Nov 2026")


def test_parse_iso_and_bounds() -> None:
    assert dates.parse_iso("2026-11-28") == date(2026, 11, 28)
    assert dates.parse_iso("2026-11-28T17:00:00-05:00") == datetime(2026, 11, 28, 17, tzinfo=NY)
    start, end = dates.due_bounds("2026-11-01", tz=NY)  # the 25-hour day DST ends
    assert end - start == 25 * 3600
    moment = dates.due_bounds("2026-11-28T17:00:00-05:00", tz=NY)
    assert moment[0] == moment[1]
