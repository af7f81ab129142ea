"""Requests, tokens and time per user intent: a corpus of realistic requests, each with the
end state it must leave, run through `todo`'s real ``ChatSession`` against the local fake
server with a rule-based model behind it (``bench/intent_model.py``).

    uv run --group bench python -m bench.intents                     # this checkout
    uv run --group bench python -m bench.intents --root ../old-main  # another checkout
    uv run --group bench python -m bench --only intents              # as a bench section

Each intent runs on a fresh copy of a store (14 everyday tasks, or 500 for the intents
about tasks that are not in the prompt's list), one-shot style with every approval given
(like ``todo chat --yes``). Optional set-up messages run first in the same conversation
and are not counted. Per intent: model requests, prompt tokens (system message, history
and tool schemas of every request, counted with ``o200k_base``), completion tokens (what
the model emitted), and wall time with the server adding a fixed 300 ms before each
answer. An intent whose end state differs from the expected one is counted as wrong.

``--root DIR`` imports ``todo_cli`` from another checkout (e.g. a worktree of an older
commit) while the corpus, model and server stay the same: that is how the README's
"before" column was measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .intent_model import Act, IntentModel

LATENCY = 0.3  # seconds the server waits before each answer (a fast free model)
HERE = Path(__file__).resolve().parent


@dataclass
class Intent:
    message: str
    plan: list[Act]
    expect: dict[str, Any] = field(default_factory=dict)  # see ``check``
    store: str = "small"  # or "large" (500 tasks)
    setup: list[tuple[str, list[Act]]] = field(default_factory=list)
    what: str = ""  # the corpus category


def add(*titles: str, **fields: Any) -> Act:
    return Act("add", tasks=[{"title": t, **fields} for t in titles])


def act(kind: str, *refs: str, **kw: Any) -> Act:
    return Act(kind, refs=list(refs), **kw)


SMALL = [
    {"title": "Pay rent", "due": "2 days ago", "priority": "high"},
    {"title": "Call mom", "due": "friday 5pm", "tags": ["family"]},
    {"title": "Buy milk", "due": "tomorrow", "tags": ["errand"]},
    {"title": "Old newsletter"},
    {
        "title": "Write quarterly report",
        "due": "next monday",
        "priority": "medium",
        "project": "work",
    },
    {"title": "Book dentist appointment", "tags": ["health"]},
    {"title": "Renew car insurance", "due": "in 10 days"},
    {"title": "Read report from Anna", "project": "work"},
    {"title": "Water the plants", "status": "done"},
    {"title": "Fix the leaking tap", "due": "yesterday"},
    {"title": "Plan birthday party", "due": "in 20 days", "project": "family"},
    {"title": "Clean the garage", "priority": "low"},
    {"title": "Submit expense claim", "due": "today", "project": "work"},
    {"title": "Return library books", "due": "in 3 days"},
]
# Not in the prompt's list of a 500-task store: no due date, created long ago, low priority.
HIDDEN = ["Renew library card", "Sell old bike", "Repaint the fence"]


def corpus() -> list[Intent]:
    i = Intent
    return [
        # -- adds
        i(
            "add a task called renew passport",
            [add("Renew passport")],
            {"added": [{"title": "Renew passport"}]},
            what="one add",
        ),
        i(
            "remind me to buy stamps",
            [add("Buy stamps")],
            {"added": [{"title": "Buy stamps"}]},
            what="one add",
        ),
        i(
            "add call the plumber tomorrow",
            [add("Call the plumber", due="tomorrow")],
            {"added": [{"title": "Call the plumber", "due": "tomorrow"}]},
            what="add with due",
        ),
        i(
            "add pick up dry cleaning friday 5pm",
            [add("Pick up dry cleaning", due="friday 5pm")],
            {"added": [{"title": "Pick up dry cleaning", "due": "friday 5pm"}]},
            what="add with due",
        ),
        i(
            "add a high priority task: send the invoice",
            [add("Send the invoice", priority="high")],
            {"added": [{"title": "Send the invoice", "priority": "high"}]},
            what="add with priority",
        ),
        i(
            "add book flights to the travel project",
            [add("Book flights", project="travel")],
            {"added": [{"title": "Book flights", "project": "travel"}]},
            what="add with project",
        ),
        i(
            "add water the lawn, tagged home and garden",
            [add("Water the lawn", tags=["home", "garden"])],
            {"added": [{"title": "Water the lawn", "tags": ["home", "garden"]}]},
            what="add with tags",
        ),
        i(
            "add prepare slides for monday, high priority, work project",
            [add("Prepare slides", due="monday", priority="high", project="work")],
            {
                "added": [
                    {
                        "title": "Prepare slides",
                        "due": "monday",
                        "priority": "high",
                        "project": "work",
                    }
                ]
            },
            what="add with due, priority, project",
        ),
        i(
            "add pay the electricity bill on dec 15",
            [add("Pay the electricity bill", due="dec 15")],
            {"added": [{"title": "Pay the electricity bill", "due": "dec 15"}]},
            what="add with due",
        ),
        i(
            "add tasks: buy bread; call the bank; book flights",
            [add("Buy bread", "Call the bank", "Book flights")],
            {
                "added": [
                    {"title": "Buy bread"},
                    {"title": "Call the bank"},
                    {"title": "Book flights"},
                ]
            },
            what="several adds",
        ),
        i(
            "I need to email Sam, order a new charger and cancel the gym membership",
            [add("Email Sam", "Order a new charger", "Cancel the gym membership")],
            {
                "added": [
                    {"title": "Email Sam"},
                    {"title": "Order a new charger"},
                    {"title": "Cancel the gym membership"},
                ]
            },
            what="several adds",
        ),
        # -- complete, reopen, delete
        i(
            "mark pay rent as done",
            [act("complete", "pay rent")],
            {"changed": {"Pay rent": {"status": "done"}}},
            what="complete",
        ),
        i(
            "I bought the milk",
            [act("complete", "milk")],
            {"changed": {"Buy milk": {"status": "done"}}},
            what="complete",
        ),
        i(
            "done with the expense claim",
            [act("complete", "expense claim")],
            {"changed": {"Submit expense claim": {"status": "done"}}},
            what="complete",
        ),
        i(
            "finished fixing the tap and returned the library books",
            [act("complete", "tap", "library books")],
            {
                "changed": {
                    "Fix the leaking tap": {"status": "done"},
                    "Return library books": {"status": "done"},
                }
            },
            what="complete several",
        ),
        i(
            "reopen water the plants",
            [act("reopen", "water the plants", done_tasks=True)],
            {"changed": {"Water the plants": {"status": "pending"}}},
            what="reopen",
        ),
        i(
            "delete old newsletter",
            [act("delete", "old newsletter")],
            {"deleted": ["Old newsletter"]},
            what="delete",
        ),
        i(
            "remove the clean the garage task",
            [act("delete", "clean the garage")],
            {"deleted": ["Clean the garage"]},
            what="delete",
        ),
        # -- rename, move, change fields
        i(
            "rename buy milk to buy oat milk",
            [act("update", "buy milk", fields={"title": "Buy oat milk"})],
            {"changed": {"Buy milk": {"title": "Buy oat milk"}}},
            what="rename",
        ),
        i(
            "change the dentist task to: book dentist for a checkup",
            [act("update", "dentist", fields={"title": "Book dentist for a checkup"})],
            {"changed": {"Book dentist appointment": {"title": "Book dentist for a checkup"}}},
            what="rename",
        ),
        i(
            "move call mom to saturday",
            [act("update", "call mom", fields={"due": "saturday"})],
            {"changed": {"Call mom": {"due": "saturday"}}},
            what="move due",
        ),
        i(
            "push the quarterly report to next friday",
            [act("update", "quarterly report", fields={"due": "next friday"})],
            {"changed": {"Write quarterly report": {"due": "next friday"}}},
            what="move due",
        ),
        i(
            "the car insurance is due on dec 28",
            [act("update", "car insurance", fields={"due": "dec 28"})],
            {"changed": {"Renew car insurance": {"due": "dec 28"}}},
            what="move due",
        ),
        i(
            "make the garage task high priority",
            [act("update", "garage", fields={"priority": "high"})],
            {"changed": {"Clean the garage": {"priority": "high"}}},
            what="priority",
        ),
        i(
            "tag return library books as errand",
            [act("update", "library books", fields={"add_tags": ["errand"]})],
            {"changed": {"Return library books": {"tags": ["errand"]}}},
            what="tag",
        ),
        # -- questions
        i("what is overdue?", [Act("show", filters={"due": "overdue"})], what="question"),
        i("what's due this week?", [Act("show", filters={"due": "in 7 days"})], what="question"),
        i("what's due today?", [Act("show", filters={"due": "today"})], what="question"),
        i("list my tasks", [Act("show")], what="question"),
        i("show my work tasks", [Act("show", filters={"project": "work"})], what="question"),
        i("how many tasks are open?", [Act("answer", question="count")], what="question"),
        i("what should I do first?", [Act("answer", question="first")], what="question"),
        # -- undo (the change to undo is made first, in the same conversation)
        i(
            "undo that",
            [Act("undo")],
            {},
            setup=[("add buy stamps", [add("Buy stamps")])],
            what="undo",
        ),
        i(
            "oops, undo",
            [Act("undo")],
            {},
            setup=[("mark call mom as done", [act("complete", "call mom")])],
            what="undo",
        ),
        # -- two actions in one message
        i(
            "add call the plumber and mark pay rent done",
            [add("Call the plumber"), act("complete", "pay rent")],
            {"added": [{"title": "Call the plumber"}], "changed": {"Pay rent": {"status": "done"}}},
            what="two actions",
        ),
        i(
            "delete old newsletter and move buy milk to friday",
            [act("delete", "old newsletter"), act("update", "buy milk", fields={"due": "friday"})],
            {"deleted": ["Old newsletter"], "changed": {"Buy milk": {"due": "friday"}}},
            what="two actions",
        ),
        i(
            "complete the expense claim and add file the receipts for next week",
            [act("complete", "expense claim"), add("File the receipts", due="next week")],
            {
                "changed": {"Submit expense claim": {"status": "done"}},
                "added": [{"title": "File the receipts", "due": "next week"}],
            },
            what="two actions",
        ),
        # -- references
        i(
            "mark the report as done",
            [Act("clarify", refs=["report"])],
            {},
            what="ambiguous (asks)",
        ),
        i(
            "done with the report from Anna",
            [act("complete", "report from anna")],
            {"changed": {"Read report from Anna": {"status": "done"}}},
            what="reference",
        ),
        i(
            "make it high priority",
            [act("update", "renew passport", fields={"priority": "high"})],
            {"added": [{"title": "Renew passport", "priority": "high"}]},
            setup=[("add renew passport", [add("Renew passport")])],
            what="follow-up",
        ),
        # -- 500 tasks: tasks that are not in the list the prompt shows
        i(
            "mark renew library card as done",
            [act("complete", "renew library card")],
            {"changed": {"Renew library card": {"status": "done"}}},
            store="large",
            what="not in the shown list",
        ),
        i(
            "delete the sell old bike task",
            [act("delete", "sell old bike")],
            {"deleted": ["Sell old bike"]},
            store="large",
            what="not in the shown list",
        ),
        i(
            "move repaint the fence to saturday",
            [act("update", "repaint the fence", fields={"due": "saturday"})],
            {"changed": {"Repaint the fence": {"due": "saturday"}}},
            store="large",
            what="not in the shown list",
        ),
        i(
            "add a task called order printer ink",
            [add("Order printer ink")],
            {"added": [{"title": "Order printer ink"}]},
            store="large",
            what="one add (500)",
        ),
        i(
            "what is overdue?",
            [Act("show", filters={"due": "overdue"})],
            store="large",
            what="question (500)",
        ),
    ]


QUICK = (0, 9, 11, 16, 25, 30, 34, 40)  # a cross-section for --quick


# ---------------------------------------------------------------------- the stores


def seed_records(kind: str) -> list[dict[str, Any]]:
    if kind == "small":
        return [dict(r) for r in SMALL]
    from .data import generate_tasks

    filler = [r for r in generate_tasks(500 - len(SMALL) - len(HIDDEN), seed=9)]
    old = "2025-01-05T09:00:00+00:00"
    hidden = [{"title": t, "priority": "low", "created_at": old, "updated_at": old} for t in HIDDEN]
    return [dict(r) for r in SMALL] + hidden + filler


def make_home(base: Path, kind: str) -> Path:
    """A TODO_HOME whose store holds the ``kind`` records (dues given as phrases are parsed
    by the store, relative to now)."""
    from todo_cli.config import get_paths, load_settings
    from todo_cli.store import TaskStore

    home = base / f"seed-{kind}"
    db = get_paths(environ={"TODO_HOME": str(home)}).ensure().db_file
    os.environ["TODO_HOME"] = str(home)
    with TaskStore.open(load_settings(cwd=home)) as store:
        records = seed_records(kind)
        simple = [r for r in records if "created_at" not in r and r.get("status") != "done"]
        for r in simple:
            store.add(
                r["title"],
                due=r.get("due"),
                priority=r.get("priority", "none"),
                tags=tuple(r.get("tags") or ()),
                project=r.get("project"),
            )
        for r in records:
            if r.get("status") == "done":
                task = store.add(r["title"])
                store.complete([task.id])
        store.import_tasks([r for r in records if "created_at" in r])
    assert db.exists()
    return home


def snapshot(home: Path) -> dict[int, dict[str, Any]]:
    from todo_cli.config import load_settings
    from todo_cli.store import TaskQuery, TaskStore

    os.environ["TODO_HOME"] = str(home)
    with TaskStore.open(load_settings(cwd=home)) as store:
        return {
            t.id: {
                "title": t.title,
                "status": t.status,
                "due": t.due,
                "priority": t.priority,
                "tags": sorted(t.tags),
                "project": t.project,
            }
            for t in store.query(TaskQuery(status=None, limit=None))
        }


def _due_value(phrase: str, home: Path) -> str:
    from todo_cli import dates
    from todo_cli.config import load_settings

    return dates.parse_due(phrase, tz=load_settings(cwd=home).tz)


def check(intent: Intent, before: dict[int, Any], after: dict[int, Any], home: Path) -> str:
    """ "" when the end state is the expected one, else what differs."""
    expect = intent.expect
    by_title = {t["title"]: tid for tid, t in before.items()}
    want = {tid: dict(t) for tid, t in before.items()}
    for title in expect.get("deleted", []):
        want.pop(by_title[title])
    for title, fields in expect.get("changed", {}).items():
        tid = by_title[title]
        for key, value in fields.items():
            if key == "due":
                value = _due_value(value, home)
            if key == "tags":
                value = sorted(set(want[tid]["tags"]) | set(value))
            want[tid][key] = value
    added = [t for tid, t in after.items() if tid not in before]
    wanted_adds = expect.get("added", [])
    problems = []
    if len(added) != len(wanted_adds):
        problems.append(f"{len(added)} tasks added, expected {len(wanted_adds)}")
    for spec in wanted_adds:
        match = next((t for t in added if t["title"] == spec["title"]), None)
        if match is None:
            problems.append(f"no task {spec['title']!r} added")
            continue
        for key, value in spec.items():
            if key == "due":
                value = _due_value(value, home)
            if key == "tags":
                value = sorted(value)
            if match.get(key) != value:
                problems.append(f"{spec['title']}: {key} {match.get(key)!r}, expected {value!r}")
    kept = {tid: t for tid, t in after.items() if tid in before}
    if kept != {tid: t for tid, t in want.items()}:
        diff = [
            f"#{tid} {want.get(tid)} -> {kept.get(tid)}"
            for tid in set(kept) | set(want)
            if kept.get(tid) != want.get(tid)
        ]
        problems.append("; ".join(diff[:3]))
    return "; ".join(problems)


# ---------------------------------------------------------------------- running


@dataclass
class Outcome:
    message: str
    what: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    wrong: str


def run_corpus(
    intents: list[Intent], *, latency: float = LATENCY, verbose: bool = False
) -> list[Outcome]:
    """Every intent on a fresh copy of its store; returns one ``Outcome`` each."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    import fakeserver  # type: ignore[import-not-found]

    from .tokens import counter

    count, _method, _exact = counter()
    model = IntentModel()
    server = fakeserver.FakeServer().start()
    completions: list[int] = []

    def respond(rec: Any) -> Any:
        reply = model.respond(rec.body or {})
        completion = count(reply.completion_text())
        completions.append(completion)
        prompt = _prompt_tokens(rec.body or {}, count)
        spec = {
            **reply.spec(),
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "first_delay": latency,
        }
        return fakeserver.spec_to_scripted(spec)

    server.responder = respond
    base = Path(tempfile.mkdtemp(prefix="todo-intents-"))
    saved = {
        k: os.environ.get(k)
        for k in (
            "TODO_HOME",
            "OPENROUTER_BASE_URL",
            "OPENROUTER_API_KEY",
            "OPENROUTER_DEFAULT_MODEL",
        )
    }
    os.environ.update(
        OPENROUTER_BASE_URL=server.url,
        OPENROUTER_API_KEY="sk-or-v1-bench",
        OPENROUTER_DEFAULT_MODEL="openai/gpt-oss-20b:free",
    )
    try:
        seeds = {kind: make_home(base, kind) for kind in {it.store for it in intents}}
        outcomes = []
        for n, intent in enumerate(intents):
            home = base / f"run-{n}"
            shutil.copytree(seeds[intent.store], home)
            for message, plan in intent.setup:
                model.plans[message] = plan
            model.plans[intent.message] = intent.plan
            outcome = _run_one(intent, home, server, count, completions)
            outcomes.append(outcome)
            if verbose:
                flag = f"  WRONG: {outcome.wrong}" if outcome.wrong else ""
                print(
                    f"{outcome.requests} req {outcome.prompt_tokens:6} in "
                    f"{outcome.completion_tokens:4} out {outcome.seconds:5.2f} s  "
                    f"{intent.message}{flag}",
                    file=sys.stderr,
                )
        return outcomes
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(base, ignore_errors=True)


