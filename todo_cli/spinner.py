"""A spinner on stderr from the first moment of a one-shot `todo chat` on a terminal.

Loading the Agents SDK takes over a second; without this, nothing would show in that time.
Standard library only, so it starts before any heavy import (``entry.main`` starts it
before Typer loads, see ``start_early``): a daemon thread redraws one line
(``⠋ thinking…``) until ``stop`` clears it.
"""

from __future__ import annotations

import sys
import threading
from typing import IO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
INTERVAL = 0.08


class Spinner:
    """``start()`` draws at once (or after ``delay`` seconds) and then every 80 ms;
    ``stop()`` erases the line (nothing shows if it stops within the delay)."""

    def __init__(self, stream: IO[str], text: str = "thinking…") -> None:
        self.stream = stream
        self.text = text
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._drawn = False

    def start(self, delay: float = 0.0) -> Spinner:
        if self._thread is None:
            self._stop.clear()
            if not delay:
                self._draw(0)  # the first frame now, not 80 ms from now
            self._thread = threading.Thread(
                target=self._run, args=(delay,), name="spinner", daemon=True
            )
            self._thread.start()
        return self

    def _draw(self, n: int) -> None:
        with self._lock:
            if self._stop.is_set() and n:
                return
            self._drawn = True
            try:
                self.stream.write(f"\r\x1b[2K\x1b[36m{FRAMES[n % len(FRAMES)]}\x1b[0m ")
                self.stream.write(f"\x1b[2m{self.text}\x1b[0m")
                self.stream.flush()
            except (OSError, ValueError):
                self._stop.set()

    def _run(self, delay: float) -> None:
        if delay:
            if self._stop.wait(delay):
                return  # done before anything needed showing
            self._draw(0)
        n = 1
        while not self._stop.wait(INTERVAL):
            self._draw(n)
            n += 1

    def stop(self) -> None:
        """Erase the spinner line (safe to call more than once)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=1)
        with self._lock:
            if not self._drawn:
                return
            try:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
            except (OSError, ValueError):
                pass


def terminal_spinner(
    stream: IO[str] | None = None, text: str = "thinking…", delay: float = 0.0
) -> Spinner | None:
    """A started spinner when ``stream`` (default stderr) is a terminal, else None;
    ``delay``: its first frame comes only after that many seconds."""
    stream = stream or sys.stderr
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return Spinner(stream, text).start(delay)


# The spinner `entry.main` starts before the command line is parsed, until a command
# takes it over (the one-shot chat) or the run ends.
_early: list[Spinner] = []


def start_early(stream: IO[str] | None = None) -> None:
    """Start the spinner of a one-shot chat now, when ``stream`` is a terminal."""
    spinner = terminal_spinner(stream)
    if spinner is not None:
        _early.append(spinner)


def take_early() -> Spinner | None:
    """The spinner ``start_early`` started, still running; the caller stops it."""
    return _early.pop() if _early else None


def stop_early() -> None:
    """Erase the early spinner if nothing took it over (an error is about to be shown)."""
    while _early:
        _early.pop().stop()
