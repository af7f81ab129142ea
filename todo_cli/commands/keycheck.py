"""`todo config check`: validate the OpenRouter key against GET /key."""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from typing import Annotated

import typer

from ..termsafe import json_text, one_line


def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check the OpenRouter key: label, usage, limit and free-tier allowance.

    Asks OpenRouter's GET /key about the configured key (OPENROUTER_API_KEY or
    `todo config set openrouter.api_key`) and shows how many free-model requests it gets:
    50 a day on the free tier (less than $10 of credits bought), 1000 a day otherwise,
    20 a minute either way.
    """
    from ..catalog import DEFAULT_TIMEOUT, fetch_key_info
    from ..config import load_settings, mask_secret
    from .models import spinner_factory

    settings = load_settings()
    cfg = settings.provider_config("openrouter")
    key = cfg.require_key()
    base_url = cfg.base_url or cfg.provider.base_url or ""
    cfg.check_key_destination(base_url)
    status = spinner_factory()
    with status("Checking the OpenRouter key…") if status else nullcontext():
        info = fetch_key_info(base_url, key, timeout=DEFAULT_TIMEOUT)

    masked = mask_secret(key)
    data = info.to_dict()
    if data.get("label") and key in data["label"]:  # never echo the key back
        data["label"] = masked
    data = {"key": masked, "key_source": cfg.key_source, "valid": True, **data}

    if as_json:
        import json

        sys.stdout.write(json_text(json.dumps(data, ensure_ascii=False, indent=2)) + "\n")
        return
    _render(data)


def _money(value: float | None) -> str:
    """Account money: "$25.50", "$0.0012" for fractions of a cent, "?" when unknown."""
    if value is None:
        return "?"
    if 0 < abs(value) < 0.01:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def _render(data: dict) -> None:
    source = {"env": "environment", ".env": ".env file", "config": "config file"}.get(
        data["key_source"] or "", data["key_source"] or "?"
    )
    limit = data["limit"]
    limit_text = "none" if limit is None else _money(limit)
    if limit is not None and data.get("limit_reset"):
        limit_text += f" (resets {data['limit_reset']})"
    usage = _money(data["usage"])
    if data.get("usage_daily") is not None:
        usage += f" ({_money(data['usage_daily'])} today)"
    free_tier = data["is_free_tier"]
    per_day = data["free_requests_per_day"]
    if free_tier is True:
        tier = "yes (less than $10 of credits bought)"
    elif free_tier is False:
        tier = "no (credits bought)"
    else:
        tier = "unknown"
    per_minute = data["free_requests_per_minute"]
    if per_day is None:
        allowance = f"50 requests/day (1000 after buying $10 of credits), {per_minute}/minute"
    else:
        allowance = f"{per_day} requests/day, {per_minute}/minute"

    rows = [("Key", f"{data['key']} (from the {source}) — valid")]
    if data.get("label"):
        rows.append(("Label", data["label"]))
    rows += [
        ("Usage", usage),
        ("Limit", limit_text),
        ("Remaining", "unlimited" if limit is None else _money(data["limit_remaining"])),
        ("Free tier", tier),
        ("Free models", allowance),
    ]
    if data.get("expires_at"):
        rows.append(("Expires", data["expires_at"]))
    bold = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        label = name.ljust(width)
        if bold:
            label = f"\x1b[1m{label}\x1b[0m"
        sys.stdout.write(f"{label}  {one_line(str(value))}\n")
