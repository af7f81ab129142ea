"""Fetching and caching catalogs against a local HTTP server: expiry, refresh, offline
fallback, corrupt caches, keys, timeouts, and the chat guard that reads the cache."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_catalog_support import (
    RouteServer,
    age_cache,
    cache_files,
    dead_url,
    fixture_bytes,
    running_server,
    serve_catalog,
)

from todo_cli.catalog import (
    CatalogUnavailable,
    Source,
    get_catalog,
    load_catalog,
    read_cache,
    tool_support_warning,
)
from todo_cli.config import load_settings
from todo_cli.errors import ExitCode, ProviderError

EDGE = fixture_bytes("models_edge.json")


@pytest.fixture
def routes() -> Iterator[RouteServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def openrouter(routes: RouteServer, monkeypatch: pytest.MonkeyPatch) -> RouteServer:
    """OpenRouter's base URL pointed at the local server, serving the edge catalog."""
    return serve_catalog(routes, monkeypatch, EDGE)


def test_first_load_fetches_and_caches_raw_body(openrouter: RouteServer, todo_home: Path) -> None:
    catalog = load_catalog()
    assert not catalog.from_cache and catalog.notice is None
    assert len(catalog.models) == 10
    [path] = cache_files(todo_home)
    cached = read_cache(path)
    assert cached is not None and cached.body == EDGE  # the raw body, byte for byte
    assert cached.url == openrouter.url + "/models"
    assert list(path.parent.glob("*.tmp")) == []  # atomic write left no temp file
    assert openrouter.requests[0].headers.get("authorization") is None  # no key configured


def test_fresh_cache_is_used_without_network(openrouter: RouteServer) -> None:
    load_catalog()
    again = load_catalog()
    assert again.from_cache and not again.stale
    assert openrouter.hits("/models") == 1


def test_expired_cache_is_refetched(openrouter: RouteServer, todo_home: Path) -> None:
    load_catalog()
    [path] = cache_files(todo_home)
    age_cache(path, 25 * 3600)
    catalog = load_catalog()
    assert not catalog.from_cache
    assert openrouter.hits("/models") == 2


