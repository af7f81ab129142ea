"""The agent's function tools over the task store.

Each tool returns a compact JSON string. A failing tool (unknown id, bad date, empty
title, wrong argument type) returns ``{"error": "<reason> <hint>"}`` so the model can correct
itself; it never crashes the run. Docstrings are what the model reads: keep them short
(instructions plus every schema must stay under ~1,500 tokens).

Tools are ``async`` and call the store on the event-loop thread, so every mutation of a turn
lands in the journal group the agent opened for that turn (``TaskStore.group``), whatever
way the store tracks its current group.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Literal

from agents import FunctionTool, RunContextWrapper, function_tool
from agents.tool_context import ToolContext
from typing_extensions import NotRequired, TypedDict  # noqa: UP035 - pydantic needs it < 3.12

from .errors import TodoError

LIST_CAP = 50
FULL_MATCHES = 3  # search results this small carry every field (full notes, timestamps)
SHOW_CAP = 100  # rows show_tasks puts in front of the user


class NewTask(TypedDict):
    """A task to add."""

    title: str
    due: NotRequired[str]
    priority: NotRequired[Literal["low", "medium", "high"]]
    tags: NotRequired[list[str]]
    project: NotRequired[str]
    notes: NotRequired[str]
    repeat: NotRequired[str]
    wait: NotRequired[str]
    parent: NotRequired[int]
    blocked_by: NotRequired[list[int]]


class TurnGuard:
    """What the calls of one turn have done so far, so that approval thresholds count the
    whole turn: six single-id completes need the same yes as one call with six ids.

    ``completed`` counts tasks that complete calls of this turn marked done; ``reserved``
    those of calls let through without a question that have not run yet (calls of one
    response are all checked before any runs), by call id in ``pending``.
    """

    def __init__(self) -> None:
        self.completed = 0
        self.reserved = 0
        self.pending: dict[str, int] = {}

    def ran(self, call_id: str, count: int) -> None:
        """A complete call ran and marked ``count`` tasks done."""
        self.reserved -= self.pending.pop(call_id, 0)
        self.completed += count


# Set by ChatSession for each turn (the SDK's run loop copies the context, so the tools'
# approval checks see the turn's guard). Without one, each call is judged on its own.
TURN_GUARD: ContextVar[TurnGuard | None] = ContextVar("todo_turn_guard", default=None)


def dumps(value: Any) -> str:
    """Compact JSON, as the model receives it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def brief(task: Any, *, full: bool = False) -> dict[str, Any]:
    """A task as the model sees it: empty fields left out to save tokens."""
    d = task.to_dict() if hasattr(task, "to_dict") else dict(task)
    out: dict[str, Any] = {"id": d["id"], "title": d["title"]}
    if d.get("status") and d["status"] != "pending":
        out["status"] = d["status"]
    for key in ("due", "project"):
        if d.get(key):
            out[key] = d[key]
    if d.get("priority") and d["priority"] != "none":
        out["priority"] = d["priority"]
    if d.get("tags"):
        out["tags"] = list(d["tags"])
    if d.get("repeat"):
        out["repeat"] = _rule_words(d["repeat"])
    for key in ("wait", "parent", "blocked_by"):
        if d.get(key):
            out[key] = d[key]
    if getattr(task, "blocked", False):
        out["blocked"] = True
    if d.get("notes"):
        notes = d["notes"]
        out["notes"] = notes if full or len(notes) <= 80 else notes[:77] + "..."
    if full:
        for key in ("created_at", "updated_at", "completed_at"):
            if d.get(key):
                out[key] = d[key]
    return out


def _rule_words(rule: dict[str, Any]) -> str:
    from .render import repeat_words

    return repeat_words(rule)


