"""Repeating tasks, hide-until dates, subtasks and dependencies, in the store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import run_sql
from sqlite_utils import Database

from todo_cli.errors import NotFoundError, UsageError
from todo_cli.store import OpenSubtasksError, TaskQuery, TaskStore, build_migrations

NY = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, *args: int, tz: ZoneInfo = NY) -> None:
        self.now = datetime(*args, tzinfo=tz)  # type: ignore[misc]


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 10, 30, tzinfo=NY))  # a Tuesday


@pytest.fixture
def store(store_target: Path | str, clock: Clock):
    # An SQLite file, then a PostgreSQL database: the task model works the same on both.
    with TaskStore(store_target, tz=NY, clock=clock) as s:
        yield s


def titles(tasks) -> list[str]:
    return [t.title for t in tasks]


# --- repeat ------------------------------------------------------------------------------


def test_a_rule_without_a_due_starts_at_its_first_occurrence(store: TaskStore) -> None:
    task = store.add("Take out the trash", repeat="every monday")
    assert task.due == "2026-11-30"
    assert task.repeat == {
        "text": "every monday",
        "rule": "FREQ=WEEKLY;BYDAY=MO",
        "from": "due",
        "left": None,
    }
    assert store.add("Stand-up", repeat="every weekday at 9am").due == (
        "2026-11-25T09:00:00-05:00"  # 09:00 today has passed
    )


def test_completing_moves_the_due_and_records_the_completion(
    store: TaskStore, clock: Clock
) -> None:
    task = store.add("Trash", repeat="every monday")
    clock.set(2026, 11, 30, 8, 0)
    with store.group("done"):
        (done,) = store.complete([task.id])
    assert (done.status, done.due, done.done_count) == ("pending", "2026-12-07", 1)
    assert store.completions(task.id) == [{"at": "2026-11-30T08:00:00-05:00", "due": "2026-11-30"}]
    # undo puts the due and the record back
    store.undo()
    again = store.get(task.id)
    assert (again.due, again.done_count, store.completions(task.id)) == ("2026-11-30", 0, [])
    assert again == task


def test_missed_occurrences_do_not_pile_up(store: TaskStore, clock: Clock) -> None:
    task = store.add("Water plants", due="2026-11-01", repeat="every day")
    (done,) = store.complete([task.id])  # three weeks late
    assert done.due == "2026-11-25"  # the first occurrence after today
    weekly = store.add("Review", due="2026-11-02", repeat="every 2 weeks")  # Mondays
    (done,) = store.complete([weekly.id])
    assert done.due == "2026-11-30"  # keeps its fortnightly rhythm: 2, 16, 30 November


def test_every_bang_counts_from_the_completion(store: TaskStore, clock: Clock) -> None:
    task = store.add("Haircut", due="2026-11-10", repeat="every! 3 weeks")
    assert task.repeat and task.repeat["from"] == "done"
    clock.set(2026, 11, 24, 18, 0)  # two weeks late
    (done,) = store.complete([task.id])
    assert done.due == "2026-12-15"  # three weeks after the completion, not after the due
    after = store.add("Clean filter", repeat="after 3 days")
    assert after.due == "2026-11-24"
    (done,) = store.complete([after.id])
    assert done.due == "2026-11-27"


def test_completing_a_rule_with_no_due_starts_it_from_the_rule(store: TaskStore) -> None:
    task = store.add("Stretch", repeat="every day")
    store.update(task.id, due=None)
    assert store.get(task.id).due is None
    (done,) = store.complete([task.id])
    assert (done.due, done.done_count) == ("2026-11-25", 1)


@pytest.mark.parametrize(
    ("rule", "due", "expected"),
    [
        # month ends: the 31st falls on the last day of shorter months
        ("every month on the 31st", "2027-01-31", ["2027-02-28", "2027-03-31", "2027-04-30"]),
        ("every month", "2028-01-31", ["2028-02-29", "2028-03-31", "2028-04-30"]),
        # leap years: 29 February falls on the 28th in other years
        ("every year", "2028-02-29", ["2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29"]),
        ("every last friday", "2026-11-27", ["2026-12-25", "2027-01-29", "2027-02-26"]),
        ("every mon, thu", "2026-11-30", ["2026-12-03", "2026-12-07", "2026-12-10"]),
        ("every month on the 15th", "2026-12-15", ["2027-01-15", "2027-02-15"]),
    ],
)
def test_rule_steps(store: TaskStore, clock: Clock, rule: str, due: str, expected) -> None:
    task = store.add("x", due=due, repeat=rule)
    seen = []
    for _ in expected:
        clock.now = datetime.fromisoformat(store.get(task.id).due).replace(tzinfo=NY)
        (task,) = store.complete([task.id])
        seen.append(task.due)
    assert seen == expected


def test_dst_change_keeps_the_wall_clock_time(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 3, 27, 10, 0, tzinfo=PARIS))  # Friday before the change
    with TaskStore(tmp_path / "t.db", tz=PARIS, clock=clock) as store:
        task = store.add("Pills", repeat="every day at 9am")
        assert task.due == "2026-03-28T09:00:00+01:00"
        clock.now = datetime(2026, 3, 28, 9, 5, tzinfo=PARIS)
        (task,) = store.complete([task.id])
        assert task.due == "2026-03-29T09:00:00+02:00"  # summer time from the 29th
        clock.now = datetime(2026, 3, 29, 9, 5, tzinfo=PARIS)
        (task,) = store.complete([task.id])
        assert task.due == "2026-03-30T09:00:00+02:00"


def test_until_and_count_end_the_rule(store: TaskStore, clock: Clock) -> None:
    task = store.add("Course", due="2026-11-25", repeat="every day for 2 times")
    (task,) = store.complete([task.id])
    assert (task.status, task.due, task.repeat["left"]) == ("pending", "2026-11-26", 1)
    clock.set(2026, 11, 26, 9, 0)
    (task,) = store.complete([task.id])
    assert (task.status, task.done_count, task.repeat["left"]) == ("done", 2, 0)
    until = store.add("Advent", due="2026-12-24", repeat="every day until dec 24")
    (until,) = store.complete([until.id])
    assert until.status == "done"


def test_skip_moves_on_without_a_record(store: TaskStore) -> None:
    task = store.add("Gym", repeat="every mon, thu")
    with store.group("skip"):
        (skipped,) = store.skip([task.id])
    assert (skipped.due, skipped.done_count) == ("2026-11-30", 0)
    store.undo()
    assert store.get(task.id).due == "2026-11-26"
    plain = store.add("Once")
    with pytest.raises(UsageError, match="does not repeat"):
        store.skip([plain.id])


def test_repeat_none_stops_and_bad_rule_names_itself(store: TaskStore) -> None:
    task = store.add("Trash", repeat="every monday")
    stopped = store.update(task.id, repeat="none")
    assert stopped.repeat is None and stopped.due == "2026-11-30"
    (done,) = store.complete([task.id])
    assert done.status == "done"
    with pytest.raises(UsageError, match="'every blue moon'"):
        store.add("x", repeat="every blue moon")


def test_wait_moves_with_the_due(store: TaskStore, clock: Clock) -> None:
    task = store.add("Rent", due="2026-12-01", wait="2026-11-28", repeat="every month")
    clock.set(2026, 12, 1, 9, 0)
    (task,) = store.complete([task.id])
    assert (task.due, task.wait) == ("2027-01-01", "2026-12-29")


def test_repeating_queries_and_done_records(store: TaskStore) -> None:
    store.add("plain")
    rep = store.add("rep", repeat="every day")
    store.complete([rep.id])
    assert titles(store.query(TaskQuery(repeating=True))) == ["rep"]
    records = store.done_records()
    assert [(t.id, r["due"]) for t, r in records] == [(rep.id, "2026-11-24")]


# --- wait --------------------------------------------------------------------------------


def test_wait_hides_until_its_day(store: TaskStore, clock: Clock) -> None:
    store.add("visible")
    hidden = store.add("later", wait="friday")
    assert hidden.wait == "2026-11-27"
    assert titles(store.query()) == ["visible"]
    assert titles(store.query(TaskQuery(waiting=True))) == ["later"]
    assert sorted(titles(store.query(TaskQuery(status=None)))) == ["later", "visible"]
    assert store.stats()["open"] == 1 and store.stats()["waiting"] == 1
    clock.set(2026, 11, 27, 0, 0)  # the wait day has come
    assert titles(store.query()) == ["visible", "later"]
    assert store.stats()["waiting"] == 0
    assert store.update(hidden.id, wait=None).wait is None


def test_timed_wait(store: TaskStore, clock: Clock) -> None:
    store.add("call", wait="today 2pm")
    assert store.query() == []
    clock.set(2026, 11, 24, 14, 0)
    assert titles(store.query()) == ["call"]


# --- subtasks ----------------------------------------------------------------------------


def test_subtasks_complete_and_delete_with_their_parent(store: TaskStore) -> None:
    trip = store.add("Plan trip")
    flights = store.add("Book flights", parent=trip.id)
    hotel = store.add("Book hotel", parent=f"#{trip.id}")
    assert store.subtasks(trip.id) == [flights, hotel]
    assert titles(store.query(TaskQuery(parent=trip.id))) == ["Book flights", "Book hotel"]
    store.complete([hotel.id])
    with pytest.raises(OpenSubtasksError) as info:
        store.complete([trip.id])
    assert "#2 Book flights" in info.value.message and "1 open subtask" in info.value.message
    assert store.get(trip.id).status == "pending"  # nothing changed
    with store.group("done with subtasks"):
        done = store.complete([trip.id], subtasks=True)
    assert [t.id for t in done] == [trip.id, flights.id]
    assert all(store.get(i).status == "done" for i in (1, 2, 3))
    store.undo()
    assert store.get(flights.id).status == "pending"
    # deleting the parent deletes the subtasks, one undo step
    with store.group("rm"):
        gone = store.delete([trip.id])
    assert [t.id for t in gone] == [trip.id, flights.id, hotel.id]
    assert store.query(TaskQuery(status=None)) == []
    store.undo()
    assert [t.id for t in store.query(TaskQuery(status=None, sort="id"))] == [1, 2, 3]
    assert store.get(hotel.id).parent == trip.id


def test_subtasks_are_one_level_deep(store: TaskStore) -> None:
    a = store.add("a")
    b = store.add("b", parent=a.id)
    with pytest.raises(UsageError, match="one level"):
        store.add("c", parent=b.id)
    with pytest.raises(UsageError, match="one level"):
        store.update(a.id, parent=store.add("d").id)
    with pytest.raises(UsageError, match="own parent"):
        store.update(b.id, parent=b.id)
    with pytest.raises(NotFoundError):
        store.add("e", parent=99)
    assert store.update(b.id, parent=None).parent is None


# --- dependencies ------------------------------------------------------------------------


def test_blocked_tasks_sort_last_and_unblock(store: TaskStore) -> None:
    buy = store.add("Buy paint", due="2026-11-30")
    paint = store.add("Paint wall", due="2026-11-25", blocked_by=[buy.id])
    store.add("Other", due="2026-11-28")
    assert paint.blocked and paint.blocked_by == [buy.id]
    assert titles(store.query()) == ["Other", "Buy paint", "Paint wall"]
    assert titles(store.query(TaskQuery(blocked=True))) == ["Paint wall"]
    assert store.stats()["blocked"] == 1
    store.complete([buy.id])
    assert not store.get(paint.id).blocked
    assert titles(store.query()) == ["Paint wall", "Other"]
    # the blocker's status change does not stop undo of the dependent's own changes
    store.update(paint.id, title="Paint the wall")
    store.undo()
    assert store.get(paint.id).title == "Paint wall"


def test_pages_cut_after_the_blocked_last_sort(store: TaskStore) -> None:
    # The page (limit/offset) is taken from the full blocked-last order, and the tasks on it
    # still carry their tags, blockers and last completion.
    first = store.add("first", due="2026-11-20", tags=["a", "b"])
    blocked = [
        store.add(f"blocked {i}", due=f"2026-11-2{i}", blocked_by=[first.id]) for i in range(3)
    ]
    store.add("later", due="2026-12-05")
    store.add("no due")
    store.add("hidden", due="2026-11-01", wait="2026-12-01", blocked_by=[first.id])
    order = ["first", "later", "no due", "blocked 0", "blocked 1", "blocked 2"]
    assert titles(store.query()) == order
    for offset in range(len(order) + 2):
        for limit in (1, 2, 4):
            page = titles(store.query(TaskQuery(limit=limit, offset=offset)))
            assert page == order[offset : offset + limit], (limit, offset)
    store.update(blocked[2].id, priority="high")
    store.update(store.query(TaskQuery(limit=1, offset=2))[0].id, priority="low")  # "no due"
    by_priority = ["no due", "first", "later", "blocked 2", "blocked 0", "blocked 1"]
    assert titles(store.query(TaskQuery(sort="priority"))) == by_priority
    for offset in range(len(by_priority) + 1):
        page = titles(store.query(TaskQuery(sort="priority", limit=2, offset=offset)))
        assert page == by_priority[offset : offset + 2], offset
    # a filter on blocked keeps the plain order
    blocked_only = titles(store.query(TaskQuery(blocked=True, limit=2, offset=1)))
    assert blocked_only == ["blocked 1", "blocked 2"]
    assert titles(store.query(TaskQuery(blocked=False, limit=5))) == order[:3]
    store.update(blocked[2].id, priority="none")
    page = store.query(TaskQuery(limit=1, offset=3))
    assert page[0].id == blocked[0].id and page[0].blocked and page[0].blocked_by == [first.id]
    assert store.query(TaskQuery(limit=1))[0].tags == ["a", "b"]
    # stats: only open (not waiting) blocked tasks count; overdue is a date before today
    # or an instant before now, due today is today's date or an instant within today
    store.add("earlier today", due="2026-11-24T08:00")
    store.add("later today", due="2026-11-24T22:00")
    store.add("today", due="2026-11-24")
    assert store.stats() == {
        "open": 9,
        "overdue": 5,  # first, blocked 0-2 (Nov 20-22), earlier today
        "due_today": 3,
        "done": 0,
        "waiting": 1,
        "blocked": 3,
    }
    store.complete([first.id])
    assert store.stats()["blocked"] == 0
    assert titles(store.query(TaskQuery(limit=1)))[0] == "blocked 0"


def test_every_page_is_a_slice_of_the_whole_list(store: TaskStore) -> None:
    # Pages are read part by part (unblocked before blocked, dated before undated where the
    # backend needs it); whatever the parts, a page is the whole list's slice.
    dues = [None, "2026-11-20", "2026-11-21", "2026-11-20T09:00", None, "2026-11-20"]
    priorities = ["none", "high", "low", "medium", "high"]
    tasks = [
        store.add(f"t{i}", due=dues[i % len(dues)], priority=priorities[i % len(priorities)])
        for i in range(13)
    ]
    store.add("hidden", wait="2026-12-01")
    for round_ in ("no dependencies", "dependencies", "blockers done"):
        if round_ == "dependencies":
            for i in (0, 2, 3, 7, 11):  # dated and undated blocked tasks
                store.update(tasks[i].id, blocked_by=[tasks[i + 1].id])
        if round_ == "blockers done":
            store.complete([tasks[3].id, tasks[4].id])
        for sort in ("due", "priority", "id", "created", "updated"):
            whole = [t.id for t in store.query(TaskQuery(sort=sort))]
            assert len(whole) == (13 if round_ != "blockers done" else 11)
            for limit in (1, 3, 5):
                for offset in range(len(whole) + 2):
                    page = store.query(TaskQuery(sort=sort, limit=limit, offset=offset))
                    assert [t.id for t in page] == whole[offset : offset + limit], (
                        round_,
                        sort,
                        limit,
                        offset,
                    )


def test_dependency_cycles_are_refused(store: TaskStore) -> None:
    a, b, c = (store.add(n) for n in "abc")
    store.update(b.id, blocked_by=[a.id])
    store.update(c.id, blocked_by=[b.id])
    with pytest.raises(UsageError) as info:
        store.update(a.id, blocked_by=[c.id])
    assert "cycle (#1 → #3 → #2 → #1" in info.value.message
    with pytest.raises(UsageError, match="itself"):
        store.update(a.id, blocked_by=[a.id])
    with pytest.raises(NotFoundError):
        store.update(a.id, blocked_by=[42])
    assert store.get(a.id).blocked_by == []
    assert store.update(c.id, blocked_by=[]).blocked_by == []


# --- journal, import, migration ----------------------------------------------------------


def test_old_journal_entries_still_undo(store: TaskStore, store_target: Path | str) -> None:
    task = store.add("old")
    # An entry written before m005 (on PostgreSQL: the shared code reads it the same way).
    ((after,),) = run_sql(store_target, "SELECT after FROM journal")
    old = {k: v for k, v in json.loads(after).items() if k in ("id", "title", "status",
           "notes", "priority", "due", "tags", "project", "created_at", "updated_at",
           "completed_at")}  # fmt: skip
    run_sql(store_target, "UPDATE journal SET after = ?", (json.dumps(old),))
    store.undo()
    with pytest.raises(NotFoundError):
        store.get(task.id)


def test_import_links_and_history(store: TaskStore) -> None:
    records = [
        {"id": 10, "title": "parent"},
        {"id": 11, "title": "child", "parent": 10, "blocked_by": [12, 99]},
        {
            "id": 12,
            "title": "rep",
            "due": "2026-12-01",
            "repeat": {"text": "every week", "rule": "FREQ=WEEKLY", "from": "due", "left": None},
            "completions": [{"at": "2026-11-17T09:00:00-05:00", "due": "2026-11-17"},
                            {"at": "2026-11-24T09:00:00-05:00", "due": "2026-11-24"}],
        },
        {"title": "typed rule", "repeat": "every sunday", "wait": "2026-12-01"},
    ]  # fmt: skip
    parent, child, rep, typed = store.import_tasks(records).added
    assert (child.parent, child.blocked_by) == (parent.id, [rep.id])
    assert rep.done_count == 2 and len(store.completions(rep.id)) == 2
    assert typed.repeat and typed.repeat["rule"] == "FREQ=WEEKLY;BYDAY=SU"
    assert typed.wait == "2026-12-01" and typed.due is None  # as the record had it


def test_upgrade_from_the_previous_schema_with_tasks(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    build_migrations().apply(db, stop_before="m007_task_model")
    for i, (title, due) in enumerate([("Pay rent", "2026-12-01"), ("Call", None)], start=1):
        db.execute(
            "INSERT INTO tasks (id, title, status, priority, due, created_at, updated_at)"
            " VALUES (?, ?, 'pending', 'none', ?, '2026-11-01T09:00:00-05:00',"
            " '2026-11-01T09:00:00-05:00')",
            (i, title, due),
        )
    db.close()
    clock = Clock(datetime(2026, 11, 24, 10, 30, tzinfo=NY))
    with TaskStore(path, tz=NY, clock=clock) as store:
        assert store.pending_migrations() == []
        rent, call = store.query(TaskQuery(sort="id"))
        assert (rent.title, rent.due, rent.repeat, rent.wait, rent.parent) == (
            "Pay rent", "2026-12-01", None, None, None
        )  # fmt: skip
        assert rent.blocked_by == [] and rent.done_count == 0 and not rent.blocked
        store.update(rent.id, repeat="every month", blocked_by=[call.id])
        (rent,) = store.complete([rent.id])
        assert rent.due == "2027-01-01" and rent.done_count == 1
        assert store.get(rent.id).blocked


def test_the_clock_fixture_is_a_tuesday(clock: Clock) -> None:
    assert clock.now.weekday() == 1 and clock.now + timedelta(0) == clock.now
