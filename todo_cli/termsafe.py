"""Outside text made safe for a terminal: the one sanitiser every output path uses.

Task titles (typed, imported or written by the model), the model's answer and reasoning,
model catalogs, server error messages and file contents quoted in errors are data. Printed
raw, an escape sequence in them could set the window title, write the clipboard
(``ESC]52``), recolour or clear the screen, move the cursor over earlier output, or a bidi
override could make text read differently from what it is. ``clean`` keeps every ordinary
character, wide CJK and emoji sequences included (zero-width joiners, variation selectors,
tag characters), and neutralises the rest:

- escape sequences (CSI, OSC, DCS, SOS/PM/APC, two-character ESC sequences, and their
  8-bit C1 forms) are removed whole;
- other C0/C1 control characters and DEL are removed;
- bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069, LRM/RLM, ALM)
  are removed;
- lone surrogates (undecodable bytes) become U+FFFD;
- line breaks: with ``multiline`` they stay (CR LF, CR, VT, FF, NEL and U+2028/U+2029 become
  ``\\n``; tabs stay); without it they become spaces and runs of white space shrink to one
  (``one_line``).

Standard library only (the CLI's fast paths use it). ``console()`` builds a Rich console
that passes everything it prints through ``clean`` too, so a Rich path cannot forget it.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rich.console import Console
    from rich.segment import Segment

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BREAKS = "\r\x0b\x0c\x85\u2028\u2029"


class _Patterns:
    """The sanitiser's regular expressions, each compiled the first time it is used: the
    seven cost ~8 ms to compile, at the start of every command, and plain ASCII text
    (most titles) needs none of them."""

    @functools.cached_property
    def sequence(self) -> re.Pattern[str]:
        # A complete escape sequence: CSI, a string command (OSC, DCS, SOS, PM, APC) up to
        # its terminator (BEL or ST), or any other ESC sequence (intermediates, then one
        # final byte).
        return re.compile(
            r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
            r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
            r"|\x1b[ -/]*[0-~]"
        )

    # Anything a terminal could act on, for the fast "nothing to do" check.
    @functools.cached_property
    def unsafe_one_line(self) -> re.Pattern[str]:
        return re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")

    @functools.cached_property
    def unsafe_multiline(self) -> re.Pattern[str]:
        return re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")

    @functools.cached_property
    def line_break(self) -> re.Pattern[str]:
        return re.compile(f"\r\n|[{_BREAKS}]")

    @functools.cached_property
    def drop(self) -> re.Pattern[str]:
        return re.compile(f"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f{_BIDI}]")

    @functools.cached_property
    def surrogate(self) -> re.Pattern[str]:
        return re.compile("[\ud800-\udfff]")

    @functools.cached_property
    def json_unsafe(self) -> re.Pattern[str]:
        return re.compile(f"[\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")


_re = _Patterns()


def _plain(text: str) -> bool:
    """True for text of printable ASCII only (no control character, no tab or line break):
    nothing in it for ``clean`` or ``one_line`` to change, found without a pattern."""
    return text.isascii() and text.isprintable()


def clean(text: str, *, multiline: bool = True) -> str:
    """``text`` with nothing a terminal would execute (see the module docstring).

    ``multiline=False`` is ``one_line``.
    """
    if not multiline:
        return one_line(text)
    if _plain(text) or _re.unsafe_multiline.search(text) is None:
        return text
    text = _re.sequence.sub("", text)
    text = _re.line_break.sub("\n", text)
    text = _re.drop.sub("", text)
    return _re.surrogate.sub("\ufffd", text)


def one_line(text: str) -> str:
    """``text`` safe for one line of a terminal: escape sequences and control characters
    are removed, line breaks and tabs become spaces (runs of white space then shrink to
    one, and the ends are trimmed)."""
    if _plain(text) or _re.unsafe_one_line.search(text) is None:
        return text
    text = _re.sequence.sub("", text)
    text = _re.line_break.sub(" ", text).replace("\n", " ").replace("\t", " ")
    text = _re.drop.sub("", text)
    text = _re.surrogate.sub("\ufffd", text)
    return " ".join(text.split())


def is_clean(text: str, *, multiline: bool = True) -> bool:
    """True when ``clean`` would leave ``text`` as it is."""
    if _plain(text):
        return True
    pattern = _re.unsafe_multiline if multiline else _re.unsafe_one_line
    return pattern.search(text) is None


def json_text(text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with the characters JSON
    leaves raw but a terminal could act on (DEL, C1 controls, bidi controls, line
    separators, lone surrogates) written as ``\\uXXXX`` escapes: the same JSON values."""
    if (text.isascii() and "\x7f" not in text) or _re.json_unsafe.search(text) is None:
        return text  # in ASCII, DEL is the one such character (JSON escapes the C0 ones)
    return _re.json_unsafe.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# --------------------------------------------------------------------------- Rich


def console(**kwargs: Any) -> Console:
    """A Rich ``Console`` whose every printed text segment goes through ``clean``.

    Rich's own output (colours, cursor movement of a live view, hyperlinks it builds) is
    kept; only text, and hyperlink targets, are cleaned. Callers should still clean text
    before building renderables, so that widths are measured on what is shown.
    """
    return _safe_console_class()(**kwargs)


@functools.cache
def _safe_console_class() -> type[Console]:
    from rich.console import Console
    from rich.segment import Segment
    from rich.style import Style

    def cleaned(buffer: Iterable[Segment]) -> Iterable[Segment]:
        for segment in buffer:
            text, style, control = segment
            if control:
                yield segment
                continue
            link = style.link if style is not None else None
            if link and not is_clean(link, multiline=False):
                style = style + Style(link=one_line(link)) if style is not None else None
            elif is_clean(text):
                yield segment
                continue
            yield Segment(clean(text), style, control)

    class SafeConsole(Console):
        """A Rich console that never lets outside text reach the terminal raw."""

        def _render_buffer(self, buffer: Iterable[Segment]) -> str:
            return super()._render_buffer(cleaned(buffer))

    return SafeConsole