def error_result(exc: BaseException) -> str:
    """The tool result for a failure: the real reason (and hint) for the model."""
    if isinstance(exc, TodoError):
        text = exc.message + (f" {exc.hint}" if exc.hint else "")
    elif isinstance(exc, OverflowError):
        text = "A number in the arguments is too large."
    elif isinstance(exc, UnicodeError):
        text = "The arguments hold text that is not valid Unicode (lone surrogates)."
    elif isinstance(exc, RecursionError):
        text = _TOO_DEEP
    else:
        text = str(exc) or type(exc).__name__
        if "validation error" in text.lower():
            text = "Invalid arguments: " + " ".join(text.split())[:300]
        elif not isinstance(exc, (ValueError, TypeError)):  # no internals for the model
            text = f"The tool failed ({type(exc).__name__}); try other arguments."
    return dumps({"error": text})


_TOO_DEEP = "The arguments are nested too deeply."


def _depth(raw: str) -> int:
    """How deep brackets nest in ``raw`` (strings not parsed: a rough count)."""
    depth = deepest = 0
    for ch in raw:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _short_repr(value: Any, width: int = 60) -> str:
    try:
        text = repr(value)
    except RecursionError:
        return "a deeply nested value"
    return text if len(text) <= width else text[: width - 1] + "…"


_JSON_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}
_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number",
               "boolean": "true or false", "array": "a list", "object": "an object"}  # fmt: skip


def explain_arguments(schema: dict[str, Any], raw: str) -> str | None:
    """Why ``raw`` does not fit ``schema``, in words a model can act on (None if it fits)."""
    try:
        args = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return _TOO_DEEP if _depth(raw) > 30 else "The arguments are not valid JSON."
    except RecursionError:
        return _TOO_DEEP
    if not isinstance(args, dict):
        return "The arguments must be a JSON object."
    props: dict[str, Any] = schema.get("properties", {})
    problems = [f"Missing {name}." for name in schema.get("required", []) if name not in args]
    for name, value in args.items():
        spec = props.get(name)
        if spec is None:
            problems.append(f"Unknown argument {name} (use: {', '.join(props)}).")
            continue
        kind = spec.get("type")
        ok_types = _JSON_TYPES.get(kind, (object,))
        bad_bool = isinstance(value, bool) and kind in ("integer", "number")
        if value is not None and (not isinstance(value, ok_types) or bad_bool):
            problems.append(
                f"{name} must be {_TYPE_NAMES.get(kind, kind)}, got {_short_repr(value)}."
            )
        elif "enum" in spec and value not in spec["enum"]:
            choices = ", ".join(repr(c) for c in spec["enum"])
            problems.append(f"{name} must be one of {choices}, got {_short_repr(value)}.")
        elif kind == "array" and isinstance(value, list) and "items" in spec:
            item_kind = spec["items"].get("type")
            item_types = _JSON_TYPES.get(item_kind, (object,))
            if any(not isinstance(v, item_types) or isinstance(v, bool) for v in value):
                problems.append(f"{name} must be a list of {item_kind}s.")
    return " ".join(problems) or None


def _failure_for(schemas: dict[str, dict[str, Any]]):
    def failure(ctx: RunContextWrapper[Any], error: Exception) -> str:
        if "Invalid JSON input" in str(error):
            name = getattr(ctx, "tool_name", "")
            why = explain_arguments(schemas.get(name, {}), getattr(ctx, "tool_arguments", ""))
            return dumps({"error": f"Invalid arguments for {name}: {why or error}"})
        return error_result(error)

    return failure


def _none_if_empty(value: str | None) -> str | None:
    return value if value and value.strip() else None


def _clearable(value: str) -> str | None:
    """ "" means unchanged (handled by callers), "none" clears the field."""
    return None if value.strip().lower() in ("none", "null", "clear") else value


