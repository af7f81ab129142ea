"""Stored conversations: list, find the latest, read back, and the history a turn uses.

One interface, ``ConversationStore``, two implementations chosen by the settings like the
task store: with ``database.url`` set, conversations live on that PostgreSQL server
(``pgconversations``, its own migrations); otherwise in ``conversations.db`` in the data
dir, in the tables the Agents SDK's ``SQLiteSession`` writes (``agent_sessions``,
``agent_messages``). A separate file keeps the SDK's WAL switch and its locking away from
the task database. This module reads them with plain ``sqlite3`` (no SDK import), so
``/history`` and ``--conversation`` checks are cheap. The module functions
(``list_conversations``, ``get_conversation``...) take ``settings`` (or, for the SQLite
file alone, ``paths``) and open the right store for one call.

Each conversation belongs to the task list it was started on (``conversation_lists``,
written by ``set_list`` before the first turn; a conversation without a row is from before
lists existed and belongs to the default list). The server uses it as the owner: one user
never sees another's conversations.
"""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

from .conversation_store import (
    ConversationInfo,
    ConversationStore,
    DamagedHistory,
    said,
    summary,
)
from .listnames import DEFAULT_LIST

SESSIONS_TABLE = "agent_sessions"
MESSAGES_TABLE = "agent_messages"
LISTS_TABLE = "conversation_lists"


def db_path(paths: Any | None = None) -> Path:
    """Where conversations are stored: ``<data dir>/conversations.db``."""
    if paths is None:
        from .config import get_paths

        paths = get_paths()
    return Path(paths.data_dir) / "conversations.db"


def database_url(settings: Any | None) -> str | None:
    """The PostgreSQL URL conversations live at, or None for the SQLite file."""
    database = getattr(settings, "database", None) if settings is not None else None
    url = getattr(database, "url", None)
    return str(url) if url else None


def open_conversations(
    settings: Any | None = None, *, paths: Any | None = None
) -> ConversationStore:
    """The conversation store of ``settings`` (PostgreSQL when ``database.url`` is set);
    with neither argument, the settings of the environment."""
    if settings is None and paths is None:
        from .config import load_settings

        settings = load_settings()
    url = database_url(settings)
    if url:
        from .dburl import DEFAULT_STATEMENT_TIMEOUT
        from .pgconversations import PgConversations

        database = settings.database  # type: ignore[union-attr]
        timeout = float(getattr(database, "connect_timeout", 5.0) or 5.0)
        limit = float(getattr(database, "statement_timeout", DEFAULT_STATEMENT_TIMEOUT))
        return PgConversations(url, timeout=timeout, statement_timeout=limit)
    if paths is None:
        paths = getattr(settings, "paths", None)
    return SqliteConversations(db_path(paths))


def _damage_tolerant(default: Any) -> Any:
    """A read that meets a damaged file answers as if nothing were stored (the chat itself
    moves the damaged file aside and says so)."""
    import functools

    def wrap(fn: Any) -> Any:
        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except sqlite3.DatabaseError:
                return default() if callable(default) else default

        return guarded

    return wrap


def move_aside(path: Path) -> Path:
    """Rename a damaged conversations.db (and its -wal/-shm) out of the way, keeping it for
    a look: ``conversations.db.damaged-20261201-101500``. Returns the new path."""
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.replace(Path(f"{target}{suffix}"))
    return target


def new_conversation_id() -> str:
    """A short id users can type: 8 hex digits."""
    return uuid.uuid4().hex[:8]


def _connect(path: Path) -> sqlite3.Connection | None:
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        conn.execute(f"SELECT 1 FROM {SESSIONS_TABLE} LIMIT 1")
    except sqlite3.Error:
        conn.close()
        return None
    return conn


def _has_lists(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LISTS_TABLE,)
    ).fetchone()
    return row is not None


def _list_sql(conn: sqlite3.Connection) -> str:
    """SQL for the list of conversation ``s.session_id``."""
    if not _has_lists(conn):
        return f"'{DEFAULT_LIST}'"
    return (
        f"coalesce((SELECT l.list FROM {LISTS_TABLE} l WHERE l.session_id = s.session_id), "
        f"'{DEFAULT_LIST}')"
    )


