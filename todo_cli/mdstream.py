"""Incremental rendering of a streamed reply: markdown that never re-renders what is done.

A reply arrives a few characters at a time. Re-rendering the whole reply on every delta
costs O(n) per delta (O(n²) per reply) and makes the terminal flicker. ``MarkdownStream``
instead splits the text into *blocks* (paragraphs, lists, headings, code fences) as soon as
they are complete, renders each finished block exactly once and prints it to the normal
scrollback. Only the unfinished trailing block is rendered again, throttled, into a small
live region at the bottom of the screen (a ``rich.live.Live``). When that trailing block
grows taller than the live region, its upper lines are printed as stable too, so the live
region stays a handful of lines whatever the reply's length.

The live region also carries a spinner ("thinking…") while nothing has arrived yet, and
reasoning text can be streamed dim in the same way. Everything runs on the caller's thread;
call ``tick()`` periodically (the REPL does it every 50 ms) to animate the spinner and
render a tail that was throttled.

On a console that is not a terminal (tests, pipes) nothing is live: finished blocks are
printed as they complete and the tail at ``close()``.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from .termsafe import clean

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.segment import Segment

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING_RE = re.compile(r"^ {0,3}#{1,6}(\s|$)")

MARKDOWN = "markdown"
REASONING = "reasoning"


class _Lines:
    """A renderable made of lines that were rendered already (printing them is cheap)."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        new_line = Segment.line()
        for line in self.lines:
            yield from line
            yield new_line


class BlockSplitter:
    """Finds where complete markdown blocks end in a growing text.

    ``feed(text)`` appends text; ``cut`` is then the offset (into everything fed since the
    last ``take()``) up to which the text consists of complete blocks, i.e. the rest cannot
    change how that part renders. A block ends at a blank line followed by an unindented
    line, after a closing code fence, before an opening code fence and around ATX headings.
    """

    def __init__(self) -> None:
        self.text = ""
        self.cut = 0
        self._scan = 0  # offset of the first line not yet examined
        self._fence: str | None = None  # the open fence's marker, e.g. "```"
        self._blank = False  # a blank line was seen since the last content line

    def feed(self, text: str) -> None:
        self.text += text
        pos = self._scan
        while True:
            nl = self.text.find("\n", pos)
            if nl < 0:
                break
            self._line(self.text[pos:nl], pos, nl + 1)
            pos = nl + 1
        self._scan = pos

    def take(self) -> str:
        """Remove and return the complete blocks found so far."""
        done, self.text = self.text[: self.cut], self.text[self.cut :]
        self._scan -= self.cut
        self.cut = 0
        return done

    def _has_content(self, start: int) -> bool:
        return bool(self.text[self.cut : start].strip())

    def _line(self, line: str, start: int, end: int) -> None:
        if self._fence is not None:
            stripped = line.strip()
            if stripped.startswith(self._fence) and not stripped.strip(self._fence[0]):
                self._fence = None
                self.cut = end
                self._blank = False
            return
        if not line.strip():
            self._blank = True
            return
        fence = _FENCE_RE.match(line)
        if fence:
            if self._has_content(start):
                self.cut = start
            self._fence = fence.group(1)
        elif _HEADING_RE.match(line):
            if self._has_content(start):
                self.cut = start
            self.cut = end
        elif self._blank and not line[0].isspace() and self._has_content(start):
            self.cut = start
        self._blank = False