def make_tools(store: Any, *, auto_approve: bool = False) -> list[FunctionTool]:
    """The todo tools bound to ``store``. ``auto_approve`` skips the approval pauses."""

    schemas: dict[str, dict[str, Any]] = {}  # filled below, read when a call fails
    failure = _failure_for(schemas)

    def tool(needs_approval: Any = False) -> Callable[[Callable[..., Any]], FunctionTool]:
        return function_tool(
            strict_mode=False,
            failure_error_function=failure,
            needs_approval=False if auto_approve else needs_approval,
        )

    async def _several(_ctx: RunContextWrapper[Any], params: dict[str, Any], _id: str) -> bool:
        """A complete needs a yes when it, with the completes before it this turn, would
        mark more than one task done."""
        ids = params.get("ids")
        count = len(set(map(str, ids))) if isinstance(ids, list) else 2
        guard = TURN_GUARD.get()
        if guard is None:
            return count != 1
        if count != 1 or guard.completed + guard.reserved + count > 1:
            return True
        guard.reserved += count
        guard.pending[_id] = count
        return False

    beyond: set[str] = set()  # undo calls that needed a yes to reach beyond the conversation

    def _own_origin() -> Any:
        """This conversation, as journal groups record it (None outside a chat turn)."""
        from .store import Origin

        origin = store.open_origin()
        if origin is None or origin.source != "chat":
            return None
        return Origin(origin.source, origin.ref)

    async def _beyond(_ctx: RunContextWrapper[Any], _params: dict[str, Any], call_id: str) -> bool:
        """An undo needs a yes when this conversation has nothing left to undo but
        something else (the user's commands, another conversation) would be undone."""
        own = _own_origin()
        if own is not None and store.last_change(scope=own) is not None:
            return False
        if store.last_change() is None:
            return False
        beyond.add(call_id)  # only a call that was asked about may reach further, once approved
        return True

    def _ids(ids: list[int]) -> list[int]:
        unique = list(dict.fromkeys(int(i) for i in ids))
        if not unique:
            raise TodoError("No task ids given.")
        return unique

    def capped(tasks: list[Any], total: int) -> str:
        out: dict[str, Any] = {"tasks": [brief(t) for t in tasks[:LIST_CAP]]}
        more = total - len(out["tasks"])
        if more > 0:
            out["more"] = more
        return dumps(out)

    @tool()
    async def add_tasks(tasks: list[NewTask]) -> str:
        """Add tasks in one call (all or none). repeat: "every sunday", "every! 3 days" (from
        completion)...; wait: hide until; blocked_by: ids to finish first."""
        try:
            added = store.add_many(
                [
                    {
                        "title": t.get("title", ""),
                        "due": _none_if_empty(t.get("due")),
                        "priority": t.get("priority") or "none",
                        "tags": tuple(t.get("tags") or ()),
                        "project": _none_if_empty(t.get("project")),
                        "notes": _none_if_empty(t.get("notes")),
                        "repeat": _none_if_empty(t.get("repeat")),
                        "wait": _none_if_empty(t.get("wait")),
                        "parent": t.get("parent") or None,
                        "blocked_by": tuple(t.get("blocked_by") or ()),
                    }
                    for t in tasks
                ]
            )
        except Exception as exc:
            return error_result(exc)
        return dumps({"added_tasks": [brief(t) for t in added]})

    def _filtered(
        status: str, due: str, tag: str, project: str, priority: str | None, text: str = ""
    ) -> Any:
        from .store import TaskQuery

        q = TaskQuery(
            status=None if status == "all" else status,
            tag=_none_if_empty(tag),
            project=_none_if_empty(project),
            priority=_none_if_empty(priority),
            text=_none_if_empty(text),
        )
        when = due.strip().lower()
        if when == "today":
            q.due_today = True
        elif when == "overdue":
            q.overdue = True
        elif when:
            q.due_before = due
        return q

    @tool()
    async def show_tasks(
        status: Literal["pending", "done", "all"] = "pending",
        due: str = "",
        tag: str = "",
        project: str = "",
        text: str = "",
    ) -> str:
        """Show tasks to the user as a table.

        Args:
            due: "today", "overdue" or a date (due before it).
        """
        try:
            q = _filtered(status, due, tag, project, None, text)
            total = store.count(q)
            q.limit = SHOW_CAP
            found = store.query(q)
        except Exception as exc:
            return error_result(exc)
        out: dict[str, Any] = {"tasks": [brief(t) for t in found]}
        if total > len(found):
            out["more"] = total - len(found)
        return dumps(out)

    @tool()
    async def search_tasks(
        text: str = "", due: str = "", tag: str = "", project: str = "", include_done: bool = False
    ) -> str:
        """Tasks for you to read, not shown to the user (max 50): by words in any field
        and/or show_tasks' filters."""
        try:
            if text.strip() and not (due.strip() or tag.strip() or project.strip()):
                status = None if include_done else "pending"
                found = store.search(text, status=status, limit=None)
                total = len(found)
            else:
                q = _filtered("all" if include_done else "pending", due, tag, project, None, text)
                total = store.count(q)
                q.limit = LIST_CAP
                found = store.query(q)
            if total <= FULL_MATCHES:  # a few matches come with every field
                return dumps({"tasks": [brief(t, full=True) for t in found]})
            return capped(found, total)
        except Exception as exc:
            return error_result(exc)

    @tool()
    async def update_task(
        task_id: int,
        title: str = "",
        due: str = "",
        priority: Literal["none", "low", "medium", "high"] | None = None,
        notes: str = "",
        project: str = "",
        add_tags: list[str] | None = None,
        remove_tags: list[str] | None = None,
        repeat: str = "",
        wait: str = "",
        parent: int | None = None,
        blocked_by: list[int] | None = None,
        skip: bool = False,
    ) -> str:
        """Change a task; "none" clears a text field, 0 parent.

        Args:
            skip: Move a repeating task to its next due.
        """
        fields: dict[str, Any] = {}
        if title.strip():
            fields["title"] = title
        if due.strip():
            fields["due"] = _clearable(due)
        if priority:
            fields["priority"] = priority
        if notes.strip():
            fields["notes"] = _clearable(notes)
        if project.strip():
            fields["project"] = _clearable(project)
        if add_tags:
            fields["add_tags"] = list(add_tags)
        if remove_tags:
            fields["remove_tags"] = list(remove_tags)
        if repeat.strip():
            fields["repeat"] = _clearable(repeat)
        if wait.strip():
            fields["wait"] = _clearable(wait)
        if parent is not None:
            fields["parent"] = parent or None
        if blocked_by is not None:
            fields["blocked_by"] = list(blocked_by)
        if not fields and not skip:
            return dumps({"error": "Nothing to change: give at least one field."})
        try:
            task = store.update(task_id, **fields) if fields else None
            if skip:
                (task,) = store.skip([task_id])
                fields["due"] = task.due
        except Exception as exc:
            return error_result(exc)
        return dumps({"updated": brief(task), "changed": sorted(fields)})

    def _bulk(key: str, action: Callable[[list[int]], list[Any]], ids: list[int]) -> str:
        """Apply a store action to ``ids``; the result names each task it touched."""
        try:
            tasks = action(_ids(ids))
        except Exception as exc:
            return error_result(exc)
        done = [{"id": t.id, "title": t.title} for t in tasks]
        for item, task in zip(done, tasks, strict=True):
            if getattr(task, "repeat", None) and task.status == "pending":
                item["next_due"] = task.due
        return dumps({key: done})

    async def _confirm_done(ctx: RunContextWrapper[Any], params: dict[str, Any], _id: str) -> bool:
        """A task with open subtasks (completed with it) needs a yes, like several tasks."""
        from .store import TaskQuery

        try:
            ids = _ids(params.get("ids") or [])
            if any(store.count(TaskQuery(parent=i)) for i in ids):
                return True
        except Exception:
            pass
        return await _several(ctx, params, _id)

    @tool(needs_approval=_confirm_done)
    async def complete_tasks(ctx: ToolContext[Any], ids: list[int]) -> str:
        """Mark tasks done (a repeating one moves on)."""
        done: list[Any] = []

        def complete(wanted: list[int]) -> list[Any]:
            done.extend(store.complete(wanted, subtasks=True))
            return done

        try:
            return _bulk("completed", complete, ids)
        finally:
            guard = TURN_GUARD.get()
            if guard is not None:
                guard.ran(ctx.tool_call_id, len(done))

    @tool()
    async def reopen_tasks(ids: list[int]) -> str:
        """Reopen done tasks."""
        return _bulk("reopened", store.reopen, ids)

    @tool(needs_approval=True)
    async def delete_tasks(ids: list[int]) -> str:
        """Delete tasks (the user confirms)."""
        return _bulk("deleted", store.delete, ids)

    @tool(needs_approval=_beyond)
    async def undo_last_change(ctx: ToolContext[Any]) -> str:
        """Undo this conversation's last change."""
        own = _own_origin()
        approved = auto_approve or ctx.tool_call_id in beyond
        beyond.discard(ctx.tool_call_id)
        try:
            if own is not None and store.last_change(scope=own) is not None:
                res = store.undo(scope=own)
            elif approved:
                res = store.undo()
            else:
                last = store.last_change()
                if last is None:
                    res = store.undo()  # raises "Nothing to undo."
                return dumps(
                    {
                        "error": "Nothing left to undo in this conversation; undoing other "
                        "changes needs the user's approval: call undo_last_change again "
                        "and the user will be asked."
                    }
                )
        except Exception as exc:
            return error_result(exc)
        changes = []
        for ch in res.changes:
            before = brief(ch.before) if ch.before else None
            after = brief(ch.after) if ch.after else None
            changes.append({"before": before, "after": after})
        return dumps({"undone": res.label or "last change", "changes": changes})

    tools = [
        add_tasks,
        show_tasks,
        search_tasks,
        update_task,
        complete_tasks,
        reopen_tasks,
        delete_tasks,
        undo_last_change,
    ]
    for t in tools:
        t.params_json_schema = slim_schema(t.params_json_schema)
        schemas[t.name] = t.params_json_schema
    return tools


