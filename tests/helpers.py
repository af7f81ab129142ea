"""Small pieces shared by several test modules (``from helpers import ...``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class StubTask:
    """Stand-in with the fields of store.Task, for modules that never need the store."""

    id: int
    title: str
    notes: str | None = None
    status: str = "pending"
    priority: str = "none"
    due: str | None = None
    tags: list[str] = field(default_factory=list)
    project: str | None = None
    created_at: str = "2026-11-20T09:30:00-05:00"
    updated_at: str = "2026-11-21T10:00:00-05:00"
    completed_at: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


# The keys of ``Task.to_dict()`` (and of every task in ``--json`` output), in order.
TASK_FIELDS = [
    "id",
    "title",
    "notes",
    "status",
    "priority",
    "due",
    "tags",
    "project",
    "created_at",
    "updated_at",
    "completed_at",
]
