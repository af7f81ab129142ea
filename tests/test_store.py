"""TaskStore: fields, validation, queries, full-text search, journal and undo, import."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import TASK_FIELDS, run_sql

from todo_cli.errors import NotFoundError, TodoError, UsageError
from todo_cli.store import PRIORITIES, ImportResult, Task, TaskQuery, TaskStore
from todo_cli.store.backend import search_words

NY = ZoneInfo("America/New_York")
# Tuesday 24 November 2026, 10:30 in New York.
START = datetime(2026, 11, 24, 10, 30, tzinfo=NY)


class Clock:
    """A settable clock for the store."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def db_path(store_target: Path | str) -> Path | str:
    """The store's database: an SQLite file, then a PostgreSQL database (the same tests run
    on both backends)."""
    return store_target


@pytest.fixture
def store(db_path: Path, clock: Clock):
    with TaskStore(db_path, tz=NY, clock=clock) as s:
        yield s


def fts_rows(target: Path | str) -> dict[int, tuple[list[str], ...]]:
    """What full-text search holds for each task: the words of its title, notes, tags and
    project (SQLite: the FTS5 row; PostgreSQL: the tsvector's words by weight)."""
    if isinstance(target, Path):
        rows = run_sql(target, "SELECT rowid, title, notes, tags, project FROM tasks_fts")
        return {row[0]: tuple(sorted(search_words(text)) for text in row[1:]) for row in rows}
    found = {}
    weights = "ADBC"  # title, notes, tags, project
    for task_id, doc in run_sql(target, "SELECT task_id, doc::text FROM task_search"):
        words: tuple[list[str], ...] = ([], [], [], [])
        for lexeme in doc.split():
            word, _, places = lexeme.partition(":")
            for place in places.split(","):
                weight = place[-1] if place[-1].isalpha() else "D"  # D is not written out
                words[weights.index(weight)].append(word.strip("'"))
        found[task_id] = tuple(sorted(w) for w in words)
    return found


def indexed(title: str, notes: str, tags: str, project: str) -> tuple[list[str], ...]:
    return tuple(sorted(search_words(text)) for text in (title, notes, tags, project))


def ids(tasks: list[Task]) -> list[int]:
    return [t.id for t in tasks]


# --- add / get / fields ------------------------------------------------------------------


def test_add_stores_every_field(store: TaskStore) -> None:
    task = store.add(
        "  Buy milk ",
        notes="2 litres",
        priority="high",
        due="tomorrow",
        tags=["home", "#errand"],
        project="House",
    )
    assert task.id == 1
    assert task.title == "Buy milk"
    assert task.notes == "2 litres"
    assert task.status == "pending"
    assert task.priority == "high"
    assert task.due == "2026-11-25"
    assert task.tags == ["home", "errand"]
    assert task.project == "House"
    assert task.created_at == task.updated_at == "2026-11-24T10:30:00-05:00"
    assert task.completed_at is None
    assert store.get(task.id) == task


def test_to_dict_has_exactly_the_documented_keys(store: TaskStore) -> None:
    task = store.add("x", due="friday 5pm")
    assert list(task.to_dict()) == TASK_FIELDS
    assert task.to_dict()["due"] == "2026-11-27T17:00:00-05:00"
    assert Task.from_dict(task.to_dict()) == task


def test_defaults(store: TaskStore) -> None:
    task = store.add("Plain")
    assert (task.notes, task.priority, task.due, task.tags, task.project) == (
        None,
        "none",
        None,
        [],
        None,
    )


@pytest.mark.parametrize("title", ["", "   ", "\n", None])
def test_empty_title_is_refused(store: TaskStore, title) -> None:
    with pytest.raises(UsageError):
        store.add(title)
    assert store.count(TaskQuery(status=None)) == 0