def _prompt_tokens(body: dict[str, Any], count: Any) -> int:
    total = count(json.dumps(body.get("tools") or [], separators=(",", ":")))
    for m in body.get("messages") or []:
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        total += 4 + count(str(content or ""))  # ~4 tokens of message framing
        if m.get("tool_calls"):
            total += count(json.dumps(m["tool_calls"], separators=(",", ":")))
    return total


def _run_one(intent: Intent, home: Path, server: Any, count: Any, completions: list[int]):
    from todo_cli.agent import ChatSession
    from todo_cli.config import load_settings

    os.environ["TODO_HOME"] = str(home)
    settings = load_settings(cwd=home)

    async def yes(_request: Any) -> bool:
        return True

    async def go() -> tuple[int, int, int, float]:
        session = ChatSession(settings, provider="openrouter")
        try:
            for message, _plan in intent.setup:
                async for _ in session.stream_turn(message, approve=yes):
                    pass
            before_requests = len(server.chat_requests)
            before_completions = len(completions)
            started = time.perf_counter()
            async for _ in session.stream_turn(intent.message, approve=yes):
                pass
            seconds = time.perf_counter() - started
            requests = server.chat_requests[before_requests:]
            prompt = sum(_prompt_tokens(r.body or {}, count) for r in requests)
            completion = sum(completions[before_completions:])
            return len(requests), prompt, completion, seconds
        finally:
            await session.aclose()

    # Expected states are relative to the store before any set-up turn: an undo must get
    # back to it, a follow-up's task is among the expected adds.
    start_state = snapshot(home)
    requests, prompt, completion, seconds = asyncio.run(go())
    wrong = check(intent, start_state, snapshot(home), home)
    return Outcome(intent.message, intent.what, requests, prompt, completion, seconds, wrong)


