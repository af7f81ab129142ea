"""Conversations behave the same in the SQLite file and on PostgreSQL (a real throwaway
server, tests/pgcluster.py): one interface, ``conversations.ConversationStore``, chosen by
the ``database.url`` setting."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeserver
import helpers
import pytest
from fakeserver import FakeServer, history_problem

from todo_cli import conversations

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet
server = helpers.openrouter_server


@pytest.fixture(autouse=True)
def _offline(no_internet):
    return no_internet


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment's settings point at one store or the other."""
    if request.param == "postgresql":
        monkeypatch.setenv("TODO_DATABASE_URL", request.getfixturevalue("pg_url"))
    return str(request.param)


@pytest.fixture
def store(backend: str) -> Iterator[conversations.ConversationStore]:
    with conversations.open_conversations() as opened:
        assert opened.backend == backend
        yield opened


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def said(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def save(store: conversations.ConversationStore, sid: str, *items: dict[str, Any]) -> Any:
    history = store.open_history(sid, limit=None)
    asyncio.run(history.add_items(list(items)))
    return history


def test_a_conversation_is_stored_listed_and_read_back_the_same_on_both(
    store: conversations.ConversationStore,
) -> None:
    assert store.recent() == [] and store.get("nope0000") is None
    assert store.set_list("alic0001", "alice") == "alice"
    # Recorded for its first turn, but nothing stored yet: not a conversation yet.
    assert store.get("alic0001") is None and store.recent() == []
    tool_call = {
        "type": "function_call",
        "call_id": "c1",
        "name": "add_tasks",
        "arguments": '{"tasks": [{"title": "milk"}]}',
    }
    output = {"type": "function_call_output", "call_id": "c1", "output": '{"added": 1}'}
    save(store, "alic0001", user("add   milk\nplease"), tool_call, output, said("Added."))
    save(store, "alic0001", user("thanks"), said("You're welcome ✓"))
    assert store.set_list("work0001", "work") == "work"
    save(store, "work0001", user("at work"))
    save(store, "dflt0001", user("no list recorded"))  # from before lists: the default
    # The first list recorded stays.
    assert store.set_list("alic0001", "work") == "alice"

    info = store.get("alic0001")
    assert info is not None
    assert (info.id, info.title, info.turns, info.list_name) == (
        "alic0001",
        "add milk please",
        2,
        "alice",
    )
    assert len(info.created_at) == 19 and info.created_at[4] == "-"  # "YYYY-MM-DD HH:MM:SS"
    assert store.messages("alic0001") == [
        ("user", "add   milk\nplease"),
        ("assistant", "Added."),
        ("user", "thanks"),
        ("assistant", "You're welcome ✓"),
    ]
    assert [c.id for c in store.recent()] == ["dflt0001", "work0001", "alic0001"]
    assert [c.id for c in store.recent(list_name="alice")] == ["alic0001"]
    assert [c.id for c in store.recent(list_name="default")] == ["dflt0001"]
    assert store.latest_id(list_name="work") == "work0001"
    assert store.latest_id(list_name="nobody") is None
    # Going on in an older conversation makes it the latest.
    save(store, "alic0001", user("one more"))
    assert store.latest_id() == "alic0001"


def test_the_history_session_reads_the_latest_items_in_order_and_pops(
    store: conversations.ConversationStore,
) -> None:
    history = save(store, "hist0001", *(user(f"m{n}") for n in range(7)))
    assert [i["content"] for i in asyncio.run(history.get_items())] == [f"m{n}" for n in range(7)]
    limited = store.open_history("hist0001", limit=3)
    assert [i["content"] for i in asyncio.run(limited.get_items())] == ["m4", "m5", "m6"]
    assert [i["content"] for i in asyncio.run(limited.get_items(5))] == [
        f"m{n}" for n in range(2, 7)
    ]
    assert asyncio.run(history.pop_item()) == user("m6")
    assert store.get("hist0001").turns == 6
    asyncio.run(history.clear_session())
    assert asyncio.run(history.get_items()) == []
    assert asyncio.run(store.open_history("none0000", limit=None).pop_item()) is None


def test_the_module_functions_use_the_store_of_the_settings(backend: str, todo_home: Path) -> None:
    assert conversations.set_list("mod00001", "alice") == "alice"
    with conversations.open_conversations() as store:
        save(store, "mod00001", user("hello"), said("hi"))
    assert conversations.get_conversation("mod00001").list_name == "alice"
    assert [c.id for c in conversations.list_conversations(list_name="alice")] == ["mod00001"]
    assert conversations.latest_conversation_id(list_name="alice") == "mod00001"
    assert conversations.conversation_messages("mod00001") == [
        ("user", "hello"),
        ("assistant", "hi"),
    ]
    file_there = (todo_home / "data" / "conversations.db").exists()
    assert file_there == (backend == "sqlite")  # PostgreSQL writes no local file


def test_two_machines_continue_one_conversation_on_postgresql(
    server: FakeServer, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chat started on one machine goes on from another (two TODO_HOMEs, one URL): the
    history the model gets on the second is the first one's, stored on the server."""
    from todo_cli.agent import ChatSession
    from todo_cli.config import load_settings
    from todo_cli.store import TaskStore

    monkeypatch.setenv("TODO_DATABASE_URL", pg_url)

    def machine(name: str, **kw: Any) -> ChatSession:
        home = tmp_path / name
        home.mkdir()
        monkeypatch.setenv("TODO_HOME", str(home))
        settings = load_settings()
        return ChatSession(settings, store=TaskStore(home / "todo.db"), **kw)

    async def turn(chat: ChatSession, message: str) -> None:
        async for _ in chat.stream_turn(message):
            pass
        await chat.aclose()

    server.add_tool_call("add_tasks", {"tasks": [{"title": "Renew passport"}]})
    first = machine("one")
    asyncio.run(turn(first, "add renew passport"))
    convo = first.conversation_id

    server.add_text("It is task 1.")
    second = machine("two", continue_latest=True)
    assert second.conversation_id == convo
    asyncio.run(turn(second, "which number is it?"))
    messages = server.chat_requests[-1].messages
    assert history_problem(messages) is None
    assert [m["role"] for m in messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]
    assert messages[1]["content"] == "add renew passport"
    with conversations.open_conversations() as store:
        info = store.get(convo)
        assert info is not None and info.turns == 2
        assert store.messages(convo)[-1] == ("assistant", "It is task 1.")
    assert not (tmp_path / "one" / "data" / "conversations.db").exists()


def test_an_unreachable_server_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, pg_server: Any
) -> None:
    from todo_cli.errors import TodoError

    monkeypatch.setenv("TODO_DATABASE_URL", "postgresql://u:hidden-pw@127.0.0.1:9/db")
    with pytest.raises(TodoError) as caught:
        conversations.list_conversations()
    assert "127.0.0.1:9" in caught.value.message and "hidden-pw" not in str(caught.value)
    assert "\n" not in caught.value.message


def test_concurrent_appends_to_many_conversations_keep_each_in_order(pg_url: str) -> None:
    """Threads appending to their own conversations through one store (as server turns do):
    every conversation's items come back complete and in order."""
    from todo_cli.pgconversations import PgConversations

    store = PgConversations(pg_url)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            history = store.open_history(f"conc{n:04d}", limit=None)
            for k in range(10):
                asyncio.run(history.add_items([user(f"{n}-{k}"), said(f"ok {n}-{k}")]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for n in range(8):
        texts = [text for role, text in store.messages(f"conc{n:04d}") if role == "user"]
        assert texts == [f"{n}-{k}" for k in range(10)]
    store.close()