def test_bad_priority_names_the_valid_values(store: TaskStore) -> None:
    with pytest.raises(UsageError) as info:
        store.add("x", priority="urgent")
    assert "urgent" in info.value.message
    for name in PRIORITIES:
        assert name in info.value.hint


def test_priority_aliases(store: TaskStore) -> None:
    assert store.add("x", priority="H").priority == "high"
    assert store.add("x", priority="med").priority == "medium"
    assert store.add("x", priority=None).priority == "none"


def test_bad_due_names_the_input(store: TaskStore) -> None:
    with pytest.raises(UsageError) as info:
        store.add("x", due="blorp")
    assert "'blorp'" in info.value.message
    assert store.count(TaskQuery(status=None)) == 0


def test_tags_are_cleaned(store: TaskStore) -> None:
    task = store.add("x", tags=["b", "#a", " B ", "", "c"])
    assert task.tags == ["b", "a", "c"]
    assert store.add("y", tags="work, home").tags == ["work", "home"]


def test_unknown_id(store: TaskStore) -> None:
    with pytest.raises(NotFoundError) as info:
        store.get(42)
    assert info.value.message == "No task #42"
    assert info.value.hint


def test_get_many_is_all_or_nothing(store: TaskStore) -> None:
    a, b = store.add("a"), store.add("b")
    assert ids(store.get_many([b.id, a.id, b.id])) == [b.id, a.id]
    with pytest.raises(NotFoundError) as info:
        store.get_many([a.id, 98, 99])
    assert "#98" in info.value.message and "#99" in info.value.message


def test_ids_may_be_strings_with_hash(store: TaskStore) -> None:
    task = store.add("a")
    assert store.get("#1") == task  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        store.get("abc")  # type: ignore[arg-type]


# --- update / complete / reopen / delete -------------------------------------------------


def test_update_fields(store: TaskStore, clock: Clock) -> None:
    task = store.add("Call mom", tags=["family"], due="friday")
    clock.advance(minutes=5)
    updated = store.update(
        task.id,
        title="Call mum",
        notes="about Christmas",
        priority="low",
        due="2026-12-01 17:00",
        add_tags=["phone", "family"],
        project="Personal",
    )
    assert updated.title == "Call mum"
    assert updated.notes == "about Christmas"
    assert updated.priority == "low"
    assert updated.due == "2026-12-01T17:00:00-05:00"
    assert updated.tags == ["family", "phone"]
    assert updated.project == "Personal"
    assert updated.created_at == task.created_at
    assert updated.updated_at == "2026-11-24T10:35:00-05:00"
    again = store.update(task.id, remove_tags=["FAMILY"], due="", notes=None, project="")
    assert again.tags == ["phone"]
    assert (again.due, again.notes, again.project) == (None, None, None)
    assert store.update(task.id, tags=["x", "y"]).tags == ["x", "y"]
    assert store.update(task.id, tags=[]).tags == []


def test_update_errors(store: TaskStore) -> None:
    task = store.add("x")
    with pytest.raises(UsageError) as info:
        store.update(task.id, colour="red")
    assert "colour" in info.value.message and "title" in info.value.hint
    with pytest.raises(UsageError):
        store.update(task.id, title=" ")
    with pytest.raises(UsageError):
        store.update(task.id, priority="urgent")
    with pytest.raises(UsageError) as info:
        store.update(task.id, due="someday-ish")
    assert "someday-ish" in info.value.message
    with pytest.raises(UsageError):
        store.update(task.id, status="archived")
    with pytest.raises(NotFoundError):
        store.update(77, title="y")
    assert store.get(task.id) == task


def test_update_without_changes_records_nothing(store: TaskStore, clock: Clock) -> None:
    task = store.add("x", priority="low")
    clock.advance(minutes=1)
    assert store.update(task.id, priority="low", title="x") == task
    store.undo()  # undoes the add, not a no-op edit
    assert store.count(TaskQuery(status=None)) == 0