_PLAIN_DEFAULTS = ("", None, "none", "pending", False)  # defaults that go without saying


def slim_schema(schema: Any) -> Any:
    """Drop what costs tokens and confuses strict providers: titles, empty defaults,
    ``anyOf [X, null]`` wrappers and ``$ref`` (Gemini accepts only a narrow JSON-schema
    subset; definitions are inlined)."""
    if isinstance(schema, dict) and isinstance(schema.get("$defs"), dict):
        defs = schema["$defs"]
        body = {k: v for k, v in schema.items() if k != "$defs"}
        return slim_schema(_inline(body, defs))
    if isinstance(schema, list):
        return [slim_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: slim_schema(v) for name, v in value.items()}
        elif (
            key == "title"
            and isinstance(value, str)
            or key == "default"
            and value in _PLAIN_DEFAULTS
        ):
            continue
        else:
            out[key] = slim_schema(value)
    any_of = out.get("anyOf")
    if isinstance(any_of, list):
        rest = [s for s in any_of if s != {"type": "null"}]
        if len(rest) == 1 and len(rest) < len(any_of):
            del out["anyOf"]
            out = {**rest[0], **out}
    return out


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with each local ``{"$ref": "#/$defs/X"}`` replaced by X (descriptions off)."""
    if isinstance(schema, list):
        return [_inline(s, defs) for s in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
        target = {k: v for k, v in defs[ref[8:]].items() if k != "description"}
        return _inline(target, defs)
    return {k: _inline(v, defs) for k, v in schema.items()}


def tool_schemas(tools: list[FunctionTool]) -> list[dict[str, Any]]:
    """The tool definitions as sent to a Chat Completions endpoint (for size checks)."""
    return [
        {
            "type": "function",
            "function": {
                "name": t.name,
                "description": t.description,
                "parameters": t.params_json_schema,
            },
        }
        for t in tools
    ]
