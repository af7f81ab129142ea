"""Catalog parsing, the free/tools/price rules, filters, sorting and display helpers."""

from __future__ import annotations

import json

import pytest
from test_catalog_support import fixture_bytes

from todo_cli.catalog import (
    CatalogFormatError,
    Model,
    close_matches,
    filter_models,
    format_age,
    format_context,
    format_flag,
    format_money,
    format_price,
    free_tool_models,
    normalize_model,
    parse_catalog,
    parse_context,
    parse_key_info,
    sort_models,
)
from todo_cli.errors import UsageError


@pytest.fixture(scope="module")
def edge() -> dict[str, Model]:
    return {m.id: m for m in parse_catalog(fixture_bytes("models_edge.json"))}


def test_edge_fixture_drops_duplicates_and_entries_without_id(edge: dict[str, Model]) -> None:
    assert len(edge) == 10
    assert edge["acme/paid-pro"].name == "Acme: Paid Pro"  # the first of two entries wins


def test_prices_are_per_million_tokens(edge: dict[str, Model]) -> None:
    m = edge["acme/paid-pro"]
    assert m.prompt_price_per_mtok == 2.5
    assert m.completion_price_per_mtok == 15.0
    assert m.free is False and m.variable_price is False
    assert format_price(m, "prompt") == "$2.50"
    assert format_price(m, "completion") == "$15.00"


def test_free_suffix_with_missing_pricing_keys(edge: dict[str, Model]) -> None:
    m = edge["acme/tiny:free"]  # "pricing": {} — the 2026 shape leaves zeros out
    assert m.prompt_price_per_mtok == 0 and m.completion_price_per_mtok == 0
    assert m.free is True and m.tools is True and m.reasoning is False
    assert format_price(m, "prompt") == "free"


def test_zero_priced_without_free_suffix_is_free(edge: dict[str, Model]) -> None:
    m = edge["preview/zero-priced"]
    assert m.free is True and m.tools is True and m.reasoning is True


def test_variable_price_is_never_free_nor_negative(edge: dict[str, Model]) -> None:
    for model_id in ("router/auto", "router/variable:free"):
        m = edge[model_id]
        assert m.variable_price is True
        assert m.free is False
        assert m.prompt_price_per_mtok is None and m.completion_price_per_mtok is None
        assert format_price(m, "prompt") == "variable"
        assert format_price(m, "completion") == "variable"
        assert "-" not in json.dumps(m.to_dict()["prompt_price_per_mtok"])
    assert edge["router/auto"].reasoning is True  # from "include_reasoning"


def test_null_context_length(edge: dict[str, Model]) -> None:
    m = edge["mystery/null-context"]
    assert m.context_length is None and m.created is None
    assert format_context(m.context_length) == "?"
    assert m.prompt_price_per_mtok == 0.15 and m.completion_price_per_mtok == 0.6


def test_missing_supported_parameters_means_unknown(edge: dict[str, Model]) -> None:
    m = edge["legacy/no-params"]
    assert m.tools is None and m.reasoning is None
    assert m.free is True
    assert format_flag(m.tools) == "?"


def test_one_missing_price_key_counts_as_zero(edge: dict[str, Model]) -> None:
    m = edge["half/prompt-only"]
    assert m.prompt_price_per_mtok == 1.0 and m.completion_price_per_mtok == 0
    assert m.free is False
    assert format_price(m, "completion") == "$0"


def test_unparseable_price_and_parameters_are_unknown(edge: dict[str, Model]) -> None:
    m = edge["broken/price"]
    assert m.prompt_price_per_mtok is None and m.free is None
    assert format_price(m, "prompt") == "?"
    assert m.tools is None  # "supported_parameters" is not a list


def test_free_without_tools(edge: dict[str, Model]) -> None:
    m = edge["acme/chat-only:free"]
    assert m.free is True and m.tools is False and m.reasoning is False


