"""Events of one agent turn, as the UI layers (one-shot chat, REPL, --json) consume them.

``agent.py`` turns the Agents SDK stream into these plain dataclasses so that renderers
never touch SDK types (and never import the SDK).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TextDelta:
    text: str


@dataclass
class ReasoningDelta:
    text: str


@dataclass
class ToolCall:
    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass
class ToolResult:
    call_id: str
    name: str
    output: str  # the compact JSON string the model received
    ok: bool = True


@dataclass
class ApprovalRequest:
    """A destructive tool call waiting for the user's yes/no."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    description: str  # e.g. "Delete 3 tasks (#4 Buy milk, #5 ..., #9 ...)"


@dataclass
class Notice:
    """A transient status line, e.g. "rate limited, retrying in 4 s"."""

    text: str


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None  # USD, when the provider reports it


@dataclass
class TurnEnd:
    final_text: str
    usage: Usage = field(default_factory=Usage)
    model: str | None = None  # the model that actually answered
    conversation_id: str | None = None
    cancelled: bool = False


Event = TextDelta | ReasoningDelta | ToolCall | ToolResult | ApprovalRequest | Notice | TurnEnd
