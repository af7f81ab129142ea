"""`todo db copy`: move a list between the SQLite file and a PostgreSQL server.

Built on the store's public API only (query, completions, import_tasks), so it does not
care which backend is on which side. Tasks are matched by uuid: a task the other side has
is updated when the copied version is newer and left alone otherwise, so copying twice
changes nothing. What travels: every field of every task (pending and done, with its uuid,
timestamps, list and import extras), the past completions of repeating tasks, subtasks and
dependencies among the copied tasks. What does not: the undo journal (the copy is one undo
step on the receiving side) and deletions (a task deleted on one side is not deleted on the
other by a copy).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .dburl import is_postgres_url, mask_url
from .errors import TodoError, UsageError

if TYPE_CHECKING:
    from .config import Settings
    from .store import TaskStore

SQLITE_PREFIX = "sqlite:"


@dataclass(frozen=True)
class Place:
    """One side of a copy: a PostgreSQL URL, or an SQLite file."""

    url: str | None = field(default=None, repr=False)
    path: Path | None = None

    @property
    def backend(self) -> str:
        return "postgresql" if self.url else "sqlite"

    @property
    def shown(self) -> str:
        """For messages: the masked URL or the file's path."""
        if self.url:
            return mask_url(self.url)
        from .config import display_path

        return display_path(self.path or "")

    def same_as(self, other: Place) -> bool:
        if self.url or other.url:
            return bool(self.url and other.url) and _pg_key(self.url or "") == _pg_key(
                other.url or ""
            )
        assert self.path is not None and other.path is not None
        return self.path.expanduser().resolve() == other.path.expanduser().resolve()


def _pg_key(url: str) -> tuple[str, str]:
    from .store.pgconn import server_address

    database = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return server_address(url), database


def parse_place(text: str, settings: Settings) -> Place:
    """``postgresql://...`` (or ``postgres://``), ``sqlite`` (this machine's todo.db),
    ``sqlite:PATH`` or a path to an SQLite file."""
    text = text.strip()
    if not text:
        raise UsageError("Empty database given.", hint=_PLACE_HINT)
    if is_postgres_url(text):
        return Place(url=text)
    if "://" in text:
        raise UsageError(
            f"Not a database this can copy to or from: {mask_url(text)}.", hint=_PLACE_HINT
        )
    if text == "sqlite":
        return Place(path=settings.paths.db_file)
    if text.startswith(SQLITE_PREFIX):
        text = text[len(SQLITE_PREFIX) :]
        if not text:
            raise UsageError(
                "sqlite: needs a file path, e.g. sqlite:~/backup.db.", hint=_PLACE_HINT
            )
    return Place(path=Path(text).expanduser())


_PLACE_HINT = (
    "Give a postgresql://USER:PASSWORD@HOST:5432/DBNAME URL, `sqlite` (this machine's "
    "todo.db) or sqlite:PATH."
)


def current_place(settings: Settings) -> Place:
    """The store the settings choose (``database.url``, else this machine's todo.db)."""
    url = settings.database.url
    return Place(url=url) if url else Place(path=settings.paths.db_file)


def open_place(place: Place, settings: Settings, *, create: bool) -> TaskStore:
    """A store on ``place``; a missing SQLite file is created only when ``create``."""
    from .store import TaskStore

    if place.url:
        return TaskStore(
            place.url,
            tz=settings.tz,
            connect_timeout=settings.database.connect_timeout,
            statement_timeout=settings.database.statement_timeout,
        )
    assert place.path is not None
    if not create and not place.path.exists():
        from .errors import NotFoundError

        raise NotFoundError(
            f"No task database at {place.shown}.",
            hint="Check the path (`todo config path` shows this machine's).",
        )
    if create:
        from .config import make_private_dir

        make_private_dir(place.path.parent)
    return TaskStore(place.path, tz=settings.tz)


@dataclass
class CopyResult:
    source: Place
    target: Place
    lists: list[str]
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def line(self) -> str:
        what = f"list {self.lists[0]}" if len(self.lists) == 1 else f"{len(self.lists)} lists"
        return (
            f"Copied {what} from {self.source.shown} ({self.source.backend}) to "
            f"{self.target.shown} ({self.target.backend}): {self.added:,} added, "
            f"{self.updated:,} updated, {self.unchanged:,} unchanged."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": {"backend": self.source.backend, "location": self.source.shown},
            "to": {"backend": self.target.backend, "location": self.target.shown},
            "lists": self.lists,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def records_of(store: TaskStore, lists: list[str]) -> list[dict[str, Any]]:
    """Every task of ``lists`` as import records (our JSON export's shape, validated by
    its parser), with the past completions of repeating tasks."""
    from .interchange import ourjson
    from .interchange._common import JsonItems
    from .store import TaskQuery

    items: list[tuple[str, int, Any]] = []
    for name in lists:
        store.use_list(name)
        for task in store.query(TaskQuery(status=None, sort="id", limit=None)):
            data = task.to_dict()
            if task.done_count:
                with suppress(TodoError):
                    data["completions"] = store.completions(task.id)
            items.append((f"task #{task.id}", len(items) + 1, data))
    return ourjson.parse_items(JsonItems.of(items), tz=store.tz).records


def copy_tasks(
    source: TaskStore,
    target: TaskStore,
    *,
    lists: list[str],
    label: str,
    source_place: Place,
    target_place: Place,
) -> CopyResult:
    """Copy the tasks of ``lists`` from ``source`` into ``target`` (one undo step there)."""
    records = records_of(source, lists)
    result = CopyResult(source_place, target_place, lists)
    if not records:
        return result
    with target.group(label):
        done = target.import_tasks(records, keep_lists=True)
    result.added, result.updated = len(done.added), len(done.updated)
    result.unchanged = len(done.unchanged)
    return result