def test_json_form_has_the_documented_keys(edge: dict[str, Model]) -> None:
    d = edge["acme/tiny:free"].to_dict()
    for key in (
        "id",
        "name",
        "context_length",
        "prompt_price_per_mtok",
        "completion_price_per_mtok",
        "free",
        "tools",
        "reasoning",
    ):
        assert key in d
    assert d["context_length"] == 131072


@pytest.mark.parametrize(
    ("fixture", "ids", "context"),
    [
        ("models_groq.json", ["llama-3.3-70b-versatile", "openai/gpt-oss-20b"], 131072),
        ("models_openai.json", ["gpt-4o", "gpt-4o-mini"], None),
        ("models_ollama.json", ["llama3.2:latest", "qwen2.5:7b"], None),
        ("models_gemini.json", ["gemini-2.5-flash", "gemini-2.5-pro"], None),
    ],
)
def test_other_provider_shapes(fixture: str, ids: list[str], context: int | None) -> None:
    models = parse_catalog(fixture_bytes(fixture))
    got = [m.id for m in models]
    assert got[:2] == ids
    assert "retired-model" not in got  # Groq "active": false
    first = models[0]
    assert first.context_length == context
    assert first.free is None and first.tools is None and first.reasoning is None
    assert first.prompt_price_per_mtok is None
    assert format_price(first, "prompt") == "?"


@pytest.mark.parametrize(
    "body", [b"", b"<html>", b"{}", b'{"data": 3}', b"null", b'"text"', b"\xff\xfe"]
)
def test_bodies_that_are_not_catalogs(body: bytes) -> None:
    with pytest.raises(CatalogFormatError):
        parse_catalog(body)


def test_bare_list_and_models_key() -> None:
    assert [m.id for m in parse_catalog([{"id": "a"}])] == ["a"]
    assert [m.id for m in parse_catalog({"models": [{"id": "b"}]})] == ["b"]
    assert normalize_model({"id": "  "}) is None
    assert normalize_model({"id": "x", "context_length": True}).context_length is None


# -- filters and sorting ---------------------------------------------------------------


def ids(models: list[Model]) -> list[str]:
    return [m.id for m in models]


def test_filter_free_and_tools(edge: dict[str, Model]) -> None:
    models = list(edge.values())
    assert set(ids(filter_models(models, free=True))) == {
        "acme/tiny:free",
        "acme/chat-only:free",
        "preview/zero-priced",
        "legacy/no-params",
    }
    assert set(ids(filter_models(models, free=True, tools=True))) == {
        "acme/tiny:free",
        "preview/zero-priced",
    }
    # unknown tool support is left out of --tools
    assert "legacy/no-params" not in ids(filter_models(models, tools=True))


def test_filter_search_matches_id_or_name_case_insensitively(edge: dict[str, Model]) -> None:
    models = list(edge.values())
    assert ids(filter_models(models, search="PAID")) == ["acme/paid-pro"]
    assert ids(filter_models(models, search="zero priced")) == ["preview/zero-priced"]
    assert set(ids(filter_models(models, search="acme free"))) == {
        "acme/tiny:free",
        "acme/chat-only:free",
    }
    assert filter_models(models, search="nothing-like-this") == []


def test_filter_min_context_drops_unknown(edge: dict[str, Model]) -> None:
    models = list(edge.values())
    got = ids(filter_models(models, min_context=parse_context("128k")))
    assert set(got) == {"acme/paid-pro", "acme/tiny:free", "router/auto"}


@pytest.mark.parametrize(
    ("text", "value"),
    [("128k", 128_000), ("128K", 128_000), ("1M", 1_000_000), ("1.5m", 1_500_000),
     ("32768", 32768), (" 8_192 ", 8192), ("200,000", 200_000)],
)  # fmt: skip
def test_parse_context(text: str, value: int) -> None:
    assert parse_context(text) == value