class MarkdownStream:
    """Live view of one streamed turn: markdown answer, dim reasoning, status spinner.

    Args:
        console: the Rich console to print to.
        live_lines: height of the live region (default: a third of the terminal, 6..15).
        min_interval: shortest time between two renders of the unfinished tail, in seconds;
            it grows automatically when rendering gets slow.
        code_theme: Pygments theme for code blocks.
    """

    def __init__(
        self,
        console: Console,
        *,
        live_lines: int | None = None,
        min_interval: float = 1 / 20,
        code_theme: str = "monokai",
    ) -> None:
        self.console = console
        self.code_theme = code_theme
        height = console.size.height or 24
        self.live_lines = live_lines or max(6, min(15, height // 3))
        self.min_interval = min_interval
        self._interval = min_interval
        self._live: Any = None
        self._interactive = console.is_terminal and not console.is_dumb_terminal
        self._kind: str | None = None  # MARKDOWN or REASONING: what the splitter holds
        self._splitter = BlockSplitter()
        self._printed_blocks = 0  # markdown chunks printed in this segment
        self._frozen = 0  # lines of the current tail already printed as stable
        self._tail: list[list[Segment]] = []
        self._dirty = False
        self._last_render = 0.0
        self._status: str | None = None
        self._status_since = 0.0
        self._spinner: Any = None
        self.render_seconds = 0.0  # total time spent rendering (for measurements)
        self.renders = 0  # number of markdown/text renders
        self.text = ""  # all answer text seen

    # -- public API ---------------------------------------------------------------------

    def start(self, status: str | None = "thinking…") -> MarkdownStream:
        """Start the live region (on a terminal), showing a spinner with ``status``."""
        self._status = status
        self._status_since = time.monotonic()
        if self._interactive and self._live is None:
            from rich.live import Live

            self._live = Live(
                console=self.console,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
                get_renderable=self._live_renderable,
            )
            self._live.start(refresh=True)
        return self

    def status(self, text: str | None) -> None:
        """Show a spinner with ``text`` under the live tail (None hides it)."""
        if text != self._status:
            self._status = text
            self._status_since = time.monotonic()
            self._refresh()

    def markdown(self, delta: str) -> None:
        """Append answer text (markdown)."""
        self.text += delta
        self._append(MARKDOWN, delta)

    def reasoning(self, delta: str) -> None:
        """Append reasoning text (shown dim, not as markdown)."""
        self._append(REASONING, delta)

    def print(self, renderable: RenderableType = "", **kwargs: Any) -> None:
        """Finish the current text segment and print ``renderable`` after it."""
        self.flush()
        if self._live is not None:
            live_render = getattr(self._live, "_live_render", None)
            if live_render is not None:
                live_render.set_renderable(self._live_renderable())
        self.console.print(renderable, **kwargs)

    def flush(self) -> None:
        """Render everything pending as final (the next text starts a new segment)."""
        kind = self._kind
        if kind is None:
            return
        rest = self._splitter.text
        if rest.strip():
            self._print_stable(kind, rest, final=True)
        self._splitter = BlockSplitter()
        self._kind = None
        self._printed_blocks = 0
        self._frozen = 0
        self._tail = []
        self._dirty = False
        self._refresh()

    def tick(self) -> None:
        """Render a throttled tail and animate the spinner; call it every few 10 ms."""
        if self._dirty and time.monotonic() - self._last_render >= self._interval:
            self._render_tail()
            self._refresh()
        elif self._status:
            self._refresh()  # animate the spinner

    def close(self) -> None:
        """Flush what is pending and stop the live region."""
        self._status = None
        self.flush()
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __enter__(self) -> MarkdownStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------

    def _append(self, kind: str, delta: str) -> None:
        if not delta:
            return
        if self._kind is not None and self._kind != kind:
            self.flush()
            self._printed_blocks = 1  # a blank line between reasoning and the answer
        if self._kind is None:
            if not delta.strip() and not self._splitter.text:
                return  # leading whitespace of a segment
            self._kind = kind
        splitter = self._splitter
        if kind == MARKDOWN:
            splitter.feed(delta)
        else:
            splitter.text += delta
            splitter.cut = splitter.text.rfind("\n") + 1
        if splitter.cut:
            done = splitter.take()
            if done.strip():
                self._print_stable(kind, done, final=False)
        if splitter.text.strip():
            self._dirty = True
            if time.monotonic() - self._last_render >= self._interval:
                self._render_tail()
                self._refresh()
        elif self._tail:
            self._tail = []
            self._refresh()

    def _renderable(self, kind: str, text: str) -> RenderableType:
        text = clean(text)  # the model's text: no escape sequence reaches the terminal
        if kind == MARKDOWN:
            from rich.markdown import Markdown

            return Markdown(text, code_theme=self.code_theme)
        from rich.text import Text

        return Text(text.strip("\n"), style="dim italic")

    def _render_lines(self, kind: str, text: str) -> list[list[Segment]]:
        began = time.perf_counter()
        lines = self.console.render_lines(
            self._renderable(kind, text), self.console.options, pad=False
        )
        # Rich opens some blocks (lists) with an empty line; spacing is ours to add.
        while lines and not any(seg.text for seg in lines[-1]):
            lines.pop()
        while lines and not any(seg.text for seg in lines[0]):
            del lines[0]
        self.render_seconds += time.perf_counter() - began
        self.renders += 1
        return lines

    def _print_stable(self, kind: str, text: str, *, final: bool) -> None:
        """Print finished text once; skip the lines the live tail already froze."""
        lines = self._render_lines(kind, text)
        lines = lines[self._frozen :]
        if kind == MARKDOWN and self._printed_blocks and not self._frozen:
            lines.insert(0, [])  # blank line between blocks, as in a rendered document
        self._frozen = 0
        self._tail = []
        self._dirty = False
        if lines:
            self._print_lines(lines)
        self._printed_blocks += 1

    def _render_tail(self) -> None:
        kind = self._kind
        text = self._splitter.text
        self._last_render = time.monotonic()
        self._dirty = False
        if kind is None or not text.strip() or not self._interactive:
            self._tail = []
            return
        began = time.perf_counter()
        lines = self._render_lines(kind, text)
        # Keep the live region short: lines above it are printed for good. Paragraphs,
        # lists and code wrap greedily, so those upper lines no longer change; a table's
        # columns may still widen, so a growing table stays live until it is complete.
        overflow = len(lines) - self.live_lines
        is_table = kind == MARKDOWN and text.lstrip().startswith("|")
        if overflow > self._frozen and not is_table:
            frozen = lines[self._frozen : overflow]
            if kind == MARKDOWN and self._printed_blocks and not self._frozen:
                frozen.insert(0, [])
                self._printed_blocks = 0  # the separator is out
            self._tail = lines[overflow:]
            self._frozen = overflow
            self._print_lines(frozen)
        self._tail = lines[self._frozen :]
        cost = time.perf_counter() - began
        self._interval = min(max(self.min_interval, cost * 5), 1.0)

    def _live_renderable(self) -> RenderableType:
        from rich.console import Group

        parts: list[Any] = []
        if self._tail:
            if self._kind == MARKDOWN and self._printed_blocks and not self._frozen:
                parts.append(_Lines([[]]))
            parts.append(_Lines(self._tail))
        if self._status:
            if self._spinner is None:
                from rich.spinner import Spinner

                self._spinner = Spinner("dots", style="cyan")
            waited = time.monotonic() - self._status_since
            shown = self._status if waited < 3 else f"{self._status} {waited:.0f}s"
            self._spinner.update(text=f"[dim]{shown}[/]")
            parts.append(self._spinner)
        return Group(*parts)

    def _print_lines(self, lines: list[list[Segment]]) -> None:
        live = self._live
        if live is not None:
            # Printing redraws the live region below the new lines: give it the current
            # content first, so the old tail is not drawn once more under its own copy.
            live_render = getattr(live, "_live_render", None)
            if live_render is not None:
                live_render.set_renderable(self._live_renderable())
        self.console.print(_Lines(lines), soft_wrap=True)

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.refresh()
