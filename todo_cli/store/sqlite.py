"""The SQLite backend: the task list in one file (the default store).

* Schema: named, append-only migrations (``sqlite_utils.Migrations``, set ``"todo"``),
  applied when the store opens. The common path checks the migrations table with plain
  ``sqlite3`` and imports ``sqlite_utils`` (about 0.2 s) only when a migration is pending.
* WAL mode and a busy timeout; every mutation is one ``BEGIN IMMEDIATE`` transaction, so
  several processes can write at once (one at a time).
* Full-text search is an FTS5 table ``tasks_fts`` over title, notes, tags and project.
* Storage faults (busy, disk full, damaged, read-only, I/O) become one-line errors naming
  the file; a damaged file is marked (``todo.db-damaged``) so later writes refuse it
  before touching it. A file or folder that cannot be written opens read-only.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import TodoError
from .backend import BLOCKED_SQL, Backend, FtsRow, id_ranges, new_uuid

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

__all__ = [
    "BUSY_TIMEOUT_MS",
    "MIGRATION_SET",
    "MIGRATIONS",
    "MIGRATION_NAMES",
    "build_migrations",
    "DatabaseDamagedError",
    "SQLiteBackend",
]

BUSY_TIMEOUT_MS = 30_000

# sqlite3 sends every None parameter through its adapter lookup (a key tuple, a registry
# miss, two attribute lookups) before binding NULL; with an adapter registered for None
# (a C function returning None) the lookup hits at once. A task row has about ten NULL
# columns, so a bulk import binds a million of them: a quarter of its insert time.
sqlite3.register_adapter(type(None), cast(Callable[[None], None], {}.get))


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


def m009_list_page_index(db: Database) -> None:
    """One index that covers what a list page is ordered by and what the counts read, so
    neither has to visit every task row (it replaces the shorter list/status/due one)."""
    db.execute(
        "CREATE INDEX tasks_by_list_status_page ON tasks"
        " (list, status, due_ts, wait_ts, priority, due)"
    )
    db.execute("DROP INDEX IF EXISTS tasks_by_list_status_due")
    db.execute("PRAGMA analysis_limit = 400")
    db.execute("ANALYZE tasks")  # so the planner weighs the new index against the tag index


MIGRATIONS: list[Callable[[Database], None]] = [
    m001_tasks,
    m002_journal,
    m003_fts,
    m004_store_meta,
    m005_lists,
    m006_task_uuid,
    m007_task_model,
    m008_journal_origin,
    m009_list_page_index,
]
MIGRATION_NAMES = tuple(fn.__name__ for fn in MIGRATIONS)


def build_migrations() -> Migrations:
    """The ``sqlite_utils.Migrations`` set for the store (imports sqlite_utils)."""
    from sqlite_utils.migrations import Migrations

    migrations = Migrations(MIGRATION_SET)
    for fn in MIGRATIONS:
        migrations()(fn)
    return migrations


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


# Tags come back in primary-key order (task_id, position); joined with the ASCII unit
# separator (char 31), which cleaned tags never contain.
_TASK_SELECT = f"""
SELECT t.id, t.title, t.notes, t.status, t.priority, t.due,
       (SELECT group_concat(tag, char(31)) FROM task_tags WHERE task_id = t.id) AS tags,
       t.project, t.created_at, t.updated_at, t.completed_at, t.list, t.uuid, t.extra,
       t.wait, t.parent_id,
       (SELECT group_concat(blocker_id) FROM task_deps WHERE task_id = t.id),
       t.repeat, t.repeat_rule, t.repeat_from, t.repeat_left, t.done_count,
       (SELECT json_object('at', done_at, 'due', due) FROM completions
        WHERE task_id = t.id AND seq = t.done_count),
       {BLOCKED_SQL}
