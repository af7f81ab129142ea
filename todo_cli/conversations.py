"""Stored conversations: list, find the latest, read back.

Conversations live in ``conversations.db`` in the data dir, in the tables the Agents SDK's
``SQLiteSession`` writes (``agent_sessions``, ``agent_messages``). A separate file keeps the
SDK's WAL switch and its locking away from the task database. This module reads them with
plain ``sqlite3`` (no SDK import), so ``/history`` and ``--conversation`` checks are cheap.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SESSIONS_TABLE = "agent_sessions"
MESSAGES_TABLE = "agent_messages"


@dataclass
class ConversationInfo:
    id: str
    created_at: str  # UTC, "YYYY-MM-DD HH:MM:SS" as SQLite stores it
    updated_at: str
    title: str  # the first user message, on one line
    turns: int  # user messages


def db_path(paths: Any | None = None) -> Path:
    """Where conversations are stored: ``<data dir>/conversations.db``."""
    if paths is None:
        from .config import get_paths

        paths = get_paths()
    return Path(paths.data_dir) / "conversations.db"


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


def list_conversations(limit: int = 20, *, paths: Any | None = None) -> list[ConversationInfo]:
    """The most recently updated conversations first: id, dates, title, user turns."""
    conn = _connect(db_path(paths))
    if conn is None:
        return []
    with closing(conn):
        # Timestamps have one-second resolution: order by the newest message instead.
        rows = conn.execute(
            f"SELECT s.session_id, s.created_at, s.updated_at FROM {SESSIONS_TABLE} s "
            f"ORDER BY (SELECT MAX(m.id) FROM {MESSAGES_TABLE} m "
            "WHERE m.session_id = s.session_id) DESC, s.rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [_info(conn, *row) for row in rows]


def _info(conn: sqlite3.Connection, sid: str, created: str, updated: str) -> ConversationInfo:
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
    return ConversationInfo(sid, created, updated, title, turns)


def get_conversation(conversation_id: str, *, paths: Any | None = None) -> ConversationInfo | None:
    """One conversation's summary, or None when there is no such id."""
    conn = _connect(db_path(paths))
    if conn is None:
        return None
    with closing(conn):
        row = conn.execute(
            f"SELECT session_id, created_at, updated_at FROM {SESSIONS_TABLE} WHERE session_id = ?",
            (conversation_id,),
        ).fetchone()
        return _info(conn, *row) if row else None


def latest_conversation_id(*, paths: Any | None = None) -> str | None:
    """The most recently updated conversation, or None."""
    found = list_conversations(1, paths=paths)
    return found[0].id if found else None


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
