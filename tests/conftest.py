"""Shared fixtures: every test runs with its own TODO_HOME and a clean environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Variables the program reads; tests must never see the developer's real ones.
_PROVIDER_PREFIXES = ("OPENROUTER", "GROQ", "GEMINI", "OPENAI", "OLLAMA", "CUSTOM")
_ENV_VARS = ["LLM_PROVIDER", "TODO_HOME", "TODO_DEBUG", "TODO_LIST", "OPENAI_BASE_URL"] + [
    f"{p}_{s}" for p in _PROVIDER_PREFIXES for s in ("API_KEY", "DEFAULT_MODEL", "BASE_URL")
]

SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


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
