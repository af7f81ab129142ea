"""The conversation store interface both backends implement, and the summaries they
build from stored items (standard library only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .listnames import DEFAULT_LIST


@dataclass
class ConversationInfo:
    id: str
    created_at: str  # UTC, "YYYY-MM-DD HH:MM:SS" as SQLite stores it
    updated_at: str
    title: str  # the first user message, on one line
    turns: int  # user messages
    list_name: str = DEFAULT_LIST  # the task list it was started on


class DamagedHistory(Exception):
    """The conversation store was damaged; it was moved aside (``moved``) and a fresh one
    is used from now on. ``notice`` says so in one line."""

    def __init__(self, notice: str) -> None:
        super().__init__(notice)
        self.notice = notice


class ConversationStore:
    """Where conversations live: the interface both backends implement.

    ``open_history`` gives the Agents SDK session a turn reads and appends to (items as
    stored, in order); everything else reads summaries and messages.
    """

    backend = ""
    location = ""  # the file, or the masked URL: for messages

    def recent(self, limit: int = 20, *, list_name: str | None = None) -> list[ConversationInfo]:
        """The most recently updated conversations first (of ``list_name``, if given)."""
        raise NotImplementedError

    def get(self, conversation_id: str) -> ConversationInfo | None:
        """One conversation's summary, or None when there is no such id."""
        raise NotImplementedError

    def latest_id(self, *, list_name: str | None = None) -> str | None:
        found = self.recent(1, list_name=list_name)
        return found[0].id if found else None

    def messages(self, conversation_id: str) -> list[tuple[str, str]]:
        """The user and assistant messages as (role, text), oldest first."""
        raise NotImplementedError

    def set_list(self, conversation_id: str, list_name: str) -> str:
        """Record that the conversation belongs to ``list_name`` unless it already belongs
        to a list; returns the list it belongs to. Call it before its first turn."""
        raise NotImplementedError

    def open_history(self, conversation_id: str, *, limit: int | None) -> Any:
        """The conversation's Agents SDK session (``limit``: items a turn reads)."""
        raise NotImplementedError

    def history_error(self, exc: BaseException) -> Any:
        """A TodoError for a failure while saving the history, or None if ``exc`` is not
        this store's."""
        return None

    def close(self) -> None:
        """Release connections (the store may be used again: it reconnects)."""

    def __enter__(self) -> ConversationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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


def summary(sid: str, created: str, updated: str, list_name: str, rows: Any) -> ConversationInfo:
    """A conversation's summary from its stored items (JSON text, oldest first)."""
    title = ""
    turns = 0
    for (data,) in rows:
        try:
            item = json.loads(data)
        except ValueError:
            continue
        if isinstance(item, dict) and _is_user(item):
            turns += 1
            if not title:
                title = _title(_text_of(item))
    return ConversationInfo(sid, created, updated, title, turns, list_name)


def said(rows: Any) -> list[tuple[str, str]]:
    """(role, text) of the user and assistant messages among stored items (JSON text)."""
    out: list[tuple[str, str]] = []
    for (data,) in rows:
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
