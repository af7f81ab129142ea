"""The agent with repeat rules, hide-until dates, subtasks and dependencies, over real HTTP
against the fake OpenRouter server."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import fakeserver
import helpers
import pytest

from todo_cli.events import ApprovalRequest, TextDelta, ToolResult

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet
server = helpers.openrouter_server


@pytest.fixture(autouse=True)
def _offline(no_internet):
    return no_internet


def run_turn(session: Any, message: str, approve: Any = None) -> list[Any]:
    async def go() -> list[Any]:
        try:
            return [e async for e in session.stream_turn(message, approve=approve)]
        finally:
            pass

    return session._runner.run(go())


@pytest.fixture
def chat():
    from todo_cli.agent import ChatSession
    from todo_cli.config import load_settings

    session = ChatSession(load_settings())
    session._runner = asyncio.Runner()
    yield session
    session._runner.run(session.aclose())
    session._runner.close()


def row(todo_home: Path, task_id: int) -> dict[str, Any]:
    with sqlite3.connect(todo_home / "data" / "todo.db") as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone())


def test_remind_me_to_water_the_plants_every_sunday(server, todo_home, chat) -> None:
    server.add_tool_call(
        "add_tasks", {"tasks": [{"title": "Water the plants", "repeat": "every sunday"}]}
    )
    events = run_turn(chat, "remind me to water the plants every sunday")
    (result,) = [e for e in events if isinstance(e, ToolResult)]
    (added,) = json.loads(result.output)["added_tasks"]
    assert added["repeat"] == "every Sunday"
    stored = row(todo_home, 1)
    assert (stored["repeat"], stored["repeat_rule"]) == ("every sunday", "FREQ=WEEKLY;BYDAY=SU")
    assert date.fromisoformat(stored["due"]).weekday() == 6
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert "Water the plants" in text
    # the tool schema offers the field in words, and the next request's task list shows it
    request = server.chat_requests[0].body
    add = next(t for t in request["tools"] if t["function"]["name"] == "add_tasks")
    assert {"repeat", "wait", "parent", "blocked_by"} <= set(
        add["function"]["parameters"]["properties"]["tasks"]["items"]["properties"]
    )
    assert len(server.chat_requests) == 1  # the add ended the turn
    server.add_tool_call("complete_tasks", {"ids": [1]})
    events = run_turn(chat, "watered them")
    done = json.loads([e for e in events if isinstance(e, ToolResult)][0].output)
    assert done["completed"][0]["next_due"] > stored["due"]
    assert row(todo_home, 1)["status"] == "pending" and row(todo_home, 1)["done_count"] == 1
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert "marked #1" in text.lower() or "#1" in text
    server.add_tool_call("update_task", {"task_id": 1, "skip": True})
    events = run_turn(chat, "skip this week's watering")
    skipped = json.loads([e for e in events if isinstance(e, ToolResult)][0].output)
    assert skipped["updated"]["due"] > done["completed"][0]["next_due"]
    assert row(todo_home, 1)["done_count"] == 1
    server.add_text("It repeats every Sunday.")
    run_turn(chat, "what repeats?")
    system = server.chat_requests[-1].messages[0]["content"]
    assert '#1 "Water the plants"' in system and 'repeats:"every Sunday"' in system


def test_wait_parent_blocked_by_and_a_parent_needs_approval(server, todo_home, chat) -> None:
    server.add_tool_calls(
        [
            ("add_tasks", {"tasks": [{"title": "Plan trip"}]}),
            ("add_tasks", {"tasks": [{"title": "Book flights", "parent": 1}]}),
            ("add_tasks", {"tasks": [{"title": "Pack", "blocked_by": [2], "wait": "2020-01-01"}]}),
        ]
    )
    run_turn(chat, "plan a trip: book flights, then pack")
    assert row(todo_home, 2)["parent_id"] == 1
    assert row(todo_home, 3)["wait"] == "2020-01-01"
    server.add_tool_call("update_task", {"task_id": 3, "wait": "in 3 days"})
    run_turn(chat, "hide pack for a few days")
    assert row(todo_home, 3)["wait"] is not None
    system_tasks = server.chat_requests[-1].messages[0]["content"]
    assert "#2" in system_tasks and "subtask of #1" in system_tasks
    # one task, but it has an open subtask: the user is asked, and "no" changes nothing
    asked: list[ApprovalRequest] = []

    async def no(req: ApprovalRequest) -> bool:
        asked.append(req)
        return False

    server.add_tool_call("complete_tasks", {"ids": [1]})
    server.add_text("Left it open.")
    run_turn(chat, "trip planned", approve=no)
    assert len(asked) == 1 and row(todo_home, 1)["status"] == "pending"

    async def yes(req: ApprovalRequest) -> bool:
        return True

    server.add_tool_call("complete_tasks", {"ids": [1]})
    run_turn(chat, "trip planned, really", approve=yes)
    assert row(todo_home, 1)["status"] == row(todo_home, 2)["status"] == "done"
    server.add_tool_call("update_task", {"task_id": 2, "blocked_by": [3]})
    server.add_text("That would make a cycle.")
    events = run_turn(chat, "book flights after packing")
    failed = [e for e in events if isinstance(e, ToolResult)][0]
    assert not failed.ok and "cycle" in failed.output
