"""Who sees what: user ids, each user's task list and conversations, one turn at a time.

Every user id is its own task list in the store (the list with the same name: user
``alice``'s tasks are ``todo tasks --list alice``) and owns the conversations started on
it. Everything per user comes from the functions here, so another store backend only
changes them. Standard library only at import time.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from ..conversations import ConversationInfo
    from ..store import TaskStore

MAX_USER_ID = 64
_USER_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
USER_ID_HINT = (
    "A user id is 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit."
)


def canonical_user_id(value: str) -> str | None:
    """The user id as stored (lower case), or None when ``value`` is not a valid one.

    ASCII only, so that an id in a URL has exactly one spelling.
    """
    text = value.lower()
    return text if _USER_ID.fullmatch(text) else None


def validate_user_id(value: str) -> str:
    """``canonical_user_id`` that raises UsageError for an invalid id."""
    user = canonical_user_id(value.strip())
    if user is None:
        raise UsageError(f"'{value[:MAX_USER_ID]}' is not a valid user id.", hint=USER_ID_HINT)
    return user


@dataclass
class ServerConfig:
    """What `todo serve` runs with; the limits apply to every user separately."""

    settings: Any
    host: str = "127.0.0.1"
    port: int = 8000
    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    max_body_bytes: int = 64 * 1024
    max_message_chars: int = 8000
    rate_per_minute: int = 120  # requests per user and minute; 0 turns the limit off
    token_path: Any = None  # default: server_tokens.toml in the data folder
    _conversations: Any = field(default=None, repr=False)

    def conversations(self) -> Any:
        """The conversation store of the settings (one per server process: on PostgreSQL
        it keeps its connection between requests)."""
        if self._conversations is None:
            from ..conversations import open_conversations

            self._conversations = open_conversations(self.settings, paths=self.paths)
        return self._conversations

    def close(self) -> None:
        if self._conversations is not None:
            self._conversations.close()

    @property
    def paths(self) -> Any:
        paths = getattr(self.settings, "paths", None)
        if paths is None:
            from ..config import get_paths

            paths = get_paths()
        return paths


# --------------------------------------------------------------------- the user's data


def open_user_store(config: ServerConfig, user: str) -> TaskStore:
    """A store bound to ``user``'s task list (the caller closes it).

    A fresh store per request or turn: the journal group of one turn never takes in the
    changes of another request of the same user.
    """
    from ..store import Origin, TaskStore

    store = TaskStore.open(config.settings, list_name=user)
    # Task routes and undo record the server and the user as the origin of their changes
    # (agent turns record their conversation, as in the CLI).
    store.origin = Origin("server", user)
    return store


def user_conversation(config: ServerConfig, user: str, conversation_id: str) -> ConversationInfo:
    """``user``'s conversation with that id; NotFoundError when there is none *for this
    user* (another user's conversation looks exactly like one that does not exist)."""
    info = config.conversations().get(conversation_id)
    if info is None or info.list_name != user:
        raise NotFoundError(
            f"No conversation '{conversation_id}'.",
            hint='List yours with GET /api/USER/conversations, or send "conversation_id": null '
            "to start one.",
        )
    return info


def user_conversations(config: ServerConfig, user: str, limit: int) -> list[ConversationInfo]:
    """``user``'s conversations, the most recently active first."""
    found: list[ConversationInfo] = config.conversations().recent(limit, list_name=user)
    return found


# --------------------------------------------------------------------- one turn at a time


class TurnLocks:
    """One turn at a time per user (so per conversation too): a second request waits (first
    come, first served) until the turn before it has finished and saved.

    With ``database_url`` (PostgreSQL) the turn also holds a session advisory lock on the
    user, taken on a connection of its own, so server processes sharing the database take
    turns too. ``lock_timeout`` bounds the wait for another process (seconds).
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        connect_timeout: float = 5.0,
        lock_timeout: float = 600.0,
    ) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}
        self._url = database_url
        self._connect_timeout = connect_timeout
        self._lock_timeout = lock_timeout

    @asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = self._locks[conversation_id] = asyncio.Lock()
        self._users[conversation_id] = self._users.get(conversation_id, 0) + 1
        try:
            async with lock:
                if self._url is None:
                    yield
                else:
                    async with self._across_processes(conversation_id):
                        yield
        finally:
            self._users[conversation_id] -= 1
            if not self._users[conversation_id]:  # nobody holds or waits: forget it
                del self._users[conversation_id]
                del self._locks[conversation_id]

    @asynccontextmanager
    async def _across_processes(self, key: str) -> AsyncIterator[None]:
        from ..store.pgconn import connect, describe_error

        url = self._url
        assert url is not None
        conn = await asyncio.to_thread(connect, url, timeout=self._connect_timeout, autocommit=True)
        params = (f"todo-serve-turn:{key}",)
        try:
            conn.execute(f"SET lock_timeout = {int(self._lock_timeout * 1000)}")
            waiting = asyncio.ensure_future(
                asyncio.to_thread(
                    conn.execute, "SELECT pg_advisory_lock(hashtextextended(%s, 0))", params
                )
            )
            try:
                await asyncio.shield(waiting)
            except asyncio.CancelledError:
                with suppress(Exception):
                    conn.cancel_safe(timeout=2)
                with suppress(Exception):
                    await waiting
                raise
            except Exception as exc:
                raise describe_error(exc, url, connecting=False) from exc
            try:
                yield
            finally:
                with suppress(Exception):
                    await asyncio.to_thread(
                        conn.execute, "SELECT pg_advisory_unlock(hashtextextended(%s, 0))", params
                    )
        finally:
            conn.close()  # a lock still held goes with its session

    def __len__(self) -> int:
        return len(self._locks)
