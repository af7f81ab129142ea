"""Bounds that the command line names in its options and the core enforces.

Kept apart from the code that enforces them, and free of imports, so that a command module
can give them to Typer at start-up without loading that code (the agenda's module loads
the date parser: ~20 ms on every `todo` command, `--help` included).
"""

from __future__ import annotations

MAX_DAYS = 366  # the longest agenda, in days from today
