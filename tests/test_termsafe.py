"""The sanitiser for outside text on its own: what it removes, what it keeps."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from todo_cli.termsafe import clean, console, is_clean, json_text, one_line

FAMILY = "👨\u200d👩\u200d👧"  # one emoji made of three joined by zero-width joiners
FLAG = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # tag characters
KEPT = f"Buy milk 买牛奶 🎉 {FAMILY} {FLAG} e\u0301 ❤\ufe0f مرحبا שלום \u00a0x"


@pytest.mark.parametrize(
    ("raw", "multi", "single"),
    [
        ("a\x1b]0;PWNED\x07b", "ab", "ab"),  # OSC window title, BEL-terminated
        ("a\x1b]52;c;ZXZpbA==\x1b\\b", "ab", "ab"),  # OSC 52 clipboard write, ST-terminated
        ("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b", "alinkb", "alinkb"),  # hyperlink
        ("a\x1b[2J\x1b[31;1mb\x1b[0m", "ab", "ab"),  # CSI: clear screen, colours
        ("a\x1b[?1049hb", "ab", "ab"),  # CSI with a private parameter (alternate screen)
        ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab", "ab"),  # DCS (sixel)
        ("a\x1b_payload\x1b\\b\x1b^pm\x1b\\c\x1bXsos\x1b\\d", "abcd", "abcd"),  # APC, PM, SOS
        ("a\x1bcb\x1b7c\x1b(0d", "abcd", "abcd"),  # reset, save cursor, charset
        ("a\x9b31mb\x9d0;t\x07c\x90q\x9cd", "abcd", "abcd"),  # 8-bit C1 forms
        ("a\x1b]0;unterminated", "a0;unterminated", "a0;unterminated"),
        ("a\x1b", "a", "a"),  # a lone ESC at the end (a stream cut in the middle)
        ("a\x07\x08\x00\x7f\x85b", "a\nb", "a b"),  # BEL, BS, NUL, DEL, NEL
        ("a\rb\r\nc\x0bd\x0ce\u2028f\u2029g", "a\nb\nc\nd\ne\nf\ng", "a b c d e f g"),
        ("one\ttab\nline", "one\ttab\nline", "one tab line"),
        ("\u202eevil\u202c \u2066iso\u2069 \u200fx\u200e\u061c", "evil iso x", "evil iso x"),
        ("bad \ud800 byte", "bad \ufffd byte", "bad \ufffd byte"),
    ],
)
def test_neutralises_controls(raw: str, multi: str, single: str) -> None:
    assert clean(raw) == multi
    assert one_line(raw) == single
    assert is_clean(clean(raw)) and is_clean(one_line(raw), multiline=False)


def test_keeps_ordinary_unicode_untouched() -> None:
    assert clean(KEPT) is KEPT  # the fast path: nothing copied
    assert one_line(KEPT) is KEPT
    assert clean(f"{KEPT}\n\t{KEPT}") == f"{KEPT}\n\t{KEPT}"


def test_one_line_shrinks_white_space_only_when_it_had_to_clean() -> None:
    assert one_line("two  spaces") == "two  spaces"
    assert one_line("  a\n\n b  ") == "a b"


def test_the_ascii_fast_path_agrees_with_the_patterns() -> None:
    """Printable ASCII skips the patterns; every ASCII character, alone and in text, gets
    the answer the patterns give (they are compiled on first use, not at import)."""
    from todo_cli import termsafe

    patterns = termsafe._re
    for code in range(128):
        for text in (chr(code), f"buy {chr(code)} milk", chr(code) * 3):
            multi = patterns.unsafe_multiline.search(text) is None
            single = patterns.unsafe_one_line.search(text) is None
            assert is_clean(text) is multi and is_clean(text, multiline=False) is single, text
            assert (clean(text) is text) is multi and (one_line(text) is text) is single, text
            assert (json_text(text) == text) is (patterns.json_unsafe.search(text) is None)
    assert one_line("a\x7fb") == "ab" and json_text('"\x7f"') == '"\\u007f"'
    assert clean("tab\tand\nbreak") == "tab\tand\nbreak"  # not printable, yet clean


def test_importing_the_sanitiser_compiles_no_pattern() -> None:
    code = (
        "import todo_cli.termsafe as t\n"
        "assert not vars(t._re), vars(t._re)\n"
        "assert t.one_line('Buy milk') == 'Buy milk' and not vars(t._re)\n"
        "assert t.one_line('a\\x1b[2Jb') == 'ab' and vars(t._re)\n"
    )
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_json_text_is_the_same_json_with_terminal_controls_escaped() -> None:
    value = {"title": "x\x9b31m\u202ey\u2028z\x1b]0;t\x07", "emoji": KEPT}
    raw = json.dumps(value, ensure_ascii=False)
    out = json_text(raw)
    assert json.loads(out) == value
    assert "\x9b" not in out and "\u202e" not in out and "\u2028" not in out
    assert "\x1b" not in out and KEPT in out  # JSON escapes C0 itself; Unicode stays readable
    assert json_text(json.dumps({"a": KEPT}, ensure_ascii=False)) == json.dumps(
        {"a": KEPT}, ensure_ascii=False
    )


def test_safe_console_cleans_every_renderable_and_keeps_its_own_styling() -> None:
    buf = io.StringIO()
    out = console(file=buf, width=80, force_terminal=True, color_system="standard")
    evil = "x\x1b]0;PWNED\x07y\x9b2J"
    table = Table("a")
    table.add_row(evil)
    out.print(Text(evil, style="red"))
    out.print(f"[bold]{evil}[/]")
    out.print(Markdown(f"# {evil}\n\n[link]({evil})"))
    out.print(table)
    text = buf.getvalue()
    # Rich drops BEL itself (leaving an unterminated OSC) and may split a sequence over
    # styled segments: the console still lets no sequence through, only Rich's colours.
    assert "\x07" not in text and "\x9b" not in text
    assert re.sub(r"\x1b\[[0-9;]*m", "", text).count("\x1b") == 0
    assert "\x1b[31m" in text  # Rich's own colour codes stay