class SqliteConversations(ConversationStore):
    """Conversations in ``conversations.db``: the SDK's ``SQLiteSession`` tables plus
    ``conversation_lists``. A read that meets a damaged file answers as if nothing were
    stored; opening the history moves a damaged file aside (``DamagedHistory``)."""

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)

    def set_list(self, conversation_id: str, list_name: str) -> str:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path, timeout=30)) as conn:
            # Like the stored messages (WAL, synchronous=NORMAL): no fsync per commit, and
            # the log keeps the order, so a conversation's messages never outlive its list.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {LISTS_TABLE} "
                "(session_id TEXT PRIMARY KEY, list TEXT NOT NULL)"
            )
            conn.execute(
                f"INSERT OR IGNORE INTO {LISTS_TABLE} (session_id, list) VALUES (?, ?)",
                (conversation_id, list_name),
            )
            conn.commit()
            row = conn.execute(
                f"SELECT list FROM {LISTS_TABLE} WHERE session_id = ?", (conversation_id,)
            ).fetchone()
        return str(row[0])

    @_damage_tolerant(list)
    def recent(self, limit: int = 20, *, list_name: str | None = None) -> list[ConversationInfo]:
        conn = _connect(self.path)
        if conn is None:
            return []
        with closing(conn):
            owner = _list_sql(conn)
            where, params = (
                (f"WHERE {owner} = ?", [list_name]) if list_name is not None else ("", [])
            )
            # Timestamps have one-second resolution: order by the newest message instead.
            rows = conn.execute(
                f"SELECT s.session_id, s.created_at, s.updated_at, {owner} "
                f"FROM {SESSIONS_TABLE} s {where} ORDER BY (SELECT MAX(m.id) "
                f"FROM {MESSAGES_TABLE} m WHERE m.session_id = s.session_id) DESC, "
                "s.rowid DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
            return [_info(conn, *row) for row in rows]

    @_damage_tolerant(None)
    def get(self, conversation_id: str) -> ConversationInfo | None:
        conn = _connect(self.path)
        if conn is None:
            return None
        with closing(conn):
            row = conn.execute(
                f"SELECT s.session_id, s.created_at, s.updated_at, {_list_sql(conn)} "
                f"FROM {SESSIONS_TABLE} s WHERE s.session_id = ?",
                (conversation_id,),
            ).fetchone()
            return _info(conn, *row) if row else None

    @_damage_tolerant(list)
    def messages(self, conversation_id: str) -> list[tuple[str, str]]:
        conn = _connect(self.path)
        if conn is None:
            return []
        with closing(conn):
            return said(
                conn.execute(
                    f"SELECT message_data FROM {MESSAGES_TABLE} WHERE session_id = ? ORDER BY id",
                    (conversation_id,),
                )
            )

    def open_history(self, conversation_id: str, *, limit: int | None) -> Any:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._open(conversation_id, limit)
        except sqlite3.DatabaseError as exc:
            # A damaged conversations.db must not stop the chat: keep it for a look and
            # start a fresh file.
            moved = move_aside(path)
            raise DamagedHistory(
                f"The conversation store {path} is damaged ({exc}); moved it to "
                f"{moved.name} and started a new conversation."
            ) from None

    def _open(self, conversation_id: str, limit: int | None) -> Any:
        """The SDK session, checked by reading it (a damaged page fails here)."""
        from agents import SessionSettings, SQLiteSession

        class Session(SQLiteSession):
            @staticmethod
            def _configure_connection(conn: Any) -> None:
                SQLiteSession._configure_connection(conn)
                # WAL with synchronous=NORMAL: one fsync per checkpoint, not per message.
                conn.execute("PRAGMA synchronous=NORMAL")

        session = Session(conversation_id, self.path, session_settings=SessionSettings(limit=limit))
        try:
            with closing(sqlite3.connect(self.path, timeout=5)) as conn:
                conn.execute(
                    f"SELECT count(*), max(length(message_data)) FROM {MESSAGES_TABLE} "
                    "WHERE session_id = ?",
                    (conversation_id,),
                ).fetchone()
        except BaseException:
            session.close()
            raise
        return session

    def history_error(self, exc: BaseException) -> Any:
        if not isinstance(exc, sqlite3.DatabaseError):
            return None
        from .errors import TodoError

        path = self.path
        if "full" in str(exc).lower():
            return TodoError(
                f"The disk is full: the conversation could not be saved to {path}.",
                hint="Your tasks are safe; free some space and run the command again.",
            )
        return TodoError(
            f"The conversation store {path} failed ({exc}).",
            hint=f"Your tasks are safe. Move {path.name} aside and run the command again: a "
            "fresh one is started.",
        )


def _info(
    conn: sqlite3.Connection, sid: str, created: str, updated: str, list_name: str
) -> ConversationInfo:
    rows = conn.execute(
        f"SELECT message_data FROM {MESSAGES_TABLE} WHERE session_id = ? "
        "AND message_data LIKE '%\"user\"%' ORDER BY id",
        (sid,),
    )
    return summary(sid, created, updated, list_name, rows)


# ------------------------------------------------------------ one call, the right store


def set_list(
    conversation_id: str, list_name: str, *, paths: Any | None = None, settings: Any = None
) -> str:
    """``ConversationStore.set_list`` on the store of ``settings`` (or ``paths``)."""
    with open_conversations(settings, paths=paths) as store:
        return store.set_list(conversation_id, list_name)


def list_conversations(
    limit: int = 20,
    *,
    paths: Any | None = None,
    list_name: str | None = None,
    settings: Any = None,
) -> list[ConversationInfo]:
    """The most recently updated conversations first: id, dates, title, user turns, list.

    ``list_name`` keeps only the conversations of that list (None: every list).
    """
    with open_conversations(settings, paths=paths) as store:
        return store.recent(limit, list_name=list_name)


def get_conversation(
    conversation_id: str, *, paths: Any | None = None, settings: Any = None
) -> ConversationInfo | None:
    """One conversation's summary, or None when there is no such id."""
    with open_conversations(settings, paths=paths) as store:
        return store.get(conversation_id)


def latest_conversation_id(
    *, paths: Any | None = None, list_name: str | None = None, settings: Any = None
) -> str | None:
    """The most recently updated conversation (of ``list_name``, if given), or None."""
    with open_conversations(settings, paths=paths) as store:
        return store.latest_id(list_name=list_name)


def conversation_messages(
    conversation_id: str, *, paths: Any | None = None, settings: Any = None
) -> list[tuple[str, str]]:
    """The user and assistant messages of a conversation as (role, text), oldest first."""
    with open_conversations(settings, paths=paths) as store:
        return store.messages(conversation_id)
