"""Short text for what happens during a chat turn: tool activity lines and usage footers.

Pure functions over the events of ``events.py`` (standard library only), shared by the
one-shot ``todo chat`` and the interactive session.
"""

from __future__ import annotations

import json
from typing import Any

from .events import ApprovalRequest, ToolCall, ToolResult, TurnEnd
from .termsafe import one_line

MAX_LINE = 160


def _load(output: str) -> Any:
    try:
        return json.loads(output)
    except (TypeError, ValueError):
        return None


def _clip(text: str, width: int = MAX_LINE) -> str:
    text = one_line(text)  # titles and error texts come from outside
    return text if len(text) <= width else text[: width - 1] + "…"


def _due(iso: str | None, tz: Any = None) -> str:
    if not iso:
        return ""
    try:
        from .dates import humanize_due

        return humanize_due(iso, tz=tz)
    except Exception:
        return iso


def _task(t: dict[str, Any], tz: Any = None) -> str:
    line = f"#{t.get('id')} {t.get('title', '')}"
    extras = []
    if t.get("due"):
        extras.append(f"due {_due(t['due'], tz)}")
    if t.get("priority") and t["priority"] != "none":
        extras.append(t["priority"])
    return f"{line} ({', '.join(extras)})" if extras else line


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def tool_activity_line(call: ToolCall, result: ToolResult, *, tz: Any = None) -> str | None:
    """One line (or a few) saying what a tool call did, e.g. "+ #12 Buy milk (due Fri 28 Nov)".

    "+" added, "✓" completed, "↺" reopened, "✗" deleted, "~" updated, "↶" undone, "·" looked
    up, "!" failed or not done (with the reason). None when there is nothing to show.
    """
    data = _load(result.output)
    name = call.name or result.name
    if not isinstance(data, dict):
        return _clip(f"· {name}") if result.ok else _clip(f"! {name}: {result.output}")
    if "error" in data:
        return _clip(f"! {name}: {data['error']}")
    if "added" in data:
        return _clip("+ " + _task(data["added"], tz))
    if "added_tasks" in data:
        return "\n".join(_clip("+ " + _task(t, tz)) for t in data["added_tasks"] or []) or None
    if "updated" in data:
        changed = ", ".join(data.get("changed") or [])
        t = data["updated"]
        return _clip(
            f"~ #{t.get('id')} {t.get('title', '')}" + (f" ({changed})" if changed else "")
        )
    for key, mark, suffix in (
        ("completed", "✓", ""),
        ("reopened", "↺", " reopened"),
        ("deleted", "✗", " deleted"),
    ):
        if key in data:
            items = data[key] or []
            return (
                "\n".join(
                    _clip(f"{mark} #{t.get('id')} {t.get('title', '')}{suffix}") for t in items
                )
                or None
            )
    if "undone" in data:
        n = len(data.get("changes") or [])
        return _clip(f"↶ undid {data['undone']} ({_plural(n, 'change')})")
    if "tasks" in data:
        if name == "show_tasks":
            return None  # the table itself follows
        n = len(data["tasks"] or [])
        more = data.get("more")
        verb = "found" if name == "search_tasks" else "listed"
        return _clip(f"· {verb} {_plural(n, 'task')}" + (f" (+{more} more)" if more else ""))
    if name == "show_task" and "id" in data:
        return _clip(f"· {_task(data, tz)}")
    return _clip(f"· {name}")


def approval_prompt(request: ApprovalRequest) -> str:
    """The question for an approval: "Delete 3 tasks (#4 Buy milk, …)? [y/N]"."""
    return f"{one_line(request.description).rstrip('?. ')}? [y/N]"


def usage_footer(end: TurnEnd, *, requested_model: str | None = None) -> str:
    """A dim footer after a turn: "1,234 in · 56 out · $0.0012 · model"."""
    parts: list[str] = []
    u = end.usage
    if u.input_tokens or u.output_tokens:
        parts.append(f"{u.input_tokens:,} in · {u.output_tokens:,} out")
    if u.cost is not None:
        parts.append(
            "free" if u.cost == 0 else f"${u.cost:.4f}" if u.cost < 1 else f"${u.cost:.2f}"
        )
    if end.model:
        if requested_model and end.model != requested_model:
            parts.append(f"answered by {end.model} (fallback for {requested_model})")
        else:
            parts.append(end.model)
    if end.cancelled:
        parts.append("cancelled")
    return one_line(" · ".join(parts))  # the model name is the server's
