"""A key goes only to a host chosen where the key is set or in a more trusted place.

flag > environment > config file > a `.env` in the current folder. Each test runs the real
`todo` against fake servers on 127.0.0.1 and checks the headers those servers saw.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import fakeserver
import pytest
from fakeserver import FakeServer
from helpers import run_todo

from todo_cli.config import load_settings, set_value

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet

KEY = "sk-or-v1-" + "5ec7e7" * 10 + "abcd"  # fake


@pytest.fixture(autouse=True)
def _offline(no_internet):
    return no_internet


@pytest.fixture
def other_server():
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()


def _saw_key(server: FakeServer) -> bool:
    return any(KEY in " ".join(r.headers.values()) for r in server.requests)


def _dotenv(folder: Path, **values: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return folder


def test_dotenv_cannot_send_the_stored_key_elsewhere(
    fake_server: FakeServer, todo_env: dict[str, str], tmp_path: Path
) -> None:
    set_value("openrouter.api_key", KEY)
    folder = _dotenv(tmp_path / "project", OPENROUTER_BASE_URL=fake_server.url)
    host = f"http://127.0.0.1:{fake_server.port}"
    for args in (["chat", "hi"], ["models", "--refresh"], ["config", "check"]):
        r = run_todo(todo_env, *args, cwd=folder)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        assert f"to {host}" in lines[0] and "OPENROUTER_BASE_URL" in lines[0]
        assert ".env" in lines[0] and "--base-url" in lines[0]  # says how to allow it
        assert KEY not in r.stderr + r.stdout
    assert fake_server.requests == []  # not even a connection


def test_key_in_the_same_dotenv_goes_there(
    fake_server: FakeServer, todo_env: dict[str, str], tmp_path: Path
) -> None:
    set_value("openrouter.api_key", "sk-or-v1-stored-in-config")
    folder = _dotenv(tmp_path / "p", OPENROUTER_BASE_URL=fake_server.url, OPENROUTER_API_KEY=KEY)
    fake_server.add_text("Hello")
    r = run_todo(todo_env, "chat", "hi", cwd=folder)
    assert r.returncode == 0, r.stderr
    assert fake_server.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_more_trusted_places_may_choose_the_host(
    fake_server: FakeServer, todo_env: dict[str, str], tmp_path: Path
) -> None:
    set_value("openrouter.api_key", KEY)
    fake_server.add_text("one").add_text("two").add_text("three")
    # The environment, the config file itself and a flag all outrank a stored key's file.
    r = run_todo({**todo_env, "OPENROUTER_BASE_URL": fake_server.url}, "chat", "hi")
    assert r.returncode == 0, r.stderr
    set_value("openrouter.base_url", fake_server.url)
    assert run_todo(todo_env, "chat", "hi").returncode == 0
    folder = _dotenv(tmp_path / "p", OPENROUTER_BASE_URL="http://127.0.0.1:9/elsewhere")
    r = run_todo(todo_env, "chat", "--base-url", fake_server.url, "hi", cwd=folder)
    assert r.returncode == 0, r.stderr
    assert [r.headers["authorization"] for r in fake_server.chat_requests] == [f"Bearer {KEY}"] * 3


def test_dotenv_may_repeat_the_trusted_host(
    fake_server: FakeServer, todo_env: dict[str, str], tmp_path: Path
) -> None:
    """A `.env` naming the same server (another path on it) is not another host."""
    set_value("openrouter.api_key", KEY)
    set_value("openrouter.base_url", fake_server.url.removesuffix("/api/v1") + "/other")
    folder = _dotenv(tmp_path / "p", OPENROUTER_BASE_URL=fake_server.url)
    fake_server.add_text("Hello")
    r = run_todo(todo_env, "chat", "hi", cwd=folder)
    assert r.returncode == 0, r.stderr
    assert _saw_key(fake_server)


def test_environment_key_is_not_sent_to_a_config_file_host(
    fake_server: FakeServer, other_server: FakeServer, todo_env: dict[str, str]
) -> None:
    set_value("openrouter.base_url", other_server.url)
    r = run_todo({**todo_env, "OPENROUTER_API_KEY": KEY}, "chat", "hi")
    assert r.returncode == 1
    assert "config.toml" in r.stderr and f"127.0.0.1:{other_server.port}" in r.stderr
    assert other_server.requests == []


def test_the_session_refuses_too(
    fake_server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from repl_helpers import session

    import todo_cli.agent  # noqa: F401

    set_value("openrouter.api_key", KEY)
    folder = _dotenv(tmp_path / "p", OPENROUTER_BASE_URL=fake_server.url)
    monkeypatch.chdir(folder)

    async def main() -> str:
        async with session() as d:
            return await d.send("hi")

    out = asyncio.run(main())
    assert "Refusing to send the OpenRouter API key" in out
    assert fake_server.requests == []


def test_trusted_url_is_resolved_per_place() -> None:
    set_value("openrouter.api_key", KEY)
    set_value("openrouter.base_url", "https://proxy.example/v1")
    pc = load_settings(environ={"OPENROUTER_BASE_URL": "https://env.example/v1"}).provider_config(
        "openrouter"
    )
    assert pc.base_url_source == "env" and pc.key_base_url is None
    pc.check_key_destination("https://env.example/v1")
    pc = load_settings(environ={}).provider_config("openrouter")
    pc.check_key_destination("https://proxy.example/v1")
