"""The seam between ``TaskStore`` and the database it keeps tasks in.

``TaskStore`` (``core``) holds every rule of the task model, the journal and undo, and
writes plain SQL with ``?`` placeholders that both databases understand (upserts with
``ON CONFLICT``, ``RETURNING``, ``count(*) FILTER (WHERE ...)``, quoted ``"user"``). A
``Backend`` owns everything that differs: the connection and its transactions, the schema
migrations, full-text search, a few SQL fragments (tag and project matching, string
aggregation, time stamps as numbers), new task ids, locking, and turning the database's
own errors into the store's one-line ``TodoError``.

``sqlite.SQLiteBackend`` is one file (WAL, ``BEGIN IMMEDIATE``, FTS5, damaged-file
handling); ``postgres.PostgresBackend`` a server reached by URL (psycopg 3, advisory and
row locks, tsvector search). This module imports neither database driver.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ..errors import TodoError

__all__ = ["BLOCKED_SQL", "Backend", "FtsRow", "new_uuid", "new_group_id", "search_words"]

# A task (``t``) waiting for a pending task: the same SQL on every backend.
BLOCKED_SQL = (
    "EXISTS (SELECT 1 FROM task_deps d JOIN tasks b ON b.id = d.blocker_id"
    " WHERE d.task_id = t.id AND b.status = 'pending')"
)

# (task id, title, notes, tags joined by spaces, project): what full-text search indexes.
FtsRow = tuple[int, str, str, str, str]


def new_group_id() -> str:
    """A random 32-hex-digit group id (like uuid4().hex, without importing uuid)."""
    return os.urandom(16).hex()


def new_uuid() -> str:
    """A random (version 4) uuid in its usual text form, without importing uuid."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_WORD = re.compile(r"[^\W_]+")


def search_words(text: str | None) -> list[str]:
    """Words as full-text search sees them: runs of letters and digits, lower case, accents
    removed ("Café-Crème" -> ["cafe", "creme"]), like SQLite's unicode61 tokenizer with
    ``remove_diacritics 2``."""
    if not text:
        return []
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(text.lower())


