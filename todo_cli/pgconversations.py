"""Conversations on the PostgreSQL server of ``database.url``: the same behaviour as the
SQLite file (``conversations.SqliteConversations``), shared by every machine and server
process on that database.

* Schema: its own named, append-only migrations (``CONVERSATION_MIGRATIONS``), recorded in
  ``todo_migrations`` under the migration set ``conversations`` and applied on connect in
  one transaction under the same advisory lock as the task store's migrations.
* ``conversations`` (id, list, created/started/updated times) and ``conversation_messages``
  (one row per stored item, the SDK's JSON as text, in insertion order). A conversation
  exists (is listed, can be resumed) once its first item is stored; ``set_list`` before
  that only records whose it will be. The first list recorded wins, as in SQLite.
* ``PgHistorySession``: the Agents SDK session a turn reads and appends to; each append
  is one transaction, so a turn's items are saved whole or not at all.
* Faults: a server that cannot be reached or went away is one line naming host:port
  (``pgconn.describe_error``); reads answer as the SQLite store does for a missing file
  only when nothing is stored, never by hiding an outage.

psycopg is imported with this module, which ``conversations.open_conversations`` imports
only for a PostgreSQL URL.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from .conversation_store import ConversationInfo, ConversationStore, said, summary
from .listnames import DEFAULT_LIST
from .store.pgconn import (
    DEFAULT_STATEMENT_TIMEOUT,
    DatabaseUnavailableError,
    apply_migrations,
    connect,
    describe_error,
    mask_url,
)

MIGRATION_SET = "conversations"
# The task store's migration lock: both sets create ``todo_migrations`` if missing.
_TIME = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"  # as SQLite shows it


# --- migrations (append-only: never edit or reorder one that has shipped) ----------------


def pgc001_conversations(conn: Any) -> None:
    """Conversations and their stored items."""
    conn.execute(
        """
        CREATE TABLE conversations (
            id text PRIMARY KEY,
            list text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            started_at timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    conn.execute("CREATE INDEX conversations_by_list ON conversations (list)")
    conn.execute(
        """
        CREATE TABLE conversation_messages (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            conversation_id text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            message_data text NOT NULL,
            is_user boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    conn.execute(
        "CREATE INDEX conversation_messages_in_order ON conversation_messages (conversation_id, id)"
    )


CONVERSATION_MIGRATIONS: list[Callable[[Any], None]] = [pgc001_conversations]
CONVERSATION_MIGRATION_NAMES = tuple(fn.__name__ for fn in CONVERSATION_MIGRATIONS)


def migrate(conn: psycopg.Connection[Any]) -> None:
    """The conversation migrations (see ``apply_migrations``)."""
    apply_migrations(conn, MIGRATION_SET, CONVERSATION_MIGRATIONS)


class Connection:
    """One connection, opened (and migrated) on first use, reopened after it was lost;
    one user at a time (threads of the server's pool, the SDK's worker threads)."""

    def __init__(
        self,
        url: str,
        timeout: float,
        migrations: Callable[[psycopg.Connection[Any]], None] | None = None,
        *,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.statement_timeout = statement_timeout  # seconds; 0: no limit
        self.migrations = migrations or migrate
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.RLock()

    def run(self, fn: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        """``fn(connection)`` under the lock; a psycopg failure becomes one line naming
        the server (a lost connection is dropped, so the next call reconnects)."""
        with self._lock:
            conn = self._conn
            if conn is None or conn.closed:
                conn = connect(
                    self.url,
                    timeout=self.timeout,
                    autocommit=True,
                    statement_timeout=self.statement_timeout,
                )
                try:
                    self.migrations(conn)
                except psycopg.Error as exc:
                    conn.close()
                    raise self._error(exc) from None
                self._conn = conn
            try:
                return fn(conn)
            except psycopg.Error as exc:
                if conn.closed or isinstance(exc, psycopg.OperationalError):
                    conn.close()
                    self._conn = None
                raise self._error(exc) from None

    def _error(self, exc: psycopg.Error) -> DatabaseUnavailableError:
        return describe_error(
            exc, self.url, connecting=False, statement_timeout=self.statement_timeout
        )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PgConversations(ConversationStore):
    """Conversations in the PostgreSQL database ``url`` names."""

    backend = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.location = mask_url(url)
        self._db = Connection(url, timeout, statement_timeout=statement_timeout)

    def close(self) -> None:
        self._db.close()

    def set_list(self, conversation_id: str, list_name: str) -> str:
        def run(conn: psycopg.Connection[Any]) -> str:
            row = conn.execute(
                "WITH new AS (INSERT INTO conversations (id, list) VALUES (%s, %s) "
                "ON CONFLICT (id) DO NOTHING RETURNING list) "
                "SELECT list FROM new UNION ALL SELECT list FROM conversations WHERE id = %s",
                (conversation_id, list_name, conversation_id),
            ).fetchone()
            return str(row[0]) if row else list_name

        return str(self._db.run(run))

    def _summaries(self, where: str, params: tuple[Any, ...]) -> list[ConversationInfo]:
        def run(conn: psycopg.Connection[Any]) -> list[ConversationInfo]:
            rows = conn.execute(
                f"SELECT c.id, {_TIME.format('c.started_at')}, {_TIME.format('c.updated_at')}, "
                "c.list FROM conversations c WHERE c.started_at IS NOT NULL "
                f"{where}",
                params,
            ).fetchall()
            out = []
            for sid, created, updated, list_name in rows:
                items = conn.execute(
                    "SELECT message_data FROM conversation_messages "
                    "WHERE conversation_id = %s AND is_user ORDER BY id",
                    (sid,),
                ).fetchall()
                out.append(summary(sid, created, updated, list_name or DEFAULT_LIST, items))
            return out

        result: list[ConversationInfo] = self._db.run(run)
        return result

    def recent(self, limit: int = 20, *, list_name: str | None = None) -> list[ConversationInfo]:
        where = "AND c.list = %s " if list_name is not None else ""
        params: tuple[Any, ...] = (list_name,) if list_name is not None else ()
        # The newest message first (the times have more resolution here, but the same
        # order as SQLite keeps both stores alike).
        order = (
            "ORDER BY (SELECT max(m.id) FROM conversation_messages m "
            "WHERE m.conversation_id = c.id) DESC NULLS LAST, c.started_at DESC LIMIT %s"
        )
        return self._summaries(where + order, (*params, limit))

    def get(self, conversation_id: str) -> ConversationInfo | None:
        found = self._summaries("AND c.id = %s", (conversation_id,))
        return found[0] if found else None

    def messages(self, conversation_id: str) -> list[tuple[str, str]]:
        def run(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
            return said(
                conn.execute(
                    "SELECT message_data FROM conversation_messages "
                    "WHERE conversation_id = %s ORDER BY id",
                    (conversation_id,),
                ).fetchall()
            )

        result: list[tuple[str, str]] = self._db.run(run)
        return result

    def history_error(self, exc: BaseException) -> Any:
        return exc if isinstance(exc, DatabaseUnavailableError) else None

    def open_history(self, conversation_id: str, *, limit: int | None) -> PgHistorySession:
        # The store's own connection: a server with many conversations open at once
        # needs one connection per process, not one per conversation.
        return PgHistorySession(conversation_id, self._db, limit)


def _is_user_item(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and item.get("role") == "user"
        and item.get("type", "message") == "message"
    )


class PgHistorySession:
    """An Agents SDK session (``get_items``, ``add_items``, ``pop_item``,
    ``clear_session``) over ``conversation_messages``, on its store's connection."""

    def __init__(self, session_id: str, db: Connection, limit: int | None = None) -> None:
        from agents import SessionSettings

        self.session_id = session_id
        self.session_settings = SessionSettings(limit=limit)
        self._db = db

    async def get_items(self, limit: int | None = None) -> list[Any]:
        wanted = limit if limit is not None else self.session_settings.limit

        def run(conn: psycopg.Connection[Any]) -> list[Any]:
            if wanted is None:
                rows = conn.execute(
                    "SELECT message_data FROM conversation_messages "
                    "WHERE conversation_id = %s ORDER BY id",
                    (self.session_id,),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT message_data FROM conversation_messages "
                    "WHERE conversation_id = %s ORDER BY id DESC LIMIT %s",
                    (self.session_id, max(0, wanted)),
                ).fetchall()[::-1]
            items = []
            for (data,) in rows:
                try:
                    items.append(json.loads(data))
                except ValueError:
                    continue
            return items

        return await asyncio.to_thread(self._db.run, run)  # type: ignore[no-any-return]

    async def add_items(self, items: list[Any]) -> None:
        if not items:
            return
        rows = [
            (self.session_id, json.dumps(item, separators=(",", ":")), _is_user_item(item))
            for item in items
        ]

        def run(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO conversations (id, list, started_at) VALUES (%s, %s, now()) "
                    "ON CONFLICT (id) DO UPDATE SET updated_at = now(), "
                    "started_at = coalesce(conversations.started_at, now())",
                    (self.session_id, DEFAULT_LIST),
                )
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO conversation_messages "
                        "(conversation_id, message_data, is_user) VALUES (%s, %s, %s)",
                        rows,
                    )

        await asyncio.to_thread(self._db.run, run)

    async def pop_item(self) -> Any:
        def run(conn: psycopg.Connection[Any]) -> Any:
            row = conn.execute(
                "DELETE FROM conversation_messages WHERE id = (SELECT max(id) FROM "
                "conversation_messages WHERE conversation_id = %s) RETURNING message_data",
                (self.session_id,),
            ).fetchone()
            if row is None:
                return None
            try:
                return json.loads(row[0])
            except ValueError:
                return None

        return await asyncio.to_thread(self._db.run, run)

    async def clear_session(self) -> None:
        def run(conn: psycopg.Connection[Any]) -> None:
            conn.execute(
                "DELETE FROM conversation_messages WHERE conversation_id = %s",
                (self.session_id,),
            )

        await asyncio.to_thread(self._db.run, run)

    def close(self) -> None:
        """Nothing: the connection is the store's (closed with it)."""