def test_complete_and_reopen(store: TaskStore, clock: Clock) -> None:
    a, b = store.add("a"), store.add("b")
    clock.advance(hours=1)
    done = store.complete([a.id, b.id])
    assert [t.status for t in done] == ["done", "done"]
    assert done[0].completed_at == done[0].updated_at == "2026-11-24T11:30:00-05:00"
    clock.advance(hours=1)
    assert store.complete([a.id])[0] == done[0]  # already done: unchanged
    reopened = store.reopen([a.id])[0]
    assert reopened.status == "pending" and reopened.completed_at is None
    assert store.update(b.id, status="pending").status == "pending"
    assert store.update(b.id, status="done").completed_at == "2026-11-24T12:30:00-05:00"


def test_complete_with_an_unknown_id_changes_nothing(store: TaskStore) -> None:
    a = store.add("a")
    with pytest.raises(NotFoundError):
        store.complete([a.id, 5])
    assert store.get(a.id).status == "pending"


def test_delete_returns_the_tasks(store: TaskStore) -> None:
    a, b, c = store.add("a"), store.add("b"), store.add("c")
    assert store.delete([c.id, a.id]) == [c, a]
    assert ids(store.query(TaskQuery(status=None))) == [b.id]
    with pytest.raises(NotFoundError):
        store.delete([b.id, a.id])
    assert store.get(b.id) == b


# --- full-text search --------------------------------------------------------------------


def test_search_fields_and_prefixes(store: TaskStore) -> None:
    milk = store.add("Buy milk", tags=["errand"], project="House")
    call = store.add("Call the bank", notes="about the mortgage")
    cafe = store.add("Café with Ana")
    assert ids(store.search("milk")) == [milk.id]
    assert ids(store.search("mil")) == [milk.id]  # prefix
    assert ids(store.search("ERRAND")) == [milk.id]  # tag
    assert ids(store.search("house")) == [milk.id]  # project
    assert ids(store.search("mortgage")) == [call.id]  # notes
    assert ids(store.search("cafe")) == [cafe.id]  # diacritics folded
    assert ids(store.search("buy house")) == [milk.id]  # every word must match
    assert store.search("buy bank") == []
    assert ids(store.query(TaskQuery(text="bank"))) == [call.id]


def test_search_survives_fts_syntax(store: TaskStore) -> None:
    store.add('Fix "quotes" AND (parens)*')
    for text in ['"unbalanced', "AND OR NOT", "(parens", "*", "col:umn", "", "-x"]:
        store.search(text)  # no sqlite error
    assert len(store.search('"quotes')) == 1
    assert store.search("   ") == []


def test_search_ranks_title_matches_first(store: TaskStore) -> None:
    noted = store.add("Weekly review", notes="remember the report")
    titled = store.add("Write report")
    assert ids(store.search("report")) == [titled.id, noted.id]


def test_search_status_and_limit(store: TaskStore) -> None:
    a, b = store.add("report one"), store.add("report two")
    store.complete([a.id])
    assert ids(store.search("report", status="pending")) == [b.id]
    assert ids(store.search("report", status="done")) == [a.id]
    assert len(store.search("report")) == 2
    assert len(store.search("report", limit=1)) == 1


def test_fts_follows_every_change(store: TaskStore, db_path: Path) -> None:
    task = store.add("Buy milk", tags=["errand"], project="House", notes="oat")
    assert fts_rows(db_path) == {task.id: indexed("Buy milk", "oat", "errand", "House")}
    store.update(task.id, title="Buy bread", tags=["bakery"], project=None, notes="")
    assert fts_rows(db_path) == {task.id: indexed("Buy bread", "", "bakery", "")}
    assert store.search("milk") == [] and store.search("errand") == []
    assert ids(store.search("bakery")) == [task.id]
    store.delete([task.id])
    assert fts_rows(db_path) == {}
    store.undo()  # brings the task back, and its search entry
    assert fts_rows(db_path) == {task.id: indexed("Buy bread", "", "bakery", "")}
    store.undo()  # back to the first version
    assert ids(store.search("milk")) == [task.id]
    assert store.search("bread") == []
    store.undo()  # the add is gone
    assert fts_rows(db_path) == {}
    store.import_tasks([{"title": "Imported thing", "tags": ["imp"]}])
    assert ids(store.search("imp")) == ids(store.query())


