"""`todo config ...` through the real executable."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import TODO_EXE
from helpers import run_on_pty, run_todo
from test_cli_misc import run_cli

KEY = "sk-or-v1-0e6" + "f00dfeed" * 6 + "beef"  # 64 chars, fake


def todo(
    env: dict[str, str], *args: str, input: str | None = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return run_todo(env, *args, input=input, cwd=cwd)


def test_api_key_from_stdin(todo_env: dict[str, str], todo_home: Path) -> None:
    r = todo(todo_env, "config", "set", "openrouter.api_key", input=KEY + "\n")
    assert r.returncode == 0, r.stderr
    assert KEY not in r.stdout + r.stderr
    assert "sk-or-v1-0e6…(64 chars)" in r.stdout
    path = todo_home / "config" / "config.toml"
    assert f'api_key = "{KEY}"' in path.read_text()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_set_get_unset_show(todo_env: dict[str, str], todo_home: Path) -> None:
    (todo_home / "config").mkdir()
    (todo_home / "config" / "config.toml").write_text(f'[openrouter]\napi_key = "{KEY}"\n')
    runs = [
        {"argv": ["config", "set", "openrouter.fallback_models", "a/b:free", "c/d"]},
        {"argv": ["config", "set", "provider", "groq"]},
        {"argv": ["config", "get", "openrouter.api_key"]},
        {"argv": ["config", "get", "openrouter.api_key", "--reveal"]},
        {"argv": ["config", "show", "--json"]},
        {"argv": ["config", "show"], "env": {"LLM_PROVIDER": "gemini"}},
        {"argv": ["config", "unset", "provider"]},
        {"argv": ["config", "get", "provider", "--json"]},
        {"argv": ["config", "set", "groq.api_key"], "input": ""},
        {"argv": ["config", "set", "openrouter.apikey", "x"]},
        {"argv": ["config", "show", "--json"], "env": {"LLM_PROVIDER": "grok"}},
    ]
    results = run_cli(todo_env, runs)
    for result in results[:8]:
        assert result["code"] == 0, result
    fallback, provider, get_masked, get_revealed, show_json, show, unset, get_json = results[:8]
    empty_stdin, unknown, invalid_env = results[8:]

    assert (
        fallback["stdout"]
        == f"Set openrouter.fallback_models = a/b:free,c/d in {todo_home}/config/config.toml\n"
    )
    assert get_masked["stdout"] == "sk-or-v1-0e6…(64 chars)\n"
    assert get_revealed["stdout"] == KEY + "\n"

    assert KEY not in show_json["stdout"]
    shown = json.loads(show_json["stdout"])
    assert shown["provider"] == {
        "value": "groq",
        "source": "config",
        "env": "LLM_PROVIDER",
        "secret": False,
    }
    assert shown["openrouter.api_key"]["value"] == "sk-or-v1-0e6…(64 chars)"
    assert shown["openrouter.fallback_models"]["value"] == ["a/b:free", "c/d"]
    assert shown["groq.model"]["source"] == "default"

    # The environment beats config.toml, and `show` says so.
    assert KEY not in show["stdout"]
    lines = {line.split()[0]: line for line in show["stdout"].splitlines() if line.strip()}
    assert lines["provider"].split()[1:] == ["gemini", "env", "LLM_PROVIDER"]
    assert lines["openrouter.api_key"].split()[1:] == ["sk-or-v1-0e6…(64", "chars)", "config"]

    assert unset["stdout"].startswith("Removed provider from ")
    assert json.loads(get_json["stdout"]) == {
        "key": "provider",
        "value": "openrouter",
        "source": "default",
    }

    assert empty_stdin["code"] == 2
    assert empty_stdin["stderr"].startswith("Error: No value given for groq.api_key.")
    assert len(empty_stdin["stderr"].splitlines()) == 1

    # A bad value elsewhere does not stop `show`: it is listed as invalid, with a warning.
    assert invalid_env["code"] == 0, invalid_env
    assert json.loads(invalid_env["stdout"])["provider"] == {
        "value": "grok",
        "source": "env",
        "env": "LLM_PROVIDER",
        "secret": False,
        "invalid": True,
    }
    assert invalid_env["stderr"].startswith("Warning: Invalid LLM_PROVIDER: unknown provider")

    assert unknown["code"] == 2
    assert unknown["stderr"].startswith(
        "Error: Unknown setting 'openrouter.apikey'. Did you mean 'openrouter.api_key'?"
    )


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_api_key_prompt_hides_input(todo_env: dict[str, str], todo_home: Path) -> None:
    """On a terminal the key is asked with getpass: typed, stored, never echoed."""
    text, code, _ = run_on_pty(
        [*TODO_EXE, "config", "set", "groq.api_key"],
        todo_env,
        prompt=b"(input hidden)",
        reply=b"gsk_typed_key_0123456789abcdef\n",
        cwd=todo_home,
    )
    assert code == 0, text
    assert "Groq API key (input hidden):" in text
    assert "gsk_typed_key_0123456789abcdef" not in text
    config = (todo_home / "config" / "config.toml").read_text()
    assert 'api_key = "gsk_typed_key_0123456789abcdef"' in config


def test_corrupt_config_is_one_line_exit_1_file_untouched(
    todo_env: dict[str, str], todo_home: Path
) -> None:
    path = todo_home / "config" / "config.toml"
    path.parent.mkdir()
    corrupt = 'provider = "groq"\n[openrouter]\napi_key "sk-or-v1-abc"\n'
    path.write_text(corrupt)
    for args in (("config", "show"), ("config", "set", "provider", "gemini")):
        r = todo(todo_env, *args)
        assert r.returncode == 1, r
        assert r.stdout == ""
        assert len(r.stderr.splitlines()) == 1, r.stderr
        assert "Traceback" not in r.stderr
        assert r.stderr.startswith(f"Error: {path} line 3: Expected '='")
        assert r.stderr.rstrip().endswith("Fix or remove it.")
        assert path.read_text() == corrupt


def test_dotenv_in_cwd_and_path(todo_env: dict[str, str], todo_home: Path, tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text("GROQ_DEFAULT_MODEL=from-dotenv\n")
    get, path = run_cli(
        todo_env,
        [
            {"argv": ["config", "get", "groq.model", "--json"]},
            {"argv": ["config", "path", "--json"]},
        ],
        cwd=project,
    )
    assert json.loads(get["stdout"]) == {
        "key": "groq.model",
        "value": "from-dotenv",
        "source": ".env",
    }
    assert path["code"] == 0, path
    assert json.loads(path["stdout"]) == {
        "config_file": str(todo_home / "config" / "config.toml"),
        "db_file": str(todo_home / "data" / "todo.db"),
        "cache_dir": str(todo_home / "cache"),
        "state_dir": str(todo_home / "state"),
        "history_file": str(todo_home / "state" / "history"),
        "config_dir": str(todo_home / "config"),
        "data_dir": str(todo_home / "data"),
        "env_file": str(project / ".env"),
    }
