"""The agenda: overdue, today, each day of the range, repeating tasks on each of their days."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from todo_cli.agenda import agenda_json, agenda_lines, build_agenda
from todo_cli.errors import UsageError
from todo_cli.store import TaskStore

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=NY)  # Tuesday


@pytest.fixture
def store(store_target: Path | str):
    with TaskStore(store_target, tz=NY, clock=lambda: NOW) as s:  # SQLite, then PostgreSQL
        yield s


def layout(sections) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(s.label, [(t.title, t.due) for t in s.tasks]) for s in sections]


def test_overdue_today_then_days_with_repeats(store: TaskStore) -> None:
    store.add("Late", due="2026-11-20")
    store.add("Call", due="today 3pm")
    store.add("Milk", due="today")
    store.add("Later", due="2026-11-27")
    store.add("Beyond", due="2026-12-10")
    store.add("Undated")
    store.add("Hidden", due="2026-11-25", wait="2026-11-26")
    store.add("Gym", due="2026-11-24", repeat="every mon, thu")
    store.add("Pills", due="2026-11-23", repeat="every day")  # overdue since yesterday
    sections = build_agenda(store, days=5, now=NOW)
    assert layout(sections) == [
        ("Overdue", [("Late", "2026-11-20"), ("Pills", "2026-11-23")]),
        (
            "Today · Tue 24 Nov",
            [("Call", "2026-11-24T15:00:00-05:00"), ("Milk", "2026-11-24"), ("Gym", "2026-11-24")],
        ),
        ("Tomorrow · Wed 25 Nov", [("Pills", "2026-11-25")]),
        ("Thu 26 Nov", [("Gym", "2026-11-26"), ("Pills", "2026-11-26")]),
        ("Fri 27 Nov", [("Later", "2026-11-27"), ("Pills", "2026-11-27")]),
        ("Sat 28 Nov", [("Pills", "2026-11-28")]),
    ]
    data = agenda_json(sections)
    assert data[0]["day"] is None and data[1]["day"] == "2026-11-24"
    assert data[3]["tasks"][0]["repeat"]["rule"] == "FREQ=WEEKLY;BYDAY=MO,TH"
    text = agenda_lines(sections, now=NOW, tz=NY)
    assert text[0] == "Overdue"
    assert text[4] == "Today · Tue 24 Nov" and "15:00  #2 Call" in text[5]
    assert any("↻ every Monday and Thursday" in line for line in text)


def test_today_only_and_empty_days(store: TaskStore) -> None:
    assert layout(build_agenda(store, days=1, now=NOW)) == [("Today · Tue 24 Nov", [])]
    assert agenda_lines(build_agenda(store, days=1, now=NOW), now=NOW, tz=NY) == [
        "Today · Tue 24 Nov",
        "  Nothing due.",
    ]
    store.add("Monthly", due="2026-11-30", repeat="every month on the 30th")
    year = build_agenda(store, days=366, now=NOW)
    days = [s.day for s in year if s.tasks]
    assert days[:4] == [
        date(2026, 11, 30), date(2026, 12, 30), date(2027, 1, 30), date(2027, 2, 28)
    ]  # fmt: skip
    assert len(days) == 12  # 30 Nov 2026 to 30 Oct 2027
    with pytest.raises(UsageError):
        build_agenda(store, days=0, now=NOW)
