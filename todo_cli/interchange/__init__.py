"""Task import and export formats: our own JSON, Taskwarrior's JSON export and todo.txt.

Pure functions over plain data, no database: ``parse_tasks`` turns a file's text into
records for ``TaskStore.import_tasks`` (dicts with the keys of ``Task.to_dict()`` minus
``id``); ``format_tasks`` turns tasks into the text of a file. Every problem in the input is
a ``TodoError`` naming the source and the place ("tasks.txt line 7: ...", "tw.json record 3
(line 1): ..."), raised before anything is imported. One module per format:
``ourjson``, ``taskwarrior``, ``todotxt``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import tzinfo
from pathlib import PurePath
from typing import Any

from ..errors import UsageError
from . import ourjson, taskwarrior
from ._common import (
    JsonItems,
    LineError,
    ParsedImport,
    decode_text,
    first_json_object,
    local_tz,
    record_error,
)
from .ourjson import export_json, json_array
from .taskwarrior import export_taskwarrior
from .todotxt import export_todotxt, match_lines, parse_todotxt

__all__ = [
    "FORMATS",
    "IMPORT_FORMATS",
    "ParsedImport",
    "detect_format",
    "parse_tasks",
    "parse_todotxt",
    "match_lines",
    "import_report",
    "import_summary",
    "record_error",
    "decode_text",
    "format_tasks",
    "json_array",
    "export_json",
    "export_taskwarrior",
    "export_todotxt",
]

FORMATS = ("json", "taskwarrior", "todotxt")
IMPORT_FORMATS = ("auto", *FORMATS)


def detect_format(text: str, filename: str | None = None) -> str:
    """Guess the format of ``text``: "json", "taskwarrior" or "todotxt".

    A ``.txt`` file is todo.txt. Otherwise text starting with ``[`` or ``{`` is JSON: a list
    (or one object per line) of records with ``description`` is Taskwarrior's export, records
    with ``title`` are ours. Anything else is todo.txt.
    """
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if suffix == ".txt":
        return "todotxt"
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped.startswith(("[", "{")):
        if suffix in (".json", ".jsonl", ".ndjson"):
            return "json"  # let the JSON parser report what is wrong
        return "todotxt"
    first = first_json_object(stripped)
    if first is None:
        if suffix in (".json", ".jsonl", ".ndjson") or stripped.startswith(("[{", "[\n", "[]")):
            return "json"
        return "todotxt"
    if "description" in first and "title" not in first:
        return "taskwarrior"
    return "json"


def parse_tasks(
    text: str,
    fmt: str = "auto",
    *,
    source: str = "input",
    filename: str | None = None,
    tz: tzinfo | None = None,
    lazy: bool = False,
) -> ParsedImport:
    """Parse a whole file into import records; any bad record raises ``TodoError``.

    ``source`` names the input in error messages ("FILE line 7: ..."); ``tz`` is the user's
    zone, used to turn Taskwarrior's UTC stamps and todo.txt's plain dates into local times.
    ``lazy``: a format that can makes its records only as ``ParsedImport.stream`` is read
    (a bad record then raises there), so the import writes while the file is read.
    """
    if fmt not in IMPORT_FORMATS:
        raise UsageError(
            f"Unknown import format '{fmt}'.", hint=f"Use one of: {', '.join(IMPORT_FORMATS)}."
        )
    tz = tz or local_tz()
    if fmt == "auto":
        fmt = detect_format(text, filename)
    if fmt == "todotxt":
        return parse_todotxt(text, tz=tz, source=source)
    try:
        items = JsonItems(text)
    except LineError as exc:
        raise exc.to_error(source) from None
    try:
        if fmt == "taskwarrior":
            parsed = taskwarrior.parse_items(items, tz=tz, lazy=lazy)
            if parsed.incoming is not None:
                parsed.incoming = _placed(parsed.incoming, items, source)
            return parsed
        return ourjson.parse_items(items, tz=tz)
    except LineError as exc:
        raise exc.locate(items).to_error(source) from None


def _placed(
    records: Iterator[dict[str, Any]], items: JsonItems, source: str
) -> Iterator[dict[str, Any]]:
    """``records``, a bad one raising the ``TodoError`` that names its place."""
    try:
        yield from records
    except LineError as exc:
        raise exc.locate(items).to_error(source) from None


def format_tasks(
    tasks: Iterable[Any], fmt: str = "json", *, tz: tzinfo | None = None, all_lists: bool = False
) -> str:
    """Render tasks (objects with the ``Task`` fields) as the text of an export file.
    Taskwarrior and todo.txt name the list of a task not in the default one (``todo_list``,
    ``list:NAME``), with ``all_lists`` of every task; our JSON always does (``list``)."""
    tasks = list(tasks)
    tz = tz or local_tz()
    if fmt == "json":
        return export_json(tasks)
    if fmt == "taskwarrior":
        return export_taskwarrior(tasks, tz=tz, all_lists=all_lists)
    if fmt == "todotxt":
        return export_todotxt(tasks, tz=tz, all_lists=all_lists)
    raise UsageError(f"Unknown export format '{fmt}'.", hint=f"Use one of: {', '.join(FORMATS)}.")


def import_summary(parsed: ParsedImport, result: Any, source: str) -> dict[str, Any]:
    """What an import did, as one JSON object for scripts (counts by reason and by field;
    ``notes`` are the report's sentences about the file); ``import_report`` says it in
    words."""
    return {
        "source": source,
        "format": parsed.format,
        "added": len(result.added),
        "updated": len(result.updated),
        "unchanged": len(result.unchanged),
        "skipped": dict(parsed.skipped),
        "kept": dict(parsed.kept),
        "lost": dict(parsed.lossy),
        "links_left": dict(result.links_left),
        "notes": list(parsed.notes),
    }


def import_report(parsed: ParsedImport, result: Any, source: str) -> list[str]:
    """The lines `todo tasks import` prints: what was added, updated, left and skipped, and
    what came in that todo keeps only for export ("Tell, don't drop")."""
    done = import_summary(parsed, result, source)
    skipped = sum(done["skipped"].values())
    line = (
        f"Imported {source}: {done['added']:,} added, {done['updated']:,} updated,"
        f" {done['unchanged']:,} unchanged, {skipped:,} skipped"
    )
    if skipped:
        line += f" ({parsed.skipped_text()})"
    lines = [line + "."]
    if done["kept"]:
        lines.append(f"Kept as they came and written back on export: {parsed.kept_text()}.")
    for label, counts in (
        ("Could not be kept", done["lost"]),
        ("Links left out", done["links_left"]),
    ):
        if counts:
            lines.append(f"{label}: {', '.join(f'{name} {n:,}' for name, n in counts.items())}.")
    lines.extend(done["notes"])
    return lines