def test_ttl_comes_from_settings(
    openrouter: RouteServer, todo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_catalog()
    [path] = cache_files(todo_home)
    age_cache(path, 2 * 3600)
    assert load_catalog().from_cache  # 2 h < 24 h default
    from todo_cli.config import set_value

    set_value("models.cache_ttl_hours", "1")
    assert not load_catalog().from_cache
    assert openrouter.hits("/models") == 2


def test_refresh_forces_a_fetch(openrouter: RouteServer) -> None:
    load_catalog()
    catalog = load_catalog(refresh=True)
    assert not catalog.from_cache
    assert openrouter.hits("/models") == 2


def test_offline_uses_stale_cache_with_notice(
    openrouter: RouteServer, todo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_catalog()
    [path] = cache_files(todo_home)
    age_cache(path, 3 * 86400)
    # Same base URL, server gone: connection refused.
    openrouter.stop()
    catalog = load_catalog()
    assert catalog.stale and catalog.from_cache
    assert len(catalog.models) == 10
    assert catalog.notice is not None and "\n" not in catalog.notice
    assert "3 days ago" in catalog.notice and "127.0.0.1" in catalog.notice


def test_refresh_offline_falls_back_to_cache(openrouter: RouteServer) -> None:
    load_catalog()
    openrouter.route("/models", b"oops", status=502)
    catalog = load_catalog(refresh=True)
    assert catalog.stale and "HTTP 502" in (catalog.notice or "")


def test_no_cache_and_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", dead_url())
    with pytest.raises(CatalogUnavailable) as info:
        load_catalog()
    assert info.value.exit_code == ExitCode.ERROR
    assert "Could not fetch the model list" in info.value.message
    assert info.value.hint and "connection" in info.value.hint


def test_corrupt_cache_is_discarded_and_refetched(openrouter: RouteServer, todo_home: Path) -> None:
    load_catalog()
    [path] = cache_files(todo_home)
    for garbage in (b"", b"\x00\x01garbage", b'{"format": 1, "fetched_at": 1}\n{not json'):
        path.write_bytes(garbage)
        catalog = load_catalog()
        assert not catalog.from_cache and len(catalog.models) == 10
        assert read_cache(path).body == EDGE  # replaced by a good copy
    assert openrouter.hits("/models") == 4


def test_corrupt_cache_and_offline_is_the_no_cache_error(
    todo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = dead_url()
    monkeypatch.setenv("OPENROUTER_BASE_URL", url)
    path = Source("openrouter", "OpenRouter", url).cache_file(todo_home / "cache")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage")
    with pytest.raises(CatalogUnavailable):
        load_catalog()
    assert not path.exists()


def test_a_bad_body_is_never_cached(openrouter: RouteServer, todo_home: Path) -> None:
    openrouter.route("/models", b"<html>maintenance</html>")
    with pytest.raises(CatalogUnavailable) as info:
        load_catalog()
    assert "unexpected response" in info.value.message
    assert cache_files(todo_home) == []


def test_timeout(routes: RouteServer, tmp_path: Path) -> None:
    routes.route("/models", EDGE, delay=1.0)
    source = Source("openrouter", "OpenRouter", routes.url)
    with pytest.raises(CatalogUnavailable) as info:
        get_catalog(source, cache_dir=tmp_path, timeout=0.2)
    assert "timed out" in info.value.message


def test_gzip_body(routes: RouteServer, tmp_path: Path) -> None:
    import gzip

    routes.route("/models", gzip.compress(EDGE), headers={"Content-Encoding": "gzip"})
    cache = tmp_path / "cache"
    catalog = get_catalog(Source("openrouter", "OpenRouter", routes.url), cache_dir=cache)
    assert len(catalog.models) == 10
    assert routes.requests[0].headers["accept-encoding"] == "gzip"
    [path] = cache.iterdir()
    assert read_cache(path).body == EDGE  # cached uncompressed


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ({"body": b"\x1f\x8b not gzip", "headers": {"Content-Encoding": "gzip"}}, "damaged"),
        ({"body": EDGE[:100], "length": len(EDGE)}, "Could not fetch"),  # connection cut
    ],
)
def test_broken_transfers(routes: RouteServer, tmp_path: Path, route: dict, reason: str) -> None:
    routes.route("/models", **route)
    source = Source("openrouter", "OpenRouter", routes.url)
    with pytest.raises(CatalogUnavailable) as info:
        get_catalog(source, cache_dir=tmp_path / "cache", timeout=2)
    assert reason in info.value.message
    assert not (tmp_path / "cache").exists()


def test_base_url_that_is_not_http(tmp_path: Path) -> None:
    with pytest.raises(CatalogUnavailable) as info:
        get_catalog(Source("custom", "Server", "file:///etc"), cache_dir=tmp_path)
    assert "not an http(s) URL" in info.value.message


def test_key_is_sent_when_configured(
    openrouter: RouteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-test-key")
    load_catalog()
    assert openrouter.requests[0].headers["authorization"] == "Bearer sk-or-v1-test-key"


def test_rejected_key_does_not_hide_openrouters_public_catalog(
    routes: RouteServer, tmp_path: Path
) -> None:
    routes.route("/models", {"error": {"code": 401, "message": "User not found."}}, status=401)
    source = Source("openrouter", "OpenRouter", routes.url, api_key="bad")
    with pytest.raises(ProviderError):  # both attempts rejected
        get_catalog(source, cache_dir=tmp_path)
    assert routes.hits("/models") == 2
    assert "authorization" not in routes.requests[1].headers


def test_one_cache_file_per_provider_and_base_url(
    openrouter: RouteServer, todo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    openrouter.route("/models", EDGE)
    load_catalog()
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
    monkeypatch.setenv("GROQ_BASE_URL", openrouter.url)
    openrouter.route("/models", fixture_bytes("models_groq.json"))
    groq = load_catalog(provider="groq")
    assert groq.models[0].id == "llama-3.3-70b-versatile"
    assert len(cache_files(todo_home)) == 2
    assert load_catalog().models[0].id == "acme/paid-pro"  # OpenRouter's cache untouched


def test_provider_key_required(routes: RouteServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_BASE_URL", routes.url)
    with pytest.raises(ProviderError) as info:
        load_catalog(provider="groq")
    assert "GROQ_API_KEY" in (info.value.hint or "")
    assert "todo config set groq.api_key" in (info.value.hint or "")
    assert routes.requests == []


def test_provider_rejected_key(routes: RouteServer, monkeypatch: pytest.MonkeyPatch) -> None:
    routes.route("/models", {"error": {"message": "Invalid API Key"}}, status=401)
    monkeypatch.setenv("GROQ_BASE_URL", routes.url)
    monkeypatch.setenv("GROQ_API_KEY", "gsk-wrong")
    with pytest.raises(ProviderError) as info:
        load_catalog(provider="groq")
    assert "Invalid API Key" in info.value.message
    assert "GROQ_API_KEY" in (info.value.hint or "")


def test_ollama_needs_no_key(routes: RouteServer, monkeypatch: pytest.MonkeyPatch) -> None:
    routes.route("/models", fixture_bytes("models_ollama.json"))
    monkeypatch.setenv("OLLAMA_BASE_URL", routes.url)
    catalog = load_catalog(provider="ollama")
    assert [m.id for m in catalog.models] == ["llama3.2:latest", "qwen2.5:7b"]
    assert "authorization" not in routes.requests[0].headers


# -- the chat guard ----------------------------------------------------------------------


def test_tool_support_warning_uses_the_cache_only(
    openrouter: RouteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings()
    assert tool_support_warning("acme/chat-only:free", settings) is None  # no cache yet
    assert openrouter.requests == []
    load_catalog(settings)
    openrouter.stop()
    warning = tool_support_warning("acme/chat-only:free", settings)
    assert warning is not None and "\n" not in warning
    assert "cannot call tools" in warning
    assert "acme/tiny:free" in warning and "preview/zero-priced" in warning
    assert "acme/paid-pro" not in warning  # alternatives are free
    assert tool_support_warning("acme/tiny:free", settings) is None  # can call tools
    assert tool_support_warning("legacy/no-params", settings) is None  # unknown
    assert tool_support_warning("not/in-catalog", settings) is None


def test_tool_support_warning_never_raises(
    openrouter: RouteServer, todo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_catalog()
    [path] = cache_files(todo_home)
    path.write_bytes(b'{"format": 1, "fetched_at": 0}\n[[[')
    assert tool_support_warning("acme/chat-only:free", load_settings()) is None
    monkeypatch.setenv("LLM_PROVIDER", "nonsense")
    assert tool_support_warning("x", load_settings()) is None


def test_tool_support_warning_on_the_real_2026_catalog(
    routes: RouteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import SHARED_FIXTURES

    real = SHARED_FIXTURES / "openrouter" / "models" / "models_2026-03-10.json"
    if not real.is_file():
        pytest.skip(f"shared fixture {real} not found")
    serve_catalog(routes, monkeypatch, real.read_bytes())
    settings = load_settings()
    load_catalog(settings)
    warning = tool_support_warning("google/gemma-3-4b-it:free", settings)
    assert warning is not None
    alternatives = warning.split("Free models that can: ", 1)[1].rstrip(".").split(", ")
    assert alternatives[0] == "openai/gpt-oss-20b:free"  # the project default comes first
    assert len(alternatives) == 3
    assert tool_support_warning("openai/gpt-oss-20b:free", settings) is None
    assert json.loads(json.dumps(warning))  # plain text
