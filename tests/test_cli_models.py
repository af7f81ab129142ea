"""`todo models` driven the way users drive it, against a local HTTP server."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TODO_EXE
from helpers import CliOutcome, invoke_cli, run_todo
from test_catalog_support import (
    RouteServer,
    age_cache,
    cache_files,
    dead_url,
    fixture_bytes,
    running_server,
    serve_catalog,
)

from todo_cli.config import load_settings

EDGE = fixture_bytes("models_edge.json")


def todo(*args: str) -> CliOutcome:
    """Run `todo ARGS` in-process."""
    return invoke_cli(*args)


@pytest.fixture
def routes() -> Iterator[RouteServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def openrouter(routes: RouteServer, monkeypatch: pytest.MonkeyPatch) -> RouteServer:
    monkeypatch.setenv("COLUMNS", "200")
    return serve_catalog(routes, monkeypatch, EDGE)


def test_table(openrouter: RouteServer) -> None:
    out = todo("models")
    assert out.code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["id", "name", "context", "$/M", "in", "$/M", "out", "tools",
                                "reasoning"]  # fmt: skip
    row = next(line for line in lines if line.startswith("acme/paid-pro "))
    assert "1.05M" in row and "$2.50" in row and "$15.00" in row and "✓" in row
    auto = next(line for line in lines if line.startswith("router/auto "))
    assert auto.count("variable") == 2 and "-1" not in auto
    legacy = next(line for line in lines if line.startswith("legacy/no-params "))
    assert "free" in legacy and "?" in legacy
    assert lines[-1].startswith("10 models · OpenRouter catalog fetched just now")


def test_free_tools_ids(openrouter: RouteServer) -> None:
    out = todo("models", "--free", "--tools", "--ids")
    assert out.code == 0
    assert set(out.stdout.split()) == {"acme/tiny:free", "preview/zero-priced"}
    assert "legacy/no-params" not in out.stdout
    assert "1 model left out" in out.stderr  # unknown tool support is said, not hidden


def test_json(openrouter: RouteServer) -> None:
    out = todo("models", "--json", "--free")
    assert out.code == 0
    data = json.loads(out.stdout)
    assert {d["id"] for d in data} == {
        "acme/tiny:free",
        "acme/chat-only:free",
        "preview/zero-priced",
        "legacy/no-params",
    }
    tiny = next(d for d in data if d["id"] == "acme/tiny:free")
    assert tiny["free"] is True and tiny["tools"] is True and tiny["reasoning"] is False
    assert tiny["prompt_price_per_mtok"] == 0 and tiny["context_length"] == 131072
    legacy = next(d for d in data if d["id"] == "legacy/no-params")
    assert legacy["tools"] is None


def test_json_variable_price_is_null_not_negative(openrouter: RouteServer) -> None:
    data = json.loads(todo("models", "--json", "-s", "router/auto").stdout)
    assert data == [dict(data[0], prompt_price_per_mtok=None, completion_price_per_mtok=None)]
    assert data[0]["variable_price"] is True and data[0]["free"] is False


def test_search_min_context_sort_limit(openrouter: RouteServer) -> None:
    assert todo("models", "--search", "ACME", "--ids").stdout.split() == [
        "acme/chat-only:free",
        "acme/paid-pro",
        "acme/tiny:free",
    ]
    out = todo("models", "--min-context", "128k", "--sort", "context", "--ids")
    assert out.stdout.split() == ["router/auto", "acme/paid-pro", "acme/tiny:free"]
    out = todo("models", "--sort", "price", "--limit", "2", "--tools", "--ids")
    assert out.stdout.split() == ["acme/tiny:free", "preview/zero-priced"]
    out = todo("models", "--sort", "newest", "-n", "1")
    assert "acme/paid-pro" in out.stdout
    assert "10 models (showing 1)" in out.stdout


def test_no_match_is_not_an_error(openrouter: RouteServer) -> None:
    out = todo("models", "-s", "nothing-matches-this")
    assert out.code == 0
    assert "0 of 10 models match" in out.stdout
    assert todo("models", "-s", "nothing-matches-this", "--json").stdout.strip() == "[]"


@pytest.mark.parametrize(
    "args",
    [
        ("--json", "--ids"),
        ("--min-context", "lots"),
        ("--sort", "size"),
        ("--limit", "0"),
        ("--provider", "nope"),
    ],
)
def test_usage_errors(openrouter: RouteServer, args: tuple[str, ...]) -> None:
    out = todo("models", *args)
    assert out.code == 2, out


def test_offline_with_stale_cache(openrouter: RouteServer, todo_home: Path) -> None:
    assert todo("models").code == 0
    [path] = cache_files(todo_home)
    age_cache(path, 2 * 86400)
    openrouter.stop()
    out = todo("models", "--free", "--ids", "-s", "acme")
    assert out.code == 0
    assert "acme/tiny:free" in out.stdout
    notice = out.stderr.strip().splitlines()
    assert len(notice) == 1 and "cached 2 days ago" in notice[0]


def test_no_cache_offline_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", dead_url())
    out = todo("models")
    assert out.code == 1
    assert out.stdout == ""
    assert "Could not fetch the model list" in out.stderr


def test_refresh(openrouter: RouteServer) -> None:
    todo("models", "--ids")
    todo("models", "--ids")
    assert openrouter.hits("/models") == 1
    todo("models", "--ids", "--refresh")
    assert openrouter.hits("/models") == 2


def test_corrupt_cache(openrouter: RouteServer, todo_home: Path) -> None:
    todo("models", "--ids")
    [path] = cache_files(todo_home)
    path.write_bytes(b"\x89PNG not a cache")
    out = todo("models", "--ids")
    assert out.code == 0 and "acme/paid-pro" in out.stdout and out.stderr == ""


# -- other providers -----------------------------------------------------------------------


def test_groq(routes: RouteServer, monkeypatch: pytest.MonkeyPatch) -> None:
    routes.route("/models", fixture_bytes("models_groq.json"))
    monkeypatch.setenv("GROQ_BASE_URL", routes.url)
    monkeypatch.setenv("COLUMNS", "200")
    out = todo("models", "--provider", "groq")
    assert out.code == 4
    assert "No API key for Groq" in out.stderr and "todo config set groq.api_key" in out.stderr
    monkeypatch.setenv("GROQ_API_KEY", "gsk-secret-value")
    out = todo("models", "--provider", "groq")
    assert out.code == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith("llama-3.3"))
    assert "131K" in row and row.count("?") == 4  # prices and tools/reasoning unknown
    assert "retired-model" not in out.stdout
    assert "Groq catalog" in out.stdout
    assert routes.requests[-1].headers["authorization"] == "Bearer gsk-secret-value"
    assert "gsk-secret-value" not in out.stdout + out.stderr
    out = todo("models", "--provider", "groq", "--tools")
    assert "0 of 3 models match" in out.stdout
    assert "3 models left out: the catalog does not say whether they support tool" in out.stderr


def test_base_url_lists_any_server(routes: RouteServer) -> None:
    routes.route("/models", fixture_bytes("models_ollama.json"))
    out = todo("models", "--base-url", routes.url, "--ids")
    assert out.stdout.split() == ["llama3.2:latest", "qwen2.5:7b"]


def test_custom_without_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    out = todo("models", "--provider", "custom")
    assert out.code == 2
    assert "--base-url" in out.stderr and "CUSTOM_BASE_URL" in out.stderr


def test_shared_fake_server_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    fakeserver = pytest.importorskip("fakeserver")
    with fakeserver.FakeServer() as server:
        monkeypatch.setenv("OPENROUTER_BASE_URL", server.url)
        out = todo("models", "--free", "--tools", "--json")
    assert out.code == 0, out.stderr
    assert [d["id"] for d in json.loads(out.stdout)] == ["openai/gpt-oss-20b:free"]


# -- --set ---------------------------------------------------------------------------------


def stored(key: str) -> str | None:
    return load_settings().get(key)


def test_set_tool_capable_model(openrouter: RouteServer) -> None:
    out = todo("models", "--set", "acme/tiny:free")
    assert out.code == 0
    assert out.stdout.strip() == "openrouter.model = acme/tiny:free"
    assert out.stderr == ""
    assert stored("openrouter.model") == "acme/tiny:free"


def test_set_model_without_tools_warns_with_alternatives(openrouter: RouteServer) -> None:
    out = todo("models", "--set", "acme/chat-only:free")
    assert out.code == 0
    assert "cannot call tools" in out.stderr
    assert "acme/tiny:free" in out.stderr and "preview/zero-priced" in out.stderr
    assert stored("openrouter.model") == "acme/chat-only:free"


def test_set_unknown_model_suggests_close_matches(openrouter: RouteServer) -> None:
    out = todo("models", "--set", "tiny:free")
    assert out.code == 0
    assert "not in the OpenRouter catalog" in out.stderr
    assert "Did you mean: acme/tiny:free" in out.stderr
    assert stored("openrouter.model") == "tiny:free"


def test_set_offline_without_cache_still_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", dead_url())
    out = todo("models", "--set", "vendor/model")
    assert out.code == 0
    assert "could not check" in out.stderr
    assert stored("openrouter.model") == "vendor/model"


def test_set_for_another_provider(routes: RouteServer, monkeypatch: pytest.MonkeyPatch) -> None:
    routes.route("/models", fixture_bytes("models_groq.json"))
    monkeypatch.setenv("GROQ_BASE_URL", routes.url)
    monkeypatch.setenv("GROQ_API_KEY", "gsk-x")
    out = todo("models", "--provider", "groq", "--set", "openai/gpt-oss-20b")
    assert out.code == 0 and out.stderr == ""
    assert stored("groq.model") == "openai/gpt-oss-20b"


def test_set_custom_model_without_base_url() -> None:
    out = todo("models", "--provider", "custom", "--set", "my-model")
    assert out.code == 0
    assert "could not check" in out.stderr and "No base URL" in out.stderr
    assert stored("custom.model") == "my-model"


def test_set_when_env_overrides(openrouter: RouteServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_DEFAULT_MODEL", "other/model")
    out = todo("models", "--set", "acme/tiny:free")
    assert out.code == 0
    assert "OPENROUTER_DEFAULT_MODEL in the environment still takes precedence" in out.stderr


# -- end to end ----------------------------------------------------------------------------


def test_subprocess_end_to_end(routes: RouteServer, todo_env: dict[str, str]) -> None:
    routes.route("/models", EDGE)
    env = dict(todo_env, OPENROUTER_BASE_URL=routes.url)
    code = (
        "import sys\n"
        "from todo_cli.cli import main\n"
        "sys.argv = ['todo', 'models', '--free', '--tools', '--ids']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = [m for m in ('openai', 'agents', 'httpx', 'prompt_toolkit') if m in sys.modules]\n"
        "print('heavy:', heavy)\n"
    )
    proc = subprocess.run(
        [TODO_EXE[0], "-c", code], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["acme/tiny:free", "preview/zero-priced"]
    assert "heavy: []" in proc.stdout

    env["OPENROUTER_BASE_URL"] = dead_url()
    env["TODO_HOME"] = str(Path(env["TODO_HOME"]) / "empty")
    proc = run_todo(env, "models")
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: Could not fetch the model list")
    assert len(proc.stderr.strip().splitlines()) == 1  # no traceback


def test_table_fits_the_terminal_width() -> None:
    from todo_cli.catalog import parse_catalog
    from todo_cli.commands.models import table_lines

    models = parse_catalog(EDGE)
    full = table_lines(models)
    assert "Variable router with a free-looking id" in "\n".join(full)
    fitted = table_lines(models, width=100)
    assert max(len(line) for line in fitted) <= 100
    assert any("…" in line for line in fitted)  # long names shortened
    assert all(m.id in "\n".join(fitted) for m in models)  # ids are never cut
    narrow = table_lines(models, width=60)
    assert narrow[0].split()[:2] == ["id", "context"]  # no room for names: column dropped
    colored = table_lines(models, color=True)
    assert "\x1b[32mfree\x1b[0m" in "\n".join(colored)
    assert "\x1b[" not in "\n".join(full)
