"""Interactive `todo chat` session (prompt-toolkit)."""

from __future__ import annotations


def run_repl(
    *,
    provider: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    conversation_id: str | None = None,
    continue_latest: bool = False,
    yes: bool = False,
) -> None:
    raise NotImplementedError