@pytest.mark.parametrize("text", ["lots", "-5", "k", "1G", ""])
def test_parse_context_rejects_nonsense(text: str) -> None:
    with pytest.raises(UsageError):
        parse_context(text)


def test_sort_orders(edge: dict[str, Model]) -> None:
    models = list(edge.values())
    by_name = [m.name for m in sort_models(models, "name")]
    assert by_name == sorted(by_name, key=str.casefold)
    by_context = sort_models(models, "context")
    assert by_context[0].id == "router/auto"
    assert by_context[-1].id == "mystery/null-context"  # unknown last
    by_price = sort_models(models, "price")
    assert all(m.free for m in by_price[:4])
    tail = {m.id for m in by_price[-3:]}  # variable and unknown prices last
    assert tail == {"router/auto", "router/variable:free", "broken/price"}
    assert by_price.index(edge["mystery/null-context"]) < by_price.index(edge["acme/paid-pro"])
    newest = sort_models(models, "newest")
    assert newest[0].id == "acme/paid-pro" and newest[-1].id == "mystery/null-context"
    with pytest.raises(UsageError):
        sort_models(models, "size")


def test_close_matches_and_alternatives(edge: dict[str, Model]) -> None:
    models = list(edge.values())
    assert close_matches("tiny:free", models)[0] == "acme/tiny:free"
    assert close_matches("acme/paid-pr", models)[0] == "acme/paid-pro"
    assert close_matches("zzzzzzzz", models) == []
    alts = ids(free_tool_models(models, exclude=["acme/tiny:free"]))
    assert alts == ["preview/zero-priced"]


# -- display helpers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "text"),
    [(131072, "131K"), (32768, "32.8K"), (8192, "8.2K"), (128000, "128K"), (200000, "200K"),
     (1048576, "1.05M"), (2000000, "2M"), (512, "512"), (None, "?"), (0, "?")],
)  # fmt: skip
def test_format_context(n: int | None, text: str) -> None:
    assert format_context(n) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.15, "$0.15"), (30, "$30.00"), (0.075, "$0.075"), (2.5, "$2.50"),
     (0.0000123, "$0.0000123"), (0, "$0")],
)  # fmt: skip
def test_format_money(value: float, text: str) -> None:
    assert format_money(value) == text


def test_format_age() -> None:
    assert format_age(5) == "just now"
    assert format_age(60) == "1 minute ago"
    assert format_age(3 * 3600 + 5) == "3 hours ago"
    assert format_age(2 * 86400) == "2 days ago"


# -- GET /key shapes ---------------------------------------------------------------------


def test_key_info_current_shape() -> None:
    info = parse_key_info(fixture_bytes("key_current.json"))
    assert info.label == "sk-or-v1-au7...890"
    assert (info.usage, info.limit, info.remaining) == (25.5, 100, 74.5)
    assert info.is_free_tier is False and info.free_requests_per_day == 1000
    assert info.limit_reset == "monthly" and info.usage_daily == 1.5


def test_key_info_older_shape_computes_remaining() -> None:
    info = parse_key_info(fixture_bytes("key_old.json"))
    assert info.limit == 5 and info.limit_remaining is None
    assert info.remaining == pytest.approx(5 - 0.1015644762)
    assert info.is_free_tier is True and info.free_requests_per_day == 50
    assert info.rate_limit == {"requests": 20, "interval": "10s"}


def test_key_info_oldest_shape_unknown_tier() -> None:
    info = parse_key_info(fixture_bytes("key_oldest.json"))
    assert info.limit is None and info.remaining is None
    assert info.is_free_tier is None and info.free_requests_per_day is None
    d = info.to_dict()
    assert d["free_requests_per_minute"] == 20


def test_key_info_camel_case() -> None:
    info = parse_key_info({"data": {"label": "x", "isFreeTier": True, "limitRemaining": 3}})
    assert info.is_free_tier is True and info.limit_remaining == 3
    with pytest.raises(CatalogFormatError):
        parse_key_info(b"[1, 2]")
