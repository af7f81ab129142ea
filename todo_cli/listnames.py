"""Task list names: the default list and how a name is checked.

Standard library only, so the config registry and the CLI edges can validate a name without
opening the store. Names are case-insensitive and stored in lower case.
"""

from __future__ import annotations

import re

from .errors import UsageError

__all__ = ["DEFAULT_LIST", "MAX_LIST_NAME", "list_name_problem", "validate_list_name"]

DEFAULT_LIST = "default"
MAX_LIST_NAME = 64
# A letter or digit, then letters, digits, "-", "_" or "." (Unicode letters allowed).
_NAME = re.compile(r"[^\W_][\w.-]*")
_HINT = "Use letters, digits, '-', '_' or '.', starting with a letter or digit, e.g. work."


def list_name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid list name (one lower-case phrase), or None when it is."""
    if not isinstance(name, str):
        return f"a list name must be text, not {type(name).__name__}"
    text = name.strip()
    if not text:
        return "a list name cannot be empty"
    if len(text) > MAX_LIST_NAME:
        return f"a list name has at most {MAX_LIST_NAME} characters"
    if not _NAME.fullmatch(text):
        return f"'{_printable(text)}' is not a valid list name"
    return None


def validate_list_name(name: object) -> str:
    """The list name as stored (stripped, lower case); raises UsageError when invalid."""
    problem = list_name_problem(name)
    if problem is not None:
        raise UsageError(problem[0].upper() + problem[1:] + ".", hint=_HINT)
    assert isinstance(name, str)
    return name.strip().lower()


def _printable(text: str) -> str:
    """``text`` with control characters shown as escapes (it goes into an error line)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text[:MAX_LIST_NAME])
