"""Deterministic task data for the benchmarks, and the same tasks in Taskwarrior's format.

Tasks look like a real list: short titles from a small vocabulary, notes on some, a spread
of priorities, due dates from a month ago to three months ahead (some with a time), zero to
three tags, a project on half of them. The same seed always gives the same tasks.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

VERBS = (
    "Call", "Email", "Buy", "Fix", "Review", "Write", "Plan", "Book", "Pay", "Clean",
    "Schedule", "Prepare", "Send", "Read", "Update", "Order", "Return", "Check", "Renew",
    "Organise",
)  # fmt: skip
OBJECTS = (
    "the plumber", "mom", "milk and eggs", "the bike tyre", "quarterly report", "blog post",
    "team offsite", "dentist appointment", "electricity bill", "garage", "dentist",
    "slides for Monday", "birthday card", "library books", "project roadmap", "passport",
    "car insurance", "garden shed", "pull request", "budget spreadsheet", "flight to Lisbon",
    "new laptop", "kitchen shelves", "tax return", "gym membership", "vet visit for Rex",
    "invoice 4411", "conference talk", "printer ink", "wedding gift",
)  # fmt: skip
QUALIFIERS = (
    "", "", "", "before Friday", "this week", "again", "with Sam", "for the trip",
    "after lunch", "online", "if it rains", "ASAP",
)  # fmt: skip
NOTE_WORDS = (
    "remember", "receipt", "ask", "about", "the", "price", "compare", "options", "deadline",
    "call", "back", "confirm", "address", "bring", "documents", "budget", "approved", "draft",
    "follow", "up", "waiting", "reply", "quote", "second", "opinion",
)  # fmt: skip
TAGS = ("work", "home", "errand", "urgent", "health", "finance", "reading", "family", "admin")
PROJECTS = ("house", "launch", "taxes", "trip", "garden", "blog", "car")
PRIORITIES = ("none", "low", "medium", "high")
PRIORITY_WEIGHTS = (50, 20, 20, 10)


def generate_tasks(n: int, *, seed: int = 42, today: date | None = None) -> list[dict[str, Any]]:
    """``n`` pending task records in the store's import shape (``Task.to_dict`` minus ``id``)."""
    rng = random.Random(seed)
    today = today or date.today()
    records: list[dict[str, Any]] = []
    for _ in range(n):
        title = f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(QUALIFIERS)}".strip()
        notes = None
        if rng.random() < 0.3:
            notes = " ".join(rng.choice(NOTE_WORDS) for _ in range(rng.randint(4, 14)))
        due = None
        if rng.random() < 0.6:
            day = today + timedelta(days=rng.randint(-30, 90))
            due = day.isoformat()
            if rng.random() < 0.25:
                due = f"{due}T{rng.choice((9, 10, 14, 17)):02d}:00:00+00:00"
        tags = sorted(rng.sample(TAGS, rng.choice((0, 0, 1, 1, 1, 2, 2, 3))))
        records.append(
            {
                "title": title,
                "notes": notes,
                "status": "pending",
                "priority": rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0],
                "due": due,
                "tags": tags,
                "project": rng.choice(PROJECTS) if rng.random() < 0.5 else None,
            }
        )
    return records


_TW_PRIORITY = {"high": "H", "medium": "M", "low": "L"}


def _tw_time(value: str | date | datetime) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def to_taskwarrior(records: list[dict[str, Any]], *, seed: int = 42) -> list[dict[str, Any]]:
    """The same tasks as Taskwarrior 2.6 `task import` JSON."""
    rng = random.Random(seed)
    entry = _tw_time(datetime.now(UTC))
    out: list[dict[str, Any]] = []
    for rec in records:
        task: dict[str, Any] = {
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "description": rec["title"],
            "status": "pending",
            "entry": entry,
            "modified": entry,
        }
        if rec.get("priority") in _TW_PRIORITY:
            task["priority"] = _TW_PRIORITY[rec["priority"]]
        if rec.get("project"):
            task["project"] = rec["project"]
        if rec.get("tags"):
            task["tags"] = list(rec["tags"])
        if rec.get("due"):
            task["due"] = _tw_time(rec["due"])
        if rec.get("notes"):
            task["annotations"] = [{"entry": entry, "description": rec["notes"]}]
        out.append(task)
    return out


def taskwarrior_export(
    n: int, *, seed: int = 42, today: date | None = None
) -> list[dict[str, Any]]:
    """``n`` records shaped like a real `task export`: every record its own entry and
    modified stamps over the past year, a fifth completed (with ``end``), annotations with
    their own stamps, a UDA (``estimate``) on some and a ``wait`` on a few."""
    rng = random.Random(seed)
    base = datetime.combine(today or date.today(), datetime.min.time(), tzinfo=UTC)
    out: list[dict[str, Any]] = []
    for rec, task in zip(
        generate_tasks(n, seed=seed, today=today),
        to_taskwarrior(generate_tasks(n, seed=seed, today=today), seed=seed),
        strict=True,
    ):
        entry = base - timedelta(seconds=rng.randint(3_600, 365 * 86_400))
        modified = entry + timedelta(seconds=rng.randint(0, 30 * 86_400))
        task["entry"], task["modified"] = _tw_time(entry), _tw_time(modified)
        if rng.random() < 0.2:
            task["status"] = "completed"
            task["end"] = task["modified"]
        if rec.get("notes"):
            task["annotations"] = [
                {"entry": _tw_time(entry + timedelta(seconds=i * 60)), "description": part}
                for i, part in enumerate(rec["notes"].split(" ", 1))
            ]
        if rng.random() < 0.5:
            task["estimate"] = str(rng.choice((15, 30, 60, 120)))
        if rng.random() < 0.05:
            task["wait"] = _tw_time(base + timedelta(days=rng.randint(1, 30)))
        out.append(task)
    return out
