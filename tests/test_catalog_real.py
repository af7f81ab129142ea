"""The three real OpenRouter catalogs in ../shared/fixtures parse with the right counts."""

from __future__ import annotations

import pytest
from conftest import SHARED_FIXTURES

from todo_cli.catalog import filter_models, format_price, parse_catalog

MODELS_DIR = SHARED_FIXTURES / "openrouter" / "models"

pytestmark = pytest.mark.skipif(
    not MODELS_DIR.is_dir(), reason=f"shared OpenRouter fixtures not found at {MODELS_DIR}"
)

# file -> (models, free, free and tool-capable, tool-capable)
EXPECTED = {
    "models_2024-11-10.json": (194, 23, 0, 0),  # no supported_parameters: tools unknown
    "models_tools_2025-07-29.json": (151, 12, 12, 151),
    "models_2026-03-10.json": (346, 27, 18, 240),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts(name: str) -> None:
    models = parse_catalog((MODELS_DIR / name).read_bytes())
    total, free, free_tools, tools = EXPECTED[name]
    assert len(models) == total
    assert len(filter_models(models, free=True)) == free
    assert len(filter_models(models, free=True, tools=True)) == free_tools
    assert len(filter_models(models, tools=True)) == tools
    # every ":free" id is free; no price is ever negative
    for m in models:
        if m.id.endswith(":free"):
            assert m.free is True
        for price in (m.prompt_price_per_mtok, m.completion_price_per_mtok):
            assert price is None or price >= 0


def test_2024_shape_has_unknown_tool_support() -> None:
    models = parse_catalog((MODELS_DIR / "models_2024-11-10.json").read_bytes())
    assert {m.tools for m in models} == {None}
    auto = next(m for m in models if m.id == "openrouter/auto")
    assert auto.variable_price and auto.free is False
    # zero-priced "-exp" models without the suffix count as free
    exp = next(m for m in models if m.id == "google/gemini-flash-1.5-exp")
    assert exp.free is True


def test_2026_shape_routers_and_unsuffixed_free_models() -> None:
    models = {m.id: m for m in parse_catalog((MODELS_DIR / "models_2026-03-10.json").read_bytes())}
    for router in ("openrouter/auto", "openrouter/bodybuilder"):
        assert models[router].variable_price and models[router].free is False
        assert format_price(models[router], "prompt") == "variable"
    free_router = models["openrouter/free"]
    assert free_router.free is True and free_router.tools is True
    default = models["openai/gpt-oss-20b:free"]
    assert default.free and default.tools and default.reasoning
    assert default.context_length == 131072
    assert models["qwen/qwen3-vl-30b-a3b-thinking"].free is True  # zero price, no suffix
    paid = models["openai/gpt-5.4-pro"]
    assert (paid.prompt_price_per_mtok, paid.completion_price_per_mtok) == (30.0, 180.0)
