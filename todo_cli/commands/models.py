"""`todo models`: list OpenRouter's (or another provider's) models."""

from __future__ import annotations


def models() -> None:
    """List models (OpenRouter's catalog by default)."""
    raise NotImplementedError