FROM tasks t
"""


class SQLiteBackend(Backend):
    """One SQLite file (or ``:memory:``), through the standard library's ``sqlite3``."""

    kind = "sqlite"
    errors = (sqlite3.DatabaseError,)
    no_limit = -1
    task_select = _TASK_SELECT
    moment = "unixepoch({})"
    # (a unary + keeps SQLite off the column's indexes: a whole list by id is then one pass
    # over the table in rowid order, where the list/status/due index visits the rows in its
    # own order and sorts them all again; 100,000 tasks read in 1.2 s against 2.9 s)
    list_scan = "+{}"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        target = str(path)
        self.path = Path(target) if target != ":memory:" else Path(":memory:")
        self.where = str(self.path)
        if target != ":memory:":
            self._check_empty_file(Path(target))
            with suppress(OSError):  # a read-only parent: the connect below says what matters
                Path(target).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = self._connect(target)
        except sqlite3.Error as exc:
            raise TodoError(
                f"Cannot open the task database {target}: {exc}.",
                hint="Check that the folder exists and is writable (see `todo config path`).",
            ) from exc

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

    # --- SQL fragments -------------------------------------------------------------------

    def nocase_eq(self, column: str) -> str:
        return f"{column} = ? COLLATE NOCASE"

    def tag_filter(self) -> str:
        return "t.id IN (SELECT task_id FROM task_tags WHERE tag = ?)"  # tag is NOCASE

    # --- set-up and migrations -----------------------------------------------------------

    def setup(self) -> bool:
        try:
            return self._setup()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise self.open_failed(exc) from exc
        except BaseException:
            self.conn.close()
            raise

    def open_failed(self, exc: BaseException) -> TodoError:
        assert isinstance(exc, sqlite3.DatabaseError)
        if _fault_kind(exc) == "full":
            return self.fault(exc)
        return TodoError(
            f"Cannot open the task database {self.path}: {exc}.",
            hint="The file is unchanged. Restore a backup or move it aside to start afresh.",
        )

    def _setup(self) -> bool:
        conn = self.conn
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        if self.read_only:
            if self.pending_migrations():
                raise TodoError(
                    f"The task database {self.path} needs an upgrade, and it is read-only.",
                    hint="Make its folder writable and run the command again.",
                )
            return False  # nothing is written; sort keys of another zone stay as they are
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self._retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        if self.pending_migrations():
            self._migrate()
        return True

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
            rows = self.conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (MIGRATION_SET,)
            ).fetchall()
        except sqlite3.OperationalError:
            return list(MIGRATION_NAMES)
        applied = {name for (name,) in rows}
        return [name for name in MIGRATION_NAMES if name not in applied]

    def _migrate(self) -> None:
        """Apply pending migrations in one write transaction (other processes wait)."""
        from sqlite_utils import Database

        db = Database(self.conn, execute_plugins=False, recursive_triggers=False)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            # Inside our transaction sqlite-utils uses savepoints, so the whole
            # upgrade commits at once, and a second process opening the same new
            # file waits here and then finds nothing left to do.
            build_migrations().apply(db)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- transactions --------------------------------------------------------------------

    def begin(self, list_name: str) -> None:
        self.conn.execute("BEGIN IMMEDIATE")  # one writer at a time: it serialises everything

    def begin_read(self) -> None:
        self.conn.execute("BEGIN")  # deferred: the snapshot is taken by the first read

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def close(self) -> None:
        self.conn.close()

    def optimize(self, *, analyze: bool = False) -> None:
        """``PRAGMA optimize`` (bounded by ``analysis_limit``) is what SQLite recommends
        before closing a short-lived connection: without statistics a tag or priority filter
        walks every pending task; with them it starts from the narrower index. It only
        looks at tables this connection queried; after a bulk import nothing was queried
        yet, so ANALYZE outright (a few ms, bounded by analysis_limit)."""
        with suppress(sqlite3.Error):
            self.conn.execute("PRAGMA analysis_limit = 400")
            self.conn.execute("ANALYZE" if analyze else "PRAGMA optimize")

    def bulk(self, big: bool) -> None:
        # Random uuids land all over their index: give a big import the pages it needs
        # in memory (64 MB at most, only while it runs) instead of rereading them.
        self.conn.execute("PRAGMA cache_size = -65536" if big else "PRAGMA cache_size = -2000")

    # Indexes a big import keeps up as it writes: its new entries land together at their
    # end (ids ascend, and there are few projects and tags; a new task has no parent), so
    # keeping them costs less than building them again. The others take each new row at a
    # random place (uuids, due dates): they are built again once the rows are in.
    KEPT_IN_BULK = frozenset(("tasks_by_parent", "tasks_by_project", "task_tags_by_tag"))

    def drop_indexes(self, conn: Any, table: str) -> list[str]:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        ).fetchall()
        dropped = [(name, sql) for name, sql in rows if name not in self.KEPT_IN_BULK]
        for name, _sql in dropped:
            conn.execute(f'DROP INDEX "{name}"')
        return [sql for _name, sql in dropped]

    def restore_indexes(self, conn: Any, dropped: list[str]) -> None:
        for sql in dropped:  # the CREATE INDEX statements as the schema had them
            conn.execute(sql)

    threaded_bulk = True  # a write transaction has the file to itself

    def insert_many(
        self, conn: Any, table: str, columns: Sequence[str], values: str, rows: Iterable[Any]
    ) -> None:
        # Many rows per statement: SQLite then does one statement's work for each batch,
        # not for each row (about half the time of one row at a time).
        width = values.count("?")
        limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per = max(1, min(500, limit // max(width, 1)))
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        full = head + ", ".join([f"({values})"] * per)
        rows = iter(rows)
        while batch := list(islice(rows, per)):
            sql = full if len(batch) == per else head + ", ".join([f"({values})"] * len(batch))
            conn.execute(sql, list(chain.from_iterable(batch)))

    # --- ids and full-text search --------------------------------------------------------

    def new_ids(self, conn: Any, count: int) -> list[int]:
        # AUTOINCREMENT never reuses an id: sqlite_sequence remembers the highest ever used.
        (top,) = conn.execute(
            "SELECT max(coalesce((SELECT max(id) FROM tasks), 0),"
            " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'tasks'), 0))"
        ).fetchone()
        return list(range(top + 1, top + 1 + count))

    def fts_write(self, conn: Any, rows: Sequence[FtsRow], *, new: bool = False) -> None:
        if not new:
            conn.executemany("DELETE FROM tasks_fts WHERE rowid = ?", [(r[0],) for r in rows])
        conn.executemany(
            "INSERT INTO tasks_fts (rowid, title, notes, tags, project) VALUES (?, ?, ?, ?, ?)",
            rows,
        )

    def record_added(self, conn: Any, tasks: Sequence[Any], group_id: str) -> None:
        # The ids are consecutive (one writer at a time): made from the rows just written.
        first, last = tasks[0].id, tasks[-1].id
        assert last - first + 1 == len(tasks)
        conn.execute(
            "INSERT INTO tasks_fts (rowid, title, notes, tags, project)"
            " SELECT id, title, coalesce(notes, ''),"
            " coalesce((SELECT group_concat(tag, ' ') FROM"
            " (SELECT tag FROM task_tags WHERE task_id = tasks.id ORDER BY position)), ''),"
            " coalesce(project, '') FROM tasks WHERE id BETWEEN ? AND ?",
            (first, last),
        )
        conn.execute(
            "INSERT INTO journal (group_id, task_id, before, after)"
            " SELECT ?, id, NULL, json_object('id', id, 'uuid', uuid, 'updated_at', updated_at)"
            " FROM tasks WHERE id BETWEEN ? AND ? ORDER BY id",
            (group_id, first, last),
        )

    def fts_delete(self, conn: Any, task_id: int) -> None:
        conn.execute("DELETE FROM tasks_fts WHERE rowid = ?", (task_id,))

    def fts_delete_many(self, conn: Any, task_ids: Sequence[int]) -> None:
        # By runs of consecutive ids (an import's tasks have them): one range scan each.
        conn.executemany("DELETE FROM tasks_fts WHERE rowid BETWEEN ? AND ?", id_ranges(task_ids))

    def fts_query(self, text: str) -> str | None:
        """User text -> an FTS5 query: every word, quoted, as a prefix (no syntax errors)."""
        import re

        words = re.findall(r"\w+", text or "")
        if not words:
            return None
        return " ".join(f'"{w}"*' for w in words)

    def search_from(self) -> tuple[str, str, str]:
        return (
            " JOIN tasks_fts f ON f.rowid = t.id",
            "tasks_fts MATCH ?",
            "bm25(tasks_fts, 10.0, 2.0, 5.0, 3.0), t.id",
        )

    def text_filter(self) -> str:
        return "t.id IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ?)"

    # --- storage faults ------------------------------------------------------------------

    def fault(self, exc: BaseException, *, committing: bool = False) -> TodoError:
        """The one-line error for a failure of the database file itself (busy, disk full,
        damaged, read-only, I/O), naming the file and the fix. A damaged file is marked so
        that later writes refuse it before touching it."""
        assert isinstance(exc, sqlite3.Error)
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

    def refuse_write(self) -> None:
        reason = self.damaged()
        if reason is not None:
            raise DatabaseDamagedError(self.path, reason, writing=True)

    def rows_missing(self, missing: int) -> TodoError:
        # An index listed them, the table does not have them: a damaged page (the rows'
        # page reads as garbage, so their ids are not found there).
        reason = "database disk image is malformed"
        self._mark_damaged(f"{reason} ({missing} listed tasks cannot be read)")
        return DatabaseDamagedError(self.path, reason)

    def salvage_sql(self) -> tuple[str, ...]:
        return (
            "SELECT max(id) FROM tasks",
            "SELECT seq FROM sqlite_sequence WHERE name = 'tasks'",
        )


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