# --- journal and undo --------------------------------------------------------------------


def test_nothing_to_undo(store: TaskStore) -> None:
    with pytest.raises(NotFoundError) as info:
        store.undo()
    assert info.value.message == "Nothing to undo."


def test_multi_level_undo_walks_back(store: TaskStore, clock: Clock) -> None:
    task = store.add("Write report", tags=["work"], due="friday")
    original = store.get(task.id)
    clock.advance(minutes=1)
    store.update(task.id, title="Write the report", add_tags=["q4"])
    edited = store.get(task.id)
    clock.advance(minutes=1)
    store.complete([task.id])
    done = store.get(task.id)
    clock.advance(minutes=1)
    store.delete([task.id])

    result = store.undo()
    assert result.label == f"delete #{task.id}"
    assert [(c.before, c.after) for c in result.changes] == [(None, done)]
    assert store.get(task.id) == done  # same id, tags and timestamps

    result = store.undo()
    assert [(c.before, c.after) for c in result.changes] == [(done, edited)]
    assert store.get(task.id) == edited

    store.undo()
    assert store.get(task.id) == original

    result = store.undo()
    assert result.label == "add 'Write report'"
    assert [(c.before, c.after) for c in result.changes] == [(original, None)]
    with pytest.raises(NotFoundError):
        store.get(task.id)
    with pytest.raises(NotFoundError, match="Nothing to undo"):
        store.undo()


def test_undo_restores_deleted_tasks_with_ids_tags_and_timestamps(store: TaskStore) -> None:
    tasks = [store.add(f"t{i}", tags=[f"tag{i}", "common"], project="P") for i in range(3)]
    tasks[1] = store.complete([tasks[1].id])[0]
    store.delete([t.id for t in tasks])
    assert store.count(TaskQuery(status=None)) == 0
    result = store.undo()
    assert {c.after.id for c in result.changes if c.after} == {t.id for t in tasks}
    assert store.query(TaskQuery(status=None, sort="id")) == tasks
    assert ids(store.query(TaskQuery(status=None, tag="common", sort="id"))) == ids(tasks)
    # a new task never reuses an id, even one that was deleted and restored
    assert store.add("new").id == tasks[-1].id + 1


def test_group_makes_one_undo_step(store: TaskStore) -> None:
    keep = store.add("keep")
    with store.group("agent turn") as gid:
        a = store.add("a")
        with store.group("inner") as inner:  # nested: joins the outer group
            assert inner == gid
            store.update(keep.id, title="kept")
        store.complete([a.id])
        store.delete([keep.id])
    result = store.undo()
    assert result.group_id == gid
    assert result.label == "agent turn"
    assert store.query(TaskQuery(status=None)) == [keep]
    assert len(result.changes) == 2  # one per task, collapsed


def test_mutations_outside_a_group_are_separate_steps(store: TaskStore) -> None:
    store.add("a")
    store.add("b")
    store.undo()
    assert [t.title for t in store.query()] == ["a"]


def test_undo_of_an_undo_is_skipped(store: TaskStore, db_path: Path) -> None:
    a = store.add("a")
    store.add("b")
    store.undo()  # removes b
    store.undo()  # removes a: the undo step itself is not undone (no redo)
    assert store.count(TaskQuery(status=None)) == 0
    with pytest.raises(NotFoundError):
        store.undo()
    rows = run_sql(
        db_path,
        "SELECT label, undo_of IS NOT NULL, undone_by IS NOT NULL FROM journal_groups ORDER BY seq",
    )
    assert rows == [
        ("add 'a'", 0, 1),
        ("add 'b'", 0, 1),
        ("undo add 'b'", 1, 0),
        ("undo add 'a'", 1, 0),
    ]
    # new work after undo is undoable as usual
    c = store.add("c")
    store.undo()
    with pytest.raises(NotFoundError):
        store.get(c.id)
    assert a.id != c.id


