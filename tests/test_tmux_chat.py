"""End to end: the real `todo chat` in a real terminal (tmux) against the fake server."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import fakeserver
import pytest
from conftest import TODO_EXE
from fakeserver import FakeServer

pytestmark = [
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
    ),
    # The session loads the Agents SDK on its first message ("loading…"): on a busy
    # machine that alone took over 20 s, so waits allow a minute and the test longer.
    pytest.mark.timeout(180),
]

fake_server = fakeserver.fake_server
ROOT = Path(__file__).resolve().parents[1]


class Terminal:
    """A tmux session on its own server socket, driven with send-keys / capture-pane."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.socket = f"todo-test-{uuid.uuid4().hex[:8]}"
        env_args = [f"{k}={v}" for k, v in env.items()]
        shell = shlex.join(["env", "-i", *env_args, *command]) + '; echo "EXITED $?"; sleep 30'
        self._tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", "-c", str(ROOT), shell)

    def _tmux(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return out.stdout

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "t", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "t", "-l", text)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "t", "-S", "-200")

    def wait(self, cond: Callable[[str], bool] | str, timeout: float = 60.0) -> str:
        check = (lambda s: cond in s) if isinstance(cond, str) else cond
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {cond!r}; screen:\n{screen}")
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def _prompt_ready(screen: str) -> bool:
    """The last non-toolbar line is an empty prompt."""
    lines = [line for line in screen.rstrip().splitlines() if line.strip()]
    return len(lines) >= 2 and lines[-2].strip() == "›"


def test_chat_session_in_a_real_terminal(fake_server: FakeServer, todo_env: dict[str, str]) -> None:
    fake_server.add_tool_call(
        "add_tasks", {"tasks": [{"title": "Buy milk", "due": "friday"}]}, cost=0.0012
    )
    story = "\n\n".join(f"Paragraph {i}: " + "word " * 30 for i in range(40))
    fake_server.add_text(story, delay=0.02)
    fake_server.add_tool_call("delete_tasks", {"ids": [1]})
    fake_server.add_text("Back again.")

    env = {k: v for k, v in todo_env.items() if k in ("PATH", "HOME", "TODO_HOME", "LANG")}
    env.update(
        TERM="xterm-256color",
        LANG="C.UTF-8",
        OPENROUTER_BASE_URL=fake_server.url,
        OPENROUTER_API_KEY="dummy",
    )
    term = Terminal(TODO_EXE + ["chat"], env)
    try:
        term.wait(_prompt_ready)
        term.wait("0 open")  # the toolbar's task counts arrive once the prompt is up

        term.type("add buy milk friday")
        term.send("Enter")
        screen = term.wait("$0.0012")  # the footer ends the turn
        assert "+ #1 Buy milk" in screen
        assert "Added #1 Buy milk." in screen  # composed by code, no second request
        term.wait(lambda s: _prompt_ready(s) and "1 open" in s)

        term.type("tell me a long story")
        term.send("Enter")
        term.wait("Paragraph 2:")
        term.type("typed ahead")  # not echoed into the reply
        term.send("C-c")
        screen = term.wait("Stopped.")
        assert "Paragraph 39" not in screen
        screen = term.wait("› typed ahead")  # the keys typed meanwhile wait at the prompt
        assert screen.count("typed ahead") == 1
        term.send("C-u")
        term.wait(_prompt_ready)

        term.type("/tasks")
        term.send("Enter")
        term.wait(lambda s: "Buy milk" in s.split("/tasks")[-1])
        term.type("delete it")
        term.send("Enter")
        term.wait("Delete 1 task (#1 Buy milk)? [y/N]")
        term.type("y")
        term.send("Enter")
        term.wait("✗ #1 Buy milk deleted")
        term.wait(lambda s: _prompt_ready(s) and "0 open" in s)

        term.type("/undo")
        term.send("Enter")
        term.wait("Undid: restored #1 Buy milk")
        term.wait(_prompt_ready)

        term.type("still there?")
        term.send("Enter")
        term.wait("Back again.")
        term.wait(_prompt_ready)

        term.send("C-d")
        term.wait("EXITED 0")
    finally:
        term.close()

    # Every turn was stored: `todo chat -c` picks the conversation up again.
    term = Terminal(TODO_EXE + ["chat", "-c"], env)
    try:
        screen = term.wait(_prompt_ready)
        assert "Continuing conversation" in screen and "add buy milk friday" in screen
        assert "todo: Back again." in screen  # the last exchange, as a reminder
        term.send("C-d")
        term.wait("EXITED 0")
    finally:
        term.close()
    # The interrupted turn left a valid history: the next request went through.
    assert fake_server.chat_requests[-1].messages[-1]["content"] == "still there?"
