"""The `todo` console script and `python -m todo_cli`: what runs before the command line.

A one-shot `todo chat MESSAGE` on a terminal shows its spinner at once. Typer and the
command tree take about 0.1 s to load before any command runs, so the spinner is started
here first, from the standard library alone, when the arguments are surely such a chat
(the `chat` command, a message, only options known to take a value or none, no `--json`
or `--help`); the chat command then carries on with that spinner. Anything else runs as
before. ``cli.main`` does the rest.
"""

from __future__ import annotations

import sys

ROOT_FLAGS = ("--debug",)
# `todo chat`'s options: those that take a value, and flags (tests keep these in step with
# the command's own parameters).
CHAT_VALUE_OPTIONS = ("-p", "--provider", "-m", "--model", "--base-url", "--conversation", "--list")
CHAT_FLAGS = ("-y", "--yes", "-c", "--continue")


def one_shot_chat(args: list[str]) -> bool:
    """True when ``args`` (after the program name) are surely a `todo chat` with a message
    and no `--json`: the command lines whose turn shows a spinner."""
    i = 0
    while i < len(args) and args[i] in ROOT_FLAGS:
        i += 1
    if i >= len(args) or args[i] != "chat":
        return False
    message = False
    rest = iter(args[i + 1 :])
    for arg in rest:
        if arg == "--":
            return message or any(a.strip() for a in rest)
        if arg in CHAT_VALUE_OPTIONS:
            if next(rest, None) is None:
                return False  # Click reports the missing value
        elif arg in CHAT_FLAGS or arg.partition("=")[0] in CHAT_VALUE_OPTIONS:
            continue  # a flag, or --option=value
        elif arg.startswith("-") and arg != "-":
            return False  # --json, --help, or anything Click should judge
        elif arg.strip():
            message = True
    return message


def main() -> None:
    """Console-script entry point."""
    if not one_shot_chat(sys.argv[1:]):
        from .cli import main as run

        run()
        return
    from .spinner import start_early, stop_early

    start_early()
    try:
        from .cli import main as run
    except KeyboardInterrupt:  # Ctrl-C while Typer loads: as cli.main says it
        from .errors import ExitCode

        stop_early()
        sys.stderr.write("\nInterrupted.\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    run()
