"""Broken streams fail cleanly: exit code 4, one error line, nothing passed off as success.

A server that only sends keep-alive comments (the whole-turn deadline stops it), a stream
cut before its finish chunk, an HTML page with status 200; and when a tool already ran, the
error line says what changed and how to take it back. The real CLI entry point (in-process)
and the real session, against ``tests/fakeserver.py`` over HTTP.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import fakeserver
import helpers
import pytest
from fakeserver import FakeServer

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet
server = helpers.openrouter_server


@pytest.fixture(autouse=True)
def _offline(no_internet):
    return no_internet


@pytest.fixture
def chat(server: FakeServer, todo, monkeypatch: pytest.MonkeyPatch):
    """`todo chat ARGS` in-process against the fake server (3 s idle timeout)."""
    monkeypatch.setenv("TODO_TIMEOUT", "3")
    return lambda *args, **kw: todo("chat", *args, **kw)


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def _titles(todo_home: Path) -> list[str]:
    with sqlite3.connect(todo_home / "data" / "todo.db") as conn:
        return [r[0] for r in conn.execute("SELECT title FROM tasks")]


def test_keepalive_forever_meets_the_turn_deadline(fake_server: FakeServer, chat) -> None:
    fake_server.add_keepalive_forever(interval=0.2)  # never silent: the idle timeout never fires
    began = time.monotonic()
    r = chat("hi", env={"TODO_TURN_TIMEOUT": "2"})
    assert time.monotonic() - began < 25  # sanity only: it used to wait forever
    assert r.code == 4, r.err
    assert _error_lines(r.err) == r.err.strip().splitlines()
    assert "did not finish the answer within 2 s" in r.err
    assert "turn_timeout" in r.err


def test_stream_cut_before_its_finish_is_an_error(fake_server: FakeServer, chat) -> None:
    fake_server.add_cut_stream("Half of an answer that never")
    r = chat("hi")
    assert r.code == 4
    assert r.out.startswith("Half of an answer")  # what was shown stays
    assert len(_error_lines(r.err)) == 1 and "cut off" in r.err


def test_html_page_with_status_200_is_an_error(fake_server: FakeServer, chat) -> None:
    fake_server.add_html_page()
    r = chat("hi")
    assert r.code == 4
    assert r.out == ""
    assert _error_lines(r.err) == r.err.strip().splitlines()
    assert "not a model stream (status 200, text/html)" in r.err
    assert "base URL" in r.err


def test_failure_after_a_tool_ran_says_what_changed(
    fake_server: FakeServer, chat, todo, todo_home: Path
) -> None:
    # A change and a lookup: the results go back to the model, whose answer is cut off.
    fake_server.add_tool_calls(
        [("add_tasks", {"tasks": [{"title": "Buy milk"}]}), ("search_tasks", {})]
    )
    fake_server.add_cut_stream("Added Buy")
    r = chat("add buy milk")
    assert r.code == 4
    [line] = _error_lines(r.err)
    assert "cut off" in line
    assert "already changed: + #1 Buy milk" in line and "`todo tasks undo`" in line
    assert _titles(todo_home) == ["Buy milk"]
    assert todo("tasks", "undo").code == 0
    assert _titles(todo_home) == []


def test_each_failure_in_the_session_prints_one_line_and_the_session_goes_on(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers import point_openrouter_at
    from repl_helpers import session

    import todo_cli.agent  # noqa: F401

    point_openrouter_at(monkeypatch, fake_server.url, timeout="3")
    monkeypatch.setenv("TODO_TURN_TIMEOUT", "1.5")
    fake_server.add_keepalive_forever()
    fake_server.add_cut_stream("Half")
    fake_server.add_html_page()
    fake_server.add_tool_calls(
        [("add_tasks", {"tasks": [{"title": "Call mom"}]}), ("search_tasks", {})]
    )
    fake_server.add_cut_stream("Added")
    fake_server.add_text("All good now.")

    async def main() -> list[str]:
        async with session() as d:
            return [await d.send(m) for m in ("one", "two", "three", "four", "five")]

    outs = [" ".join(out.split()) for out in asyncio.run(main())]  # (Rich wraps at 100)
    assert [out.count("Error:") for out in outs] == [1, 1, 1, 1, 0], outs
    assert "within 1.5 s" in outs[0]
    assert "cut off" in outs[1] and "Half" in outs[1]
    assert "not a model stream" in outs[2]
    assert "already changed: + #1 Call mom" in outs[3] and "todo tasks undo" in outs[3]
    assert "All good now." in outs[4]


def test_waiting_for_an_approval_does_not_count_against_the_deadline(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers import point_openrouter_at
    from repl_helpers import session

    import todo_cli.agent  # noqa: F401

    point_openrouter_at(monkeypatch, fake_server.url, timeout="3")
    monkeypatch.setenv("TODO_TURN_TIMEOUT", "1")
    fake_server.add_tool_call("add_tasks", {"tasks": [{"title": "Old"}]})
    fake_server.add_tool_call("delete_tasks", {"ids": [1]})  # the answer follows from it

    async def main() -> str:
        async with session() as d:
            await d.send("add old")
            await d.send("delete it", wait=False)
            await d.wait_for(
                lambda: (
                    d.repl._confirm_session is not None and d.repl._confirm_session.app.is_running
                ),
                "the question",
            )
            await asyncio.sleep(1.5)  # longer than the whole-turn deadline
            await d.answer("y")
            await d.idle()
            return d.out

    out = asyncio.run(main())
    assert "✗ #1 Old deleted" in out and "Error:" not in out
