"""`todo chat`: talk to the todo agent, one-shot or as an interactive session."""

from __future__ import annotations


def chat() -> None:
    """Chat with the todo agent."""
    raise NotImplementedError
