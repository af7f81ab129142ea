"""The task store, owned by ``TaskStore``: one interface over two databases.

* The database is a ``Backend`` (``backend``): an SQLite file (``sqlite``, the default)
  or a PostgreSQL server reached by URL (``postgres``). ``TaskStore(target)`` picks it from
  the target (a path, or a ``postgresql://`` URL); everything below is shared, and the
  rest of the code never knows which one it talks to. Each backend has its own named,
  append-only schema migrations, applied when the store opens.
* Every mutation is one write transaction (``_transaction``); the backend serialises
  writers (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a per-list advisory lock plus row locks
  on the tasks a command changes), so several processes can write at once and none loses
  another's update.
* Tags live in ``task_tags`` (indexed by tag); full-text search over title, notes, tags
  and project (SQLite FTS5, PostgreSQL tsvector) is rewritten by the same code path that
  writes a task (add, update, delete, undo, import), inside the same transaction.
* A change journal: every mutation records the task's state before and after (JSON in the
  ``Task.to_dict`` shape) under a group id; a task a bulk import added is recorded in short
  (id, uuid, time of last change), its whole state being the ``before`` of its next journal
  entry, or the task as stored when it has none. ``undo()`` reverts the newest group that has not
  been undone yet, atomically; repeating it walks further back. An undo is itself journaled
  (as a group with ``undo_of`` set) and is never a candidate for undo; ``redo()`` takes it
  back instead (a group with ``redo_of`` set, undoable like any change), newest undo first,
  until a fresh change ends the redo chain. Both refuse, changing nothing, if a task no
  longer looks exactly as the group left it.
* Every group records its origin (``Origin``: source such as "cli", "chat", "session" or
  "import", a reference such as the command line or the conversation id, the chat session)
  and the user and host that made it, so an undo can be limited to one conversation and
  can say whose change it takes back.
* ``due`` is stored as typed by ``dates.parse_due`` ("2026-11-25" or
  "2026-11-27T17:00:00-05:00"), plus ``due_ts`` (UNIX seconds, for sorting: a date-only due
  sorts at the end of its day in the user's zone, after the timed tasks of that day; the
  keys are recomputed on open if the zone changed). Filters on due dates compare date-only
  values as dates, so they never depend on these keys.
* Lists: every task belongs to one named list (``tasks.list``, default "default"). A store
  is bound to one list (``list_name``) and everything it does is scoped to it: queries,
  counts, stats, search, add, import and undo. Task ids are global (one sequence over every
  list), so a task of another list is simply "No task #N" here, and the journal and undo
  stay simple. Each journal group records the list it was made in; ``undo()`` takes back
  the newest group of the bound list. ``lists()``, ``rename_list()`` and ``delete_list()``
  manage lists as a whole (rename and delete are journaled in the bound list: one undo step).
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import dates
from ..errors import NotFoundError, TodoError, UsageError
from ..fastjson import dumps as json_text
from ..fastjson import loads as json_value
from ..listnames import DEFAULT_LIST, validate_list_name
from ..textin import checked_text
from ..textin import shown as _shown
from .backend import Backend, id_ranges, new_group_id, new_uuid
from .sqlite import (
    BUSY_TIMEOUT_MS,
    MIGRATION_NAMES,
    MIGRATION_SET,
    MIGRATIONS,
    DatabaseDamagedError,
    SQLiteBackend,
    build_migrations,
)

if TYPE_CHECKING:
    from ..config import Settings

# A database connection as the backend gives it: ``execute``/``executemany`` with ``?``.
Conn = Any

__all__ = [
    "PRIORITIES",
    "STATUSES",
    "SORTS",
    "Task",
    "TaskQuery",
    "ListInfo",
    "DEFAULT_LIST",
    "validate_list_name",
    "Change",
    "UndoResult",
    "ImportResult",
    "OpenSubtasksError",
    "Origin",
    "GroupInfo",
    "TaskStore",
    "DatabaseDamagedError",
    "MIGRATION_SET",
    "MIGRATIONS",
    "build_migrations",
    "BUSY_TIMEOUT_MS",
    "MIGRATION_NAMES",
    "new_uuid",
]

PRIORITIES = ("none", "low", "medium", "high")
STATUSES = ("pending", "done")
SORTS = ("due", "priority", "created", "id")
UPDATABLE_FIELDS = (
    "title",
    "notes",
    "priority",
    "due",
    "tags",
    "add_tags",
    "remove_tags",
    "project",
    "status",
    "wait",
    "parent",
    "blocked_by",
    "repeat",
)

_PRIORITY_ALIASES = {"h": "high", "m": "medium", "med": "medium", "l": "low", "n": "none"}
_STATUS_ALIASES = {
    "open": "pending",
    "todo": "pending",
    "complete": "done",
    "completed": "done",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LIST_HINT = "Run `todo tasks list --all` to see task ids."


# --- data --------------------------------------------------------------------------------


@dataclass
class Task:
    """One task, as stored. Timestamps are ISO 8601 with the store's UTC offset."""

    id: int
    title: str
    notes: str | None
    status: str
    priority: str
    due: str | None
    tags: list[str]
    project: str | None
    created_at: str
    updated_at: str
    completed_at: str | None
    list_name: str = DEFAULT_LIST
    # Stable across export and import (Taskwarrior's uuid when the task came from there).
    uuid: str = ""
    # What an import brought that the task model does not hold, kept for a faithful export:
    # {"taskwarrior": the record as it came} or {"todotxt": the line as it came}.
    extra: dict[str, Any] | None = None
    wait: str | None = None
    parent: int | None = None
    blocked_by: list[int] = field(default_factory=list)
    repeat: dict[str, Any] | None = None  # {"text", "rule", "from": "due"|"done", "left"}
    done_count: int = 0
    last_done: dict[str, Any] | None = None  # {"at", "due"}: completion record done_count
    # Derived when read (some blocker is still pending): not a field, not stored state.
    blocked = False

    def to_dict(self) -> dict[str, Any]:
        """The task as a JSON-ready dict (the shape of ``--json`` output and of the journal)."""
        return {
            "id": self.id,
            "title": self.title,
            "notes": self.notes,
            "status": self.status,
            "priority": self.priority,
            "due": self.due,
            "tags": list(self.tags),
            "project": self.project,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "completed_at": self.completed_at,
            "list": self.list_name,
            "uuid": self.uuid,
            "extra": self.extra,
            "wait": self.wait,
            "parent": self.parent,
            "blocked_by": list(self.blocked_by),
            "repeat": dict(self.repeat) if self.repeat else None,
            "done_count": self.done_count,
            "last_done": dict(self.last_done) if self.last_done else None,
        }

    def to_json(self) -> dict[str, Any]:
        """``to_dict`` plus the derived ``blocked`` flag: what ``--json`` prints."""
        return {**self.to_dict(), "blocked": self.blocked}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        """Rebuild a task from ``to_dict`` output (no validation)."""
        return cls(
            id=int(data["id"]),
            title=data["title"],
            notes=data.get("notes"),
            status=data.get("status", "pending"),
            priority=data.get("priority", "none"),
            due=data.get("due"),
            tags=list(data.get("tags") or []),
            project=data.get("project"),
            created_at=data["created_at"],
            updated_at=data["updated_at"],
            completed_at=data.get("completed_at"),
            list_name=data.get("list") or DEFAULT_LIST,
            uuid=data.get("uuid") or "",
            extra=data.get("extra") or None,
            wait=data.get("wait"),
            parent=data.get("parent"),
            blocked_by=[int(i) for i in data.get("blocked_by") or []],
            repeat=dict(data["repeat"]) if data.get("repeat") else None,
            done_count=int(data.get("done_count") or 0),
            last_done=dict(data["last_done"]) if data.get("last_done") else None,
        )


@dataclass
class TaskQuery:
    """Filters for ``TaskStore.query``/``count``; the defaults list pending tasks by due date.

    ``status`` None (or "all") means any status. ``due_before``/``due_after`` take natural
    language or ISO and are exclusive: a date bound compares whole days ("before friday" is
    due Thursday or earlier), a date-time bound compares moments. ``overdue`` only matches
    pending tasks. ``text`` is a full-text search (every word, as a prefix).
    ``waiting``: None (default) hides tasks whose wait date is still ahead when listing
    pending tasks only; True lists only those; False hides them whatever the status.
    ``repeating`` keeps repeating tasks only; ``blocked`` True/False keeps blocked/unblocked
    tasks; ``parent`` keeps the subtasks of that task. ``all_lists`` looks at every list
    instead of the bound one (a whole-database export).
    Blocked tasks sort after unblocked ones in the "due" and "priority" sorts.
    ``sort``: "due" (soonest first, no due date last), "priority" (high first, then due),
    "created" (oldest first) or "id".
    """

    status: str | None = "pending"
    priority: str | None = None
    tag: str | None = None
    project: str | None = None
    due_before: str | None = None
    due_after: str | None = None
    overdue: bool = False
    due_today: bool = False
    text: str | None = None
    waiting: bool | None = None
    repeating: bool = False
    blocked: bool | None = None
    parent: int | None = None
    sort: str = "due"
    limit: int | None = None
    offset: int = 0
    all_lists: bool = False


@dataclass
class ListInfo:
    """One list: its name, its pending ("open") and done task counts, and whether the store
    is bound to it."""

    name: str
    open: int
    done: int
    current: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "open": self.open, "done": self.done, "current": self.current}


@dataclass
class Change:
    """A task's state before and after a change; None means the task did not exist."""

    before: Task | None
    after: Task | None


class OpenSubtasksError(UsageError):
    """Completing a parent whose subtasks are still open needs a yes first."""

    def __init__(self, tasks: list[Task], subtasks: list[Task]) -> None:
        self.tasks = tasks
        self.subtasks = subtasks
        names = ", ".join(f"#{t.id} {_CONTROL.sub(' ', t.title)}" for t in subtasks[:3])
        if len(subtasks) > 3:
            names += ", …"
        parent_ids = {t.parent for t in subtasks}
        parents = [t for t in tasks if t.id in parent_ids]
        who = ", ".join(f"#{t.id} {_CONTROL.sub(' ', t.title)}" for t in parents)
        n = len(subtasks)
        super().__init__(
            f"{who} {'has' if len(parents) == 1 else 'have'} {n} open subtask"
            f"{'s' if n != 1 else ''} ({names}).",
            hint="Complete them too with --yes, or complete the subtasks first.",
        )


@dataclass
class UndoResult:
    """What ``undo`` did: ``before`` is the state just before the undo, ``after`` the
    restored state (None when the undo removed a task that the group had added)."""

    group_id: str
    label: str | None
    changes: list[Change] = field(default_factory=list)


@dataclass
class ImportResult:
    """What ``import_tasks`` did with each record: a new task, a newer version of a task
    it already had (same uuid, later ``updated_at``), or nothing (same or older version)."""

    added: list[Task] = field(default_factory=list)
    updated: list[Task] = field(default_factory=list)
    unchanged: list[Task] = field(default_factory=list)
    # Links the records asked for that the task model cannot hold (why -> how many): a
    # subtask of a subtask, a dependency cycle, a task not in the import or the store.
    links_left: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Origin:
    """Where a change group comes from: ``source`` ("cli", "import", "chat", "session",
    ...), ``ref`` (the command line, the file, the conversation id) and ``session`` (the
    interactive chat session that made it, if any)."""

    source: str
    ref: str | None = None
    session: str | None = None


@dataclass
class GroupInfo:
    """One journal group, as ``last_change``/``next_redo`` describe it."""

    id: str
    label: str | None
    created_at: str
    origin: Origin | None
    user: str | None
    host: str | None


# --- the store ---------------------------------------------------------------------------

# Tags come back in order, joined with the ASCII unit separator, which cleaned tags never
# contain; the backend's ``task_select`` gives the columns ``_row_to_task`` reads.
_TAG_SEP = "\x1f"
# Blocked: waiting for a pending task. One uncorrelated subquery (computed once per
# statement), for sorting and filtering many rows.
_BLOCKED_SET_SQL = (
    "t.id IN (SELECT d.task_id FROM task_deps d JOIN tasks b ON b.id = d.blocker_id"
    " WHERE b.status = 'pending')"
)
_ANY_DEPS_SQL = "SELECT 1 FROM task_deps LIMIT 1"
_PRIORITY_RANK = (
    "CASE t.priority WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END"
)
# The "due" order after the due itself: higher priority first, then by id.
_DUE_TIES = f"{_PRIORITY_RANK} DESC, t.id"
_UNDATED_PART = ("t.due_ts IS NULL", _DUE_TIES)  # the undated tasks of a "due" page, last


def _both(first: str, second: str) -> str:
    return f"{first} AND {second}" if second else first


_ORDER_BY = {
    # "{due}": due_ts ascending, no due last, in the backend's form (see Backend.nulls_last)
    "due": f"{{due}}, {_DUE_TIES}",
    "priority": f"{_PRIORITY_RANK} DESC, {{due}}, t.id",
    # "{created}", "{updated}": the backend's expression for a stored time stamp as a moment
    "created": "{created}, t.id",
    "id": "t.id",
    "updated": "{updated} DESC, t.id DESC",  # most recently changed first
}


