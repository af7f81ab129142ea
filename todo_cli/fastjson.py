"""JSON text by orjson (several times quicker than the standard module on big imports and
undo journals), and by the standard module for what orjson does not take: NaN, numbers
past 64 bits, keys that are not text. orjson is loaded on first use, not at start-up."""

from __future__ import annotations

import functools
import json
from types import ModuleType
from typing import Any


@functools.cache
def orjson() -> ModuleType | None:
    """The orjson module, or None where it is not installed (a dependency, normally)."""
    try:
        import orjson as module
    except ImportError:  # pragma: no cover - the standard module still does the work
        return None
    return module


def dumps(value: Any) -> str:
    """``value`` as compact JSON text."""
    fast = orjson()
    if fast is not None:
        try:
            return fast.dumps(value).decode()  # type: ignore[no-any-return]
        except (TypeError, ValueError):
            pass
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Any:
    """JSON text read back (orjson refuses NaN and big numbers: the standard module reads
    them, and explains what is invalid)."""
    fast = orjson()
    if fast is not None:
        try:
            return fast.loads(text)
        except ValueError:
            pass
    return json.loads(text)
