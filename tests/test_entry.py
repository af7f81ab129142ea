"""The console script (todo_cli/entry.py): a one-shot chat's spinner before Typer loads."""

from __future__ import annotations

import os
import sys

import fakeserver
import helpers
import pytest
import typer
from fakeserver import FakeServer

from todo_cli.cli import app
from todo_cli.entry import CHAT_FLAGS, CHAT_VALUE_OPTIONS, one_shot_chat

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet


@pytest.fixture(autouse=True)
def _offline(no_internet):
    return no_internet


@pytest.mark.parametrize(
    ("argv", "spinner"),
    [
        (["chat", "add milk"], True),
        (["chat", "add", "milk", "tomorrow"], True),
        (["--debug", "chat", "hi"], True),
        (["chat", "-m", "x/y:free", "--provider", "groq", "-y", "-c", "hi"], True),
        (["chat", "--list=work", "--model=a", "hi"], True),
        (["chat", "--", "-5 degrees?"], True),
        (["chat"], False),  # the interactive session
        (["chat", "-c"], False),
        (["chat", "--list", "work"], False),  # the value is not a message
        (["chat", "-m"], False),
        (["chat", "  "], False),
        (["chat", "--json", "hi"], False),  # no spinner for --json
        (["chat", "hi", "--help"], False),
        (["chat", "-h", "hi"], False),
        (["chat", "-yc", "hi"], False),  # left to Click to judge
        (["chat", "--yes=1", "hi"], False),
        (["chat", "--nope", "hi"], False),
        (["tasks", "add", "chat"], False),
        (["--version", "chat", "hi"], False),
        ([], False),
    ],
)
def test_which_command_lines_start_the_spinner_first(argv: list[str], spinner: bool) -> None:
    assert one_shot_chat(argv) is spinner


def test_the_option_lists_are_the_chat_commands_own() -> None:
    group = typer.main.get_command(app)
    chat = group.get_command(typer.Context(group), "chat")  # type: ignore[attr-defined]
    values, flags = set(), set()
    for param in chat.params:
        if not isinstance(param, typer.core.TyperOption):
            continue
        names = {*param.opts, *param.secondary_opts}
        if names & {"--json", "--help"}:
            continue
        (flags if param.is_flag else values).update(names)
    assert values == set(CHAT_VALUE_OPTIONS)
    assert flags == set(CHAT_FLAGS)


_FIRST_FRAME_PROBE = r"""
import sys
import todo_cli.spinner as sp

first = sp.Spinner._draw


def draw(self, n):
    if n == 0:  # the first frame: what has been loaded by then?
        loaded = [m for m in ("typer", "agents", "openai", "rich", "prompt_toolkit")
                  if m in sys.modules]
        self.stream.write(f"[first frame; loaded: {loaded}]")
    first(self, n)


sp.Spinner._draw = draw
from todo_cli.entry import main

sys.argv = ["todo", *sys.argv[1:]]
main()
"""


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_the_first_frame_comes_before_typer_and_the_turn_keeps_it(
    fake_server: FakeServer, todo_env: dict[str, str]
) -> None:
    fake_server.add_text("Hello from the model.")
    env = {**todo_env, "OPENROUTER_BASE_URL": fake_server.url, "OPENROUTER_API_KEY": "sk-or-x"}
    screen, code, _ = helpers.run_on_pty(
        [sys.executable, "-c", _FIRST_FRAME_PROBE, "chat", "hi there"],
        env,
        prompt=b"\x00never",
        reply=b"",
    )
    assert code == 0, screen
    assert screen.count("[first frame") == 1, screen  # one spinner, taken over by the turn
    assert "[first frame; loaded: []]" in screen
    assert "Hello from the model." in screen.split("[first frame")[1]


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_an_error_before_the_turn_erases_the_spinner_first(todo_env: dict[str, str]) -> None:
    env = {**todo_env, "OPENROUTER_API_KEY": "sk-or-x"}
    screen, code, _ = helpers.run_on_pty(
        [sys.executable, "-m", "todo_cli", "chat", "--list", "no such/list", "hi"],
        env,
        prompt=b"\x00never",
        reply=b"",
    )
    assert code == 2, screen
    assert "thinking…" in screen  # it was shown…
    erased = screen.rindex("\r\x1b[2K")
    assert "Error: " in screen[erased:] and "thinking" not in screen[erased:]  # …then erased
