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
from helpers import run_on_pty
from typer.testing import CliRunner

from todo_cli.cli import app

HEAVY = ("agents", "openai", "prompt_toolkit", "fastapi", "uvicorn", "starlette", "psycopg")


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
    assert {"tasks", "config", "models", "chat", "serve"} <= names
    assert {"serve token add", "serve token list", "serve token revoke"} <= names
    assert {"config show", "config get", "config set", "config unset", "config path"} <= names
    assert "config check" in names


# Runs several `todo` command lines through the real entry point (`cli.main`) in ONE fresh
# interpreter, which keeps the suite fast: each gets its own stdin, stdout, stderr and extra
# environment, and the probe records its exit code and which heavy packages were loaded by
# then (a command that imported one would leave it in sys.modules, so check in order).
_PROBE = r"""
import contextlib, io, json, os, sys, traceback
from todo_cli.cli import main
heavy, runs = json.loads(sys.stdin.read())
base_env = dict(os.environ)
report = []
for run in runs:
    os.environ.clear()
    os.environ.update(base_env, **run.get("env", {}))
    sys.argv = ["todo", *run["argv"]]
    sys.stdin = io.StringIO(run.get("input", ""))
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # what the interpreter does with an uncaught exception
            traceback.print_exc()
            code = 1
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(heavy))
    report.append({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(),
                   "loaded": loaded})
sys.__stdout__.write(json.dumps(report))
"""


def run_cli(env: dict[str, str], runs: list[dict], cwd: Path | None = None) -> list[dict]:
    """Run command lines ({"argv": [...], "input": str, "env": {...}}) in one interpreter."""
    r = subprocess.run(
        [sys.executable, "-c", _PROBE],
        input=json.dumps([HEAVY, runs]),
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout)
    for run, result in zip(runs, results, strict=True):
        result["argv"] = run["argv"]
    return results


def test_commands_without_a_model_skip_heavy_imports(todo_env: dict[str, str]) -> None:
    commands = [
        ["--help"],
        ["tasks", "list"],
        ["config", "show"],
        ["config", "path"],
        ["tasks", "--help"],
        ["chat", "--help"],
        ["models", "--help"],
        ["serve", "--help"],
        ["serve", "token", "list"],
    ]
    for result in run_cli(todo_env, [{"argv": argv} for argv in commands]):
        assert result["code"] == 0, result
        assert result["loaded"] == [], (
            f"`todo {' '.join(result['argv'])}` imported {result['loaded']}"
        )


def test_errors_are_one_line_with_the_right_exit_code(
    todo_env: dict[str, str], todo_home: Path
) -> None:
    path = todo_home / "config" / "config.toml"
    cases = [
        (["config", "get", "openrouter.apikey"], 2, "Error: Unknown setting 'openrouter.apikey'."),
        (["config", "get", "groq.api_key"], 3, "Error: groq.api_key is not set."),
        (["tasks", "show", "424242"], 3, "Error: No task #424242"),
        (["config", "set", "provider", "grok"], 2, "Error: Invalid value for provider: "),
        (["config", "show"], 1, f"Error: {path} line 1: "),  # after the file is broken below
    ]
    results = run_cli(todo_env, [{"argv": argv} for argv, _, _ in cases[:-1]])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("provider = \n")
    results += run_cli(todo_env, [{"argv": cases[-1][0]}])
    for (_, code, start), result in zip(cases, results, strict=True):
        assert result["code"] == code, result
        assert result["stdout"] == "", result
        assert result["stderr"].startswith(start), result
        assert len(result["stderr"].splitlines()) == 1, result
    assert path.read_text() == "provider = \n"


def test_bad_arguments_exit_2_and_debug_shows_tracebacks(todo_env: dict[str, str]) -> None:
    bad, env_debug, flag_debug = run_cli(
        todo_env,
        [
            {"argv": ["config", "show", "--no-such-flag"]},
            {"argv": ["config", "get", "zzz"], "env": {"TODO_DEBUG": "1"}},
            {"argv": ["--debug", "config", "get", "zzz"]},
        ],
    )
    assert bad["code"] == 2
    assert "--no-such-flag" in bad["stderr"]
    assert "Traceback" not in bad["stderr"]
    for result in (env_debug, flag_debug):
        assert result["code"] == 1
        assert "Traceback (most recent call last)" in result["stderr"]
        assert "Unknown setting 'zzz'" in result["stderr"]


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_ctrl_c_exits_130_quietly(todo_env: dict[str, str]) -> None:
    """Ctrl-C at the hidden key prompt: exit 130, no traceback, nothing stored."""
    text, code, sent = run_on_pty(
        [*TODO_EXE, "config", "set", "groq.api_key"],
        todo_env,
        prompt=b"(input hidden)",
        reply=b"\x03",  # the terminal turns this into SIGINT
    )
    assert sent, text
    assert code == 130, text
    assert "Traceback" not in text
    assert not (Path(todo_env["TODO_HOME"]) / "config" / "config.toml").exists()