def _row_to_task(row: tuple[Any, ...]) -> Task:
    tags = row[6]
    blockers = row[16]
    repeat = None
    if row[18]:
        repeat = {"text": row[17], "rule": row[18], "from": row[19] or "due", "left": row[20]}
    task = Task(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        tags.split(_TAG_SEP) if tags else [],
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
        row[12] or "",
        json_value(row[13]) if row[13] else None,
        wait=row[14],
        parent=row[15],
        blocked_by=sorted(int(b) for b in blockers.split(",")) if blockers else [],
        repeat=repeat,
        done_count=row[21] or 0,
        last_done=json_value(row[22]) if row[22] else None,
    )
    if row[23]:
        task.blocked = True
    return task


class _Group:
    __slots__ = ("id", "label", "depth", "origin")

    def __init__(self, label: str | None, origin: Origin | None) -> None:
        self.id = _new_id()
        self.label = label
        self.depth = 1
        self.origin = origin


# Undoable: a change (or a redo) not undone yet. Redoable: an undo not redone yet, newer
# than the newest fresh change (neither an undo nor a redo), which ends the redo chain.
_UNDOABLE = "undo_of IS NULL AND undone_by IS NULL"
_REDOABLE = (
    "undo_of IS NOT NULL AND undone_by IS NULL AND seq > coalesce("
    "(SELECT max(f.seq) FROM journal_groups f WHERE f.list = journal_groups.list"
    " AND f.undo_of IS NULL AND f.redo_of IS NULL), 0)"
)
_GROUP_COLUMNS = 'id, label, created_at, source, source_ref, session_id, "user", host'