# ---------------------------------------------------------------------- figures


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    def stats(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
        return {"median": statistics.median(values), "mean": statistics.fmean(values), "p90": p90}

    return {
        "intents": len(outcomes),
        "wrong": [o.message for o in outcomes if o.wrong],
        "requests": stats([o.requests for o in outcomes]),
        "prompt_tokens": stats([o.prompt_tokens for o in outcomes]),
        "completion_tokens": stats([o.completion_tokens for o in outcomes]),
        "seconds": stats([o.seconds for o in outcomes]),
        "per_intent": [o.__dict__ for o in outcomes],
    }


def run_in_checkout(root: Path | None, *, quick: bool, latency: float) -> dict[str, Any]:
    """Run the corpus in a child process that imports ``todo_cli`` from ``root`` (default:
    this checkout)."""
    cmd = [sys.executable, "-m", "bench.intents", "--emit-json", "--latency", str(latency)]
    if quick:
        cmd.append("--quick")
    if root is not None:
        cmd += ["--root", str(root)]
    proc = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"intent corpus failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.intents")
    parser.add_argument("--root", type=Path, help="import todo_cli from this checkout")
    parser.add_argument("--quick", action="store_true", help=f"{len(QUICK)} intents only")
    parser.add_argument("--latency", type=float, default=LATENCY)
    parser.add_argument("--emit-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.root is not None:
        # This package is imported already; ``todo_cli`` now comes from the other checkout.
        for name in [m for m in sys.modules if m == "todo_cli" or m.startswith("todo_cli.")]:
            del sys.modules[name]
        sys.path.insert(0, str(args.root.resolve()))
    intents = corpus()
    if args.quick:
        intents = [intents[n] for n in QUICK]
    import todo_cli

    outcomes = run_corpus(intents, latency=args.latency, verbose=not args.emit_json)
    doc = summary(outcomes)
    doc["todo_cli"] = str(Path(todo_cli.__file__).resolve().parent)
    from .tokens import counter

    doc["counted_with"] = counter()[1]
    doc["latency"] = args.latency
    print(json.dumps(doc, indent=None if args.emit_json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())


# ---------------------------------------------------------------------- bench section

BEFORE_FILE = HERE / "intents_before.json"
GOAL_MEAN_REQUESTS = 1.3
GOAL_PROMPT_SHARE = 0.6


def run(ctx: Any) -> list[Any]:
    """The ``intents`` section of ``python -m bench``.

    After: this checkout, in a child process. Before: ``TODO_BENCH_BEFORE=DIR`` runs the
    same corpus against the checkout in DIR; without it, the figures recorded in
    ``bench/intents_before.json`` (whose commit and date they carry) are shown.
    ``--quick`` runs a cross-section with no added latency and no "before".
    """
    from .harness import Figure

    latency = 0.0 if ctx.quick else LATENCY
    ctx.log(
        f"{len(QUICK) if ctx.quick else len(corpus())} intents, {latency * 1000:.0f} ms per request"
    )
    after = run_in_checkout(None, quick=ctx.quick, latency=latency)
    before: dict[str, Any] | None = None
    source = ""
    if not ctx.quick:
        root = os.environ.get("TODO_BENCH_BEFORE")
        if root:
            ctx.log(f"the same corpus against {root}")
            before = run_in_checkout(Path(root), quick=False, latency=latency)
            before["measured"] = "in this run"
            source = f"{root}, in this run"
        elif BEFORE_FILE.exists():
            before = json.loads(BEFORE_FILE.read_text(encoding="utf-8"))
            source = f"recorded {before.get('recorded', '?')} at commit {before.get('commit', '?')}"
    figures = []
    n = after["intents"]
    for key, label, unit, scale in (
        ("requests", "model requests per intent", "", 1),
        ("prompt_tokens", "prompt tokens per intent", "tokens", 1),
        ("completion_tokens", "completion tokens per intent", "tokens", 1),
        ("seconds", "wall time per intent (300 ms per request)", "s", 1),
    ):
        if key == "seconds" and ctx.quick:
            label = "wall time per intent (no added latency)"
        for stat in ("median", "mean", "p90"):
            value = after[key][stat] * scale
            ref = before[key][stat] if before else None
            target, met = _goal(key, stat, value, ref)
            figures.append(
                Figure(
                    f"intents.{key}.{stat}",
                    f"{label}, {stat} ({n} intents)",
                    round(value, 3 if unit == "s" else 2),
                    unit,
                    target=target,
                    reference=None if ref is None else f"before: {_fmt(ref, unit)}",
                    ratio=None if not ref else f"{value / ref:.0%} of before",
                    met=met,
                    note=(
                        f"before: {source}"
                        if before and key == "requests" and stat == "median"
                        else None
                    ),
                )
            )
    wrong = after["wrong"]
    figures.append(spinner_figure(ctx))
    figures.append(
        Figure(
            "intents.wrong",
            f"intents ending in a wrong state ({n} intents)",
            len(wrong),
            "",
            target="0",
            reference=None if not before else f"before: {len(before['wrong'])}",
            met=not wrong,
            note="; ".join(wrong) or None,
        )
    )
    return figures


def _goal(key: str, stat: str, value: float, ref: float | None) -> tuple[str | None, bool | None]:
    if key == "requests" and stat == "median":
        return "1", value <= 1
    if key == "requests" and stat == "mean":
        return f"≤ {GOAL_MEAN_REQUESTS}", value <= GOAL_MEAN_REQUESTS
    if key == "prompt_tokens" and stat == "mean" and ref:
        return f"≤ {GOAL_PROMPT_SHARE:.0%} of before", value <= GOAL_PROMPT_SHARE * ref
    return None, None


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "tokens":
        return f"{value:,.0f} tokens"
    return f"{value:.3g}"


def spinner_figure(ctx: Any) -> Any:
    """How soon a one-shot `todo chat` on a terminal draws its first spinner frame, next to
    `todo --help` (the floor of any `todo` command) measured the same way, alternating."""
    from .harness import Figure, unavailable

    try:
        import pty  # noqa: F401
    except ImportError:
        return unavailable("intents.spinner", "one-shot chat: first spinner frame", "no pty")
    sys.path.insert(0, str(HERE.parent / "tests"))
    import fakeserver  # type: ignore[import-not-found]

    server = fakeserver.FakeServer().start()
    server.default = fakeserver.build_stream(text="Hello.")
    home = Path(tempfile.mkdtemp(prefix="todo-spinner-"))
    env = dict(
        os.environ,
        TODO_HOME=str(home),
        OPENROUTER_BASE_URL=server.url,
        OPENROUTER_API_KEY="sk-or-v1-bench",
        TERM="xterm-256color",
    )
    frames, helps = [], []
    try:
        for _ in range(ctx.runs):
            frames.append(_on_pty([sys.executable, "-m", "todo_cli", "chat", "hi"], env, "⠋"))
            helps.append(_on_pty([sys.executable, "-m", "todo_cli", "--help"], env, None))
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    frame, help_ = statistics.median(frames), statistics.median(helps)
    return Figure(
        "intents.spinner",
        "one-shot todo chat on a terminal: first spinner frame",
        round(frame, 3),
        "s",
        target="≤ 0.2 s",
        reference=f"todo --help {help_:.3f} s",
        ratio=f"{frame / help_:.2f}x --help" if help_ else None,
        met=frame <= 0.2,
        note="time from launch to the first frame on the pty; --help's is its whole run",
    )


def _on_pty(argv: list[str], env: dict[str, str], marker: str | None) -> float:
    """Seconds from launch until ``marker`` shows on the pty (None: until the process ends)."""
    import pty
    import select

    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its terminal
        os.chdir(HERE.parent)
        os.execvpe(argv[0], argv, env)
    seen: float | None = None
    out = b""
    want = marker.encode() if marker else None
    while True:
        ready, _, _ = select.select([fd], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if want is not None and want in out:
            seen = time.perf_counter() - started
            os.kill(pid, signal.SIGTERM)  # the rest of the turn is not measured here
            break
    os.waitpid(pid, 0)
    os.close(fd)
    return seen if seen is not None else time.perf_counter() - started
