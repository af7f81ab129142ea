"""Keys typed at any moment of a chat session reach it, in a real terminal (tmux).

Between two prompts (a reply streaming, a tool running, a footer, a slash command printing,
a turn winding down after Ctrl-C) the terminal must not fall back to line mode, where the
kernel turns a Ctrl-D into "end of file" (it reached the next prompt as a NUL byte, so the
session missed it) and edits what is typed.
"""

from __future__ import annotations

import time

import fakeserver
import pytest
from conftest import TODO_EXE
from fakeserver import FakeServer, build_stream
from test_tmux_chat import Terminal, _prompt_ready
from test_tmux_chat import pytestmark as pytestmark  # skipped without tmux

fake_server = fakeserver.fake_server


def _env(todo_env: dict[str, str], server: FakeServer) -> dict[str, str]:
    env = {k: v for k, v in todo_env.items() if k in ("PATH", "HOME", "TODO_HOME")}
    env.update(
        TERM="xterm-256color",
        LANG="C.UTF-8",
        OPENROUTER_BASE_URL=server.url,
        OPENROUTER_API_KEY="dummy",
    )
    return env


def _add_tasks(todo_env: dict[str, str], n: int) -> None:
    from todo_cli.store import TaskStore

    with TaskStore.open() as store:
        for i in range(n):
            store.add(f"Task number {i} with a title long enough to fill a row")


@pytest.fixture
def term(fake_server: FakeServer, todo_env: dict[str, str]):
    terminal = Terminal(TODO_EXE + ["chat"], _env(todo_env, fake_server))
    try:
        terminal.wait(_prompt_ready)
        terminal.wait(" open")  # the toolbar's counts: the session is fully up
        yield terminal
    finally:
        terminal.close()


@pytest.mark.parametrize("trial", range(2))
def test_ctrl_d_while_a_slash_command_prints_after_a_cancelled_turn(
    fake_server: FakeServer, todo_env: dict[str, str], trial: int
) -> None:
    """The report: Ctrl-C as a reply's last words arrive, the next message typed ahead; that
    turn finishes; then `/tasks` and Ctrl-D at once. The Ctrl-D used to be lost."""
    _add_tasks(todo_env, 60)  # /tasks prints 50 rows: Ctrl-D arrives while it prints
    fake_server.add_text("word " * 60 + "the end.", delay=0.03)
    fake_server.add_text("Second answer.", delay=0.01)
    term = Terminal(TODO_EXE + ["chat"], _env(todo_env, fake_server))
    try:
        term.wait(_prompt_ready)
        term.wait("60 open")
        term.type("first message")
        term.send("Enter")
        term.wait(lambda s: s.count("word") > 55)
        term.type("next message")
        term.send("C-c")
        term.wait("› next message")
        term.send("Enter")
        term.wait("Second answer.")
        term.wait(_prompt_ready)
        term.type("/tasks")
        term.send("Enter")
        time.sleep(0.02)
        term.send("C-d")
        term.wait("EXITED 0", timeout=8)
    finally:
        term.close()


def test_keys_typed_during_every_stage_of_a_turn(fake_server: FakeServer, term: Terminal) -> None:
    # One turn through every stage: spinner, tool line, streamed reply, footer.
    fake_server.add(
        build_stream(
            tool_calls=[
                {"name": "add_tasks", "arguments": {"tasks": [{"title": "Milk"}]}},
                {"name": "search_tasks", "arguments": {}},
            ],
            first_delay=1.0,
        )
    )
    fake_server.add(build_stream(text="word " * 40 + "done.", delay=0.03, first_delay=0.8))
    term.type("go")
    term.send("Enter")
    term.wait("thinking")
    term.type("alpha ")  # the spinner
    term.wait("+ #1 Milk")
    term.type("beta ")  # the tool line, the model thinking again
    term.wait("word word word")
    term.type("gamma ")  # the reply streaming
    term.send("C-h", "C-h")  # editing keys are the prompt's, not the kernel's
    term.type("a ")
    term.wait("in ·")  # the footer
    term.type("delta")
    screen = term.wait("› alpha beta gamma delta")
    assert screen.count("alpha") == 1  # nothing was echoed into the reply
    assert "word word" in screen and "done." in screen
    term.send("C-u")
    term.wait(_prompt_ready)

    # The approval question: what is typed there is its answer.
    fake_server.add(build_stream(tool_calls=[{"name": "delete_tasks", "arguments": {"ids": [1]}}]))
    term.type("delete it")
    term.send("Enter")
    term.wait("Delete 1 task (#1 Milk)? [y/N]")
    term.type("y")
    term.send("Enter")
    term.wait("✗ #1 Milk deleted")
    term.type("after")  # what follows the question is the next prompt's again
    term.wait("› after")
    term.send("C-u")
    term.wait(_prompt_ready)

    # Ctrl-D typed while a turn is still thinking ends the session once the turn is over.
    fake_server.add(build_stream(text="Bye.", first_delay=0.8))
    term.type("last")
    term.send("Enter")
    term.wait("thinking")
    term.send("C-d")
    term.wait("Bye.")
    term.wait("EXITED 0", timeout=8)
