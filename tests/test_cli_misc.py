"""The CLI as a whole: help text everywhere, light start-up imports, errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from conftest import TODO_EXE
from typer.testing import CliRunner

from todo_cli.cli import app

HEAVY = ("agents", "openai", "prompt_toolkit")


def _walk(command, path: tuple[str, ...] = ()):
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(typer.main.get_command(app)))


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "todo" for p, _ in COMMANDS]
)
def test_every_command_has_help(path: tuple[str, ...], command) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="todo")
    assert result.exit_code == 0, result.output
    assert "Usage: todo" in result.output
    summary = command.help or command.short_help or ""
    assert summary.strip(), f"`todo {' '.join(path)}` has no help text"
    first_words = " ".join(summary.split()[:6])
    assert first_words in " ".join(result.output.split())
    for param in command.params:
        if isinstance(param, typer.core.TyperOption) and not param.hidden:
            if param.name in ("help", "install_completion", "show_completion"):
                continue
            assert param.help, f"`todo {' '.join(path)}` option {param.opts} has no help"


def test_expected_commands_are_registered() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"tasks", "config", "models", "chat"} <= names
    assert {"config show", "config get", "config set", "config unset", "config path"} <= names
    assert "config check" in names


# Runs several commands in one interpreter and records which heavy packages each loaded:
# a command that imported one would leave it in sys.modules for the rest, so the first
# offender is the one named.
_PROBE = r"""
import contextlib, io, json, sys
from todo_cli.cli import main
heavy = json.loads(sys.argv[2])
report = []
for argv in json.loads(sys.argv[1]):
    sys.argv = ["todo", *argv]
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            main()
        except SystemExit as exc:
            code = exc.code or 0
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(heavy))
    report.append({"argv": argv, "code": code, "loaded": loaded, "output": out.getvalue()[-500:]})
print(json.dumps(report))
"""


def test_commands_without_a_model_skip_heavy_imports(todo_env: dict[str, str]) -> None:
    commands = [
        ["--help"],
        ["tasks", "list"],
        ["config", "show"],
        ["config", "path"],
        ["tasks", "--help"],
        ["chat", "--help"],
        ["models", "--help"],
    ]
    r = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(commands), json.dumps(HEAVY)],
        env=todo_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    for entry in json.loads(r.stdout):
        assert entry["code"] == 0, entry
        assert entry["loaded"] == [], f"`todo {' '.join(entry['argv'])}` imported {entry['loaded']}"


def todo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TODO_EXE, *args], env=env, input="", capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("args", "code", "start"),
    [
        (("config", "get", "openrouter.apikey"), 2, "Error: Unknown setting 'openrouter.apikey'."),
        (("config", "get", "groq.api_key"), 3, "Error: groq.api_key is not set."),
        (("tasks", "show", "424242"), 3, "Error: No task #424242"),
    ],
)
def test_errors_are_one_line_with_the_right_exit_code(
    todo_env: dict[str, str], args: tuple[str, ...], code: int, start: str
) -> None:
    r = todo(todo_env, *args)
    assert r.returncode == code, r
    assert r.stdout == ""
    assert r.stderr.startswith(start)
    assert len(r.stderr.splitlines()) == 1, r.stderr


def test_corrupt_config_exits_1(todo_env: dict[str, str], todo_home: Path) -> None:
    path = todo_home / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text("provider = \n")
    r = todo(todo_env, "config", "show")
    assert r.returncode == 1
    assert r.stderr.startswith(f"Error: {path} line 1: ")
    assert len(r.stderr.splitlines()) == 1


def test_bad_arguments_exit_2(todo_env: dict[str, str]) -> None:
    r = todo(todo_env, "config", "show", "--no-such-flag")
    assert r.returncode == 2
    assert "--no-such-flag" in r.stderr
    assert "Traceback" not in r.stderr


def test_debug_shows_the_traceback(todo_env: dict[str, str]) -> None:
    for env, args in (
        ({**todo_env, "TODO_DEBUG": "1"}, ("config", "get", "zzz")),
        (todo_env, ("--debug", "config", "get", "zzz")),
    ):
        r = todo(env, *args)
        assert r.returncode != 0
        assert "Traceback (most recent call last)" in r.stderr
        assert "Unknown setting 'zzz'" in r.stderr


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_ctrl_c_exits_130_quietly(todo_env: dict[str, str]) -> None:
    """Ctrl-C at the hidden key prompt: exit 130, no traceback, nothing stored."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(sys.executable, [*TODO_EXE, "config", "set", "groq.api_key"], todo_env)
    output = b""
    sent = False
    while True:
        ready, _, _ = select.select([fd], [], [], 20)
        if not ready:
            break
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not sent and b"(input hidden)" in output:
            os.write(fd, b"\x03")  # the terminal turns this into SIGINT
            sent = True
    _, status = os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert sent, text
    assert os.waitstatus_to_exitcode(status) == 130, text
    assert "Traceback" not in text
    assert not (Path(todo_env["TODO_HOME"]) / "config" / "config.toml").exists()