class TaskStore:
    """Tasks in one database; safe to share between threads of one process.

    ``target`` is the SQLite file (a path, or ":memory:") or a PostgreSQL server as a
    ``postgresql://`` URL (``connect_timeout`` seconds to reach it, ``statement_timeout``
    seconds each statement may take there: None is the default of
    ``database.statement_timeout``, 0 no limit). ``tz`` is the user's
    time zone (default: the system's); ``clock`` returns "now" and exists so tests can pin
    time. ``list_name`` is the list the store is bound to (default "default"; validated,
    lower case): every task operation is scoped to it.
    """

    def __init__(
        self,
        target: str | Path,
        *,
        tz: tzinfo | None = None,
        clock: Callable[[], datetime] | None = None,
        list_name: str | None = None,
        connect_timeout: float = 5.0,
        statement_timeout: float | None = None,
    ) -> None:
        self.tz: tzinfo = dates.resolve_tz(tz)
        self._list = validate_list_name(list_name) if list_name is not None else DEFAULT_LIST
        self._clock = clock
        self._lock = threading.RLock()
        self._depth = 0  # nesting of _transaction()
        self._group: _Group | None = None
        # The origin of groups opened without one (the CLI sets its command line here).
        self.origin: Origin | None = None
        self._db: Backend = _backend(target, connect_timeout, statement_timeout)
        self._conn: Conn = self._db.conn
        # The SQLite file (None on a server); ``location`` is what messages name.
        self.path: Path | None = getattr(self._db, "path", None)
        self.location = self._db.where
        self.notices: list[str] = self._db.notices  # what the user should hear (CLI prints)
        self._order_by = {
            name: order.format(
                due=self._db.nulls_last.format("t.due_ts"),
                created=self._db.moment.format("t.created_at"),
                updated=self._db.moment.format("t.updated_at"),
            )
            for name, order in _ORDER_BY.items()
        }
        writable = self._db.setup()
        self.read_only = self._db.read_only  # the file or its folder is not writable
        if writable:
            try:
                self._sync_due_keys()
            except TodoError:  # full disk, damaged file: sort keys can wait, reading not
                pass
            except self._db.errors as exc:
                self._db.close()
                raise self._db.open_failed(exc) from exc
            except BaseException:
                self._db.close()
                raise

    @property
    def backend(self) -> str:
        """Which database holds the tasks: "sqlite" or "postgresql"."""
        return self._db.kind

    @classmethod
    def open(cls, settings: Settings | None = None, list_name: str | None = None) -> TaskStore:
        """Open (creating or upgrading as needed) the user's database, bound to
        ``list_name`` (default: the ``list`` setting, else "default"): the PostgreSQL server
        of the ``database.url`` setting when there is one, else ``todo.db`` in the data
        folder."""
        from ..config import get_paths, load_settings

        if settings is None:
            settings = load_settings()
        if list_name is None:
            list_name = getattr(settings, "list_name", None)
        database = getattr(settings, "database", None)
        url = getattr(database, "url", None)
        if url:
            timeout = float(getattr(database, "connect_timeout", None) or 5.0)
            return cls(
                url,
                tz=settings.tz,
                list_name=list_name,
                connect_timeout=timeout,
                statement_timeout=getattr(database, "statement_timeout", None),
            )
        paths = get_paths()
        with suppress(OSError):  # a read-only data folder can still be read
            paths.ensure()
        store = cls(paths.db_file, tz=settings.tz, list_name=list_name)
        for notice in store.notices:
            import sys

            from ..termsafe import one_line

            sys.stderr.write(one_line(notice) + "\n")
        return store

    @property
    def list_name(self) -> str:
        """The list this store is bound to."""
        return self._list

    def use_list(self, name: str) -> str:
        """Bind the store to another list (validated); returns the name as stored.

        Refused while a change group is open, so one undo step never spans two lists.
        """
        clean = validate_list_name(name)
        with self._lock:
            if self._group is not None:
                raise TodoError(
                    "Cannot switch lists in the middle of a change.",
                    hint="Try again when the current command or turn has finished.",
                )
            self._list = clean
        return clean

    def close(self) -> None:
        """Close the database connection, refreshing the query planner's statistics first."""
        with self._lock:
            self._db.optimize()
            self._db.close()

    def _optimize(self, *, analyze: bool = False) -> None:
        with self._lock:
            self._db.optimize(analyze=analyze)

    def __enter__(self) -> TaskStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- set-up and migrations -----------------------------------------------------------

    def pending_migrations(self) -> list[str]:
        """Names of the backend's migrations not applied yet."""
        with self._lock:
            return self._db.pending_migrations()

    def _sync_due_keys(self) -> None:
        """Recompute the sort keys of date-only dues when the time zone has changed.

        A date-only due sorts at the end of its day *in the user's zone*; after a move to
        another zone (or on a database made before the zone was recorded) the keys are
        recomputed once. Derived data: not journaled.
        """
        zone = _zone_name(self.tz)
        row = self._conn.execute("SELECT value FROM store_meta WHERE key = 'zone'").fetchone()
        if row is not None and row[0] == zone:
            return
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT id, due FROM tasks"
                " WHERE length(due) = 10 OR (due IS NOT NULL AND due_ts IS NULL)"
            ).fetchall()
            conn.executemany(
                "UPDATE tasks SET due_ts = ? WHERE id = ?",
                [(self._due_ts(due), task_id) for task_id, due in rows],
            )
            rows = conn.execute("SELECT id, wait FROM tasks WHERE length(wait) = 10").fetchall()
            conn.executemany(
                "UPDATE tasks SET wait_ts = ? WHERE id = ?",
                [(self._wait_ts(wait), task_id) for task_id, wait in rows],
            )
            conn.execute(
                "INSERT INTO store_meta (key, value) VALUES ('zone', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (zone,),
            )

    # --- transactions, groups and the journal --------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Conn]:
        """One write transaction (nested calls join it): committed whole or not at all.
        A failure of the database becomes the backend's one-line TodoError."""
        db = self._db
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            db.refuse_write()
            try:
                db.begin(self._list)
            except db.errors as exc:
                if db.in_transaction:
                    with suppress(*db.errors):
                        db.rollback()
                raise db.fault(exc) from exc
            self._depth = 1
            try:
                yield self._conn
            except BaseException as exc:
                if db.in_transaction:
                    with suppress(*db.errors):
                        db.rollback()
                if isinstance(exc, db.errors):
                    raise db.fault(exc) from exc
                raise
            else:
                try:
                    db.commit()
                except db.errors as exc:
                    # A failed COMMIT (disk full) may already have rolled back.
                    if db.in_transaction:
                        with suppress(*db.errors):
                            db.rollback()
                    raise db.fault(exc, committing=True) from exc
            finally:
                self._depth = 0

    def _locking(self) -> str:
        """What to append to a SELECT of tasks: row locks inside a write transaction (on
        a server: the tasks a command reads and then changes stay as read until it ends)."""
        return self._db.for_update if self._depth else ""

    # --- storage faults ------------------------------------------------------------------

    def damaged(self) -> str | None:
        """Why the database file is known to be damaged (a read found it so), or None
        (always None on a server)."""
        return self._db.damaged()

    def salvage(self, *, all_lists: bool = False) -> tuple[list[Task], int]:
        """Every task of the bound list (of every list with ``all_lists``) that can still be
        read from a damaged database, read
        one id at a time, and the highest id the file knows (ids up to it that are missing
        were lost to the damage, deleted before, or belong to another list)."""
        errors = self._db.errors
        with self._lock:
            conn = self._conn
            highest = 0
            for sql in self._db.salvage_sql():
                try:
                    row = conn.execute(sql).fetchone()
                except errors:
                    continue
                highest = max(highest, int(row[0] or 0) if row else 0)
            found: list[Task] = []
            for task_id in range(1, highest + 1):
                try:
                    task = self._fetch(conn, task_id, any_list=all_lists)
                except errors:
                    continue  # its row, or one of its tags, sits on a damaged page
                if task is not None:
                    found.append(task)
            return found, highest

    @contextmanager
    def group(self, label: str | None = None, *, origin: Origin | None = None) -> Iterator[str]:
        """Record every mutation inside the block under one journal group (one undo step).

        Nested calls join the outer group. The group is per store, not per thread, so the
        tools of one agent turn running in worker threads share it. Yields the group id
        (a group that gets undone while still open continues under a fresh id). ``origin``
        defaults to ``self.origin``.
        """
        with self._lock:
            if self._group is None:
                self._group = _Group(label, origin or self.origin)
            else:
                self._group.depth += 1
            group = self._group
        try:
            yield group.id
        finally:
            with self._lock:
                group.depth -= 1
                if group.depth == 0 and self._group is group:
                    self._group = None

    def _group_id(self, conn: Conn) -> str:
        """The current group's id, creating its journal row on first use."""
        group = self._group
        assert group is not None, "mutations run inside group()"
        row = conn.execute(
            "SELECT undone_by FROM journal_groups WHERE id = ?", (group.id,)
        ).fetchone()
        if row is not None and row[0] is not None:
            group.id = _new_id()  # undone while open: later changes form a new step
            row = None
        if row is None:
            self._insert_group(conn, group.id, group.label, group.origin)
        return group.id

    def open_origin(self) -> Origin | None:
        """The origin of the group open right now (e.g. the agent turn running), or None."""
        group = self._group
        return group.origin if group is not None else None

    def _insert_group(
        self,
        conn: Conn,
        group_id: str,
        label: str | None,
        origin: Origin | None,
        **links: str,
    ) -> None:
        user, host = whoami()
        values: dict[str, Any] = {
            "id": group_id,
            "label": label,
            "created_at": self._stamp(),
            "source": origin.source if origin else None,
            "source_ref": origin.ref if origin else None,
            "session_id": origin.session if origin else None,
            "user": user,
            "host": host,
            "list": self._list,
            **links,
        }
        columns = ", ".join(f'"{name}"' for name in values)  # "user" is a keyword to some
        conn.execute(
            f"INSERT INTO journal_groups ({columns}) VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )

    def _now(self) -> datetime:
        return dates.now_in(self.tz, self._clock() if self._clock else None)

    def _stamp(self) -> str:
        return self._now().isoformat(timespec="seconds")

    # --- low-level row access ------------------------------------------------------------

    def _fetch(self, conn: Conn, task_id: int, *, any_list: bool = False) -> Task | None:
        """The task with this id in the bound list (in any list with ``any_list``)."""
        select, lock = self._db.task_select, self._locking()
        if any_list:
            row = conn.execute(select + " WHERE t.id = ?" + lock, (task_id,)).fetchone()
        else:
            row = conn.execute(
                select + " WHERE t.id = ? AND t.list = ?" + lock, (task_id, self._list)
            ).fetchone()
        return _row_to_task(row) if row else None

    def _fetch_many(self, conn: Conn, ids: Iterable[int]) -> list[Task]:
        """Tasks of the bound list in the order given; any id not in it raises NotFoundError."""
        wanted = _unique_ids(ids)
        found = {t.id: t for t in self._select_in(conn, "t.id", wanted, " AND t.list = ?")}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise _not_found(missing)
        return [found[i] for i in wanted]

    def _fetch_existing(self, conn: Conn, ids: Iterable[int]) -> dict[int, Task]:
        """The tasks with these ids that exist, in any list, by id."""
        return {t.id: t for t in self._select_in(conn, "t.id", sorted(ids))}

    def _select_in(
        self, conn: Conn, column: str, values: list[Any], more: str = ""
    ) -> Iterator[Task]:
        """The tasks whose ``column`` is one of ``values`` (500 per statement), ``more``
        adding "AND t.list = ?" for the bound list; locked inside a write transaction."""
        tail = (self._list,) if more else ()
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"{self._db.task_select} WHERE {column} IN ({marks}){more}{self._locking()}"
            for row in conn.execute(sql, (*chunk, *tail)).fetchall():
                yield _row_to_task(row)

    def _delete_many(self, conn: Conn, tasks: list[Task], group_id: str) -> None:
        """Delete these tasks as ``_write(conn, task, None, group_id)`` would one by one:
        rows, tags, blockers, search index, and a journal entry with each one's state. By
        runs of consecutive ids; when more rows go than stay (the undo of a big import), the
        indexes of ``tasks`` and ``task_tags`` are built again afterwards instead of having
        each row taken out of each of them."""
        db = self._db
        db.fts_delete_many(conn, [t.id for t in tasks])
        dropped = _drop_indexes(conn, db) if _reindex(conn, len(tasks), leaving=True) else []
        ranges = id_ranges(t.id for t in tasks)
        conn.executemany("DELETE FROM task_tags WHERE task_id BETWEEN ? AND ?", ranges)
        conn.executemany("DELETE FROM task_deps WHERE task_id BETWEEN ? AND ?", ranges)
        conn.executemany("DELETE FROM tasks WHERE id BETWEEN ? AND ?", ranges)
        if dropped:
            db.restore_indexes(conn, dropped)
        conn.executemany(
            "INSERT INTO journal (group_id, task_id, before, after) VALUES (?, ?, ?, NULL)",
            [(group_id, t.id, _dump(t)) for t in tasks],
        )

    def _due_ts(self, due: str | None) -> int | None:
        if due is None:
            return None
        start, end = dates.due_bounds(due, tz=self.tz)
        return start if start == end else end - 1

    _COLUMNS = (
        "title, notes, status, priority, due, due_ts, project, created_at, updated_at,"
        " completed_at, list, uuid, extra, wait, wait_ts, parent_id, repeat, repeat_rule,"
        " repeat_from, repeat_left, done_count"
    )

    def _row(
        self,
        task: Task,
        due_ts: Callable[[str | None], int | None] | None = None,
        wait_ts: Callable[[str | None], int | None] | None = None,
    ) -> tuple[str, tuple[Any, ...]]:
        """The ``tasks`` columns a task is stored in, and its values for them (``due_ts``,
        ``wait_ts``: how the sort keys of its dates are found, e.g. remembered)."""
        extra = task.extra
        values = (
            task.title,
            task.notes,
            task.status,
            task.priority,
            task.due,
            (due_ts or self._due_ts)(task.due),
            task.project,
            task.created_at,
            task.updated_at,
            task.completed_at,
            task.list_name,
            task.uuid,
            json_text(extra) if extra else None,
            task.wait,
            (wait_ts or self._wait_ts)(task.wait),
            task.parent,
            *_repeat_columns(task.repeat),
            task.done_count,
        )
        return self._COLUMNS, values

    def _write(
        self, conn: Conn, before: Task | None, after: Task | None, group_id: str
    ) -> Task | None:
        """Move one task from ``before`` to ``after`` (rows, tags, FTS) and journal it.

        Returns the task as now stored (re-read), or None when it was deleted.
        """
        if after is None:
            assert before is not None
            self._db.fts_delete(conn, before.id)
            conn.execute("DELETE FROM task_tags WHERE task_id = ?", (before.id,))
            conn.execute("DELETE FROM task_deps WHERE task_id = ?", (before.id,))
            conn.execute("DELETE FROM tasks WHERE id = ?", (before.id,))
            stored = None
        else:
            if not after.uuid:
                after.uuid = before.uuid if before is not None and before.uuid else new_uuid()
            cols, values = self._row(after)
            if before is None:
                if after.id:
                    conn.execute(
                        f"INSERT INTO tasks (id, {cols}) VALUES (?{', ?' * len(values)})",
                        (after.id, *values),
                    )
                    task_id = after.id
                else:
                    (task_id,) = conn.execute(
                        f"INSERT INTO tasks ({cols}) VALUES (?{', ?' * (len(values) - 1)})"
                        " RETURNING id",
                        values,
                    ).fetchone()
            else:
                task_id = before.id
                assignments = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
                conn.execute(f"UPDATE tasks SET {assignments} WHERE id = ?", (*values, task_id))
            # A task row that is new has no tags or dependencies yet (a deleted task lost
            # them); only its completion records outlive it, for undo.
            if before is None or before.tags != after.tags:
                if before is not None:
                    conn.execute("DELETE FROM task_tags WHERE task_id = ?", (task_id,))
                if after.tags:
                    conn.executemany(
                        "INSERT INTO task_tags (task_id, tag, position) VALUES (?, ?, ?)",
                        [(task_id, tag, i) for i, tag in enumerate(after.tags)],
                    )
            if before is None or before.blocked_by != after.blocked_by:
                if before is not None:
                    conn.execute("DELETE FROM task_deps WHERE task_id = ?", (task_id,))
                if after.blocked_by:
                    conn.executemany(
                        "INSERT INTO task_deps (task_id, blocker_id) VALUES (?, ?)",
                        [(task_id, b) for b in after.blocked_by],
                    )
            brand_new = before is None and not after.id and not after.done_count
            if not brand_new and (
                before is None
                or (before.done_count, before.last_done) != (after.done_count, after.last_done)
            ):
                self._sync_completions(conn, task_id, after)
            text = (after.title, after.notes or "", " ".join(after.tags), after.project or "")
            self._db.fts_write(conn, [(task_id, *text)], new=before is None)
            stored = self._fetch(conn, task_id, any_list=True)
        conn.execute(
            "INSERT INTO journal (group_id, task_id, before, after) VALUES (?, ?, ?, ?)",
            (
                group_id,
                (stored or before).id,  # type: ignore[union-attr]
                _dump(before),
                _dump(stored),
            ),
        )
        return stored

    def _sync_completions(self, conn: Conn, task_id: int, task: Task) -> None:
        """Make the completion records match ``done_count``/``last_done`` (undo, redo)."""
        conn.execute(
            "DELETE FROM completions WHERE task_id = ? AND seq > ?", (task_id, task.done_count)
        )
        if task.done_count and task.last_done:
            conn.execute(
                "INSERT INTO completions (task_id, seq, done_at, due) VALUES (?, ?, ?, ?)"
                f" {_COMPLETION_UPSERT}",
                (task_id, task.done_count, task.last_done.get("at"), task.last_done.get("due")),
            )

    def _wait_ts(self, wait: str | None) -> int | None:
        """When a hidden task appears: a date-only wait at the start of its day."""
        if wait is None:
            return None
        return dates.due_bounds(wait, tz=self.tz)[0]

    # --- validation ----------------------------------------------------------------------

    def _due(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, (datetime, date)):
            value = value.isoformat()
        if not isinstance(value, str):
            raise UsageError(f"Could not understand the date '{value}'.")
        if not value.strip():
            return None
        return dates.parse_due(value, now=self._now(), tz=self.tz)

    # --- public API: mutations -----------------------------------------------------------

    def add(
        self,
        title: str,
        *,
        notes: str | None = None,
        priority: str | None = "none",
        due: str | None = None,
        tags: Iterable[str] | str = (),
        project: str | None = None,
        wait: str | None = None,
        parent: int | str | None = None,
        blocked_by: Iterable[int] = (),
        repeat: str | None = None,
    ) -> Task:
        """Add a pending task. ``due`` and ``wait`` are natural language or ISO; ``repeat`` a
        rule in words ("every monday"); ``parent`` makes it a subtask; ``blocked_by`` lists
        the tasks it waits for. An empty title is refused."""
        clean_title = _title(title)
        stamp = self._stamp()
        task = Task(
            id=0,
            title=clean_title,
            notes=_text(notes, "notes"),
            status="pending",
            priority=_priority(priority),
            due=self._due(due),
            tags=_tags(tags),
            project=_text(project, "project"),
            created_at=stamp,
            updated_at=stamp,
            completed_at=None,
            list_name=self._list,
            wait=self._due(wait),
            repeat=self._repeat(repeat),
        )
        if task.repeat and task.due is None:
            task.due = self._first_due(task.repeat)
        task.repeat = self._pin(task.repeat, task.due)
        with self.group(f"add '{clean_title}'"), self._transaction() as conn:
            if parent is not None:
                task.parent = self._check_parent(conn, None, parent)
            blockers = _unique_ids(blocked_by)
            self._check_blockers(conn, None, blockers)
            task.blocked_by = sorted(blockers)
            stored = self._write(conn, None, task, self._group_id(conn))
        assert stored is not None
        return stored

    def add_many(self, items: Iterable[dict[str, Any]]) -> list[Task]:
        """Add several tasks, each a dict of ``add``'s arguments, in one transaction and one
        undo step: one bad task raises UsageError ("Task 2: ...") and nothing is written.
        ``parent`` and ``blocked_by`` name tasks already stored."""
        items = list(items)
        if not items:
            raise UsageError("No tasks given.")
        if len(items) == 1:
            return [self.add(**items[0])]
        added: list[Task] = []
        with self.group(f"add {len(items)} tasks"), self._transaction():
            for n, item in enumerate(items, start=1):
                try:
                    added.append(self.add(**item))
                except TodoError as exc:
                    exc.message = f"Task {n}: {exc.message}"
                    raise
        return added

    def get(self, task_id: int) -> Task:
        """The task with this id; raises ``NotFoundError`` ("No task #42")."""
        with self._lock:
            task = self._fetch(self._conn, _task_id(task_id))
        if task is None:
            raise _not_found([task_id])
        return task

    def get_many(self, ids: Iterable[int]) -> list[Task]:
        """Tasks in the order given (duplicates dropped); any unknown id raises NotFoundError."""
        with self._lock:
            return self._fetch_many(self._conn, ids)

    def update(self, task_id: int, **fields: Any) -> Task:
        """Change fields of one task: title, notes, priority, due (None or "" clears), tags
        (replace), add_tags, remove_tags, project, status, wait (None clears), parent (None
        clears), blocked_by (replace; [] clears), repeat (a rule in words; None or "none"
        stops repeating). Unknown field or bad value -> UsageError. A call that changes
        nothing records nothing."""
        unknown = [name for name in fields if name not in UPDATABLE_FIELDS]
        if unknown:
            raise UsageError(
                f"Unknown task field '{unknown[0]}'.",
                hint=f"Fields you can change: {', '.join(UPDATABLE_FIELDS)}.",
            )
        changes: dict[str, Any] = {}
        if "title" in fields:
            changes["title"] = _title(fields["title"])
        if "notes" in fields:
            changes["notes"] = _text(fields["notes"], "notes")
        if "priority" in fields:
            changes["priority"] = _priority(fields["priority"])
        if "due" in fields:
            changes["due"] = self._due(fields["due"])
        if "project" in fields:
            changes["project"] = _text(fields["project"], "project")
        if "wait" in fields:
            changes["wait"] = self._due(fields["wait"])
        if "repeat" in fields:
            changes["repeat"] = self._repeat(fields["repeat"])
        status = _status(fields["status"]) if "status" in fields else None
        new_tags = _tags(fields["tags"]) if "tags" in fields else None
        add_tags = _tags(fields.get("add_tags") or ())
        remove_tags = {t.casefold() for t in _tags(fields.get("remove_tags") or ())}

        tid = _task_id(task_id)
        with self.group(f"edit #{tid}"), self._transaction() as conn:
            before = self._fetch(conn, tid)
            if before is None:
                raise _not_found([tid])
            if "parent" in fields:
                changes["parent"] = self._check_parent(conn, tid, fields["parent"])
            if "blocked_by" in fields:
                blockers = _unique_ids(fields["blocked_by"] or [])
                self._check_blockers(conn, tid, blockers)
                changes["blocked_by"] = sorted(blockers)
            after = replace(before, **changes)
            if after.repeat and before.repeat and after.repeat["rule"] == before.repeat["rule"]:
                after.repeat = before.repeat  # same rule: keep the occurrences left
            if after.repeat and after.due is None and "due" not in fields:
                after.due = self._first_due(after.repeat)
            if after.repeat and ("due" in fields or "repeat" in fields):
                after.repeat = self._pin(after.repeat, after.due)
            tags = list(before.tags) if new_tags is None else new_tags
            tags = _tags([*tags, *add_tags])
            after.tags = [t for t in tags if t.casefold() not in remove_tags]
            if status is not None:
                _set_status(after, status, self._stamp())
            if after == before:
                return before
            after.updated_at = self._stamp()
            stored = self._write(conn, before, after, self._group_id(conn))
        assert stored is not None
        return stored

    def complete(self, ids: Iterable[int], *, subtasks: bool = False) -> list[Task]:
        """Mark tasks done (all or nothing: an unknown id changes nothing).

        A repeating task records the completion and moves its due to the next occurrence
        (it stays pending until its rule ends). A task with open subtasks raises
        ``OpenSubtasksError`` unless ``subtasks`` is true, which completes them as well.
        """
        wanted = _unique_ids(ids)
        with self.group(f"done {_id_list(wanted)}"), self._transaction() as conn:
            tasks = self._fetch_many(conn, wanted)
            children = self._open_children(conn, [t.id for t in tasks if t.status == "pending"])
            children = [c for c in children if c.id not in wanted]
            if children and not subtasks:
                raise OpenSubtasksError(tasks, children)
            result = []
            for before in [*children, *tasks]:
                if before.status == "done":
                    result.append(before)
                    continue
                after = self._completed(before, record=True)
                stored = self._write(conn, before, after, self._group_id(conn))
                assert stored is not None
                result.append(stored)
        return result[len(children) :] + result[: len(children)]

    def skip(self, ids: Iterable[int]) -> list[Task]:
        """Move repeating tasks to their next occurrence without recording a completion
        (past the rule's last occurrence the task is done)."""
        wanted = _unique_ids(ids)
        with self.group(f"skip {_id_list(wanted)}"), self._transaction() as conn:
            tasks = self._fetch_many(conn, wanted)
            for task in tasks:
                if not task.repeat or task.status != "pending":
                    state = "is done" if task.status == "done" else "does not repeat"
                    raise UsageError(
                        f"Task #{task.id} {state}; there is no next occurrence to skip to.",
                        hint="Only pending repeating tasks can be skipped.",
                    )
            result = []
            for before in tasks:
                stored = self._write(
                    conn, before, self._completed(before, record=False), self._group_id(conn)
                )
                assert stored is not None
                result.append(stored)
        return result

    def completions(self, task_id: int) -> list[dict[str, Any]]:
        """The recorded completions of a repeating task, oldest first: {"at", "due"}."""
        tid = _task_id(task_id)
        with self._lock:
            task = self._fetch(self._conn, tid)
            if task is None:
                raise _not_found([tid])
            rows = self._conn.execute(
                "SELECT done_at, due FROM completions WHERE task_id = ? AND seq <= ? ORDER BY seq",
                (tid, task.done_count),
            ).fetchall()
        return [{"at": at, "due": due} for at, due in rows]

    def done_records(self, limit: int | None = None) -> list[tuple[Task, dict[str, Any]]]:
        """Completions of repeating tasks, newest first, with their task (for ``list --done``)."""
        sql = (
            "SELECT c.task_id, c.done_at, c.due FROM completions c JOIN tasks t"
            " ON t.id = c.task_id AND c.seq <= t.done_count WHERE t.list = ?"
            f" ORDER BY {self._db.moment.format('c.done_at')} DESC, c.task_id LIMIT ?"
        )
        with self._lock:
            rows = self._conn.execute(
                sql, (self._list, limit if limit is not None else self._db.no_limit)
            ).fetchall()
            tasks = {t.id: t for t in self._fetch_many(self._conn, {r[0] for r in rows})}
        return [(tasks[tid], {"at": at, "due": due}) for tid, at, due in rows]

    def reopen(self, ids: Iterable[int]) -> list[Task]:
        """Mark done tasks pending again (all or nothing)."""
        wanted = _unique_ids(ids)
        with self.group(f"reopen {_id_list(wanted)}"), self._transaction() as conn:
            result = []
            for before in self._fetch_many(conn, wanted):
                if before.status == "pending":
                    result.append(before)
                    continue
                after = Task.from_dict(before.to_dict())
                stamp = self._stamp()
                _set_status(after, "pending", stamp)
                after.updated_at = stamp
                stored = self._write(conn, before, after, self._group_id(conn))
                assert stored is not None
                result.append(stored)
        return result

    def _completed(self, before: Task, *, record: bool) -> Task:
        """``before`` completed (or skipped): done, or a repeating task's next occurrence."""
        from .. import repeat as repeat_mod

        after = Task.from_dict(before.to_dict())
        stamp = self._stamp()
        after.updated_at = stamp
        rule = before.repeat
        if record and rule:
            after.done_count = before.done_count + 1
            after.last_done = {"at": stamp, "due": before.due}
        if not rule:
            _set_status(after, "done", stamp)
            return after
        left = rule.get("left")
        nxt = None
        if left is None or left > 1:
            nxt = repeat_mod.next_due(
                rule["rule"], rule.get("from") or "due", before.due, now=self._now(), tz=self.tz
            )
        if nxt is None:  # the rule has ended
            _set_status(after, "done", stamp)
            if left is not None:
                after.repeat = {**rule, "left": 0}
            return after
        if left is not None:
            after.repeat = {**rule, "left": left - 1}
        after.due = nxt
        if before.wait and before.due:  # keep the wait the same time ahead of the due
            shift = (
                dates.due_bounds(nxt, tz=self.tz)[0] - dates.due_bounds(before.due, tz=self.tz)[0]
            )
            after.wait = _shift(before.wait, shift, self.tz)
        return after

    def delete(self, ids: Iterable[int]) -> list[Task]:
        """Delete tasks (all or nothing) and return them as they were; undo restores them.

        Deleting a parent deletes its subtasks too, in the same undo step (they are
        returned after the tasks asked for).
        """
        wanted = _unique_ids(ids)
        with self.group(f"delete {_id_list(wanted)}"), self._transaction() as conn:
            tasks = self._fetch_many(conn, wanted)
            kids = [c for c in self._children(conn, wanted) if c.id not in wanted]
            group_id = self._group_id(conn) if tasks else ""
            for task in [*kids, *tasks]:
                self._write(conn, task, None, group_id)
        return [*tasks, *kids]

    # --- subtasks, dependencies and repeat rules -----------------------------------------

    def _children(self, conn: Conn, ids: list[int]) -> list[Task]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        sql = self._db.task_select + f" WHERE t.parent_id IN ({marks}) ORDER BY t.id"
        rows = conn.execute(sql + self._locking(), ids).fetchall()
        return [_row_to_task(r) for r in rows]

    def _open_children(self, conn: Conn, ids: list[int]) -> list[Task]:
        return [c for c in self._children(conn, ids) if c.status == "pending"]

    def subtasks(self, task_id: int) -> list[Task]:
        """The subtasks of a task (any status), by id."""
        with self._lock:
            return self._children(self._conn, [_task_id(task_id)])

    def _check_parent(self, conn: Conn, tid: int | None, value: Any) -> int | None:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        pid = _task_id(value)
        parent = self._fetch(conn, pid)
        if parent is None:
            raise _not_found([pid])
        problem = self._parent_problem(conn, tid, parent)
        if problem == "itself":
            raise UsageError(f"Task #{pid} cannot be its own parent.")
        if problem == "a subtask":
            raise UsageError(
                f"Task #{pid} is itself a subtask of #{parent.parent}; "
                "subtasks are one level deep.",
                hint=f"Use --parent {parent.parent} instead.",
            )
        if problem == "has subtasks":
            raise UsageError(
                f"Task #{tid} has subtasks of its own, so it cannot become a subtask "
                "(subtasks are one level deep).",
            )
        return pid

    def _parent_problem(self, conn: Conn, tid: int | None, parent: Task) -> str | None:
        """What keeps ``parent`` from being the parent of task ``tid`` (None: a new one):
        "itself", "a subtask" (the parent is one: subtasks are one level deep), "has
        subtasks" (``tid`` has its own), or None."""
        if parent.id == tid:
            return "itself"
        if parent.parent is not None:
            return "a subtask"
        if (
            tid is not None
            and conn.execute("SELECT 1 FROM tasks WHERE parent_id = ? LIMIT 1", (tid,)).fetchone()
        ):
            return "has subtasks"
        return None

    def _check_blockers(self, conn: Conn, tid: int | None, ids: list[int]) -> None:
        """Every blocker exists, is not the task itself and does not make a cycle."""
        self._fetch_many(conn, ids)  # NotFoundError for unknown ids
        if tid is None:
            return
        for blocker in ids:
            if blocker == tid:
                raise UsageError(f"Task #{tid} cannot be blocked by itself.")
            path = self._dependency_path(conn, blocker, tid)
            if path is not None:
                chain = " → ".join(f"#{i}" for i in [tid, *path])
                raise UsageError(
                    f"Task #{tid} cannot be blocked by #{blocker}: that would make a cycle "
                    f"({chain}, where → means 'is blocked by').",
                    hint=f"Remove #{tid} from the blockers of #{path[-2]} first.",
                )

    def _dependency_path(
        self,
        conn: Conn,
        start: int,
        goal: int,
        blockers_of: Callable[[int], Iterable[int]] | None = None,
    ) -> list[int] | None:
        """The chain start → ... → goal following "is blocked by" edges, or None.
        ``blockers_of``: where a task's blockers are read (default: the database)."""
        from collections import deque

        if blockers_of is None:

            def blockers_of(node: int) -> Iterable[int]:
                sql = "SELECT blocker_id FROM task_deps WHERE task_id = ?"
                return [b for (b,) in conn.execute(sql, (node,)).fetchall()]

        previous: dict[int, int | None] = {start: None}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if node == goal:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            for nxt in blockers_of(node):
                if nxt not in previous:
                    previous[nxt] = node
                    queue.append(nxt)
        return None

    def _repeat(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        from .. import repeat as repeat_mod

        if isinstance(value, dict):  # a stored shape (import, JSON)
            if not value.get("rule") and value.get("text"):
                value = value["text"]
            elif value.get("rule"):
                left = value.get("left")
                if left is not None and (type(left) is not int or left < 0):
                    raise UsageError(f"repeat left must be a whole number, not {left!r}.")
                return {
                    "text": value.get("text") or value["rule"],
                    "rule": repeat_mod.check_rule(str(value["rule"]), imported=True),
                    "from": "done" if value.get("from") == "done" else "due",
                    "left": left,
                }
            else:
                return None
        if not isinstance(value, str):
            raise UsageError(f"Could not understand the repeat rule '{value}'.")
        if value.strip().lower() in repeat_mod.STOP_WORDS:
            return None
        parsed = repeat_mod.parse_repeat(value, now=self._now(), tz=self.tz)
        return {
            "text": parsed.text,
            "rule": parsed.rule,
            "from": parsed.from_,
            "left": parsed.count,
        }

    def _pin(self, rule: dict[str, Any] | None, due: str | None) -> dict[str, Any] | None:
        """Fix a rule that names no day to the due's day (from its words, when they parse)."""
        if not rule:
            return rule
        from .. import repeat as repeat_mod

        try:
            base = repeat_mod.parse_repeat(rule["text"], now=self._now(), tz=self.tz).rule
        except UsageError:
            return rule
        pinned = repeat_mod.pin(base, rule.get("from") or "due", due, tz=self.tz)
        return {**rule, "rule": pinned}

    def _first_due(self, rule: dict[str, Any]) -> str | None:
        from .. import repeat as repeat_mod

        return repeat_mod.first_due(
            rule["rule"], rule.get("from") or "due", now=self._now(), tz=self.tz
        )

    def import_tasks(
        self,
        records: Iterable[dict[str, Any]],
        *,
        keep_lists: bool = False,
        stamps_checked: bool = False,
        expected: int | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> ImportResult:
        """Bring in tasks given as dicts in the ``Task.to_dict`` shape (ids are ignored), into
        the bound list (with ``keep_lists``: into each record's ``"list"``, default the bound
        one).

        A record whose ``uuid`` the store already has updates that task when the record's
        ``updated_at`` is later and is left alone otherwise, so importing the same records
        twice changes nothing; any other record becomes a new task (keeping its uuid). A
        uuid is one task whatever list it is in: a known one is updated (or left) where it is.
        Timestamps are kept when given. Every record is validated: one bad record raises
        UsageError ("Record 3: ...") and nothing is written. One transaction, one undo step.
        ``parent`` and ``blocked_by`` name the ``id`` of other records of the same import
        (remapped to the tasks' ids here, also of records left as they are; a reference to
        a record not in the import is left out and counted in ``links_left``);
        ``blocked_by_uuids`` names blockers by uuid (in the import or already stored), and
        ``parent_uuid`` the parent;
        ``completions`` (a list of {"at", "due"}) brings a repeating task's history along.
        ``stamps_checked``: the records' time stamps of 25 characters are in the form the
        store keeps (``2026-12-01T17:00:00+01:00``), as a parser that made them knows.

        ``records`` may be an iterator that makes them as it goes (a lazy parse, whose own
        errors then end the import with nothing written): the first batches are written
        while the rest are still being made. ``expected``: at most how many it gives.
        ``progress`` is called with the number of records read so far after each batch.
        """
        if isinstance(records, (list, tuple)):
            expected = len(records)
            if not records:
                return ImportResult()
        expected = expected or 0
        result = ImportResult()
        big = expected > 1000
        if big:
            with self._lock:
                self._db.bulk(True)
        try:
            self._import(iter(records), expected, keep_lists, stamps_checked, result, progress)
        finally:
            if big:
                with self._lock:
                    self._db.bulk(False)
        if result.added or result.updated:
            self._optimize(analyze=True)  # a bulk import changes the planner's best choices
        return result

    def _import(
        self,
        records: Iterator[Any],
        expected: int,
        keep_lists: bool,
        stamps_checked: bool,
        result: ImportResult,
        progress: Callable[[int], object] | None = None,
    ) -> None:
        read = _ImportReader(self, keep_lists, stamps_checked).task
        label = f"import {expected} task{'s' if expected != 1 else ''}" if expected else "import"
        with self.group(label), self._transaction() as conn:
            bulk = _BulkInsert(self, conn, expected)
            with bulk.interrupts_held():
                try:
                    self._import_all(conn, records, bulk, read, keep_lists, result, progress)
                finally:
                    bulk.stop()

    def _import_all(
        self,
        conn: Conn,
        records: Iterator[Any],
        bulk: _BulkInsert,
        read: Callable[[int, Any], Task],
        keep_lists: bool,
        result: ImportResult,
        progress: Callable[[int], object] | None,
    ) -> None:
        seen: list[Any] = []  # the records, as they come
        known: dict[str, Task] = {}  # uuid -> the task stored (or added by this import)
        group_id = ""
        written: list[Task | None] = []
        same: dict[int, int] = {}  # record number (from 0) -> the id of a task left as it is
        new: list[Task] = []  # plain new tasks, written together (few statements, linear)
        index = 0
        while chunk := list(islice(records, _BATCH)):
            seen += chunk
            bulk.known(known, chunk)
            for rec in chunk:
                index += 1
                task = read(index, rec)
                old = known.get(task.uuid) if task.uuid else None
                if old is not None and not _newer(rec, task, old):
                    result.unchanged.append(old)
                    written.append(None)
                    same[index - 1] = old.id  # (its id, for the links of the others)
                    continue
                group_id = group_id or self._group_id(conn)
                if old is None and not task.blocked_by and not task.done_count:
                    task.uuid = task.uuid or new_uuid()
                    known[task.uuid] = task
                    new.append(task)
                    written.append(task)
                    if len(new) == _BATCH:
                        result.added += bulk.add(new, group_id)
                        new = []
                    continue
                # An update may be of a task added just before: write those first.
                result.added += bulk.add(new, group_id)
                new = []
                bulk.wait()
                if old is not None:
                    task.id = old.id
                    if not (keep_lists and isinstance(rec, dict) and rec.get("list")):
                        task.list_name = old.list_name  # a uuid is one task, in its list
                stored = self._write(conn, old, task, group_id)
                assert stored is not None
                known[stored.uuid] = stored
                written.append(stored)
                (result.added if old is None else result.updated).append(stored)
            if progress is not None:
                progress(index)
        result.added += bulk.add(new, group_id)
        bulk.finish()
        if group_id:
            self._import_links(conn, seen, written, same, group_id, result.links_left)
            latest = {t.id: t for t in written if t is not None}
            result.added = [latest.get(t.id, t) for t in result.added]
            result.updated = [latest.get(t.id, t) for t in result.updated]

    def _new_rows(
        self,
        tasks: list[Task],
        ids: Sequence[int],
        sort_keys: tuple[Callable[[str | None], int | None], ...] | None = None,
    ) -> _NewRows:
        """The ``tasks`` and ``task_tags`` rows of new tasks (given these ids), for
        ``_insert_rows``: a column none of them has a value in is written as a literal
        NULL, not bound for every row. ``sort_keys``: how the due and wait dates' sort keys
        are found (``_remembered`` over one whole import)."""
        due_ts, wait_ts = sort_keys or (_remembered(self._due_ts), _remembered(self._wait_ts))
        row = self._row
        rows = []
        for task, task_id in zip(tasks, ids, strict=True):
            task.id = task_id
            rows.append((task_id, *row(task, due_ts, wait_ts)[1]))
        columns = list(zip(*rows, strict=True))  # (by column: empty ones found at C speed)
        empty = {i for i in _SPARSE if columns[i].count(None) == len(rows)}
        if empty:
            rows = list(zip(*[c for i, c in enumerate(columns) if i not in empty], strict=True))
        values = ", ".join("NULL" if i in empty else "?" for i in range(len(_ROW_NAMES)))
        tags = [(t.id, tag, i) for t in tasks for i, tag in enumerate(t.tags)]
        return _NewRows(tasks, values, rows, tags)

    def _insert_rows(self, conn: Conn, new: _NewRows, group_id: str) -> None:
        """Write what ``_new_rows`` made, as ``_write`` would (rows, tags, search, journal),
        with a few statements for all of them. The search rows and the journal entries are
        written from the rows just written where the backend can
        (``Backend.record_added``). Each journal entry is short: the task's id, uuid and
        time of last change, not the whole task. Every later change to a task is journaled
        with the state it found, so undo compares the task with the ``before`` of its next
        entry when there is one; with none, nothing changed the task since, which the uuid
        and time stamp confirm."""
        db = self._db
        db.insert_many(conn, "tasks", _ROW_NAMES, new.values, new.rows)
        db.insert_many(conn, "task_tags", ("task_id", "tag", "position"), "?, ?, ?", new.tags)
        db.record_added(conn, new.tasks, group_id)

    def _fetch_by_uuid(self, conn: Conn, uuids: list[str]) -> dict[str, Task]:
        return {t.uuid: t for t in self._select_in(conn, "t.uuid", uuids)}

    def _import_links(
        self,
        conn: Conn,
        records: list[Any],
        stored: list[Task | None],
        same: dict[int, int],
        group_id: str,
        left: dict[str, int],
    ) -> None:
        """Second pass of an import: parents, blockers and completion histories. A link
        the task model cannot hold (the rules ``edit`` enforces) is left out and counted
        in ``left``; the records' own order decides which link of a cycle goes."""
        linked = [
            i
            for i, rec in enumerate(records)
            if stored[i] is not None
            and (
                rec.get("completions")
                or rec.get("parent") is not None
                or rec.get("parent_uuid")
                or rec.get("blocked_by")
                or rec.get("blocked_by_uuids")
            )
        ]
        if not linked:
            return  # (a record without any of these changes nothing here)
        new_id = {  # the file's ids -> the tasks' ids here (also of those left as they are)
            rec.get("id"): task.id if task is not None else same[i]
            for i, (rec, task) in enumerate(zip(records, stored, strict=True))
            if (task is not None or i in same) and rec.get("id") is not None
        }
        wanted = {u for rec in records for u in rec.get("blocked_by_uuids") or []}
        wanted |= {rec["parent_uuid"] for rec in records if rec.get("parent_uuid")}
        by_uuid = {u: t.id for u, t in self._fetch_by_uuid(conn, sorted(wanted)).items()}
        by_uuid.update({t.uuid: t.id for t in stored if t is not None and t.uuid})
        rules = _LinkRules(self, conn, left)
        for i in linked:
            rec, task = records[i], stored[i]
            assert task is not None
            history = rec.get("completions")  # (a list of checked entries: see _history)
            if history:
                conn.executemany(
                    "INSERT INTO completions (task_id, seq, done_at, due) VALUES (?, ?, ?, ?)"
                    f" {_COMPLETION_UPSERT}",
                    [
                        (task.id, n, _timestamp(c["at"], "at", self.tz), c.get("due"))
                        for n, c in enumerate(history, start=1)
                    ],
                )
            named = rec.get("parent")
            parent = new_id.get(named)
            if named is not None and parent is None:
                rules.leave("a parent not in the file")
            if rec.get("parent_uuid"):
                parent = by_uuid.get(rec["parent_uuid"])
                if parent is None:
                    rules.leave("a parent not imported and not in the list")
            found = {new_id[b] for b in rec.get("blocked_by") or [] if b in new_id}
            found |= {by_uuid[u] for u in rec.get("blocked_by_uuids") or [] if u in by_uuid}
            missing = sum(b not in new_id for b in rec.get("blocked_by") or [])
            missing += sum(u not in by_uuid for u in rec.get("blocked_by_uuids") or [])
            if missing:
                rules.leave("a blocker not imported and not in the list", missing)
            parent = rules.parent(task.id, parent)
            blockers = rules.blockers(task.id, found)
            if parent is None and not blockers:
                continue
            after = Task.from_dict(task.to_dict())
            after.parent, after.blocked_by = parent, blockers
            stored[i] = self._write(conn, task, after, group_id)

    def _task_from_record(self, index: int, record: Any, *, keep_lists: bool = False) -> Task:
        """One import record as a task (validated)."""
        return _ImportReader(self, keep_lists).task(index, record)

    def undo(
        self,
        *,
        scope: Origin | None = None,
        group_id: str | None = None,
        origin: Origin | None = None,
        mine: bool = False,
    ) -> UndoResult:
        """Revert the newest group of changes made in the bound list that has not been
        undone (``mine``: made by this user on this host, see ``whoami``, so on a shared
        list each machine takes back its own changes), atomically (a list rename or delete
        counts for the list the store was bound to when it ran).

        Repeated calls walk further back; ``redo`` takes an undo back. ``scope`` limits the
        choice to groups of that origin (same source, and the same ref and session where
        the scope gives them): a conversation's undo reverts its own newest turn even if
        other changes came later, as long as they did not touch the same tasks.
        ``group_id`` names the group to revert (it must still be the one chosen, e.g. the
        one ``last_change`` showed). ``origin`` is recorded on the undo (default
        ``self.origin``). Raises NotFoundError("Nothing to undo.") when nothing is left and
        TodoError (changing nothing) if a task was changed since.
        """
        with self._transaction() as conn:
            info = self._pick(conn, _UNDOABLE, scope, mine=mine)
            if info is None or (group_id is not None and info.id != group_id):
                if group_id is not None and info is not None:
                    raise TodoError(
                        "Cannot undo: the task list changed meanwhile.",
                        hint="Nothing was undone; run undo again to see the newest change.",
                    )
                raise NotFoundError("Nothing to undo.")
            undo_id = _new_id()
            label = info.label
            self._insert_group(
                conn,
                undo_id,
                f"undo {label}" if label else "undo",
                origin or self.origin,
                undo_of=info.id,
            )
            changes = self._revert(conn, info.id, undo_id, "undo", label)
        return UndoResult(group_id=info.id, label=label, changes=changes)

    def redo(
        self, *, group_id: str | None = None, origin: Origin | None = None, mine: bool = False
    ) -> UndoResult:
        """Take back the newest undo not redone yet (multi-level, like undo), atomically
        (``mine``: the newest undo this user made on this host).

        A fresh change made after an undo ends the redo chain. ``group_id`` names the undo
        group to take back (as ``next_redo`` showed). The result's ``label`` is the label of
        the change redone. Raises NotFoundError("Nothing to redo.") and, changing nothing,
        TodoError if a task was changed since the undo.
        """
        with self._transaction() as conn:
            info = self._pick(conn, _REDOABLE, None, mine=mine)
            if info is None or (group_id is not None and info.id != group_id):
                if group_id is not None and info is not None:
                    raise TodoError(
                        "Cannot redo: the task list changed meanwhile.",
                        hint="Nothing was redone; run redo again to see the newest undo.",
                    )
                raise NotFoundError("Nothing to redo.")
            label = _undone_label(info.label)
            redo_id = _new_id()
            self._insert_group(conn, redo_id, label, origin or self.origin, redo_of=info.id)
            changes = self._revert(conn, info.id, redo_id, "redo", label)
        return UndoResult(group_id=info.id, label=label, changes=changes)

    def last_change(self, *, scope: Origin | None = None) -> GroupInfo | None:
        """The group ``undo(scope=scope)`` would revert now, or None."""
        with self._lock:
            return self._pick(self._conn, _UNDOABLE, scope)

    def next_redo(self) -> GroupInfo | None:
        """The undo ``redo()`` would take back now, or None (its label is the undo's)."""
        with self._lock:
            return self._pick(self._conn, _REDOABLE, None)

    def _pick(
        self, conn: Conn, condition: str, scope: Origin | None, *, mine: bool = False
    ) -> GroupInfo | None:
        where = ["list = ?", condition]
        params: list[Any] = [self._list]
        if mine:
            for column, value in zip(('"user"', "host"), whoami(), strict=True):
                if value is not None:
                    where.append(f"{column} = ?")
                    params.append(value)
        if scope is not None:
            where.append("source = ?")
            params.append(scope.source)
            for column, value in (("source_ref", scope.ref), ("session_id", scope.session)):
                if value is not None:
                    where.append(f"{column} = ?")
                    params.append(value)
        row = conn.execute(
            f"SELECT {_GROUP_COLUMNS} FROM journal_groups WHERE {' AND '.join(where)}"
            " ORDER BY seq DESC LIMIT 1",
            params,
        ).fetchone()
        if row is None:
            return None
        gid, label, created, source, ref, session, user, host = row
        origin = Origin(source, ref, session) if source else None
        return GroupInfo(gid, label, created, origin, user, host)

    def _revert(
        self, conn: Conn, group_id: str, new_id: str, verb: str, label: str | None
    ) -> list[Change]:
        """Move every task of ``group_id`` back to its state before the group, journaled
        under ``new_id``; refuses (raising, so the transaction rolls back) when a task no
        longer looks as the group left it."""
        # With each entry, the state the task's next journaled change found it in (the
        # state this group left it in): what an import's short entries are checked against.
        entries = conn.execute(
            "SELECT j.task_id, j.before, j.after, (SELECT n.before FROM journal n"
            " WHERE n.task_id = j.task_id AND n.seq > j.seq ORDER BY n.seq LIMIT 1)"
            " FROM journal j WHERE j.group_id = ? ORDER BY j.seq DESC",
            (group_id,),
        ).fetchall()
        big = len(entries) > 1000
        if big:
            self._db.bulk(True)
        try:
            with self._db.pipeline():  # a server gets the writes without a wait for each
                changes = self._revert_entries(conn, entries, new_id, verb, label)
        finally:
            if big:
                self._db.bulk(False)
        conn.execute("UPDATE journal_groups SET undone_by = ? WHERE id = ?", (new_id, group_id))
        return changes

    def _revert_entries(
        self, conn: Conn, entries: list[Any], new_id: str, verb: str, label: str | None
    ) -> list[Change]:
        firsts: dict[int, Task | None] = {}
        lasts: dict[int, Task | None] = {}
        # The tasks as they are now, read together (a big import is undone at once); each
        # step below then moves its task on, so a later entry sees the earlier step's result.
        current_of: dict[int, Task | None] = {**self._fetch_existing(conn, {e[0] for e in entries})}
        deleting: list[Task] = []  # consecutive deletions, written together
        for task_id, before_json, after_json, next_before in entries:
            current = current_of.get(task_id)
            # Compare through from_dict, and only the keys the entry has: entries written
            # before a field existed read with its default ("list") or not at all ("uuid").
            recorded = json_value(after_json) if after_json else None
            if recorded is not None and "title" not in recorded and next_before:
                recorded = json_value(next_before)  # a short entry: see _insert_rows
            if recorded is None or "title" not in recorded:
                expected = recorded  # a short entry, and no change journaled since
            else:
                expected = _as_recorded(Task.from_dict(recorded), recorded)
            if _as_recorded(current, recorded) != expected:
                what = f"'{label}'" if label else "the last change"
                raise TodoError(
                    f"Cannot {verb} {what}: task #{task_id} was changed since.",
                    hint=f"Nothing was {verb}ne; edit the task directly instead.",
                )
            target = Task.from_dict(json_value(before_json)) if before_json else None
            firsts.setdefault(task_id, current)
            if target is None and current is not None:
                deleting.append(current)
                current_of[task_id] = lasts[task_id] = None
                continue
            if deleting:
                self._delete_many(conn, deleting, new_id)
                deleting = []
            restored = self._write(conn, current, target, new_id)
            current_of[task_id] = lasts[task_id] = restored
        if deleting:
            self._delete_many(conn, deleting, new_id)
        changes = [Change(before=firsts[tid], after=lasts[tid]) for tid in firsts]
        changes.reverse()  # in the order the original group made them
        return changes

    # --- public API: lists ---------------------------------------------------------------

    def lists(self) -> list[ListInfo]:
        """Every list that has tasks, with its open and done counts, plus the bound list even
        when it is empty; "default" first, then by name."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT list, count(*) FILTER (WHERE status = 'pending'),"
                " count(*) FILTER (WHERE status = 'done') FROM tasks GROUP BY list"
            ).fetchall()
        found = {name: ListInfo(name, open_, done) for name, open_, done in rows}
        found.setdefault(self._list, ListInfo(self._list, 0, 0))
        found[self._list].current = True
        return sorted(found.values(), key=lambda info: (info.name != DEFAULT_LIST, info.name))

    def _list_tasks(self, conn: Conn, name: str) -> list[Task]:
        in_list = self._db.list_scan.format("t.list")
        sql = f"{self._db.task_select} WHERE {in_list} = ? ORDER BY t.id{self._locking()}"
        rows = conn.execute(sql, (name,)).fetchall()
        return [_row_to_task(row) for row in rows]

    def rename_list(self, old: str, new: str) -> int:
        """Give every task of list ``old`` the list ``new``; returns how many moved.

        One undo step, recorded in the bound list (a store bound to ``old`` follows the
        rename, and records the step in ``new``). The tasks' ``updated_at`` is kept (the
        list got a new name; the tasks did not change). NotFoundError when ``old`` has no
        tasks; UsageError when ``new`` is invalid or already has tasks (lists are never merged
        by accident).
        """
        source, target = validate_list_name(old), validate_list_name(new)
        if source == target:
            raise UsageError(f"The list is already called '{target}'.")
        with self.group(f"rename list {source} to {target}"), self._transaction() as conn:
            for name in sorted({source, target} - {self._list}):
                self._db.lock_list(name)
            if conn.execute("SELECT 1 FROM tasks WHERE list = ? LIMIT 1", (target,)).fetchone():
                raise UsageError(
                    f"There is already a list '{target}'.",
                    hint="Pick another name, or rename or delete that list first.",
                )
            tasks = self._list_tasks(conn, source)
            if not tasks:
                raise _no_list(source)
            bound = self._list
            if bound == source:
                self._list = target  # the step is recorded in the list the store follows to
            try:
                group_id = self._group_id(conn)
                for before in tasks:
                    after = Task.from_dict(before.to_dict())
                    after.list_name = target
                    self._write(conn, before, after, group_id)
            except BaseException:
                self._list = bound
                raise
        return len(tasks)

    def delete_list(self, name: str) -> list[Task]:
        """Delete every task of list ``name`` and return them; one undo step (recorded in the
        bound list) restores them all. NotFoundError when the list has no tasks."""
        clean = validate_list_name(name)
        with self.group(f"delete list {clean}"), self._transaction() as conn:
            if clean != self._list:
                self._db.lock_list(clean)
            tasks = self._list_tasks(conn, clean)
            if not tasks:
                raise _no_list(clean)
            group_id = self._group_id(conn)
            for task in tasks:
                self._write(conn, task, None, group_id)
        return tasks

    # --- public API: queries -------------------------------------------------------------

    def query(self, q: TaskQuery | None = None) -> list[Task]:
        """Tasks matching ``q`` (default: pending, soonest due first)."""
        q = q or TaskQuery()
        sort = (q.sort or "due").lower()
        where, params = self._where(q, whole_list=q.limit is None and sort == "id")
        if sort not in _ORDER_BY:
            raise UsageError(f"Unknown sort '{q.sort}'.", hint=f"Use one of: {', '.join(SORTS)}.")
        limit = _non_negative(q.limit, "limit") if q.limit is not None else None
        offset = _non_negative(q.offset or 0, "offset")
        order = self._order_by[sort]
        select = self._db.task_select
        with self._snapshot() as conn:
            # Blocked tasks after the unblocked ones (a filter on blocked: all alike).
            blocked_last = (
                sort in ("due", "priority")
                and q.blocked is None
                and conn.execute(_ANY_DEPS_SQL).fetchone() is not None
            )
            if limit is None:  # every row is read anyway: one statement
                if blocked_last:
                    order = f"{_BLOCKED_SET_SQL}, {order}"
                sql = f"{select} {where} ORDER BY {order} LIMIT ? OFFSET ?"
                rows = conn.execute(sql, (*params, self._db.no_limit, offset)).fetchall()
                return [_row_to_task(row) for row in rows]
            # A page: order and cut on the task's own columns first (an index range), then
            # read tags, dependencies and the last completion for the page's rows only.
            parts = [("", order)]
            if sort == "due" and self._db.undated_apart:
                parts = [("t.due_ts IS NOT NULL", f"t.due_ts, {_DUE_TIES}"), _UNDATED_PART]
            if blocked_last:
                free = f"NOT {_BLOCKED_SET_SQL}"
                parts = [(_both(free, c), o) for c, o in parts] + [
                    (_both(_BLOCKED_SET_SQL, c), o) for c, o in parts
                ]
            ids = self._page_ids(conn, where, params, parts, limit, offset)
            return self._page_tasks(conn, ids)

    def _page_ids(
        self,
        conn: Conn,
        where: str,
        params: list[Any],
        parts: list[tuple[str, str]],
        limit: int,
        offset: int,
    ) -> list[int]:
        """The ids of a page (``limit`` rows after ``offset``) of the tasks ``where`` picks,
        in ``parts`` one after the other: each part (a condition, its order) read in its
        own order and cut there, so that an index gives each in order (unblocked before
        blocked tasks, dated before undated ones: one order over all of them would sort
        every row first). A part is read only when the page reaches it, and counted only
        when the page starts past it."""
        ids: list[int] = []
        skip = offset
        for condition, order in parts:
            clauses = " AND ".join(c for c in (where.removeprefix("WHERE "), condition) if c)
            test = f"WHERE {clauses}" if clauses else ""
            page = f"SELECT t.id FROM tasks t {test} ORDER BY {order} LIMIT ? OFFSET ?"
            rows = [row[0] for row in conn.execute(page, (*params, limit - len(ids), skip))]
            if rows:
                ids += rows
                skip = 0  # the rest of the page starts at the next part's first task
            elif skip:  # the page starts past this part: past how many of its tasks?
                count = f"SELECT count(*) FROM tasks t {test}"
                skip = max(0, skip - int(conn.execute(count, params).fetchone()[0]))
            if len(ids) == limit:
                break
        return ids

    @contextmanager
    def _snapshot(self) -> Iterator[Conn]:
        """The connection inside one read transaction, so that every statement in the block
        sees the same state of the database (inside a write transaction: that one)."""
        db = self._db
        with self._lock:
            if self._depth or db.in_transaction:
                yield self._conn
                return
            db.begin_read()
            try:
                yield self._conn
            except BaseException:
                if db.in_transaction:
                    with suppress(*db.errors):
                        db.rollback()
                raise
            else:
                if db.in_transaction:
                    db.commit()

    def _page_tasks(self, conn: Conn, ids: list[int]) -> list[Task]:
        """The tasks of ``ids``, in that order, read in the caller's snapshot. An id whose
        row cannot be read is a damaged database, never a task quietly left out."""
        found = {t.id: t for t in self._select_in(conn, "t.id", ids)}
        missing = sum(1 for task_id in ids if task_id not in found)
        if missing:
            raise self._db.rows_missing(missing)
        return [found[task_id] for task_id in ids]

    def count(self, q: TaskQuery | None = None) -> int:
        """How many tasks match ``q`` (ignoring limit, offset and sort)."""
        where, params = self._where(q or TaskQuery())
        with self._lock:
            return int(
                self._conn.execute(f"SELECT count(*) FROM tasks t {where}", params).fetchone()[0]
            )

    def search(self, text: str, *, status: str | None = None, limit: int | None = 50) -> list[Task]:
        """Full-text search over title, notes, tags and project, best matches first.

        Every word must match (as a prefix, so "mil" finds "milk"). ``status`` None = any.
        """
        match = self._db.fts_query(text)
        if match is None:
            return []
        join, condition, rank = self._db.search_from()
        params: list[Any] = [match, self._list]
        sql = self._db.task_select.rstrip() + join
        sql += f" WHERE {condition} AND t.list = ?"
        if status is not None and status != "all":
            sql += " AND t.status = ?"
            params.append(_status(status))
        sql += f" ORDER BY {rank} LIMIT ?"
        params.append(_non_negative(limit, "limit") if limit is not None else self._db.no_limit)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [_row_to_task(row) for row in rows]

    def stats(self) -> dict[str, int]:
        """Counts: {"open": pending and not waiting, "overdue": open and overdue,
        "due_today": open and due today (a time earlier today counts as both), "done": done,
        "waiting": pending but hidden until a later date, "blocked": open and blocked}."""
        overdue, o_params = self._overdue_sql()
        today, t_params = self._due_today_sql()
        now = int(self._now().timestamp())
        day_start, day_end = dates.due_bounds(self._now().date().isoformat(), tz=self.tz)
        open_ = "t.status = 'pending' AND (t.wait_ts IS NULL OR t.wait_ts <= ?)"
        # Each count is a range of the list page index. The open and the waiting tasks are
        # counted in one pass over the list's pending range. A due stored as a date keeps
        # its day's last second in due_ts, so "overdue" implies due_ts < now and "due
        # today" implies due_ts within today: those bounds narrow the range, the exact
        # tests stay.
        counts: list[tuple[str, list[Any]]] = [
            ("t.status = 'done'", []),
            (f"{open_} AND t.due_ts < ? AND {overdue}", [now, now, *o_params]),
            (
                f"{open_} AND t.due_ts >= ? AND t.due_ts < ? AND {today}",
                [now, day_start, day_end, *t_params],
            ),
        ]
        sql = (
            "SELECT p.open_count, p.waiting_count, "
            + ", ".join(
                f"(SELECT count(*) FROM tasks t WHERE t.list = ? AND {test})" for test, _ in counts
            )
            + " FROM (SELECT count(*) FILTER (WHERE t.wait_ts IS NULL OR t.wait_ts <= ?)"
            " AS open_count, count(*) FILTER (WHERE t.wait_ts > ?) AS waiting_count"
            " FROM tasks t WHERE t.list = ? AND t.status = 'pending') p"
        )
        params = [value for _, values in counts for value in (self._list, *values)]
        params += [now, now, self._list]
        with self._snapshot() as conn:
            row = conn.execute(sql, params).fetchone()
            blocked = 0
            if conn.execute(_ANY_DEPS_SQL).fetchone():
                # Driven by the (few) dependencies, not by the list's rows (SQLite keeps
                # the order a CROSS JOIN names; other planners choose freely).
                blocked = conn.execute(
                    "SELECT count(DISTINCT t.id) FROM task_deps d CROSS JOIN tasks b"
                    " CROSS JOIN tasks t WHERE b.id = d.blocker_id AND b.status = 'pending'"
                    f" AND t.id = d.task_id AND t.list = ? AND {open_}",
                    (self._list, now),
                ).fetchone()[0]
        return {
            "open": row[0],
            "overdue": row[3],
            "due_today": row[4],
            "done": row[2],
            "waiting": row[1],
            "blocked": blocked,
        }

    # --- query building ------------------------------------------------------------------

    def _overdue_sql(self) -> tuple[str, list[Any]]:
        now = self._now()
        return (
            "((length(t.due) = 10 AND t.due < ?) OR (length(t.due) > 10 AND t.due_ts < ?))",
            [now.date().isoformat(), int(now.timestamp())],
        )

    def _due_today_sql(self) -> tuple[str, list[Any]]:
        today = self._now().date().isoformat()
        start, end = dates.due_bounds(today, tz=self.tz)
        return (
            "(t.due = ? OR (length(t.due) > 10 AND t.due_ts >= ? AND t.due_ts < ?))",
            [today, start, end],
        )

    def _bound(self, text: str, *, after: bool) -> tuple[str, list[Any]]:
        due = dates.parse_due(text, now=self._now(), tz=self.tz)
        start, end = dates.due_bounds(due, tz=self.tz)
        value = dates.parse_iso(due, tz=self.tz)
        if isinstance(value, datetime):
            day = value.astimezone(self.tz).date().isoformat()
            if after:
                return "((length(t.due) = 10 AND t.due >= ?) OR t.due_ts > ?)", [day, start]
            return "((length(t.due) = 10 AND t.due < ?) OR t.due_ts < ?)", [day, start]
        if after:
            return (
                "((length(t.due) = 10 AND t.due > ?) OR (length(t.due) > 10 AND t.due_ts >= ?))",
                [
                    due,
                    end,
                ],
            )
        return "((length(t.due) = 10 AND t.due < ?) OR (length(t.due) > 10 AND t.due_ts < ?))", [
            due,
            start,
        ]

    def _where(self, q: TaskQuery, *, whole_list: bool = False) -> tuple[str, list[Any]]:
        """The WHERE clause of ``q`` and its parameters. ``whole_list``: the list's every
        task is read in id order (see ``Backend.list_scan``)."""
        in_list = self._db.list_scan.format("t.list") if whole_list else "t.list"
        clauses: list[str] = [] if q.all_lists else [f"{in_list} = ?"]
        params: list[Any] = [] if q.all_lists else [self._list]
        if q.status is not None and q.status != "all":
            clauses.append("t.status = ?")
            params.append(_status(q.status))
        if q.priority:
            clauses.append("t.priority = ?")
            params.append(_priority(q.priority))
        if q.tag:
            tag = _tags([q.tag])
            clauses.append(self._db.tag_filter())
            params.append(tag[0] if tag else q.tag)
        if q.project:
            clauses.append(self._db.nocase_eq("t.project"))
            params.append(checked_text(q.project.strip(), "project"))
        if q.due_before:
            sql, values = self._bound(q.due_before, after=False)
            clauses.append(sql)
            params += values
        if q.due_after:
            sql, values = self._bound(q.due_after, after=True)
            clauses.append(sql)
            params += values
        if q.overdue:
            sql, values = self._overdue_sql()
            clauses.append(f"t.status = 'pending' AND {sql}")
            params += values
        if q.due_today:
            sql, values = self._due_today_sql()
            clauses.append(sql)
            params += values
        waiting = q.waiting
        if waiting is None and q.status not in (None, "all") and _status(q.status) == "pending":
            waiting = False
        if waiting is not None:
            now = int(self._now().timestamp())
            if waiting:
                clauses.append("t.wait_ts > ?")
            else:
                clauses.append("(t.wait_ts IS NULL OR t.wait_ts <= ?)")
            params.append(now)
        if q.repeating:
            clauses.append("t.repeat_rule IS NOT NULL")
        if q.blocked is not None:
            clauses.append(_BLOCKED_SET_SQL if q.blocked else f"NOT {_BLOCKED_SET_SQL}")
        if q.parent is not None:
            clauses.append("t.parent_id = ?")
            params.append(_task_id(q.parent))
        if q.text is not None and q.text.strip():
            match = self._db.fts_query(q.text)
            if match is None:
                clauses.append("1 = 0")
            else:
                clauses.append(self._db.text_filter())
                params.append(match)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


_COMPLETION_UPSERT = (
    "ON CONFLICT (task_id, seq) DO UPDATE SET done_at = excluded.done_at, due = excluded.due"
)


def _reads_fail_cleanly(method: Callable[..., Any]) -> Callable[..., Any]:
    """Map a storage failure during a read (a damaged page, an I/O error) to the store's
    one-line error; writes get the same through ``_transaction``."""
    import functools

    @functools.wraps(method)
    def guarded(self: TaskStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except self._db.errors as exc:
            raise self._db.fault(exc) from exc

    return guarded


for _name in (
    "get",
    "get_many",
    "query",
    "count",
    "search",
    "stats",
    "subtasks",
    "completions",
    "done_records",
    "last_change",
    "next_redo",
    "lists",
):
    if hasattr(TaskStore, _name):
        setattr(TaskStore, _name, _reads_fail_cleanly(getattr(TaskStore, _name)))


# --- helpers -----------------------------------------------------------------------------


def _zone_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz)


def _undone_label(label: str | None) -> str | None:
    """The label of the change an undo took back ("undo add 'x'" -> "add 'x'")."""
    if label is None or label == "undo":
        return None
    return label[5:] if label.startswith("undo ") else label


_WHO: tuple[str | None, str | None] | None = None


def whoami() -> tuple[str | None, str | None]:
    """(user, host) recorded on each group; the environment first (no imports)."""
    global _WHO
    if _WHO is None:
        user = os.environ.get("USER") or os.environ.get("LOGNAME") or os.environ.get("USERNAME")
        if not user:
            try:
                import pwd

                user = pwd.getpwuid(os.getuid()).pw_name
            except (ImportError, KeyError, AttributeError):
                user = str(os.getuid()) if hasattr(os, "getuid") else None
        host = os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME")
        _WHO = (user, host or None)
    return _WHO


_new_id = new_group_id


def _backend(
    target: str | Path, connect_timeout: float, statement_timeout: float | None
) -> Backend:
    """The backend ``target`` names: a PostgreSQL URL, else an SQLite file."""
    from ..dburl import DEFAULT_STATEMENT_TIMEOUT, is_postgres_url

    if isinstance(target, str) and is_postgres_url(target):
        from .pgconn import require_psycopg

        require_psycopg()  # a clear error when the driver is not installed
        from .postgres import PostgresBackend  # imports psycopg: only for a server

        if statement_timeout is None:
            statement_timeout = DEFAULT_STATEMENT_TIMEOUT
        return PostgresBackend(target, timeout=connect_timeout, statement_timeout=statement_timeout)
    return SQLiteBackend(target)


def _as_recorded(task: Task | None, recorded: dict[str, Any] | None) -> dict[str, Any] | None:
    """The task in the shape of a journal entry: only the keys the entry has (an entry
    written before a field existed has no such key)."""
    if task is None:
        return None
    data = task.to_dict()
    if recorded is None:
        return data
    return {key: data.get(key) for key in recorded}


# From this many tasks added or deleted at once (and more of them than the rest), the
# indexes of ``tasks`` are built again afterwards instead of taking each row in or out.
_REINDEX_ROWS = 5000


def _reindex(conn: Conn, moving: int, *, leaving: bool = False) -> bool:
    """Whether ``moving`` tasks coming in (or ``leaving``) are enough, and more than the
    tasks that stay, to drop the indexes first and build them again after."""
    if moving < _REINDEX_ROWS:
        return False
    (count,) = conn.execute("SELECT count(*) FROM tasks").fetchone()
    staying = count - moving if leaving else count
    return bool(staying < moving)


def _drop_indexes(conn: Conn, db: Backend) -> list[str]:
    """Drop what the backend drops of the indexes of ``tasks`` and ``task_tags``; what
    ``Backend.restore_indexes`` builds again."""
    return db.drop_indexes(conn, "tasks") + db.drop_indexes(conn, "task_tags")


# The columns of a new task's row, and those (by position) that often have no value at all.
_ROW_NAMES = ("id", *TaskStore._COLUMNS.replace(" ", "").split(","))
_SPARSE = (2, 5, 6, 7, 10, 13, 14, 15, 16, 17, 18, 19, 20)


_BATCH = 2000  # plain new tasks of an import written together


@dataclass
class _NewRows:
    """New tasks' rows, made by ``TaskStore._new_rows`` for ``TaskStore._insert_rows``."""

    tasks: list[Task]
    values: str  # one row's placeholders and literal NULLs
    rows: list[tuple[Any, ...]]
    tags: list[tuple[int, str, int]]
    group_id: str = ""


class _LinkRules:
    """The rules ``edit`` enforces on parents and blockers (``_parent_problem``,
    ``_dependency_path``), for the links of one import, which may name each other in any
    order: subtasks are one level deep, no task is its own parent or blocker, and "is
    blocked by" makes no cycle. Each link is written before the next is checked, so the
    database has every parent so far; the blockers are also kept here, read once, so that
    looking for a cycle asks no query per task on the way. ``left`` counts the links left
    out, by why."""

    def __init__(self, store: TaskStore, conn: Conn, left: dict[str, int]) -> None:
        self.store, self.conn, self.left = store, conn, left
        self.deps: dict[int, set[int]] | None = None  # task -> its blockers
        self.blocking: dict[int, int] = {}  # task -> how many it blocks

    def leave(self, why: str, count: int = 1) -> None:
        self.left[why] = self.left.get(why, 0) + count

    def parent(self, tid: int, pid: int | None) -> int | None:
        """``pid`` as the parent of ``tid``, or None where the model cannot hold it."""
        parent = None if pid is None else self.store._fetch(self.conn, pid, any_list=True)
        if parent is None:
            return None
        problem = self.store._parent_problem(self.conn, tid, parent)
        if problem is None:
            return pid
        if problem == "itself":
            self.leave("a task as its own parent")
        else:
            self.leave("a subtask of a subtask (subtasks are one level deep)")
        return None

    def blockers(self, tid: int, wanted: set[int]) -> list[int]:
        """The blockers of ``tid`` among ``wanted`` that make no cycle, in id order."""
        if tid in wanted:
            wanted = wanted - {tid}
            self.leave("a task blocked by itself")
        deps = self._deps()
        for old in deps.get(tid, ()):
            self.blocking[old] -= 1
        deps[tid] = set()
        kept = []
        for blocker in sorted(wanted):
            # (a task nothing waits for closes no cycle: most of them, in a real file)
            if self.blocking.get(tid, 0) and self.store._dependency_path(
                self.conn, blocker, tid, lambda node: deps.get(node, ())
            ):
                self.leave("a dependency cycle")
                continue
            kept.append(blocker)
            deps[tid].add(blocker)
            self.blocking[blocker] = self.blocking.get(blocker, 0) + 1
        return kept

    def _deps(self) -> dict[int, set[int]]:
        if self.deps is None:
            self.deps = {}
            for task_id, blocker in self.conn.execute(
                "SELECT task_id, blocker_id FROM task_deps"
            ).fetchall():
                self.deps.setdefault(task_id, set()).add(blocker)
                self.blocking[blocker] = self.blocking.get(blocker, 0) + 1
        return self.deps


class _BulkInsert:
    """The plain new tasks of one import, written in batches (``add``), and the stored
    tasks its records name (``known``).

    A big import first drops the indexes of ``tasks`` and ``task_tags`` (when it brings
    more rows than the tables hold) and builds them again at the end (``finish``), once.
    Where the backend allows (``Backend.threaded_bulk``: SQLite), the batches are written
    by a second thread: the database does that work without holding Python's interpreter
    lock, so it overlaps with reading and checking the next records. Nothing else uses the
    connection meanwhile: whatever else the import reads or writes first waits for the
    batches handed over (``wait``). New ids are then counted on from the highest (the
    write transaction has the file to itself) and read again after such a write."""

    def __init__(self, store: TaskStore, conn: Conn, expected: int) -> None:
        self.store, self.conn = store, conn
        self.db = store._db
        # (the sort keys of the import's due and wait dates, each found once)
        self.sort_keys = (_remembered(store._due_ts), _remembered(store._wait_ts))
        self.reindex = _reindex(conn, expected)
        self.dropped: list[str] = []
        # Where the uuid index is to be dropped, the stored tasks are found by id: uuid ->
        # id of every stored task, read now (there are fewer of them than are coming).
        self.stored: dict[str, int] | None = None
        if self.reindex:
            found = conn.execute("SELECT uuid, id FROM tasks WHERE uuid IS NOT NULL")
            self.stored = dict(found.fetchall())
        self.threaded = self.db.threaded_bulk and expected > _BATCH
        self.next_id: int | None = None
        import queue

        self.queue: queue.Queue[_NewRows | None] = queue.Queue(maxsize=2)
        self.full = queue.Full
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.stopping = False
        self.interrupted = False
        self.switch = 0.0

    @contextmanager
    def interrupts_held(self) -> Iterator[None]:
        """While a writer thread may use the connection, Ctrl-C (SIGINT) is noted and
        raised in the importing thread at the next batch (or at the end), after which the
        writer is stopped before the transaction is rolled back: never while it writes."""
        import signal

        main = threading.current_thread() is threading.main_thread()
        previous = signal.getsignal(signal.SIGINT) if main else None
        if not self.threaded or previous is None or previous is signal.SIG_IGN:
            yield  # (no signal comes to this thread, or it is ignored, or not Python's)
            return

        def note(signum: int, frame: Any) -> None:
            self.interrupted = True

        signal.signal(signal.SIGINT, note)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
        if self.interrupted:
            raise KeyboardInterrupt

    def _check(self) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        if self.error is not None:
            error, self.error = self.error, None
            self.stopping = True
            raise error

    def known(self, known: dict[str, Task], records: list[Any]) -> None:
        """Add to ``known`` the stored tasks these records name by uuid."""
        self._check()
        wanted = [u for u in _uuids_named(records) if u not in known]
        if not wanted:
            return
        if self.stored is None:
            self.wait()
            known.update(self.store._fetch_by_uuid(self.conn, wanted))
            return
        ids = [self.stored[u] for u in wanted if u in self.stored]
        if ids:
            self.wait()
            known.update((t.uuid, t) for t in self.store._select_in(self.conn, "t.id", ids))

    def add(self, tasks: list[Task], group_id: str) -> list[Task]:
        """Write ``tasks`` as new tasks, or hand them to the writer (they get their ids
        now)."""
        if not tasks:
            return tasks
        self._check()
        db, conn = self.db, self.conn
        if self.reindex:  # (once, before the writer starts)
            self.reindex = False
            self.dropped = _drop_indexes(conn, db)
        if not self.threaded:
            rows = self.store._new_rows(tasks, db.new_ids(conn, len(tasks)), self.sort_keys)
            self.store._insert_rows(conn, rows, group_id)
            return tasks
        if self.next_id is None:
            self.next_id = db.new_ids(conn, 1)[0]
        ids = range(self.next_id, self.next_id + len(tasks))
        self.next_id += len(tasks)
        rows = self.store._new_rows(tasks, ids, self.sort_keys)
        rows.group_id = group_id
        if self.thread is None:
            # Hand the interpreter lock over soon when the writer asks for it back after a
            # statement (by default it waits up to 5 ms, for every statement).
            self.switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self.switch, 0.0001))
            self.thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
            self.thread.start()
        self.queue.put(rows)
        return tasks

    def _run(self) -> None:
        while True:
            rows = self.queue.get()
            try:
                if rows is None:
                    return
                if self.error is None and not self.stopping:
                    self.store._insert_rows(self.conn, rows, rows.group_id)
            except BaseException as exc:  # handed to the importing thread
                self.error = exc
            finally:
                self.queue.task_done()

    def wait(self) -> None:
        """Until every batch handed over is written: the caller uses the connection next."""
        if self.thread is not None:
            self.queue.join()
        self._check()
        self.next_id = None

    def finish(self) -> None:
        """Every batch written, the writer ended, the dropped indexes built again."""
        self.wait()
        self.stop()
        if self.dropped:
            self.db.restore_indexes(self.conn, self.dropped)
            self.dropped = []

    def stop(self) -> None:
        """End the writer; batches not written yet are dropped (after a failure the
        caller rolls the transaction back), a statement under way ends first."""
        thread = self.thread
        if thread is None:
            return
        self.stopping = True
        while thread.is_alive():
            with suppress(self.full):
                self.queue.put(None, timeout=0.05)
            thread.join(0.05)
        self.thread = None
        sys.setswitchinterval(self.switch)


