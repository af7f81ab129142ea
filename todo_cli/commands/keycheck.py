"""`todo config check`: validate the OpenRouter key against GET /key."""

from __future__ import annotations


def check() -> None:
    """Check the OpenRouter key: label, usage, limit and free-tier allowance."""
    raise NotImplementedError
