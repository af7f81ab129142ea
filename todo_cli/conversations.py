"""Stored conversations: list, find the latest, read back.

Conversations live in ``conversations.db`` in the data dir, in the tables the Agents SDK's
``SQLiteSession`` writes (``agent_sessions``, ``agent_messages``). A separate file keeps the
SDK's WAL switch and its locking away from the task database. This module reads them with
plain ``sqlite3`` (no SDK import), so ``/history`` and ``--conversation`` checks are cheap.

Each conversation belongs to the task list it was started on (``conversation_lists``,
written by ``set_list`` before the first turn; a conversation without a row is from before
lists existed and belongs to the default list). The server uses it as the owner: one user
never sees another's conversations.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .listnames import DEFAULT_LIST

SESSIONS_TABLE = "agent_sessions"
MESSAGES_TABLE = "agent_messages"
LISTS_TABLE = "conversation_lists"


@dataclass
class ConversationInfo:
    id: str
    created_at: str  # UTC, "YYYY-MM-DD HH:MM:SS" as SQLite stores it
    updated_at: str
    title: str  # the first user message, on one line
    turns: int  # user messages
    list_name: str = DEFAULT_LIST  # the task list it was started on


def db_path(paths: Any | None = None) -> Path:
    """Where conversations are stored: ``<data dir>/conversations.db``."""
    if paths is None:
        from .config import get_paths

        paths = get_paths()
    return Path(paths.data_dir) / "conversations.db"


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


def set_list(conversation_id: str, list_name: str, *, paths: Any | None = None) -> str:
    """Record that the conversation belongs to ``list_name``, unless it already belongs to
    a list; returns the list it belongs to. Call it before the conversation's first turn."""
    path = db_path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=30)) as conn:
        # Like the stored messages (WAL, synchronous=NORMAL): no fsync per commit, and the
        # log keeps the order, so a conversation's messages never outlive its list.
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


def _text_of(item: dict[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            p.get("text", "")
            for p in content
            if isinstance(p, dict) and isinstance(p.get("text"), str)
        ]
        return "".join(parts)
    return ""


def _is_user(item: dict[str, Any]) -> bool:
    return item.get("role") == "user" and item.get("type", "message") == "message"


def _title(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


@_damage_tolerant(list)
def list_conversations(
    limit: int = 20, *, paths: Any | None = None, list_name: str | None = None
) -> list[ConversationInfo]:
    """The most recently updated conversations first: id, dates, title, user turns, list.

    ``list_name`` keeps only the conversations of that list (None: every list).
    """
    conn = _connect(db_path(paths))
    if conn is None:
        return []
    with closing(conn):
        owner = _list_sql(conn)
        where, params = (f"WHERE {owner} = ?", [list_name]) if list_name is not None else ("", [])
        # Timestamps have one-second resolution: order by the newest message instead.
        rows = conn.execute(
            f"SELECT s.session_id, s.created_at, s.updated_at, {owner} FROM {SESSIONS_TABLE} s "
            f"{where} ORDER BY (SELECT MAX(m.id) FROM {MESSAGES_TABLE} m "
            "WHERE m.session_id = s.session_id) DESC, s.rowid DESC LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [_info(conn, *row) for row in rows]


def _info(
    conn: sqlite3.Connection, sid: str, created: str, updated: str, list_name: str
) -> ConversationInfo:
    title = ""
    turns = 0
    for (data,) in conn.execute(
        f"SELECT message_data FROM {MESSAGES_TABLE} WHERE session_id = ? "
        "AND message_data LIKE '%\"user\"%' ORDER BY id",
        (sid,),
    ):
        try:
            item = json.loads(data)
        except ValueError:
            continue
        if isinstance(item, dict) and _is_user(item):
            turns += 1
            if not title:
                title = _title(_text_of(item))
    return ConversationInfo(sid, created, updated, title, turns, list_name)


@_damage_tolerant(None)
def get_conversation(conversation_id: str, *, paths: Any | None = None) -> ConversationInfo | None:
    """One conversation's summary, or None when there is no such id."""
    conn = _connect(db_path(paths))
    if conn is None:
        return None
    with closing(conn):
        row = conn.execute(
            f"SELECT s.session_id, s.created_at, s.updated_at, {_list_sql(conn)} "
            f"FROM {SESSIONS_TABLE} s WHERE s.session_id = ?",
            (conversation_id,),
        ).fetchone()
        return _info(conn, *row) if row else None


def latest_conversation_id(*, paths: Any | None = None, list_name: str | None = None) -> str | None:
    """The most recently updated conversation (of ``list_name``, if given), or None."""
    found = list_conversations(1, paths=paths, list_name=list_name)
    return found[0].id if found else None


@_damage_tolerant(list)
def conversation_messages(
    conversation_id: str, *, paths: Any | None = None
) -> list[tuple[str, str]]:
    """The user and assistant messages of a conversation as (role, text), oldest first."""
    conn = _connect(db_path(paths))
    if conn is None:
        return []
    out: list[tuple[str, str]] = []
    with closing(conn):
        for (data,) in conn.execute(
            f"SELECT message_data FROM {MESSAGES_TABLE} WHERE session_id = ? ORDER BY id",
            (conversation_id,),
        ):
            try:
                item = json.loads(data)
            except ValueError:
                continue
            if not isinstance(item, dict) or item.get("role") not in ("user", "assistant"):
                continue
            text = _text_of(item)
            if text:
                out.append((item["role"], text))
    return out