def _remembered(find: Callable[[str | None], int | None]) -> Callable[[str | None], int | None]:
    """``find``, remembering what it gave for each value (imports repeat their dates)."""
    found: dict[str | None, int | None] = {None: None}

    def lookup(value: str | None) -> int | None:
        if value not in found:
            found[value] = find(value)
        return found[value]

    return lookup


def _uuids_named(records: list[Any]) -> list[str]:
    """The uuids import records name, as ``_uuid`` reads them (a record whose uuid is not
    valid is refused by its own check)."""
    found = []
    for rec in records:
        value = rec.get("uuid") if isinstance(rec, dict) else None
        if isinstance(value, str) and value:
            found.append(value.strip().lower())
    return found


class _ImportReader:
    """Import records as validated tasks, for one import. Real files repeat their due
    dates, tags, projects, priorities and statuses a lot: each value is checked once.
    ``stamps_checked``: the records' time stamps are already in the store's form."""

    def __init__(self, store: TaskStore, keep_lists: bool, stamps_checked: bool = False) -> None:
        self.store = store
        self.keep_lists = keep_lists
        self.stamps_checked = stamps_checked
        self.now: str | None = None
        # what -> value -> its checked form
        self.seen: dict[str, dict[Any, Any]] = {
            k: {} for k in ("status", "priority", "due", "project", "tags", "list")
        }

    def _once(self, what: str, value: Any, check: Callable[[Any], Any]) -> Any:
        known = self.seen[what]
        try:
            if value in known:
                return known[value]
        except TypeError:  # (not hashable: checked each time, and refused by the check)
            return check(value)
        checked = known[value] = check(value)
        return checked

    def _stamp(self, value: Any, name: str) -> str | None:
        if type(value) is str and len(value) == 25:
            if self.stamps_checked:
                return value
            try:
                if datetime.fromisoformat(value).isoformat() == value:
                    return value  # already in the form _timestamp gives
            except ValueError:
                pass
        return _timestamp(value, name, self.store.tz)

    def task(self, index: int, record: Any) -> Task:
        # (Each remembered value is looked up here first; ``_once`` checks a new one.)
        store = self.store
        once, seen = self._once, self.seen
        stamp, checked = self._stamp, self.stamps_checked
        try:
            if not isinstance(record, dict):
                raise UsageError("expected an object with at least a title.")
            get = record.get
            if "title" not in record:
                raise UsageError("the title is missing.")
            if self.now is None:
                self.now = store._stamp()
            created, updated = get("created_at"), get("updated_at")
            if not (checked and type(created) is str and len(created) == 25):
                created = stamp(created, "created_at") or self.now
            if not (checked and type(updated) is str and len(updated) == 25):
                updated = stamp(updated, "updated_at") or created
            completed = get("completed_at")
            if completed is not None:
                completed = stamp(completed, "completed_at")
            value = get("status") or "pending"
            status = seen["status"].get(value) if type(value) is str else None
            if status is None:
                status = once("status", value, _status)
            if status == "done" and completed is None:
                completed = updated
            if status == "pending":
                completed = None
            list_name = store._list
            if self.keep_lists and get("list") is not None:
                list_name = once("list", get("list"), validate_list_name)
            value = get("tags")
            found = None
            if value and type(value) is list:
                with suppress(TypeError):  # (not hashable: refused by _tags)
                    found = seen["tags"].get(tuple(value))  # the same texts checked before
            if found is not None:
                tags = list(found)
            elif not value:
                tags = []
            elif type(value) is list and all(type(t) is str for t in value):
                tags = list(once("tags", tuple(value), _tags))
            else:
                tags = _tags(value)
            value = get("priority")
            priority = seen["priority"].get(value) if type(value) is str else None
            if priority is None:
                priority = once("priority", value, _priority)
            value = get("due")
            due = None if value is None else once("due", value, store._due)
            value = get("project")
            project = None if value is None else once("project", value, _project)
            title = _title(get("title"))
            notes = get("notes")
            if notes is not None:
                notes = _text(notes, "notes")
            uuid = get("uuid")
            if not (type(uuid) is str and _UUID.fullmatch(uuid)):
                uuid = _uuid(uuid)  # (one already in its stored form needs nothing more)
            wait = get("wait")
            repeat = get("repeat")
            extra = get("extra")
            task = Task(
                0,
                title,
                notes,
                status,
                priority,
                due,
                tags,
                project,
                created,
                updated,
                completed,
                list_name,
                uuid,
                None if extra is None else _extra(extra),
                None if wait is None else once("due", wait, store._due),
                None,
                [],
                None if repeat is None else store._repeat(repeat),
            )
            if get("completions") or get("last_done"):
                for key, value in _history(record, store.tz).items():
                    setattr(task, key, value)
            return task  # an imported rule with no due keeps none (completing starts it)
        except UsageError as exc:
            message = exc.message[0].lower() + exc.message[1:]
            raise UsageError(f"Record {index}: {message}", hint=exc.hint) from None