class Backend:
    """What a database gives ``TaskStore``; the attributes are SQL fragments.

    ``conn`` runs SQL with ``?`` placeholders: ``execute(sql, params)`` returns a cursor
    (``fetchone``, ``fetchall``, iteration), ``executemany(sql, rows)``.
    """

    kind = "?"
    conn: Any
    # The database's own error class(es): a read or write failing with one is mapped by
    # ``fault`` to a one-line TodoError.
    errors: tuple[type[BaseException], ...] = ()
    where = ""  # what messages name: the file, or the server's URL without its password
    read_only = False
    # LIMIT value meaning "no limit".
    no_limit: int | None = -1
    # Appended to the SELECT of tasks a write transaction is about to change.
    for_update = ""
    # The task row selected by TaskStore (see core._row_to_task for the column order).
    task_select = ""
    # ORDER BY a stored ISO 8601 time stamp as a moment: "{}" is the column.
    moment = "{}"
    # ORDER BY a column ascending with NULL last: "{}" is the column. The form an index on
    # the column can give in order (the planner does not see that "c IS NULL, c" is one).
    nulls_last = "{0} IS NULL, {0}"
    # A page by due reads the dated tasks, then the undated ones, each in its own order: an
    # index on due_ts gives the dated ones in order only when NULL is not in their order.
    undated_apart = True
    # ``t.list = ?`` where a whole list is read in id order: what keeps the planner on the
    # table itself, in its own order, rather than on an index of lists ("{}" is the column).
    list_scan = "{}"

    def __init__(self) -> None:
        self.notices: list[str] = []

    # --- SQL fragments -------------------------------------------------------------------

    def nocase_eq(self, column: str) -> str:
        """``column`` equals one ``?`` parameter, case-insensitively."""
        raise NotImplementedError

    def tag_filter(self) -> str:
        """Tasks (``t``) that have the tag given as one ``?`` parameter (any case)."""
        raise NotImplementedError

    # --- connection and transactions -----------------------------------------------------

    def setup(self) -> bool:
        """Prepare the connection and apply pending migrations; False when the database
        cannot be written (read-only file), so nothing else is written on open."""
        raise NotImplementedError

    def pending_migrations(self) -> list[str]:
        raise NotImplementedError

    def open_failed(self, exc: BaseException) -> TodoError:
        """The error for a database failure while the store opens."""
        return self.fault(exc)

    def begin(self, list_name: str) -> None:
        """Start a write transaction for a change in ``list_name``."""
        raise NotImplementedError

    def lock_list(self, list_name: str) -> None:
        """Inside a write transaction: keep other writers out of ``list_name`` until it ends
        (a rename checks that its new name is still free)."""

    def begin_read(self) -> None:
        """Start a read-only transaction: every statement until ``commit`` sees the same
        snapshot of the database (a list page reads its ids, then their rows)."""
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    @property
    def in_transaction(self) -> bool:
        raise NotImplementedError

    def refuse_write(self) -> None:
        """Raise before a write that must not happen (a file known to be damaged)."""

    def fault(self, exc: BaseException, *, committing: bool = False) -> TodoError:
        """The one-line error for a database failure (``exc`` is one of ``errors``);
        ``committing``: it happened while committing."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def optimize(self, *, analyze: bool = False) -> None:
        """Refresh the query planner's statistics (before closing; after a bulk import)."""

    def bulk(self, big: bool) -> None:
        """A big import starts (True) or ended (False)."""

    def drop_indexes(self, conn: Any, table: str) -> list[str]:
        """Inside a write transaction, before rows are added in bulk to a table that holds
        fewer: drop ``table``'s secondary indexes, returning what ``restore_indexes`` needs
        to build them again once the rows are in (sorting once instead of one random
        insertion per row). The default keeps them (returns nothing)."""
        return []

    def restore_indexes(self, conn: Any, dropped: list[str]) -> None:
        """Build again what ``drop_indexes`` dropped (in the same transaction)."""

    def pipeline(self) -> AbstractContextManager[object]:
        """Around many writes whose results are not read at once: a server gets them
        without waiting for each answer (a file: nothing to do)."""
        return nullcontext()

    # A bulk import may write its batches from a second thread, counting new ids on from
    # the highest: the connection is used by one thread at a time, and nobody else writes
    # while the import's transaction is open.
    threaded_bulk = False

    def insert_many(
        self, conn: Any, table: str, columns: Sequence[str], values: str, rows: Iterable[Any]
    ) -> None:
        """``INSERT INTO table (columns) VALUES (values)`` for each row (``values``: the
        placeholders and literals of one row, e.g. "?, ?, NULL")."""
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})", rows)

    # --- ids and full-text search --------------------------------------------------------

    def new_ids(self, conn: Any, count: int) -> list[int]:
        """``count`` fresh task ids, never used before, in increasing order."""
        raise NotImplementedError

    def fts_write(self, conn: Any, rows: Sequence[FtsRow], *, new: bool = False) -> None:
        """Index these tasks for search (replacing what was indexed for them, unless
        ``new``: tasks just added)."""
        raise NotImplementedError

    def record_added(self, conn: Any, tasks: Sequence[Any], group_id: str) -> None:
        """Search rows and journal entries (short ones: id, uuid and time of last change)
        for tasks an import has just written, with one statement each."""
        self.fts_write(
            conn,
            [(t.id, t.title, t.notes or "", " ".join(t.tags), t.project or "") for t in tasks],
            new=True,
        )
        conn.executemany(
            "INSERT INTO journal (group_id, task_id, before, after) VALUES (?, ?, NULL, ?)",
            [(group_id, t.id, added_entry(t.id, t.uuid, t.updated_at)) for t in tasks],
        )

    def fts_delete(self, conn: Any, task_id: int) -> None:
        raise NotImplementedError

    def fts_delete_many(self, conn: Any, task_ids: Sequence[int]) -> None:
        """``fts_delete`` for each of these tasks."""
        for task_id in task_ids:
            self.fts_delete(conn, task_id)

    def fts_query(self, text: str) -> str | None:
        """User text as the parameter of ``search_match``: every word, as a prefix; None
        when it has no words."""
        raise NotImplementedError

    def search_from(self) -> tuple[str, str, str]:
        """Search as SQL: the join onto ``tasks t`` (taking the query parameter), the WHERE
        condition, and the ORDER BY of the best matches first."""
        raise NotImplementedError

    def text_filter(self) -> str:
        """Tasks (``t``) matching the ``fts_query`` given as one ``?`` parameter."""
        raise NotImplementedError

    # --- a damaged file (SQLite) ---------------------------------------------------------

    def damaged(self) -> str | None:
        return None

    def rows_missing(self, missing: int) -> TodoError:
        """The error when ``missing`` tasks whose ids a read just listed have no row in the
        same snapshot (a damaged index or table)."""
        from ..errors import TodoError

        return TodoError(
            f"The task database {self.where} listed {missing} tasks it then could not read.",
            hint="Nothing was changed; run the command again, and check the database if it "
            "happens again.",
        )

    def salvage_sql(self) -> tuple[str, ...]:
        """Queries giving the highest task id the database knows (each may fail)."""
        return ("SELECT max(id) FROM tasks",)


def id_ranges(ids: Iterable[int]) -> list[tuple[int, int]]:
    """The runs of consecutive ids among ``ids``, as (first, last) pairs: a statement per
    run, not per id (the tasks an import added have consecutive ids)."""
    ranges: list[list[int]] = []
    for task_id in sorted(ids):
        if ranges and ranges[-1][1] + 1 == task_id:
            ranges[-1][1] = task_id
        elif not ranges or ranges[-1][1] != task_id:
            ranges.append([task_id, task_id])
    return [(first, last) for first, last in ranges]


def added_entry(task_id: int, uuid: str, updated_at: str) -> str:
    """The journal's short entry for a task a bulk import added."""
    return json.dumps({"id": task_id, "uuid": uuid, "updated_at": updated_at})
