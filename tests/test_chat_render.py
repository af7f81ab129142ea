"""Tool activity lines and usage footers."""

from __future__ import annotations

import json

from todo_cli.chat_render import approval_prompt, tool_activity_line, usage_footer
from todo_cli.events import ApprovalRequest, ToolCall, ToolResult, TurnEnd, Usage


def line(name: str, output: object, ok: bool = True, args: dict | None = None) -> str | None:
    text = output if isinstance(output, str) else json.dumps(output)
    return tool_activity_line(ToolCall("c", name, args or {}), ToolResult("c", name, text, ok))


def test_lines_for_each_tool() -> None:
    assert line("add_task", {"added": {"id": 12, "title": "Buy milk"}}) == "+ #12 Buy milk"
    added = line("add_task", {"added": {"id": 3, "title": "Pay", "due": "2020-01-03",
                                        "priority": "high"}})  # fmt: skip
    assert added.startswith("+ #3 Pay (due ") and added.endswith(", high)")
    assert (
        line("complete_tasks", {"completed": [{"id": 3, "title": "Call mom"}]}) == "✓ #3 Call mom"
    )
    two = line("delete_tasks", {"deleted": [{"id": 7, "title": "A"}, {"id": 8, "title": "B"}]})
    assert two == "✗ #7 A deleted\n✗ #8 B deleted"
    assert line("reopen_tasks", {"reopened": [{"id": 2, "title": "X"}]}) == "↺ #2 X reopened"
    upd = line("update_task", {"updated": {"id": 4, "title": "T"}, "changed": ["due", "tags"]})
    assert upd == "~ #4 T (due, tags)"
    assert line("list_tasks", {"tasks": [{"id": 1, "title": "a"}], "more": 4}) == (
        "· listed 1 task (+4 more)"
    )
    assert line("search_tasks", {"tasks": []}) == "· found 0 tasks"
    assert line("undo_last_change", {"undone": "chat: add", "changes": [{}, {}]}) == (
        "↶ undid chat: add (2 changes)"
    )
    assert line("show_task", {"id": 5, "title": "Five"}) == "· #5 Five"


def test_errors_and_odd_outputs() -> None:
    assert line("show_task", {"error": "No task #42"}, ok=False) == "! show_task: No task #42"
    assert line("weird", "not json", ok=False) == "! weird: not json"
    long = line("add_task", {"error": "x" * 500}, ok=False)
    assert len(long) <= 160 and long.endswith("…")


def test_usage_footer_and_prompt() -> None:
    end = TurnEnd("hi", Usage(1234, 56, 0.00123), model="a/b")
    assert usage_footer(end) == "1,234 in · 56 out · $0.0012 · a/b"
    free = TurnEnd("hi", Usage(10, 2, 0.0), model="a/b:free")
    assert usage_footer(free, requested_model="c/d") == (
        "10 in · 2 out · free · answered by a/b:free (fallback for c/d)"
    )
    assert usage_footer(TurnEnd("", Usage(), model=None, cancelled=True)) == "cancelled"
    req = ApprovalRequest("c", "delete_tasks", {"ids": [4]}, "Delete 1 task (#4 Milk)")
    assert approval_prompt(req) == "Delete 1 task (#4 Milk)? [y/N]"
