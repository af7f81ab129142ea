"""A deterministic, rule-based stand-in for a tool-calling model, served by the fake server.

What it is told, and what it works out for itself. Understanding the words of a request is
not what the intent benchmark measures, so each intent comes with the *plan* a competent
model would form (``Act`` items: add these tasks, complete "pay rent", show overdue tasks,
...), keyed by the message text. Everything the benchmark does measure the model works out
from the request it receives, like a real model reading its context:

- which task a name refers to, from the task list in the system prompt when there is one,
  and from tool results in the conversation; a name it has not been shown is searched for
  first (``search_tasks``), and a name that matches several shown tasks makes it ask;
- which tools exist (``add_tasks``, or one ``add_task`` call per task, ``show_tasks`` or
  a data lookup and then re-typing the result), and the counts line for "how many";
- what happened to its earlier calls (tool results in the history): an error such as
  "No task #42" makes it search again, a declined approval makes it say so, and once every
  step succeeded it answers in a sentence, if it is asked again at all.

All calls it can make at once go in one response (parallel tool calls). It never reads the
store directly. Call ids carry the index of the plan step they serve, so a later request
can tell which steps are done from the history alone (the model itself keeps no state).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

TASK_LINE = re.compile(r'^#(\d+) ("(?:[^"\\]|\\.)*")')


@dataclass
class Act:
    """One step of a plan.

    kind: add (tasks), complete / reopen / delete (refs), update (refs[0], fields), undo,
    show (filters), answer (question: "count", "first"), clarify (refs[0] is ambiguous).
    ``refs`` are words of a task's title, as the user said them.
    """

    kind: str
    refs: list[str] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)
    question: str = ""
    done_tasks: bool = False  # the referenced task may be done (search with include_done)


@dataclass
class Reply:
    """What the model answers: text, or tool calls (name, arguments, id)."""

    text: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)

    def spec(self) -> dict[str, Any]:
        if self.calls:
            return {"type": "tool_calls", "calls": self.calls}
        return {"type": "text", "text": self.text}

    def completion_text(self) -> str:
        """What the model generated, for counting completion tokens."""
        if self.calls:
            return json.dumps(
                [{"name": c["name"], "arguments": c["arguments"]} for c in self.calls]
            )
        return self.text


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _matches(ref: str, title: str) -> bool:
    have = set(_words(title))
    return all(w in have for w in _words(ref))


class Conversation:
    """What one request shows the model."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.messages: list[dict[str, Any]] = list(body.get("messages") or [])
        self.tools = {(t.get("function") or t).get("name") for t in body.get("tools") or [] if t}
        system = "\n".join(
            str(m.get("content") or "")
            for m in self.messages
            if m.get("role") in ("system", "developer")
        )
        self.system = system
        self.listed: dict[int, str] = {}
        for line in system.splitlines():
            m = TASK_LINE.match(line)
            if m:
                self.listed[int(m.group(1))] = json.loads(m.group(2))
        self.counts = re.search(r"Open tasks \((\d+) open", system)
        last_user = max(
            (n for n, m in enumerate(self.messages) if m.get("role") == "user"), default=-1
        )
        self.user_text = (
            str(self.messages[last_user].get("content") or "") if last_user >= 0 else ""
        )
        self.turn = self.messages[last_user + 1 :]
        # Tasks seen in tool results anywhere in the conversation (ids the model was shown).
        self.seen: dict[int, str] = {}
        for m in self.messages:
            if m.get("role") == "tool":
                for task in _tasks_in(m.get("content")):
                    self.seen[task["id"]] = task["title"]
        # This turn's calls and their results, by call id.
        self.calls: dict[str, dict[str, Any]] = {}
        results: dict[str, str] = {}
        for m in self.turn:
            for call in m.get("tool_calls") or []:
                fn = call.get("function") or {}
                self.calls[call.get("id") or ""] = {
                    "name": fn.get("name"),
                    "arguments": json.loads(fn.get("arguments") or "{}"),
                }
            if m.get("role") == "tool":
                results[m.get("tool_call_id") or ""] = str(m.get("content") or "")
        for call_id, call in self.calls.items():
            call["result"] = results.get(call_id)

    def known(self) -> dict[int, str]:
        return {**self.listed, **self.seen}