def test_undo_refuses_when_a_task_changed_outside_the_journal(
    store: TaskStore, db_path: Path
) -> None:
    task = store.add("a")
    store.update(task.id, title="b")
    run_sql(db_path, "UPDATE tasks SET title = 'changed by hand' WHERE id = ?", (task.id,))
    with pytest.raises(TodoError) as info:
        store.undo()
    assert f"#{task.id}" in info.value.message
    assert store.get(task.id).title == "changed by hand"  # nothing touched
    with pytest.raises(TodoError):  # still refused, still nothing touched
        store.undo()


def test_undo_inside_an_open_group(store: TaskStore) -> None:
    before = store.add("before")
    with store.group("turn"):
        store.add("x")
        result = store.undo()  # reverts the open group so far
        assert result.label == "turn"
        y = store.add("y")  # continues as a new step
    store.undo()
    with pytest.raises(NotFoundError):
        store.get(y.id)
    assert store.query() == [before]


def test_failed_mutation_leaves_no_journal(store: TaskStore, db_path: Path) -> None:
    with pytest.raises(NotFoundError):
        store.delete([1])
    with pytest.raises(UsageError):
        store.add("")
    assert run_sql(db_path, "SELECT count(*) FROM journal_groups") == [(0,)]


# --- queries -----------------------------------------------------------------------------


@pytest.fixture
def sample(store: TaskStore, clock: Clock) -> dict[str, Task]:
    """Tasks around 'now' (Tue 24 Nov 2026 10:30 New York)."""
    tasks = {}
    tasks["overdue_date"] = store.add("overdue date", due="2026-11-20", priority="low")
    clock.advance(seconds=1)
    tasks["overdue_time"] = store.add("overdue time", due="2026-11-24 09:00", tags=["Work"])
    clock.advance(seconds=1)
    tasks["today_date"] = store.add("today date", due="today", priority="high")
    clock.advance(seconds=1)
    tasks["today_time"] = store.add("today later", due="today 17:00", project="Home")
    clock.advance(seconds=1)
    tasks["tomorrow"] = store.add("tomorrow", due="tomorrow", tags=["work", "x"])
    clock.advance(seconds=1)
    tasks["friday"] = store.add("friday", due="friday 9am", priority="medium", project="home")
    clock.advance(seconds=1)
    tasks["nodue"] = store.add("no due", priority="high")
    clock.advance(seconds=1)
    done = store.add("finished", due="2026-11-01")
    tasks["done"] = store.complete([done.id])[0]
    return tasks


def names(tasks: list[Task], sample: dict[str, Task]) -> list[str]:
    by_id = {t.id: k for k, t in sample.items()}
    return [by_id[t.id] for t in tasks]


def test_sort_by_due(store: TaskStore, sample) -> None:
    assert names(store.query(TaskQuery()), sample) == [
        "overdue_date",
        "overdue_time",
        "today_time",
        "today_date",  # a date-only due sorts at the end of its day
        "tomorrow",
        "friday",
        "nodue",  # no due date: last
    ]


def test_sort_by_priority_created_and_id(store: TaskStore, sample, clock: Clock) -> None:
    assert names(store.query(TaskQuery(sort="priority")), sample) == [
        "today_date",
        "nodue",
        "friday",
        "overdue_date",
        "overdue_time",
        "today_time",
        "tomorrow",
    ]
    assert names(store.query(TaskQuery(status=None, sort="id")), sample) == list(sample)
    # created: oldest first, by the instant (offsets differ across DST)
    store.import_tasks([{"title": "old", "created_at": "2026-06-01T12:00:00-04:00"}])
    created = store.query(TaskQuery(sort="created"))
    assert created[0].title == "old"
    assert names(created[1:], sample) == list(sample)[:-1]


