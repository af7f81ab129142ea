"""`todo config check` against a local HTTP server standing in for OpenRouter's GET /key."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import SHARED_FIXTURES
from test_catalog_support import RouteServer, dead_url, fixture_bytes, running_server
from test_cli_models import todo

KEY = "sk-or-v1-" + "0123456789abcdef" * 4  # 73 characters, never printed whole


@pytest.fixture
def routes(monkeypatch: pytest.MonkeyPatch) -> Iterator[RouteServer]:
    with running_server() as server:
        monkeypatch.setenv("OPENROUTER_BASE_URL", server.url)
        monkeypatch.setenv("COLUMNS", "120")
        yield server


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    return KEY


def assert_no_key(text: str) -> None:
    assert KEY not in text
    assert KEY[12:40] not in text


def test_no_key_configured(routes: RouteServer) -> None:
    out = todo("config", "check")
    assert out.code == 4
    assert "No API key for OpenRouter" in out.stderr
    assert "todo config set openrouter.api_key" in out.stderr
    assert routes.requests == []


def test_current_shape(routes: RouteServer, key: str) -> None:
    routes.route("/key", fixture_bytes("key_current.json"))
    out = todo("config", "check")
    assert out.code == 0, out.stderr
    text = out.stdout
    assert "sk-or-v1-au7...890" in text
    assert "$25.50" in text and "$1.50 today" in text
    assert "$100.00 (resets monthly)" in text
    assert "$74.50" in text
    assert "Free tier" in text and "no (credits bought)" in text
    assert "1000 requests/day, 20/minute" in text
    assert "from the environment" in text
    assert_no_key(text + out.stderr)
    assert routes.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_older_shape(routes: RouteServer, key: str) -> None:
    routes.route("/key", fixture_bytes("key_old.json"))
    out = todo("config", "check")
    assert out.code == 0
    assert "my laptop" in out.stdout
    assert "$4.90" in out.stdout  # remaining computed from limit - usage
    assert "yes (less than $10 of credits bought)" in out.stdout
    assert "50 requests/day, 20/minute" in out.stdout


def test_oldest_shape_without_free_tier_flag(routes: RouteServer, key: str) -> None:
    routes.route("/key", fixture_bytes("key_oldest.json"))
    out = todo("config", "check")
    assert out.code == 0
    limit_line = next(line for line in out.stdout.splitlines() if line.startswith("Limit"))
    assert limit_line.split()[1] == "none"
    assert "unlimited" in out.stdout
    assert "50 requests/day (1000 after buying $10 of credits)" in out.stdout


def test_falls_back_to_auth_key_on_404(routes: RouteServer, key: str) -> None:
    routes.route("/auth/key", fixture_bytes("key_old.json"))
    out = todo("config", "check", "--json")
    assert out.code == 0
    assert routes.hits("/key") == 1 and routes.hits("/auth/key") == 1
    assert json.loads(out.stdout)["is_free_tier"] is True


def test_json(routes: RouteServer, key: str) -> None:
    routes.route("/key", fixture_bytes("key_current.json"))
    out = todo("config", "check", "--json")
    data = json.loads(out.stdout)
    assert data["valid"] is True
    assert data["key"].startswith("sk-or-v1-") and data["key"].endswith("(73 chars)")
    assert data["key_source"] == "env"
    assert (data["usage"], data["limit"], data["limit_remaining"]) == (25.5, 100, 74.5)
    assert data["free_requests_per_day"] == 1000 and data["free_requests_per_minute"] == 20
    assert_no_key(out.stdout)


def test_label_holding_the_key_is_masked(routes: RouteServer, key: str) -> None:
    routes.route("/key", {"data": {"label": KEY, "usage": 0, "limit": None}})
    out = todo("config", "check")
    assert out.code == 0
    assert_no_key(out.stdout)


@pytest.mark.parametrize("fixture", ["401_user_not_found.json", "401_no_auth_credentials.json"])
def test_invalid_key(routes: RouteServer, key: str, fixture: str) -> None:
    shared = SHARED_FIXTURES / "openrouter" / "errors" / fixture
    body = shared.read_bytes() if shared.is_file() else b'{"error":{"message":"nope","code":401}}'
    routes.route("/key", body, status=401)
    out = todo("config", "check")
    assert out.code == 4
    assert "The OpenRouter API key is invalid" in out.stderr
    assert "todo config set openrouter.api_key" in out.stderr
    assert routes.hits("/auth/key") == 0
    assert_no_key(out.stdout + out.stderr)


def test_offline(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", dead_url())
    out = todo("config", "check")
    assert out.code == 4
    assert "Could not check the key" in out.stderr
    assert_no_key(out.stderr)


def test_unexpected_answer(routes: RouteServer, key: str) -> None:
    routes.route("/key", b"<html>proxy login</html>")
    out = todo("config", "check")
    assert out.code == 4 and "Unexpected answer" in out.stderr


def test_shared_fake_server(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fakeserver = pytest.importorskip("fakeserver")
    with fakeserver.FakeServer() as server:
        monkeypatch.setenv("OPENROUTER_BASE_URL", server.url)
        out = todo("config", "check", "--json")
    assert out.code == 0, out.stderr
    assert json.loads(out.stdout)["free_requests_per_day"] == 50
