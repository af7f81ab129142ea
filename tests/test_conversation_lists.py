"""Conversations belong to the task list they were started on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from todo_cli import conversations
from todo_cli.config import get_paths


def _conversation(path: Path, sid: str, text: str) -> None:
    """A conversation as the Agents SDK stores it."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS agent_sessions (session_id TEXT PRIMARY KEY, "
            "created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, "
            "updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS agent_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "session_id TEXT, message_data TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
        )
        conn.execute("INSERT INTO agent_sessions (session_id) VALUES (?)", (sid,))
        conn.execute(
            "INSERT INTO agent_messages (session_id, message_data) VALUES (?, ?)",
            (sid, f'{{"role": "user", "content": "{text}"}}'),
        )


def test_conversations_are_listed_and_found_with_their_list() -> None:
    paths = get_paths().ensure()
    path = conversations.db_path(paths)
    _conversation(path, "old00001", "from before lists")
    assert conversations.get_conversation("old00001", paths=paths).list_name == "default"
    assert conversations.set_list("work0001", "work", paths=paths) == "work"
    _conversation(path, "work0001", "at work")
    assert conversations.set_list("alic0001", "alice", paths=paths) == "alice"
    _conversation(path, "alic0001", "alice here")
    # The first list recorded stays: a conversation never changes owner.
    assert conversations.set_list("alic0001", "work", paths=paths) == "alice"
    assert conversations.get_conversation("alic0001", paths=paths).list_name == "alice"

    def ids(list_name: str | None) -> list[str]:
        return [
            c.id for c in conversations.list_conversations(10, paths=paths, list_name=list_name)
        ]

    assert ids("alice") == ["alic0001"]
    assert ids("work") == ["work0001"]
    assert ids("default") == ["old00001"]
    assert ids("nobody") == []
    assert ids(None) == ["alic0001", "work0001", "old00001"]
    assert conversations.latest_conversation_id(paths=paths, list_name="work") == "work0001"