def test_filters(store: TaskStore, sample) -> None:
    def q(**kw) -> list[str]:
        return names(store.query(TaskQuery(**kw)), sample)

    assert q(status="done") == ["done"]
    assert len(q(status=None)) == len(q(status="all")) == 8
    assert q(priority="high") == ["today_date", "nodue"]
    assert q(tag="work") == ["overdue_time", "tomorrow"]  # case-insensitive
    assert q(tag="#WORK") == ["overdue_time", "tomorrow"]
    assert q(project="home") == ["today_time", "friday"]
    assert q(overdue=True) == ["overdue_date", "overdue_time"]
    assert q(overdue=True, status=None) == ["overdue_date", "overdue_time"]  # done never is
    # due today includes a time earlier today (which is also overdue)
    assert q(due_today=True) == ["overdue_time", "today_time", "today_date"]
    assert q(text="today") == ["today_time", "today_date"]
    assert q(tag="work", overdue=True) == ["overdue_time"]
    assert q(priority="high", due_today=True) == ["today_date"]


def test_due_before_and_after(store: TaskStore, sample) -> None:
    def q(**kw) -> list[str]:
        return names(store.query(TaskQuery(**kw)), sample)

    # date bounds compare whole days and are exclusive
    assert q(due_before="today") == ["overdue_date"]
    assert q(due_before="tomorrow") == ["overdue_date", "overdue_time", "today_time", "today_date"]
    assert q(due_after="tomorrow") == ["friday"]
    assert q(due_after="today", due_before="friday") == ["tomorrow"]
    assert q(due_before="2026-11-21") == ["overdue_date"]
    # date-time bounds compare moments (a date-only due counts as its whole day)
    assert q(due_before="today 12:00") == ["overdue_date", "overdue_time"]
    assert q(due_after="today 12:00") == ["today_time", "today_date", "tomorrow", "friday"]
    with pytest.raises(UsageError) as info:
        store.query(TaskQuery(due_before="whenever"))
    assert "whenever" in info.value.message


def test_limit_offset_and_count(store: TaskStore, sample) -> None:
    all_pending = store.query(TaskQuery())
    assert store.query(TaskQuery(limit=2)) == all_pending[:2]
    assert store.query(TaskQuery(limit=2, offset=2)) == all_pending[2:4]
    assert store.query(TaskQuery(offset=5)) == all_pending[5:]
    assert store.query(TaskQuery(limit=0)) == []
    assert store.count(TaskQuery()) == 7
    assert store.count(TaskQuery(limit=1)) == 7
    assert store.count(TaskQuery(status=None)) == 8
    assert store.count(TaskQuery(overdue=True)) == 2
    assert store.count() == 7


@pytest.mark.parametrize(
    "query",
    [
        TaskQuery(sort="urgency"),
        TaskQuery(status="archived"),
        TaskQuery(priority="urgent"),
        TaskQuery(limit=-1),
        TaskQuery(offset=-3),
    ],
)
def test_bad_queries(store: TaskStore, query: TaskQuery) -> None:
    with pytest.raises(UsageError):
        store.query(query)


def test_stats(store: TaskStore, sample) -> None:
    assert store.stats() == {
        "open": 7,
        "overdue": 2,
        "due_today": 3,
        "done": 1,
        "waiting": 0,
        "blocked": 0,
    }


def test_stats_empty(store: TaskStore) -> None:
    assert store.stats() == {
        "open": 0,
        "overdue": 0,
        "due_today": 0,
        "done": 0,
        "waiting": 0,
        "blocked": 0,
    }


