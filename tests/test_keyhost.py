"""A key goes only to a host chosen where the key is set or in a more trusted place.

flag > environment > config file > a `.env` in the current folder. Each test runs the real
`todo` entry point (in-process: the SDK loads once) against fake servers on 127.0.0.1 and
checks the headers those servers saw.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import fakeserver
import pytest
from fakeserver import FakeServer

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
    fake_server: FakeServer, todo, tmp_path: Path
) -> None:
    set_value("openrouter.api_key", KEY)
    folder = _dotenv(tmp_path / "project", OPENROUTER_BASE_URL=fake_server.url)
    host = f"http://127.0.0.1:{fake_server.port}"
    for args in (["chat", "hi"], ["models", "--refresh"], ["config", "check"]):
        r = todo(*args, cwd=folder)
        assert r.code == 1, (args, r.out, r.err)
        lines = r.err.strip().splitlines()
        assert len(lines) == 1, r.err
        assert f"to {host}" in lines[0] and "OPENROUTER_BASE_URL" in lines[0]
        assert ".env" in lines[0] and "--base-url" in lines[0]  # says how to allow it
        assert KEY not in r.err + r.out
    assert fake_server.requests == []  # not even a connection


def test_key_in_the_same_dotenv_goes_there(fake_server: FakeServer, todo, tmp_path: Path) -> None:
    set_value("openrouter.api_key", "sk-or-v1-stored-in-config")
    folder = _dotenv(tmp_path / "p", OPENROUTER_BASE_URL=fake_server.url, OPENROUTER_API_KEY=KEY)
    fake_server.add_text("Hello")
    r = todo("chat", "hi", cwd=folder)
    assert r.code == 0, r.err
    assert fake_server.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_more_trusted_places_may_choose_the_host(
    fake_server: FakeServer, todo, tmp_path: Path
) -> None:
    set_value("openrouter.api_key", KEY)
    fake_server.add_text("one").add_text("two").add_text("three")
    # The environment, the config file itself and a flag all outrank a stored key's file.
    r = todo("chat", "hi", env={"OPENROUTER_BASE_URL": fake_server.url})
    assert r.code == 0, r.err
    set_value("openrouter.base_url", fake_server.url)
    assert todo("chat", "hi").code == 0
    folder = _dotenv(tmp_path / "p", OPENROUTER_BASE_URL="http://127.0.0.1:9/elsewhere")
    r = todo("chat", "--base-url", fake_server.url, "hi", cwd=folder)
    assert r.code == 0, r.err
    assert [r.headers["authorization"] for r in fake_server.chat_requests] == [f"Bearer {KEY}"] * 3


def test_dotenv_may_repeat_the_trusted_host(fake_server: FakeServer, todo, tmp_path: Path) -> None:
    """A `.env` naming the same server (another path on it) is not another host."""
    set_value("openrouter.api_key", KEY)
    set_value("openrouter.base_url", fake_server.url.removesuffix("/api/v1") + "/other")
    folder = _dotenv(tmp_path / "p", OPENROUTER_BASE_URL=fake_server.url)
    fake_server.add_text("Hello")
    r = todo("chat", "hi", cwd=folder)
    assert r.code == 0, r.err
    assert _saw_key(fake_server)


def test_environment_key_is_not_sent_to_a_config_file_host(
    fake_server: FakeServer, other_server: FakeServer, todo
) -> None:
    set_value("openrouter.base_url", other_server.url)
    r = todo("chat", "hi", env={"OPENROUTER_API_KEY": KEY})
    assert r.code == 1
    assert "config.toml" in r.err and f"127.0.0.1:{other_server.port}" in r.err
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