def _tasks_in(content: Any) -> list[dict[str, Any]]:
    try:
        data = json.loads(content) if isinstance(content, str) else None
    except ValueError:
        return []
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("id"), int) and isinstance(value.get("title"), str):
                found.append(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(data)
    return found


def _error(result: str | None) -> str | None:
    if result is None:
        return None
    try:
        data = json.loads(result)
    except ValueError:
        return None
    return data.get("error") if isinstance(data, dict) else None


class IntentModel:
    """``respond(body)`` → a ``Reply``; plans are registered per message text."""

    def __init__(self) -> None:
        self.plans: dict[str, list[Act]] = {}

    def respond(self, body: dict[str, Any]) -> Reply:
        conv = Conversation(body)
        plan = self.plans.get(conv.user_text)
        if plan is None:
            return Reply(text="Sorry, I did not understand that.")
        calls: list[dict[str, Any]] = []
        waiting = False  # a step needs a lookup result first
        notes: list[str] = []
        for index, act in enumerate(plan):
            state = self._step(conv, index, act)
            if state["status"] == "done":
                notes.append(state.get("note", ""))
                continue
            if state["status"] == "stop":  # declined, not found, ambiguous: tell the user
                return Reply(text=state["note"])
            calls.extend(state["calls"])
            if state["status"] == "lookup":
                waiting = True
        if calls:
            return Reply(calls=calls)
        if waiting:
            return Reply(text="Let me check.")
        return Reply(text=" ".join(n for n in notes if n) or "Done.")

    # -- one plan step ----------------------------------------------------------------
    def _step(self, conv: Conversation, index: int, act: Act) -> dict[str, Any]:
        mine = {cid: c for cid, c in conv.calls.items() if cid.startswith(f"call_{index}_")}
        answered = {cid: c for cid, c in mine.items() if c["result"] is not None}
        changes = {cid: c for cid, c in answered.items() if c["name"] not in LOOKUPS}
        for c in changes.values():
            err = _error(c["result"])
            if err and err.startswith("Not done"):
                return {"status": "stop", "note": "I did not do that: it was not approved."}
        ok = [c for c in changes.values() if not _error(c["result"])]
        failed = [c for c in changes.values() if _error(c["result"])]
        if act.kind in ("show", "answer", "clarify"):
            return self._question(conv, index, act, answered)
        if act.kind == "add":
            added = sum(len(_tasks_in(c["result"])) for c in ok)
            if added >= len(act.tasks):
                return {"status": "done", "note": _sentence(act)}
            if failed:
                return {
                    "status": "stop",
                    "note": f"I could not add that: {_error(failed[-1]['result'])}",
                }
            return {"status": "act", "calls": self._adds(conv, index, act)}
        if ok:
            return {"status": "done", "note": _sentence(act)}
        if len(failed) >= 2:
            return {"status": "stop", "note": f"That did not work: {_error(failed[-1]['result'])}"}
        if act.kind == "undo":
            return {"status": "act", "calls": [_call(index, "undo_last_change", {})]}
        if act.kind == "add":
            return {"status": "act", "calls": self._adds(conv, index, act)}
        # complete / reopen / delete / update: resolve each reference to an id.
        bad_ids = set()
        for c in failed:
            bad_ids |= {int(n) for n in re.findall(r"#(\d+)", _error(c["result"]) or "")}
        ids: list[int] = []
        lookups: list[dict[str, Any]] = []
        for r, ref in enumerate(act.refs):
            found = self._resolve(conv, ref, bad_ids, searched=_searched(answered, ref))
            if found == "search":
                lookups.append(
                    _call(
                        index,
                        "search_tasks",
                        {"text": ref, **({"include_done": True} if act.done_tasks else {})},
                        f"s{r}{len(mine)}",
                    )
                )
            elif found == "ambiguous":
                return {"status": "stop", "note": f"Which task do you mean by '{ref}'?"}
            elif found == "missing":
                return {"status": "stop", "note": f"I could not find a task called '{ref}'."}
            else:
                ids.append(int(found))
        if lookups:
            return {"status": "lookup", "calls": lookups}
        return {"status": "act", "calls": [self._change(index, act, ids, len(mine))]}

    def _resolve(self, conv: Conversation, ref: str, bad: set[int], searched: Any) -> Any:
        if searched is not None:  # this turn's search result for the name decides
            hits = [t for t in searched if _matches(ref, t["title"]) and t["id"] not in bad]
            if len(hits) == 1:
                return hits[0]["id"]
            return "ambiguous" if hits else "missing"
        shown = [i for i, title in conv.known().items() if _matches(ref, title) and i not in bad]
        if len(shown) == 1:
            return shown[0]
        if len(shown) > 1:
            return "ambiguous"
        return "search"

    def _adds(self, conv: Conversation, index: int, act: Act) -> list[dict[str, Any]]:
        if "add_tasks" in conv.tools and (len(act.tasks) > 1 or "add_task" not in conv.tools):
            return [_call(index, "add_tasks", {"tasks": act.tasks})]
        return [_call(index, "add_task", t, f"a{n}") for n, t in enumerate(act.tasks)]

    def _change(self, index: int, act: Act, ids: list[int], attempt: int) -> dict[str, Any]:
        tag = f"c{attempt}"
        if act.kind == "update":
            return _call(index, "update_task", {"task_id": ids[0], **act.fields}, tag)
        name = {"complete": "complete_tasks", "reopen": "reopen_tasks", "delete": "delete_tasks"}
        return _call(index, name[act.kind], {"ids": ids}, tag)

    def _question(
        self, conv: Conversation, index: int, act: Act, answered: dict[str, Any]
    ) -> dict[str, Any]:
        if act.kind == "clarify":
            hits = [t for t in conv.known().values() if _matches(act.refs[0], t)]
            if len(hits) > 1:
                return {"status": "stop", "note": f"Which one: {' or '.join(hits)}?"}
            if not hits and not answered:
                return {
                    "status": "lookup",
                    "calls": [_call(index, "search_tasks", {"text": act.refs[0]})],
                }
            return {"status": "stop", "note": "Which task do you mean?"}
        if act.kind == "show":
            if answered:  # asked again after the list came back: re-type it
                tasks = [t for c in answered.values() for t in _tasks_in(c["result"])]
                listing = "\n".join(
                    f"- #{t['id']} {t['title']}" + (f" (due {t['due']})" if t.get("due") else "")
                    for t in tasks
                )
                return {"status": "done", "note": listing or "Nothing matches."}
            name = "show_tasks" if "show_tasks" in conv.tools else _reader(conv)
            return {"status": "lookup", "calls": [_call(index, name, dict(act.filters))]}
        # answer: from the counts and list in the prompt when there are any
        if act.question == "count" and conv.counts:
            return {"status": "done", "note": f"You have {conv.counts.group(1)} open tasks."}
        if act.question == "first" and conv.listed:
            first = next(iter(conv.listed.items()))
            return {"status": "done", "note": f"Start with #{first[0]} {first[1]}."}
        if answered:
            tasks = [t for c in answered.values() for t in _tasks_in(c["result"])]
            more = sum(_more(c["result"]) for c in answered.values())
            if act.question == "count":
                return {"status": "done", "note": f"You have {len(tasks) + more} open tasks."}
            return {
                "status": "done",
                "note": f"Start with #{tasks[0]['id']} {tasks[0]['title']}."
                if tasks
                else "Nothing is open.",
            }
        sort = {"sort": "priority"} if act.question == "first" else {}
        return {"status": "lookup", "calls": [_call(index, _reader(conv), sort)]}


def _reader(conv: Conversation) -> str:
    """The tool that returns open tasks as data: ``list_tasks``, or a filter-only search."""
    return "list_tasks" if "list_tasks" in conv.tools else "search_tasks"


LOOKUPS = ("search_tasks", "list_tasks", "show_task", "show_tasks")


def _searched(answered: dict[str, Any], ref: str) -> list[dict[str, Any]] | None:
    for c in answered.values():
        if c["name"] == "search_tasks" and c["arguments"].get("text") == ref:
            return _tasks_in(c["result"])
    return None


def _more(result: str | None) -> int:
    try:
        data = json.loads(result or "")
    except ValueError:
        return 0
    return int(data.get("more") or 0) if isinstance(data, dict) else 0


def _call(index: int, name: str, arguments: dict[str, Any], tag: str = "0") -> dict[str, Any]:
    return {"name": name, "arguments": arguments, "id": f"call_{index}_{tag}_{name}"}


def _sentence(act: Act) -> str:
    if act.kind == "add":
        return "Added " + ", ".join(t["title"] for t in act.tasks) + "."
    if act.kind == "undo":
        return "Undone."
    verb = {
        "complete": "Completed",
        "reopen": "Reopened",
        "delete": "Deleted",
        "update": "Updated",
    }[act.kind]
    return f"{verb} {', '.join(act.refs)}."