def test_time_moves_on(store: TaskStore, sample, clock: Clock) -> None:
    clock.advance(hours=7)  # 17:30: "today 17:00" is now overdue
    assert names(store.query(TaskQuery(overdue=True)), sample) == [
        "overdue_date",
        "overdue_time",
        "today_time",
    ]
    clock.advance(days=1)  # Wednesday: yesterday's date-only task is overdue
    assert "today_date" in names(store.query(TaskQuery(overdue=True)), sample)
    assert names(store.query(TaskQuery(due_today=True)), sample) == ["tomorrow"]


def test_due_today_depends_on_the_store_zone(db_path: Path) -> None:
    utc_now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 21:00 on the 24th in NY
    with TaskStore(db_path, tz=NY, clock=lambda: utc_now) as ny:
        ny.add("date", due="2026-11-24")
        ny.add("evening", due="2026-11-24T20:00:00-05:00")  # 01:00 UTC on the 25th
        assert [t.title for t in ny.query(TaskQuery(due_today=True))] == ["evening", "date"]
        assert [t.title for t in ny.query(TaskQuery(overdue=True))] == ["evening"]
    with TaskStore(db_path, tz=UTC, clock=lambda: utc_now) as utc:
        assert [t.title for t in utc.query(TaskQuery(due_today=True))] == ["evening"]
        assert [t.title for t in utc.query(TaskQuery(overdue=True))] == ["date", "evening"]
        assert utc.stats()["overdue"] == 2


def test_date_only_sort_keys_follow_a_change_of_zone(db_path: Path) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    with TaskStore(db_path, tz=NY, clock=lambda: START) as ny:
        ny.add("date-only 25th", due="2026-11-25")
    with TaskStore(db_path, tz=tokyo, clock=lambda: START) as tk:
        # 26 Nov 09:00 in Tokyo comes after the whole of 25 Nov in Tokyo
        tk.add("timed 26th", due="2026-11-26 09:00")
        tk.add("timed 25th late", due="2026-11-25 23:30")
        assert [t.title for t in tk.query(TaskQuery())] == [
            "timed 25th late",
            "date-only 25th",
            "timed 26th",
        ]


# --- import ------------------------------------------------------------------------------


def test_import_keeps_timestamps_and_remaps_ids(store: TaskStore) -> None:
    existing = store.add("existing")
    records = [
        {
            "id": 1,
            "title": "Old done",
            "status": "done",
            "priority": "medium",
            "due": "2026-10-01",
            "tags": ["a", "b"],
            "project": "P",
            "notes": "n",
            "created_at": "2026-09-01T08:00:00-04:00",
            "updated_at": "2026-10-02T09:00:00-04:00",
            "completed_at": "2026-10-02T09:00:00-04:00",
        },
        {"title": "Minimal"},
        {"title": "Done without stamp", "status": "done", "created_at": "2026-01-01T00:00:00Z"},
    ]
    imported = store.import_tasks(records).added
    assert [t.id for t in imported] == [existing.id + 1, existing.id + 2, existing.id + 3]
    old = imported[0].to_dict()
    del old["id"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", old.pop("uuid")
    )
    assert old.pop("extra") is None
    expected = dict(records[0])
    del expected["id"]
    assert {k: old[k] for k in [*expected, "list"]} == {**expected, "list": "default"}
    assert imported[1].created_at == "2026-11-24T10:30:00-05:00"
    assert imported[2].created_at == imported[2].updated_at == "2026-01-01T00:00:00+00:00"
    assert imported[2].completed_at == imported[2].updated_at
    # one undo step removes the whole import
    result = store.undo()
    assert result.label == "import 3 tasks"
    assert store.query(TaskQuery(status=None)) == [existing]


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"title": ""}, "title"),
        ({"notes": "no title"}, "title"),
        ({"title": "x", "priority": "urgent"}, "urgent"),
        ({"title": "x", "status": "archived"}, "archived"),
        ({"title": "x", "due": "blorp"}, "blorp"),
        ({"title": "x", "created_at": "yesterday-ish"}, "created_at"),
        ("just a string", "object"),
    ],
)
def test_import_rejects_a_bad_record_and_writes_nothing(store: TaskStore, bad, words: str) -> None:
    with pytest.raises(UsageError) as info:
        store.import_tasks([{"title": "fine"}, bad, {"title": "also fine"}])
    assert info.value.message.startswith("Record 2: ")
    assert words in info.value.message
    assert store.count(TaskQuery(status=None)) == 0
    with pytest.raises(NotFoundError):
        store.undo()


