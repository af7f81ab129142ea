"""Shared fixtures: every test runs with its own TODO_HOME and a clean environment."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

import pytest

# Variables the program reads; tests must never see the developer's real ones.
_PROVIDER_PREFIXES = ("OPENROUTER", "GROQ", "GEMINI", "OPENAI", "OLLAMA", "CUSTOM")
_ENV_VARS = ["LLM_PROVIDER", "TODO_HOME", "TODO_DEBUG", "TODO_LIST", "OPENAI_BASE_URL"] + [
    f"{p}_{s}" for p in _PROVIDER_PREFIXES for s in ("API_KEY", "DEFAULT_MODEL", "BASE_URL")
]

SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


def _build_each_command_tree_once() -> None:
    """Typer builds the click command tree of an app anew on every call, reading every
    command's signature and evaluating its annotations (50-150 ms for `todo`'s tree). A
    real process does that once; the in-process runs here (``todo`` below and
    ``helpers.invoke_cli``) reuse one tree per app instead of rebuilding it per call."""
    import typer.main
    import typer.testing

    build = typer.main.get_command
    built: dict[int, tuple[Any, Any]] = {}  # id(app) -> (app, its command); app kept alive

    def get_command(typer_instance: Any) -> Any:
        entry = built.get(id(typer_instance))
        if entry is None or entry[0] is not typer_instance:
            entry = built[id(typer_instance)] = (typer_instance, build(typer_instance))
        return entry[1]

    typer.main.get_command = get_command  # type: ignore[assignment]
    typer.testing._get_command = get_command  # type: ignore[attr-defined]


_build_each_command_tree_once()


@pytest.fixture(autouse=True)
def todo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate every test: its own TODO_HOME, no provider keys, cwd without a .env."""
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "todo-home"
    home.mkdir()
    monkeypatch.setenv("TODO_HOME", str(home))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


@pytest.fixture
def todo_env(todo_home: Path) -> dict[str, str]:
    """Environment for running the real `todo` executable in a subprocess."""
    env = {k: v for k, v in os.environ.items() if k not in _ENV_VARS}
    env["TODO_HOME"] = str(todo_home)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "120"
    return env


TODO_EXE = [sys.executable, "-m", "todo_cli"]


class Result:
    """What one in-process CLI run left: exit code, stdout, stderr."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def todo(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run the real CLI entry point in-process: todo(*args, stdin=None, env=None, cwd=None)
    -> Result (stdout and stderr are not terminals; ``stdin`` text replaces standard input
    when given; ``env`` sets variables (None removes one) and ``cwd`` is the working folder,
    both for this one run). Much cheaper than a subprocess: the interpreter and the SDK
    load once per worker."""
    from todo_cli import cli

    def run(
        *args: str,
        stdin: str | None = None,
        env: dict[str, str | None] | None = None,
        cwd: Path | None = None,
    ) -> Result:
        code: Any = 0
        with monkeypatch.context() as once:
            once.setattr(sys, "argv", ["todo", *args])
            if stdin is not None:
                once.setattr(sys, "stdin", io.StringIO(stdin))
            for name, value in (env or {}).items():
                if value is None:
                    once.delenv(name, raising=False)
                else:
                    once.setenv(name, value)
            if cwd is not None:
                once.chdir(cwd)
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code
        out, err = capsys.readouterr()
        return Result(int(code or 0), out, err)

    return run
