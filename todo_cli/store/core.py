"""The task store: one SQLite file, owned by ``TaskStore``.

* Schema: named, append-only migrations (``sqlite_utils.Migrations``, set ``"todo"``),
  applied when the store opens. The common path checks the migrations table with plain
  ``sqlite3`` and imports ``sqlite_utils`` (about 0.2 s) only when a migration is pending.
* WAL mode and a busy timeout; every mutation is one ``BEGIN IMMEDIATE`` transaction, so
  several processes can write at once.
* Tags live in ``task_tags`` (indexed by tag); full-text search is an FTS5 table
  ``tasks_fts`` over title, notes, tags and project, rewritten by the same code path that
  writes a task (add, update, delete, undo, import), inside the same transaction.
* A change journal: every mutation records the task's state before and after (JSON in the
  ``Task.to_dict`` shape) under a group id. ``undo()`` reverts the newest group that has not
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

import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import dates
from ..errors import NotFoundError, TodoError, UsageError
from ..listnames import DEFAULT_LIST, validate_list_name
from ..textin import checked_text
from ..textin import shown as _shown

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    from ..config import Settings

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
BUSY_TIMEOUT_MS = 30_000

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


# --- migrations (append-only: never edit or reorder one that has shipped) ----------------

MIGRATION_SET = "todo"


def m001_tasks(db: Database) -> None:
    """Tasks and their tags."""
    db.execute(
        """
        CREATE TABLE tasks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL CHECK (length(trim(title)) > 0),
            notes TEXT,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
            priority TEXT NOT NULL DEFAULT 'none'
                CHECK (priority IN ('none', 'low', 'medium', 'high')),
            due TEXT,
            due_ts INTEGER,
            project TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            completed_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE task_tags (
            task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            tag TEXT NOT NULL COLLATE NOCASE,
            position INTEGER NOT NULL,
            PRIMARY KEY (task_id, position)  -- tags of a task read back in order
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX task_tags_by_tag ON task_tags (tag, task_id)")
    db.execute("CREATE INDEX tasks_by_status_due ON tasks (status, due_ts)")
    db.execute("CREATE INDEX tasks_by_project ON tasks (project COLLATE NOCASE)")


def m002_journal(db: Database) -> None:
    """The change journal behind undo."""
    db.execute(
        """
        CREATE TABLE journal_groups (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            label TEXT,
            created_at TEXT NOT NULL,
            undo_of TEXT,      -- set on the group an undo wrote: the group it reverted
            undone_by TEXT     -- set on a reverted group: the undo group's id
        )
        """
    )
    db.execute(
        """
        CREATE TABLE journal (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            group_id TEXT NOT NULL REFERENCES journal_groups(id),
            task_id INTEGER NOT NULL,
            before TEXT,       -- JSON of Task.to_dict(), NULL if the task did not exist
            after TEXT         -- JSON of Task.to_dict(), NULL if the task was deleted
        )
        """
    )
    db.execute("CREATE INDEX journal_by_group ON journal (group_id, seq)")
    db.execute("CREATE INDEX journal_by_task ON journal (task_id, seq)")


def m003_fts(db: Database) -> None:
    """Full-text search over title, notes, tags and project, filled from existing tasks."""
    db.execute(
        "CREATE VIRTUAL TABLE tasks_fts USING fts5("
        "title, notes, tags, project, tokenize = 'unicode61 remove_diacritics 2')"
    )
    db.execute(
        """
        INSERT INTO tasks_fts (rowid, title, notes, tags, project)
        SELECT t.id, t.title, coalesce(t.notes, ''),
               coalesce((SELECT group_concat(tag, ' ') FROM task_tags WHERE task_id = t.id), ''),
               coalesce(t.project, '')
        FROM tasks t
        """
    )


def m004_store_meta(db: Database) -> None:
    """Small key/value facts about the store (e.g. the zone ``due_ts`` was computed in)."""
    db.execute("CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT)")


def m005_lists(db: Database) -> None:
    """Named lists: every task belongs to one (existing tasks to "default"), and every journal
    group records the list it was made in, so undo stays within a list."""
    db.execute("ALTER TABLE tasks ADD COLUMN list TEXT NOT NULL DEFAULT 'default'")
    db.execute("CREATE INDEX tasks_by_list_status_due ON tasks (list, status, due_ts)")
    db.execute("ALTER TABLE journal_groups ADD COLUMN list TEXT NOT NULL DEFAULT 'default'")
    db.execute("CREATE INDEX journal_groups_by_list ON journal_groups (list, seq)")


def m006_task_uuid(db: Database) -> None:
    """A stable uuid on every task (existing tasks get a random one) and ``extra``: JSON of
    what an import brought that the task model does not hold, written back on export."""
    db.execute("ALTER TABLE tasks ADD COLUMN uuid TEXT")
    db.execute("ALTER TABLE tasks ADD COLUMN extra TEXT")
    ids = [row[0] for row in db.execute("SELECT id FROM tasks").fetchall()]
    db.conn.executemany(
        "UPDATE tasks SET uuid = ? WHERE id = ?", [(new_uuid(), task_id) for task_id in ids]
    )
    db.execute("CREATE UNIQUE INDEX tasks_by_uuid ON tasks (uuid)")


def m007_task_model(db: Database) -> None:
    """Hide-until dates, subtasks, dependencies, repeat rules and completion records."""
    for column in (
        "wait TEXT",
        "wait_ts INTEGER",
        "parent_id INTEGER",
        "repeat TEXT",
        "repeat_rule TEXT",
        "repeat_from TEXT CHECK (repeat_from IN ('due', 'done'))",
        "repeat_left INTEGER",
        "done_count INTEGER NOT NULL DEFAULT 0",
    ):
        db.execute(f"ALTER TABLE tasks ADD COLUMN {column}")
    db.execute("CREATE INDEX tasks_by_parent ON tasks (parent_id) WHERE parent_id IS NOT NULL")
    db.execute(
        """
        CREATE TABLE task_deps (
            task_id INTEGER NOT NULL,     -- this task is blocked by
            blocker_id INTEGER NOT NULL,  -- this one, until it is done
            PRIMARY KEY (task_id, blocker_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX task_deps_by_blocker ON task_deps (blocker_id)")
    db.execute(
        """
        CREATE TABLE completions (
            task_id INTEGER NOT NULL,  -- kept when the task is deleted, so undo brings it back
            seq INTEGER NOT NULL,      -- 1, 2, ... (tasks.done_count is the latest)
            done_at TEXT NOT NULL,
            due TEXT,                  -- the due that was completed
            PRIMARY KEY (task_id, seq)
        ) WITHOUT ROWID
        """
    )


def m008_journal_origin(db: Database) -> None:
    """Who made each change group (source, reference, chat session, user, host) and which
    undo a redo took back."""
    for column in ("source", "source_ref", "session_id", "user", "host", "redo_of"):
        db.execute(f"ALTER TABLE journal_groups ADD COLUMN {column} TEXT")
    db.execute("CREATE INDEX journal_groups_by_source ON journal_groups (source, source_ref)")


MIGRATIONS: list[Callable[[Database], None]] = [
    m001_tasks,
    m002_journal,
    m003_fts,
    m004_store_meta,
    m005_lists,
    m006_task_uuid,
    m007_task_model,
    m008_journal_origin,
]
MIGRATION_NAMES = tuple(fn.__name__ for fn in MIGRATIONS)


def build_migrations() -> Migrations:
    """The ``sqlite_utils.Migrations`` set for the store (imports sqlite_utils)."""
    from sqlite_utils.migrations import Migrations

    migrations = Migrations(MIGRATION_SET)
    for fn in MIGRATIONS:
        migrations()(fn)
    return migrations


# --- the store ---------------------------------------------------------------------------

# Tags come back in primary-key order (task_id, position); joined with the ASCII unit
# separator, which cleaned tags never contain.
_TAG_SEP = "\x1f"
_BLOCKED_SQL = (
    "EXISTS (SELECT 1 FROM task_deps d JOIN tasks b ON b.id = d.blocker_id"
    " WHERE d.task_id = t.id AND b.status = 'pending')"
)
_TASK_SELECT = f"""
SELECT t.id, t.title, t.notes, t.status, t.priority, t.due,
       (SELECT group_concat(tag, char(31)) FROM task_tags WHERE task_id = t.id) AS tags,
       t.project, t.created_at, t.updated_at, t.completed_at, t.list, t.uuid, t.extra,
       t.wait, t.parent_id,
       (SELECT group_concat(blocker_id) FROM task_deps WHERE task_id = t.id),
       t.repeat, t.repeat_rule, t.repeat_from, t.repeat_left, t.done_count,
       (SELECT json_object('at', done_at, 'due', due) FROM completions
        WHERE task_id = t.id AND seq = t.done_count),
       {_BLOCKED_SQL}
FROM tasks t
"""
_PRIORITY_RANK = (
    "CASE t.priority WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END"
)
_ORDER_BY = {
    "due": f"t.due_ts IS NULL, t.due_ts, {_PRIORITY_RANK} DESC, t.id",
    "priority": f"{_PRIORITY_RANK} DESC, t.due_ts IS NULL, t.due_ts, t.id",
    "created": "unixepoch(t.created_at), t.id",
    "id": "t.id",
    "updated": "unixepoch(t.updated_at) DESC, t.id DESC",  # most recently changed first
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
        json.loads(row[13]) if row[13] else None,
        wait=row[14],
        parent=row[15],
        blocked_by=sorted(int(b) for b in blockers.split(",")) if blockers else [],
        repeat=repeat,
        done_count=row[21] or 0,
        last_done=json.loads(row[22]) if row[22] else None,
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
_GROUP_COLUMNS = "id, label, created_at, source, source_ref, session_id, user, host"


class TaskStore:
    """Tasks in one SQLite file; safe to share between threads of one process.

    ``tz`` is the user's time zone (default: the system's); ``clock`` returns "now" and
    exists so tests can pin time. ``list_name`` is the list the store is bound to (default
    "default"; validated, lower case): every task operation is scoped to it.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        tz: tzinfo | None = None,
        clock: Callable[[], datetime] | None = None,
        list_name: str | None = None,
    ) -> None:
        self.path = Path(path) if str(path) != ":memory:" else Path(":memory:")
        self.tz: tzinfo = dates.resolve_tz(tz)
        self._list = validate_list_name(list_name) if list_name is not None else DEFAULT_LIST
        self._clock = clock
        self._lock = threading.RLock()
        self._depth = 0  # nesting of _transaction()
        self._group: _Group | None = None
        # The origin of groups opened without one (the CLI sets its command line here).
        self.origin: Origin | None = None
        target = str(path)
        self.read_only = False  # opened read-only: the file or its folder is not writable
        self.notices: list[str] = []  # things the user should hear about (printed by the CLI)
        if target != ":memory:":
            self._check_empty_file(Path(target))
            with suppress(OSError):  # a read-only parent: the connect below says what matters
                Path(target).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = self._connect(target)
        except sqlite3.Error as exc:
            raise TodoError(
                f"Cannot open the task database {target}: {exc}.",
                hint="Check that the folder exists and is writable (see `todo config path`).",
            ) from exc
        try:
            self._setup()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            if _fault_kind(exc) == "full":
                raise self._fault(exc) from exc
            raise TodoError(
                f"Cannot open the task database {target}: {exc}.",
                hint="The file is unchanged. Restore a backup or move it aside to start afresh.",
            ) from exc
        except BaseException:
            self._conn.close()
            raise

    def _connect(self, target: str) -> sqlite3.Connection:
        """A connection to ``target``; read-only (``self.read_only``) when the file or its
        folder cannot be written, so reading commands still work there."""
        options: dict[str, Any] = {
            "timeout": BUSY_TIMEOUT_MS / 1000,
            "check_same_thread": False,
            "isolation_level": None,  # autocommit; transactions are explicit
        }
        conn = sqlite3.connect(target, **options)
        try:
            conn.execute("PRAGMA schema_version")  # opens the file now (connect is lazy)
            return conn
        except sqlite3.OperationalError:
            conn.close()
            path = Path(target)
            if target == ":memory:" or not path.is_file() or _writable(path):
                raise
        # WAL needs its -shm/-wal files next to the database: a read-only folder only
        # allows an immutable reader (nobody can write there anyway).
        self.read_only = True
        uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True, **options)

    def _check_empty_file(self, path: Path) -> None:
        """A 0-byte todo.db (and no WAL holding its pages) opens as a new, empty list:
        say so, since it usually means the file was truncated."""
        try:
            empty = path.stat().st_size == 0
        except OSError:
            return
        wal = Path(f"{path}-wal")
        if empty and not (wal.exists() and wal.stat().st_size > 0):
            self.notices.append(
                f"Warning: the task database {path} was an empty file (0 bytes); starting a "
                "new, empty task list in it. If you had tasks, restore the file from a backup."
            )

    @classmethod
    def open(cls, settings: Settings | None = None, list_name: str | None = None) -> TaskStore:
        """Open (creating or upgrading as needed) the user's database at ``todo.db``, bound
        to ``list_name`` (default: the ``list`` setting, else "default")."""
        from ..config import get_paths, load_settings

        if settings is None:
            settings = load_settings()
        if list_name is None:
            list_name = getattr(settings, "list_name", None)
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
        """Close the database connection, refreshing the query planner's statistics first.

        ``PRAGMA optimize`` (bounded by ``analysis_limit``) is what SQLite recommends before
        closing a short-lived connection: without statistics a tag or priority filter walks
        every pending task; with them it starts from the narrower index.
        """
        with self._lock:
            self._optimize()
            self._conn.close()

    def _optimize(self, *, analyze: bool = False) -> None:
        # PRAGMA optimize only looks at tables this connection queried; after a bulk import
        # nothing was queried yet, so ANALYZE outright (a few ms, bounded by analysis_limit).
        with self._lock, suppress(sqlite3.Error):
            self._conn.execute("PRAGMA analysis_limit = 400")
            self._conn.execute("ANALYZE" if analyze else "PRAGMA optimize")

    def __enter__(self) -> TaskStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- set-up and migrations -----------------------------------------------------------

    def _setup(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        if self.read_only:
            if self.pending_migrations():
                raise TodoError(
                    f"The task database {self.path} needs an upgrade, and it is read-only.",
                    hint="Make its folder writable and run the command again.",
                )
            return  # nothing is written; sort keys of another zone stay as they are
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self._retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        if self.pending_migrations():
            self._migrate()
        with suppress(TodoError):  # full disk, damaged file: sort keys can wait, reading not
            self._sync_due_keys()

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
                "INSERT OR REPLACE INTO store_meta (key, value) VALUES ('zone', ?)", (zone,)
            )

    def _retry_locked(self, action: Callable[[], object], attempts: int = 50) -> None:
        import time

        for attempt in range(attempts):
            try:
                action()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.05)

    def pending_migrations(self) -> list[str]:
        """Names of migrations not applied yet (plain sqlite3: no sqlite_utils import)."""
        try:
            rows = self._conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (MIGRATION_SET,)
            ).fetchall()
        except sqlite3.OperationalError:
            return list(MIGRATION_NAMES)
        applied = {name for (name,) in rows}
        return [name for name in MIGRATION_NAMES if name not in applied]

    def _migrate(self) -> None:
        """Apply pending migrations in one write transaction (other processes wait)."""
        from sqlite_utils import Database

        db = Database(self._conn, execute_plugins=False, recursive_triggers=False)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                # Inside our transaction sqlite-utils uses savepoints, so the whole
                # upgrade commits at once, and a second process opening the same new
                # file waits here and then finds nothing left to do.
                build_migrations().apply(db)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # --- transactions, groups and the journal --------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._refuse_damaged()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise self._fault(exc) from exc
            self._depth = 1
            try:
                yield self._conn
            except BaseException as exc:
                if self._conn.in_transaction:
                    with suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError):
                    raise self._fault(exc) from exc
                raise
            else:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.DatabaseError as exc:
                    # A failed COMMIT (disk full) may already have rolled back.
                    if self._conn.in_transaction:
                        with suppress(sqlite3.Error):
                            self._conn.execute("ROLLBACK")
                    raise self._fault(exc) from exc
            finally:
                self._depth = 0

    # --- storage faults ------------------------------------------------------------------

    def _fault(self, exc: sqlite3.DatabaseError) -> TodoError:
        """The one-line error for a failure of the database file itself (busy, disk full,
        damaged, read-only, I/O), naming the file and the fix. A damaged file is marked so
        that later writes refuse it before touching it."""
        kind = _fault_kind(exc)
        where = self.path
        if kind == "busy":
            return TodoError(
                "The task database is busy (another todo process is writing).",
                hint="Nothing was changed; try again in a moment.",
            )
        if kind == "full":
            return TodoError(
                f"The disk is full: the change was not saved to {where}.",
                hint="Nothing was changed and your tasks are intact; free some space on that "
                "disk and run the command again.",
            )
        if kind == "damaged":
            self._mark_damaged(str(exc))
            return DatabaseDamagedError(where, str(exc))
        if kind == "readonly":
            return TodoError(
                f"Cannot change the task database {where}: it is read-only.",
                hint="Nothing was changed; make the file and its folder writable "
                "(see `todo config path`). Reading commands still work.",
            )
        if kind == "io":
            return TodoError(
                f"Could not read or write the task database {where} ({exc}).",
                hint="Nothing was changed; check the disk, then run the command again.",
            )
        return TodoError(f"The task database failed: {exc}.", hint="Nothing was changed.")

    def _marker(self) -> Path | None:
        return None if str(self.path) == ":memory:" else Path(f"{self.path}-damaged")

    def _mark_damaged(self, reason: str) -> None:
        marker = self._marker()
        if marker is None:
            return
        with suppress(OSError):
            info = self.path.stat()
            marker.write_text(
                json.dumps({"inode": info.st_ino, "device": info.st_dev, "error": reason}) + "\n"
            )

    def damaged(self) -> str | None:
        """Why the database file is known to be damaged (a read found it so), or None.

        The mark lives next to the file (``todo.db-damaged``) and names the file by inode, so
        a file restored or started afresh under the same name is not taken for the old one.
        """
        marker = self._marker()
        if marker is None:
            return None
        try:
            data = json.loads(marker.read_text())
            info = self.path.stat()
        except (OSError, ValueError):
            return None
        if (data.get("inode"), data.get("device")) != (info.st_ino, info.st_dev):
            with suppress(OSError):
                marker.unlink()  # a different file now: the mark was for the old one
            return None
        return str(data.get("error") or "damaged")

    def _refuse_damaged(self) -> None:
        reason = self.damaged()
        if reason is not None:
            raise DatabaseDamagedError(self.path, reason, writing=True)

    def salvage(self, *, all_lists: bool = False) -> tuple[list[Task], int]:
        """Every task of the bound list (of every list with ``all_lists``) that can still be
        read from a damaged database, read
        one id at a time, and the highest id the file knows (ids up to it that are missing
        were lost to the damage, deleted before, or belong to another list)."""
        with self._lock:
            conn = self._conn
            highest = 0
            for sql in (
                "SELECT max(id) FROM tasks",
                "SELECT seq FROM sqlite_sequence WHERE name = 'tasks'",
            ):
                try:
                    row = conn.execute(sql).fetchone()
                except sqlite3.DatabaseError:
                    continue
                highest = max(highest, int(row[0] or 0) if row else 0)
            found: list[Task] = []
            for task_id in range(1, highest + 1):
                try:
                    task = self._fetch(conn, task_id, any_list=all_lists)
                except sqlite3.DatabaseError:
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

    def _group_id(self, conn: sqlite3.Connection) -> str:
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
        conn: sqlite3.Connection,
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
        conn.execute(
            f"INSERT INTO journal_groups ({', '.join(values)})"
            f" VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )

    def _now(self) -> datetime:
        return dates.now_in(self.tz, self._clock() if self._clock else None)

    def _stamp(self) -> str:
        return self._now().isoformat(timespec="seconds")

    # --- low-level row access ------------------------------------------------------------

    def _fetch(
        self, conn: sqlite3.Connection, task_id: int, *, any_list: bool = False
    ) -> Task | None:
        """The task with this id in the bound list (in any list with ``any_list``)."""
        if any_list:
            row = conn.execute(_TASK_SELECT + " WHERE t.id = ?", (task_id,)).fetchone()
        else:
            row = conn.execute(
                _TASK_SELECT + " WHERE t.id = ? AND t.list = ?", (task_id, self._list)
            ).fetchone()
        return _row_to_task(row) if row else None

    def _fetch_many(self, conn: sqlite3.Connection, ids: Iterable[int]) -> list[Task]:
        """Tasks of the bound list in the order given; any id not in it raises NotFoundError."""
        wanted = _unique_ids(ids)
        found: dict[int, Task] = {}
        for chunk_start in range(0, len(wanted), 500):
            chunk = wanted[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            sql = _TASK_SELECT + f" WHERE t.id IN ({marks}) AND t.list = ?"
            for row in conn.execute(sql, (*chunk, self._list)):
                task = _row_to_task(row)
                found[task.id] = task
        missing = [i for i in wanted if i not in found]
        if missing:
            raise _not_found(missing)
        return [found[i] for i in wanted]

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
        extra_json: str | None = None,
    ) -> tuple[str, tuple[Any, ...]]:
        """The ``tasks`` columns a task is stored in, and its values for them (``extra_json``:
        ``task.extra`` already encoded)."""
        due_ts = due_ts or self._due_ts
        if extra_json is None and task.extra:
            extra_json = json.dumps(task.extra, ensure_ascii=False)
        values = (
            task.title,
            task.notes,
            task.status,
            task.priority,
            task.due,
            due_ts(task.due),
            task.project,
            task.created_at,
            task.updated_at,
            task.completed_at,
            task.list_name,
            task.uuid,
            extra_json,
            task.wait,
            self._wait_ts(task.wait),
            task.parent,
            *_repeat_columns(task.repeat),
            task.done_count,
        )
        return self._COLUMNS, values

    def _write(
        self, conn: sqlite3.Connection, before: Task | None, after: Task | None, group_id: str
    ) -> Task | None:
        """Move one task from ``before`` to ``after`` (rows, tags, FTS) and journal it.

        Returns the task as now stored (re-read), or None when it was deleted.
        """
        if after is None:
            assert before is not None
            conn.execute("DELETE FROM tasks_fts WHERE rowid = ?", (before.id,))
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
                    cur = conn.execute(
                        f"INSERT INTO tasks (id, {cols}) VALUES (?{', ?' * len(values)})",
                        (after.id, *values),
                    )
                else:
                    cur = conn.execute(
                        f"INSERT INTO tasks ({cols}) VALUES (?{', ?' * (len(values) - 1)})",
                        values,
                    )
                task_id = int(cur.lastrowid or after.id)
            else:
                task_id = before.id
                assignments = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
                conn.execute(f"UPDATE tasks SET {assignments} WHERE id = ?", (*values, task_id))
            if before is None or before.tags != after.tags:
                conn.execute("DELETE FROM task_tags WHERE task_id = ?", (task_id,))
                conn.executemany(
                    "INSERT INTO task_tags (task_id, tag, position) VALUES (?, ?, ?)",
                    [(task_id, tag, i) for i, tag in enumerate(after.tags)],
                )
            if before is None or before.blocked_by != after.blocked_by:
                conn.execute("DELETE FROM task_deps WHERE task_id = ?", (task_id,))
                conn.executemany(
                    "INSERT INTO task_deps (task_id, blocker_id) VALUES (?, ?)",
                    [(task_id, b) for b in after.blocked_by],
                )
            if before is None or (before.done_count, before.last_done) != (
                after.done_count,
                after.last_done,
            ):
                self._sync_completions(conn, task_id, after)
            conn.execute("DELETE FROM tasks_fts WHERE rowid = ?", (task_id,))
            conn.execute(
                "INSERT INTO tasks_fts (rowid, title, notes, tags, project) VALUES (?, ?, ?, ?, ?)",
                (
                    task_id,
                    after.title,
                    after.notes or "",
                    " ".join(after.tags),
                    after.project or "",
                ),
            )
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

    def _sync_completions(self, conn: sqlite3.Connection, task_id: int, task: Task) -> None:
        """Make the completion records match ``done_count``/``last_done`` (undo, redo)."""
        conn.execute(
            "DELETE FROM completions WHERE task_id = ? AND seq > ?", (task_id, task.done_count)
        )
        if task.done_count and task.last_done:
            conn.execute(
                "INSERT OR REPLACE INTO completions (task_id, seq, done_at, due)"
                " VALUES (?, ?, ?, ?)",
                (task_id, task.done_count, task.last_done.get("at"), task.last_done.get("due")),
            )

    def _wait_ts(self, wait: str | None) -> int | None:
        """When a hidden task appears: a date-only wait at the start of its day."""
        if wait is None:
            return None
        return dates.due_bounds(wait, tz=self.tz)[0]

    # --- validation ----------------------------------------------------------------------

    def _memo_due(self, value: Any, memo: dict[tuple[str, Any], Any]) -> str | None:
        if not isinstance(value, str):
            return self._due(value)
        key = ("due", value)
        if key not in memo:
            memo[key] = self._due(value)
        return memo[key]  # type: ignore[no-any-return]

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
            " ORDER BY unixepoch(c.done_at) DESC, c.task_id LIMIT ?"
        )
        with self._lock:
            rows = self._conn.execute(
                sql, (self._list, limit if limit is not None else -1)
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

    def _children(self, conn: sqlite3.Connection, ids: list[int]) -> list[Task]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            _TASK_SELECT + f" WHERE t.parent_id IN ({marks}) ORDER BY t.id", ids
        ).fetchall()
        return [_row_to_task(r) for r in rows]

    def _open_children(self, conn: sqlite3.Connection, ids: list[int]) -> list[Task]:
        return [c for c in self._children(conn, ids) if c.status == "pending"]

    def subtasks(self, task_id: int) -> list[Task]:
        """The subtasks of a task (any status), by id."""
        with self._lock:
            return self._children(self._conn, [_task_id(task_id)])

    def _check_parent(self, conn: sqlite3.Connection, tid: int | None, value: Any) -> int | None:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        pid = _task_id(value)
        parent = self._fetch(conn, pid)
        if parent is None:
            raise _not_found([pid])
        if pid == tid:
            raise UsageError(f"Task #{pid} cannot be its own parent.")
        if parent.parent is not None:
            raise UsageError(
                f"Task #{pid} is itself a subtask of #{parent.parent}; "
                "subtasks are one level deep.",
                hint=f"Use --parent {parent.parent} instead.",
            )
        if (
            tid is not None
            and conn.execute("SELECT 1 FROM tasks WHERE parent_id = ? LIMIT 1", (tid,)).fetchone()
        ):
            raise UsageError(
                f"Task #{tid} has subtasks of its own, so it cannot become a subtask "
                "(subtasks are one level deep).",
            )
        return pid

    def _check_blockers(self, conn: sqlite3.Connection, tid: int | None, ids: list[int]) -> None:
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

    def _dependency_path(self, conn: sqlite3.Connection, start: int, goal: int) -> list[int] | None:
        """The chain start → ... → goal following "is blocked by" edges, or None."""
        previous: dict[int, int | None] = {start: None}
        queue = [start]
        while queue:
            node = queue.pop(0)
            if node == goal:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            for (nxt,) in conn.execute(
                "SELECT blocker_id FROM task_deps WHERE task_id = ?", (node,)
            ).fetchall():
                if nxt not in previous:
                    previous[nxt] = node
                    queue.append(nxt)
        return None

    def _repeat(self, value: Any) -> dict[str, Any] | None:
        from .. import repeat as repeat_mod

        if value is None:
            return None
        if isinstance(value, dict):  # a stored shape (import, JSON)
            if not value.get("rule") and value.get("text"):
                value = value["text"]
            elif value.get("rule"):
                return {
                    "text": value.get("text") or value["rule"],
                    "rule": str(value["rule"]),
                    "from": "done" if value.get("from") == "done" else "due",
                    "left": value.get("left"),
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
        from .. import repeat as repeat_mod

        if not rule:
            return rule
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
        self, records: Iterable[dict[str, Any]], *, keep_lists: bool = False
    ) -> ImportResult:
        """Bring in tasks given as dicts in the ``Task.to_dict`` shape (ids are ignored), into
        the bound list (with ``keep_lists``: into each record's ``"list"``, default the bound
        one).

        A record whose ``uuid`` the store already has updates that task when the record's
        ``updated_at`` is later and is left alone otherwise, so importing the same records
        twice changes nothing; any other record becomes a new task (keeping its uuid). A
        uuid is one task whatever list it is in: a known one is updated (or left) where it is.
        Timestamps are kept when given. Everything is validated first: one bad record raises
        UsageError ("Record 3: ...") and nothing is written. One transaction, one undo step.
        ``parent`` and ``blocked_by`` name the ``id`` of other records of the same import
        (remapped to the new ids; references to records not imported are dropped);
        ``blocked_by_uuids`` names blockers by uuid (in the import or already stored);
        ``completions`` (a list of {"at", "due"}) brings a repeating task's history along.
        """
        records = list(records)
        memo: dict[tuple[str, Any], Any] = {}
        tasks = [
            self._task_from_record(i, rec, keep_lists=keep_lists, memo=memo)
            for i, rec in enumerate(records, start=1)
        ]
        result = ImportResult()
        if not tasks:
            return result
        label = f"import {len(tasks)} task{'s' if len(tasks) != 1 else ''}"
        big = len(tasks) > 1000
        if big:
            # Random uuids land all over their index: give a big import the pages it needs
            # in memory (64 MB at most, only while it runs) instead of rereading them.
            self._conn.execute("PRAGMA cache_size = -65536")
        try:
            self._import(records, tasks, label, keep_lists, result)
        finally:
            if big:
                self._conn.execute("PRAGMA cache_size = -2000")  # SQLite's default again
        if result.added or result.updated:
            self._optimize(analyze=True)  # a bulk import changes the planner's best choices
        return result

    def _import(
        self,
        records: list[Any],
        tasks: list[Task],
        label: str,
        keep_lists: bool,
        result: ImportResult,
    ) -> None:
        with self.group(label), self._transaction() as conn:
            known = self._fetch_by_uuid(conn, [t.uuid for t in tasks if t.uuid])
            group_id = ""
            written: list[Task | None] = []
            new: list[Task] = []  # plain new tasks, written together (few statements, linear)
            for rec, task in zip(records, tasks, strict=True):
                old = known.get(task.uuid) if task.uuid else None
                if old is not None and not _newer(rec, task, old):
                    result.unchanged.append(old)
                    written.append(None)
                    continue
                group_id = group_id or self._group_id(conn)
                if old is None and not task.blocked_by and not task.done_count:
                    task.uuid = task.uuid or new_uuid()
                    known[task.uuid] = task
                    new.append(task)
                    written.append(task)
                    continue
                if new:  # an update may be of a task added just before: write those first
                    result.added += self._insert_new(conn, new, group_id)
                    new = []
                if old is not None:
                    task.id = old.id
                    if not (keep_lists and isinstance(rec, dict) and rec.get("list")):
                        task.list_name = old.list_name  # a uuid is one task, in its own list
                stored = self._write(conn, old, task, group_id)
                assert stored is not None
                known[stored.uuid] = stored
                written.append(stored)
                (result.added if old is None else result.updated).append(stored)
            if new:
                result.added += self._insert_new(conn, new, group_id)
            if group_id:
                self._import_links(conn, records, written, group_id)
                latest = {t.id: t for t in written if t is not None}
                result.added = [latest.get(t.id, t) for t in result.added]
                result.updated = [latest.get(t.id, t) for t in result.updated]

    def _insert_new(self, conn: sqlite3.Connection, tasks: list[Task], group_id: str) -> list[Task]:
        """Add new tasks (no dependencies, no completions yet) as ``_write`` would, with one
        statement per table for all of them: rows with the next ids, tags, FTS, journal."""
        (top,) = conn.execute(
            "SELECT max(coalesce((SELECT max(id) FROM tasks), 0),"
            " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'tasks'), 0))"
        ).fetchone()
        due_keys: dict[str | None, int | None] = {}

        def due_ts(due: str | None) -> int | None:
            if due not in due_keys:
                due_keys[due] = self._due_ts(due)
            return due_keys[due]

        rows = []
        journal = []
        cols = self._COLUMNS
        for offset, task in enumerate(tasks, start=1):
            task.id = top + offset
            extra_json = json.dumps(task.extra, ensure_ascii=False) if task.extra else None
            cols, values = self._row(task, due_ts, extra_json)
            rows.append((task.id, *values))
            # The journal entry is _dump(task), with the extra encoded only once.
            state = task.to_dict()
            del state["extra"]
            state["extra"] = None  # last, so the encoded extra can take the place of null
            text = json.dumps(state, ensure_ascii=False)
            if extra_json is not None:
                text = text[: -len("null}")] + extra_json + "}"
            journal.append((group_id, task.id, text))
        marks = ", ".join("?" * len(rows[0]))
        conn.executemany(f"INSERT INTO tasks (id, {cols}) VALUES ({marks})", rows)
        conn.executemany(
            "INSERT INTO task_tags (task_id, tag, position) VALUES (?, ?, ?)",
            [(t.id, tag, i) for t in tasks for i, tag in enumerate(t.tags)],
        )
        conn.executemany(
            "INSERT INTO tasks_fts (rowid, title, notes, tags, project) VALUES (?, ?, ?, ?, ?)",
            [(t.id, t.title, t.notes or "", " ".join(t.tags), t.project or "") for t in tasks],
        )
        conn.executemany(
            "INSERT INTO journal (group_id, task_id, before, after) VALUES (?, ?, NULL, ?)",
            journal,
        )
        return tasks

    def _fetch_by_uuid(self, conn: sqlite3.Connection, uuids: list[str]) -> dict[str, Task]:
        found: dict[str, Task] = {}
        for start in range(0, len(uuids), 500):
            chunk = uuids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(_TASK_SELECT + f" WHERE t.uuid IN ({marks})", chunk):
                task = _row_to_task(row)
                found[task.uuid] = task
        return found

    def _import_links(
        self,
        conn: sqlite3.Connection,
        records: list[Any],
        stored: list[Task | None],
        group_id: str,
    ) -> None:
        """Second pass of an import: parents, blockers and completion histories."""
        new_id = {
            rec.get("id"): task.id
            for rec, task in zip(records, stored, strict=True)
            if task is not None and rec.get("id") is not None
        }
        wanted = {u for rec in records for u in rec.get("blocked_by_uuids") or []}
        by_uuid = {u: t.id for u, t in self._fetch_by_uuid(conn, sorted(wanted)).items()}
        by_uuid.update({t.uuid: t.id for t in stored if t is not None and t.uuid})
        for i, (rec, task) in enumerate(zip(records, stored, strict=True)):
            if task is None:
                continue
            history = rec.get("completions") or []
            if isinstance(history, list) and history:
                conn.executemany(
                    "INSERT OR REPLACE INTO completions (task_id, seq, done_at, due)"
                    " VALUES (?, ?, ?, ?)",
                    [
                        (task.id, n, _timestamp(c.get("at"), "at", self.tz), c.get("due"))
                        for n, c in enumerate(history, start=1)
                        if isinstance(c, dict) and c.get("at")
                    ],
                )
            parent = new_id.get(rec.get("parent"))
            found = {new_id[b] for b in rec.get("blocked_by") or [] if b in new_id}
            found |= {by_uuid[u] for u in rec.get("blocked_by_uuids") or [] if u in by_uuid}
            found.discard(task.id)
            blockers = sorted(found)
            if parent is None and not blockers:
                continue
            after = Task.from_dict(task.to_dict())
            after.parent, after.blocked_by = parent, blockers
            stored[i] = self._write(conn, task, after, group_id)

    def _task_from_record(
        self,
        index: int,
        record: Any,
        *,
        keep_lists: bool = False,
        memo: dict[tuple[str, Any], Any] | None = None,
    ) -> Task:
        """One import record as a task (validated). ``memo`` keeps the stamps and due dates
        already read during one import: real files repeat them a lot."""
        memo = {} if memo is None else memo

        def stamp(name: str) -> str | None:
            value = record.get(name)
            key = (name, value)
            if not isinstance(value, str):
                return _timestamp(value, name, self.tz)
            if key not in memo:
                memo[key] = _timestamp(value, name, self.tz)
            return memo[key]  # type: ignore[no-any-return]

        try:
            if not isinstance(record, dict):
                raise UsageError("expected an object with at least a title.")
            if "title" not in record:
                raise UsageError("the title is missing.")
            if ("now", None) not in memo:
                memo[("now", None)] = self._stamp()
            now = memo[("now", None)]
            created = stamp("created_at") or now
            updated = stamp("updated_at") or created
            completed = stamp("completed_at")
            status = _status(record.get("status") or "pending")
            if status == "done" and completed is None:
                completed = updated
            if status == "pending":
                completed = None
            list_name = self._list
            if keep_lists and record.get("list") is not None:
                list_name = validate_list_name(record["list"])
            task = Task(
                id=0,
                title=_title(record.get("title")),
                notes=_text(record.get("notes"), "notes"),
                status=status,
                priority=_priority(record.get("priority")),
                due=self._memo_due(record.get("due"), memo),
                tags=_tags(record.get("tags") or ()),
                project=_text(record.get("project"), "project"),
                created_at=created,
                updated_at=updated,
                completed_at=completed,
                list_name=list_name,
                uuid=_uuid(record.get("uuid")),
                extra=_extra(record.get("extra")),
                wait=self._due(record.get("wait")),
                repeat=self._repeat(record.get("repeat")),
                **_history(record, self.tz),
            )
            return task  # an imported rule with no due keeps none (completing starts it)
        except UsageError as exc:
            message = exc.message[0].lower() + exc.message[1:]
            raise UsageError(f"Record {index}: {message}", hint=exc.hint) from None

    def undo(
        self,
        *,
        scope: Origin | None = None,
        group_id: str | None = None,
        origin: Origin | None = None,
    ) -> UndoResult:
        """Revert the newest group of changes made in the bound list that has not been
        undone, atomically (a list rename or delete counts for the list the store was bound
        to when it ran).

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
            info = self._pick(conn, _UNDOABLE, scope)
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

    def redo(self, *, group_id: str | None = None, origin: Origin | None = None) -> UndoResult:
        """Take back the newest undo not redone yet (multi-level, like undo), atomically.

        A fresh change made after an undo ends the redo chain. ``group_id`` names the undo
        group to take back (as ``next_redo`` showed). The result's ``label`` is the label of
        the change redone. Raises NotFoundError("Nothing to redo.") and, changing nothing,
        TodoError if a task was changed since the undo.
        """
        with self._transaction() as conn:
            info = self._pick(conn, _REDOABLE, None)
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
        self, conn: sqlite3.Connection, condition: str, scope: Origin | None
    ) -> GroupInfo | None:
        where = ["list = ?", condition]
        params: list[Any] = [self._list]
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
        self, conn: sqlite3.Connection, group_id: str, new_id: str, verb: str, label: str | None
    ) -> list[Change]:
        """Move every task of ``group_id`` back to its state before the group, journaled
        under ``new_id``; refuses (raising, so the transaction rolls back) when a task no
        longer looks as the group left it."""
        entries = conn.execute(
            "SELECT task_id, before, after FROM journal WHERE group_id = ? ORDER BY seq DESC",
            (group_id,),
        ).fetchall()
        firsts: dict[int, Task | None] = {}
        lasts: dict[int, Task | None] = {}
        for task_id, before_json, after_json in entries:
            current = self._fetch(conn, task_id, any_list=True)
            # Compare through from_dict, and only the keys the entry has: entries written
            # before a field existed read with its default ("list") or not at all ("uuid").
            recorded = json.loads(after_json) if after_json else None
            expected = _as_recorded(Task.from_dict(recorded), recorded) if recorded else None
            if _as_recorded(current, recorded) != expected:
                what = f"'{label}'" if label else "the last change"
                raise TodoError(
                    f"Cannot {verb} {what}: task #{task_id} was changed since.",
                    hint=f"Nothing was {verb}ne; edit the task directly instead.",
                )
            target = Task.from_dict(json.loads(before_json)) if before_json else None
            restored = self._write(conn, current, target, new_id)
            firsts.setdefault(task_id, current)
            lasts[task_id] = restored
        conn.execute("UPDATE journal_groups SET undone_by = ? WHERE id = ?", (new_id, group_id))
        changes = [Change(before=firsts[tid], after=lasts[tid]) for tid in firsts]
        changes.reverse()  # in the order the original group made them
        return changes

    # --- public API: lists ---------------------------------------------------------------

    def lists(self) -> list[ListInfo]:
        """Every list that has tasks, with its open and done counts, plus the bound list even
        when it is empty; "default" first, then by name."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT list, coalesce(sum(status = 'pending'), 0),"
                " coalesce(sum(status = 'done'), 0) FROM tasks GROUP BY list"
            ).fetchall()
        found = {name: ListInfo(name, open_, done) for name, open_, done in rows}
        found.setdefault(self._list, ListInfo(self._list, 0, 0))
        found[self._list].current = True
        return sorted(found.values(), key=lambda info: (info.name != DEFAULT_LIST, info.name))

    def _list_tasks(self, conn: sqlite3.Connection, name: str) -> list[Task]:
        rows = conn.execute(_TASK_SELECT + " WHERE t.list = ? ORDER BY t.id", (name,)).fetchall()
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
        where, params = self._where(q)
        sort = (q.sort or "due").lower()
        if sort not in _ORDER_BY:
            raise UsageError(f"Unknown sort '{q.sort}'.", hint=f"Use one of: {', '.join(SORTS)}.")
        limit = _non_negative(q.limit, "limit") if q.limit is not None else -1
        offset = _non_negative(q.offset or 0, "offset")
        order = _ORDER_BY[sort]
        with self._lock:
            if (
                sort in ("due", "priority")
                and self._conn.execute("SELECT 1 FROM task_deps LIMIT 1").fetchone()
            ):
                order = f"{_BLOCKED_SQL}, {order}"  # blocked tasks after the unblocked ones
        sql = f"{_TASK_SELECT} {where} ORDER BY {order} LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._conn.execute(sql, (*params, limit, offset)).fetchall()
        return [_row_to_task(row) for row in rows]

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
        match = _fts_query(text)
        if match is None:
            return []
        params: list[Any] = [match, self._list]
        sql = _TASK_SELECT + " JOIN tasks_fts f ON f.rowid = t.id"
        sql += " WHERE tasks_fts MATCH ? AND t.list = ?"
        if status is not None and status != "all":
            sql += " AND t.status = ?"
            params.append(_status(status))
        sql += " ORDER BY bm25(tasks_fts, 10.0, 2.0, 5.0, 3.0), t.id LIMIT ?"
        params.append(_non_negative(limit, "limit") if limit is not None else -1)
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
        open_ = "t.status = 'pending' AND (t.wait_ts IS NULL OR t.wait_ts <= ?)"
        sql = (
            f"SELECT coalesce(sum({open_}), 0), coalesce(sum(t.status = 'done'), 0),"
            f" coalesce(sum({open_} AND {overdue}), 0),"
            f" coalesce(sum({open_} AND {today}), 0),"
            " coalesce(sum(t.status = 'pending' AND t.wait_ts > ?), 0) FROM tasks t"
            " WHERE t.list = ?"
        )
        params = (now, now, *o_params, now, *t_params, now)
        with self._lock:
            row = self._conn.execute(sql, (*params, self._list)).fetchone()
            blocked = 0
            if self._conn.execute("SELECT 1 FROM task_deps LIMIT 1").fetchone():
                blocked = self._conn.execute(
                    f"SELECT count(*) FROM tasks t WHERE {open_} AND t.list = ? AND {_BLOCKED_SQL}",
                    (now, self._list),
                ).fetchone()[0]
        return {
            "open": row[0],
            "overdue": row[2],
            "due_today": row[3],
            "done": row[1],
            "waiting": row[4],
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

    def _where(self, q: TaskQuery) -> tuple[str, list[Any]]:
        clauses: list[str] = [] if q.all_lists else ["t.list = ?"]
        params: list[Any] = [] if q.all_lists else [self._list]
        if q.status is not None and q.status != "all":
            clauses.append("t.status = ?")
            params.append(_status(q.status))
        if q.priority:
            clauses.append("t.priority = ?")
            params.append(_priority(q.priority))
        if q.tag:
            tag = _tags([q.tag])
            clauses.append("t.id IN (SELECT task_id FROM task_tags WHERE tag = ?)")
            params.append(tag[0] if tag else q.tag)
        if q.project:
            clauses.append("t.project = ? COLLATE NOCASE")
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
            clauses.append(_BLOCKED_SQL if q.blocked else f"NOT {_BLOCKED_SQL}")
        if q.parent is not None:
            clauses.append("t.parent_id = ?")
            params.append(_task_id(q.parent))
        if q.text is not None and q.text.strip():
            match = _fts_query(q.text)
            if match is None:
                clauses.append("0")
            else:
                clauses.append("t.id IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ?)")
                params.append(match)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def _reads_fail_cleanly(method: Callable[..., Any]) -> Callable[..., Any]:
    """Map a storage failure during a read (a damaged page, an I/O error) to the store's
    one-line error; writes get the same through ``_transaction``."""
    import functools

    @functools.wraps(method)
    def guarded(self: TaskStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise self._fault(exc) from exc

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


def _new_id() -> str:
    """A random 32-hex-digit group id (like uuid4().hex, without importing uuid)."""
    return os.urandom(16).hex()


def new_uuid() -> str:
    """A random (version 4) uuid in its usual text form, without importing uuid."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class DatabaseDamagedError(TodoError):
    """The task database file is damaged: names the file and how to save what it holds."""

    def __init__(self, path: Path, reason: str, *, writing: bool = False) -> None:
        name = path.name
        what = "is damaged, so nothing is written to it" if writing else "is damaged"
        super().__init__(
            f"The task database {path} {what} ({reason}).",
            hint=f"Nothing was changed. Save every task that can still be read with `todo "
            f"tasks export -o tasks-backup.json`, move {name} aside, then run `todo tasks "
            "import tasks-backup.json`.",
        )
        self.path = path


_FAULT_CODES = {
    5: "busy",  # SQLITE_BUSY
    6: "busy",  # SQLITE_LOCKED
    8: "readonly",  # SQLITE_READONLY
    10: "io",  # SQLITE_IOERR
    11: "damaged",  # SQLITE_CORRUPT
    13: "full",  # SQLITE_FULL
    26: "damaged",  # SQLITE_NOTADB
}


def _fault_kind(exc: sqlite3.Error) -> str | None:
    """What kind of storage failure ``exc`` is: busy, full, damaged, readonly, io or None."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _FAULT_CODES:
        return _FAULT_CODES[code & 0xFF]
    text = str(exc).lower()
    for words, kind in (
        (("locked", "busy"), "busy"),
        (("disk is full", "database or disk is full"), "full"),
        (("malformed", "not a database"), "damaged"),
        (("readonly", "read-only"), "readonly"),
        (("disk i/o",), "io"),
    ):
        if any(w in text for w in words):
            return kind
    return None


def _writable(path: Path) -> bool:
    """Whether SQLite could write next to ``path`` (its -wal and -shm files too)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _as_recorded(task: Task | None, recorded: dict[str, Any] | None) -> dict[str, Any] | None:
    """The task in the shape of a journal entry: only the keys the entry has (an entry
    written before a field existed has no such key)."""
    if task is None:
        return None
    data = task.to_dict()
    if recorded is None:
        return data
    return {key: data.get(key) for key in recorded}


def _dump(task: Task | None) -> str | None:
    return json.dumps(task.to_dict(), ensure_ascii=False) if task else None


def _not_found(ids: list[Any]) -> NotFoundError:
    if len(ids) == 1:
        return NotFoundError(f"No task #{ids[0]}", hint=_LIST_HINT)
    return NotFoundError(f"No tasks {_id_list(ids)}", hint=_LIST_HINT)


def _no_list(name: str) -> NotFoundError:
    return NotFoundError(f"No list '{name}'", hint="Run `todo lists` to see your lists.")


def _id_list(ids: Iterable[int]) -> str:
    return ", ".join(f"#{i}" for i in ids)


_MAX_INT = 2**63 - 1  # SQLite's largest integer


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
    if isinstance(history, list):
        items = [c for c in history if isinstance(c, dict) and c.get("at")]
        if items:
            last = items[-1]
            at = _timestamp(last.get("at"), "completions", tz)
            return {"done_count": len(items), "last_done": {"at": at, "due": last.get("due")}}
    latest = record.get("last_done")
    if isinstance(latest, dict) and latest.get("at"):
        at = _timestamp(latest.get("at"), "last_done", tz)
        return {"done_count": 1, "last_done": {"at": at, "due": latest.get("due")}}
    return {}


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


def _fts_query(text: str) -> str | None:
    """User text -> an FTS5 query: every word, quoted, as a prefix (no syntax errors)."""
    words = re.findall(r"\w+", text or "")
    if not words:
        return None
    return " ".join(f'"{w}"*' for w in words)
