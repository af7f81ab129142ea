"""Placeholder."""

from __future__ import annotations

from .harness import Context, Figure, NotAvailable


def run(ctx: Context) -> list[Figure]:
    raise NotAvailable("not written yet")