def test_import_nothing(store: TaskStore) -> None:
    assert store.import_tasks([]) == ImportResult()


# --- opening -----------------------------------------------------------------------------


def test_open_uses_the_data_dir(todo_home: Path) -> None:
    from todo_cli.config import load_settings

    with TaskStore.open(load_settings({"timezone": "Europe/Berlin"})) as s:
        s.add("x")
        assert s.tz == ZoneInfo("Europe/Berlin")
        assert s.path == todo_home / "data" / "todo.db"
    with TaskStore.open() as s:
        assert s.count() == 1


def test_planner_statistics_after_import_and_on_close(tmp_path: Path, clock: Clock) -> None:
    # SQLite only: its planner statistics (sqlite_stat1); PostgreSQL's autovacuum keeps its own.
    db_path = tmp_path / "todo.db"
    """Without sqlite_stat1 a tag filter walks every pending task; imports and close() fill it."""

    def stat_tables(conn: sqlite3.Connection) -> set[str]:
        try:
            return {r[0] for r in conn.execute("SELECT tbl FROM sqlite_stat1")}
        except sqlite3.OperationalError:  # no statistics table yet
            return set()

    store = TaskStore(db_path, clock=clock)
    store.import_tasks([{"title": f"t{i}", "tags": ["work"]} for i in range(50)])
    with sqlite3.connect(db_path) as conn:
        assert "tasks" in stat_tables(conn)
    store.close()
    with sqlite3.connect(db_path) as conn:
        assert "tasks" in stat_tables(conn)


def test_tag_and_project_filters_ignore_the_case_of_a_to_z(store: TaskStore) -> None:
    # The same rule on both backends (SQLite's NOCASE), whatever the server's locale.
    task = store.add("x", tags=["Errand", "Été"], project="Maison")
    assert store.query(TaskQuery(tag="errand")) == [task]
    assert store.query(TaskQuery(tag="ERRAND")) == [task]
    assert store.query(TaskQuery(project="MAISON")) == [task]
    assert store.query(TaskQuery(tag="Été")) == [task]
    assert store.query(TaskQuery(tag="éTé")) == []  # É and é are different letters to it


def test_a_whole_list_by_id_is_one_pass_over_the_table(tmp_path: Path) -> None:
    """Reading every task of a list in id order (export, copying a list) walks the table in
    its own order: no index visited in another order, no sort of every row afterwards.
    (From about 10,000 tasks the planner's sampled statistics make it pick the list/status/
    due index for this, which took 2.9 s instead of 1.2 s for 100,000 tasks.)"""
    with TaskStore(tmp_path / "todo.db") as store:
        records = [
            {"title": f"task {n}", "status": ("done", "pending")[n % 2]} for n in range(12000)
        ]
        store.import_tasks(records)  # (which refreshes the planner's statistics)
        seen: list[str] = []
        store._conn.set_trace_callback(seen.append)
        try:
            tasks = store.query(TaskQuery(status=None, sort="id", limit=None))
        finally:
            store._conn.set_trace_callback(None)
        assert [t.id for t in tasks] == list(range(1, 12001))
        (sql,) = [s for s in seen if s.lstrip().startswith("SELECT t.id, t.title")]
        plan = [row[3] for row in store._conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        assert plan[0] == "SCAN t" and not any("TEMP B-TREE" in step for step in plan), plan