def _dump(task: Task | None) -> str | None:
    return json_text(task.to_dict()) if task else None


def _not_found(ids: list[Any]) -> NotFoundError:
    if len(ids) == 1:
        return NotFoundError(f"No task #{ids[0]}", hint=_LIST_HINT)
    return NotFoundError(f"No tasks {_id_list(ids)}", hint=_LIST_HINT)


def _no_list(name: str) -> NotFoundError:
    return NotFoundError(f"No list '{name}'", hint="Run `todo lists` to see your lists.")


def _id_list(ids: Iterable[int]) -> str:
    return ", ".join(f"#{i}" for i in ids)


_MAX_INT = 2**63 - 1  # the largest integer SQLite and PostgreSQL's bigint hold


def _task_id(value: Any) -> int:
    if isinstance(value, bool):
        raise UsageError(f"Not a task id: {value!r}.", hint=_LIST_HINT)
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip().lstrip("#")
        if not (text.isascii() and text.isdigit()):
            raise UsageError(
                f"Not a task id: '{_shown(value)}'.", hint="Task ids are numbers, e.g. 12 or #12."
            )
        number = int(text)
    if not 0 <= number <= _MAX_INT:  # no task has it (and SQLite could not even look)
        if abs(number) < 10**20:
            raise _not_found([number])
        raise NotFoundError(f"No task #{str(number)[:20]}… (no id is that large)", hint=_LIST_HINT)
    return number


