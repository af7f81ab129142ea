"""Outside text coming in: command-line arguments, standard input, tool arguments.

Python carries bytes that are not valid UTF-8 (from a command line, or a ``\\udcff`` JSON
escape) as lone surrogates, which SQLite, TOML files and terminals refuse with a
UnicodeEncodeError deep inside. ``checked_text`` turns them into one clear UsageError at the
edge instead; ``read_stdin`` decodes standard input strictly and names the line; ``shown``
quotes a bad value in an error message (bad bytes as ``\\xNN``, one line, short).
Standard library only: the CLI checks its arguments with it before anything loads.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Any

from .errors import UsageError

ENCODING_HINT = "Check the terminal's or the file's character encoding (UTF-8 is expected)."


@functools.cache
def _surrogates() -> re.Pattern[str]:
    return re.compile("[\ud800-\udfff]")  # compiled on first use: ~1 ms at start-up


def has_bad_bytes(text: str) -> bool:
    """True when ``text`` carries bytes that were not valid UTF-8."""
    return not text.isascii() and _surrogates().search(text) is not None


def checked_text(value: str, what: str) -> str:
    """``value`` itself, or a UsageError when it holds bytes that were not valid UTF-8."""
    if has_bad_bytes(value):  # ASCII text skips the pattern
        raise UsageError(
            f"The {what} is not valid UTF-8 text: '{shown(value)}'.", hint=ENCODING_HINT
        )
    return value


def shown(value: Any, width: int = 40) -> str:
    """A value as an error message may quote it: bad bytes as \\xNN, one line, short."""
    from .termsafe import one_line

    text = str(value)
    if not text.isascii():
        text = _surrogates().sub(_byte, text)
    text = one_line(text)  # escape sequences go whole
    return text if len(text) <= width else text[: width - 1] + "…"


def _byte(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else "\\ufffd"


def check_argv(argv: list[str]) -> None:
    """A UsageError naming (by position: it may be a secret) the first command-line
    argument that is not valid UTF-8."""
    for position, arg in enumerate(argv, start=1):
        if has_bad_bytes(arg):
            raise UsageError(
                f"Argument {position} after `todo` is not valid UTF-8 text.", hint=ENCODING_HINT
            )


def read_stdin(what: str = "standard input") -> str:
    """All of standard input as text, decoded strictly as UTF-8 (a BOM is dropped);
    UsageError naming the line of the first byte that is not valid UTF-8."""
    stream = sys.stdin
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a text stream given by a test or an embedding program
        return checked_text(stream.read(), what)
    data = buffer.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(f"{what} line {line}: not valid UTF-8 text.", hint=ENCODING_HINT) from None
