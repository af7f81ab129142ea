"""Incremental markdown rendering: finished blocks render once, only the tail re-renders."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markdown import Markdown

from todo_cli.mdstream import BlockSplitter, MarkdownStream

REPLY = """# Plan

Here is a paragraph with **bold** and `code` that goes on long enough to wrap over lines.

- one
- two

1. first

2. second

```python
def f(x):

    return x + 1
```
After the fence.
## Heading
Final words.
"""


def _plain_console(width: int = 60) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, force_terminal=False, color_system=None), buf


def _terminal_console(width: int = 80, height: int = 30) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    console = Console(
        file=buf, width=width, height=height, force_terminal=True, color_system="truecolor"
    )
    return console, buf


def _stream(text: str, step: int, console: Console, **kw) -> MarkdownStream:  # noqa: ANN003
    stream = MarkdownStream(console, **kw).start()
    for i in range(0, len(text), step):
        stream.markdown(text[i : i + step])
        stream.tick()
    stream.close()
    return stream


def _squash(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


class _Clock:
    """A clock on which every reading is a second later (no throttling, no timing)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_splitter_finds_block_ends() -> None:
    s = BlockSplitter()
    s.feed("Para one\nstill one\n\nPara two")
    assert s.take() == ""  # the cut is known once the next block's first line is complete
    s.feed(" ends\n")
    assert s.take() == "Para one\nstill one\n\n"
    s.feed("```py\nx = 1\n\ny = 2\n")
    assert s.take() == "Para two ends\n"  # an opening fence ends the paragraph before it
    s.feed("```\nafter")
    assert s.take() == "```py\nx = 1\n\ny = 2\n```\n"  # blank lines inside a fence don't cut
    s.feed("\n  indented continuation\n")
    assert s.take() == ""
    s.feed("# Heading\nText\n")
    assert s.take() == "after\n  indented continuation\n# Heading\n"


def test_stream_matches_whole_document_render() -> None:
    console, buf = _plain_console()
    _stream(REPLY, 3, console)
    whole, whole_buf = _plain_console()
    whole.print(Markdown(REPLY))
    assert _squash(buf.getvalue()) == _squash(whole_buf.getvalue())


def test_each_finished_block_renders_once() -> None:
    console, _ = _plain_console()
    stream = _stream(REPLY, 1, console)
    # Not a terminal: no live tail, so only finished blocks (and the rest at close) render.
    assert stream.renders <= 8
    assert stream.text == REPLY


def test_terminal_renders_stay_bounded_as_the_reply_grows(monkeypatch) -> None:  # noqa: ANN001
    import todo_cli.mdstream as mdstream

    monkeypatch.setattr(mdstream.time, "monotonic", _Clock())
    paragraphs = [f"Paragraph {i}: " + "word " * 40 for i in range(24)]
    text = "\n\n".join(paragraphs)
    console, buf = _terminal_console()
    stream = MarkdownStream(console, min_interval=0).start()
    for word in text.split(" "):
        stream.markdown(word + " ")
    stream.close()
    out = buf.getvalue()
    for i in (0, 12, 23):
        assert f"Paragraph {i}:" in out
    # Every delta re-renders at most the unfinished paragraph, never the whole reply.
    assert stream.renders < len(text.split(" ")) + len(paragraphs) + 5
    # Redrawing the whole reply on each of these 1,000 deltas would write ~500x the text;
    # redrawing only the live tail stays within a small multiple.
    assert len(out) < 150 * len(text)


def test_long_tail_block_is_frozen_above_the_live_region(monkeypatch) -> None:  # noqa: ANN001
    import todo_cli.mdstream as mdstream

    monkeypatch.setattr(mdstream.time, "monotonic", _Clock())
    code = "```\n" + "".join(f"line {i}\n" for i in range(100))  # a code block that never ends
    console, buf = _terminal_console(height=24)
    stream = MarkdownStream(console, live_lines=6, min_interval=0).start()
    for line in code.splitlines(keepends=True):
        stream.markdown(line)
    assert len(stream._tail) <= 6  # the live region stays small
    assert stream._frozen >= 90  # the lines above it were printed for good
    stream.close()
    out = buf.getvalue()
    assert "line 0" in out and "line 99" in out


def test_reasoning_is_separate_and_before_the_answer() -> None:
    console, buf = _plain_console()
    stream = MarkdownStream(console).start()
    stream.reasoning("Thinking about\nthe question")
    stream.markdown("The **answer**.")
    stream.close()
    lines = [line.rstrip() for line in buf.getvalue().splitlines()]
    assert lines == ["Thinking about", "the question", "", "The answer."]


def test_print_flushes_text_first() -> None:
    console, buf = _plain_console()
    stream = MarkdownStream(console).start()
    stream.markdown("Adding it")
    stream.print("+ #1 Buy milk")
    stream.markdown("Done.")
    stream.close()
    assert _squash(buf.getvalue()) == "Adding it\n+ #1 Buy milk\nDone."


def test_growing_table_is_not_frozen(monkeypatch) -> None:  # noqa: ANN001
    import todo_cli.mdstream as mdstream

    monkeypatch.setattr(mdstream.time, "monotonic", _Clock())
    table = "| id | title |\n|---|---|\n" + "".join(f"| {i} | task {i} |\n" for i in range(20))
    console, buf = _terminal_console(height=24)
    stream = MarkdownStream(console, live_lines=6, min_interval=0).start()
    for line in table.splitlines(keepends=True):
        stream.markdown(line)
    assert stream._frozen == 0
    stream.markdown("| 20 | a much longer title than any before it |\n\nAfter.")
    stream.close()
    assert "a much longer title" in buf.getvalue()
