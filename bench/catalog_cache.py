"""A warm `todo models` cache: the largest real catalog, or a generated one of the same shape."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from .harness import SHARED_FIXTURES, NotAvailable
from .todo_env import require

MODELS_DIR = SHARED_FIXTURES / "openrouter" / "models"


def largest_catalog() -> tuple[dict[str, Any], str]:
    """The shared catalog with the most models, or a generated 2026-shaped one of 346."""
    best: tuple[int, dict[str, Any], str] | None = None
    if MODELS_DIR.is_dir():
        for path in sorted(MODELS_DIR.glob("*.json")):
            try:
                body = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            count = len(body.get("data") or [])
            if best is None or count > best[0]:
                best = (count, body, path.name)
    if best is not None:
        return best[1], f"{best[2]} ({best[0]} models)"
    body = generated_catalog(346)
    return body, f"generated ({len(body['data'])} models; shared fixtures absent)"


def generated_catalog(n: int, *, seed: int = 3) -> dict[str, Any]:
    """A catalog shaped like OpenRouter's 2026 `GET /models` body."""
    rng = random.Random(seed)
    vendors = ("openai", "anthropic", "google", "meta-llama", "mistralai", "qwen", "deepseek")
    params = ["max_tokens", "temperature", "top_p", "stop", "seed", "response_format"]
    data: list[dict[str, Any]] = []
    for i in range(n):
        vendor = rng.choice(vendors)
        slug = f"{vendor}/model-{i:03d}"
        free = rng.random() < 0.15
        pricing: dict[str, str] = {}
        if not free:
            pricing = {
                "prompt": f"{rng.choice((1, 2, 5, 15, 30)) / 1e7:.10f}".rstrip("0"),
                "completion": f"{rng.choice((2, 6, 10, 60)) / 1e7:.10f}".rstrip("0"),
            }
        ctx_len = rng.choice((8192, 32768, 131072, 200000, 1048576, None))
        supported = params + (["tools", "tool_choice"] if rng.random() < 0.6 else [])
        data.append(
            {
                "id": slug + (":free" if free else ""),
                "canonical_slug": slug,
                "hugging_face_id": "",
                "name": f"{vendor.title()}: Model {i}" + (" (free)" if free else ""),
                "created": 1_700_000_000 + i * 86_400,
                "description": "A generated model for benchmarks. " * 8,
                "context_length": ctx_len,
                "architecture": {
                    "modality": "text->text",
                    "input_modalities": ["text"],
                    "output_modalities": ["text"],
                    "tokenizer": "Other",
                    "instruct_type": None,
                },
                "pricing": pricing,
                "top_provider": {
                    "context_length": ctx_len,
                    "max_completion_tokens": None,
                    "is_moderated": False,
                },
                "per_request_limits": None,
                "supported_parameters": supported,
                "default_parameters": {},
                "expiration_date": None,
            }
        )
    return {"data": data}


def seed_cache(home: Path) -> str:
    """Write the largest catalog into ``home``'s cache exactly as `todo models` stores it.

    Uses catalog.py's own ``resolve_source`` / ``Source.cache_file`` / ``write_cache`` so the
    file lands where a warm `todo models --free` (OpenRouter, default URL) looks first.
    """
    catalog = require("catalog")
    config = require("config")
    for name in ("resolve_source", "write_cache"):
        if not hasattr(catalog, name):
            raise NotAvailable(f"todo_cli/catalog.py has no {name} yet")
    environ = {"TODO_HOME": str(home)}
    paths = config.get_paths(environ=environ).ensure()
    settings = config.load_settings(paths=paths, environ=environ, cwd=home)
    source = catalog.resolve_source(settings)
    body, label = largest_catalog()
    raw = json.dumps(body).encode("utf-8")
    path = source.cache_file(paths.cache_dir)
    if not catalog.write_cache(path, source.models_url, raw, time.time()):
        raise NotAvailable(f"could not write the models cache {path}")
    return label