def _unique_ids(ids: Iterable[int]) -> list[int]:
    if isinstance(ids, (int, str)):
        ids = [ids]  # type: ignore[list-item]
    seen: dict[int, None] = {}
    for value in ids:
        seen.setdefault(_task_id(value), None)
    return list(seen)


def _title(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise UsageError("A task needs a title.", hint='Give a short description, e.g. "Buy milk".')
    return checked_text(text, "title")


def _text(value: Any, what: str = "text") -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return checked_text(text, what) or None


def _project(value: Any) -> str | None:
    return _text(value, "project")


def _priority(value: Any) -> str:
    if value is None:
        return "none"
    text = str(value).strip().lower()
    text = _PRIORITY_ALIASES.get(text, text)
    if text not in PRIORITIES:
        raise UsageError(
            f"Unknown priority '{value}'.", hint=f"Use one of: {', '.join(PRIORITIES)}."
        )
    return text


def _status(value: Any) -> str:
    text = str(value).strip().lower()
    text = _STATUS_ALIASES.get(text, text)
    if text not in STATUSES:
        raise UsageError(f"Unknown status '{value}'.", hint=f"Use one of: {', '.join(STATUSES)}.")
    return text


def _tags(value: Iterable[str] | str) -> list[str]:
    """Clean tags: strip spaces and a leading '#', drop empties and case-insensitive repeats."""
    items = re.split(r"[,\s]+", value) if isinstance(value, str) else list(value)
    result: list[str] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise UsageError(f"Tags must be text, not {_shown(repr(item))}.")
        tag = _CONTROL.sub(" ", checked_text(item, "tag")).strip().lstrip("#").strip()
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            result.append(tag)
    return result


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid(value: Any) -> str:
    if value is None or value == "":
        return ""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not _UUID.fullmatch(text):
        raise UsageError(
            f"uuid '{value}' is not a uuid (like 3c428e73-660c-4968-a7ba-7bc88c309070)."
        )
    return text


def _extra(value: Any) -> dict[str, Any] | None:
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise UsageError("extra must be a JSON object.")
    return value


_CONTENT = ("title", "notes", "status", "priority", "due", "tags", "project", "extra")


def _newer(record: dict[str, Any], task: Task, old: Task) -> bool:
    """Whether an imported ``task`` (from ``record``) should replace the stored ``old``:
    its last change is later; or, for a record that gives no time of change, it says
    something else."""
    if record.get("updated_at"):
        return datetime.fromisoformat(task.updated_at) > datetime.fromisoformat(old.updated_at)
    return any(getattr(task, name) != getattr(old, name) for name in _CONTENT)


def _repeat_columns(repeat: dict[str, Any] | None) -> tuple[Any, Any, Any, Any]:
    if not repeat:
        return (None, None, None, None)
    return (repeat.get("text"), repeat.get("rule"), repeat.get("from") or "due", repeat.get("left"))


def _history(record: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    """done_count/last_done of an imported record: its completions list, else last_done."""
    history = record.get("completions")
    if history:
        if not isinstance(history, list) or not all(isinstance(c, dict) for c in history):
            raise UsageError('completions must be a list of {"at": date-time, "due": due}.')
        for done in history:  # (every one checked here, where the record is named)
            if not done.get("at"):
                raise UsageError("each completion needs its date-time (at).")
            at = _timestamp(done["at"], "completions", tz)
            _completed_due(done.get("due"), tz)
        last = {"at": at, "due": history[-1].get("due")}
        return {"done_count": len(history), "last_done": last}
    latest = record.get("last_done")
    if latest is not None:
        if not isinstance(latest, dict) or not latest.get("at"):
            raise UsageError('last_done must be {"at": date-time, "due": due}.')
        at = _timestamp(latest["at"], "last_done", tz)
        _completed_due(latest.get("due"), tz)
        return {"done_count": 1, "last_done": {"at": at, "due": latest.get("due")}}
    return {}


def _completed_due(value: Any, tz: tzinfo) -> None:
    """The due a completion was for: None, or a due as the store keeps it."""
    if value is None:
        return
    try:
        dates.parse_iso(value, tz=tz)
    except (TypeError, ValueError, AttributeError):
        raise UsageError(f"a completion's due is not a date: {_shown(repr(value))}.") from None


def _shift(value: str, seconds: int, tz: tzinfo) -> str:
    """A stored date or date-time moved by ``seconds`` (whole days for a date)."""
    from datetime import timedelta

    parsed = dates.parse_iso(value, tz=tz)
    if isinstance(parsed, datetime):
        wall = parsed.astimezone(tz).replace(tzinfo=None) + timedelta(seconds=seconds)
        return dates.now_in(tz, wall).isoformat(timespec="seconds")
    return (parsed + timedelta(days=round(seconds / 86400))).isoformat()


def _set_status(task: Task, status: str, stamp: str) -> None:
    if task.status == status:
        return
    task.status = status
    task.completed_at = stamp if status == "done" else None


def _timestamp(value: Any, name: str, tz: tzinfo) -> str | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{name} is not an ISO 8601 date-time: '{value}'.") from None
    if moment.tzinfo is None:
        moment = dates.now_in(tz, moment)
    return moment.isoformat(timespec="seconds")


def _non_negative(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(
            f"The {name} must be a whole number of 0 or more, not {_shown(repr(value))}."
        )
    return min(value, _MAX_INT)  # more than SQLite can count means "all of them"
