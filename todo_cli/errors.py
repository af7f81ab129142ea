"""Domain errors and exit codes.

Every error a user can meet is a ``TodoError`` carrying the one-line message they see
(and, where useful, a hint saying how to fix it). The CLI maps them to stderr and an
exit code in one place (``cli.main``); tracebacks appear only with ``--debug`` or
``TODO_DEBUG=1``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # generic failure, corrupt config, failed import
    USAGE = 2  # bad arguments or input (unparseable date, unknown setting)
    NOT_FOUND = 3  # unknown task id, conversation or model
    PROVIDER = 4  # the model provider failed: auth, credits, rate limit, outage, network
    INTERRUPTED = 130  # Ctrl-C


class TodoError(Exception):
    """Base class: ``message`` is what the user sees, ``hint`` how to fix it."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


def with_stop(message: str) -> str:
    """``message`` ending in punctuation, so a hint can follow it: "No task #42." """
    return message if message.endswith((".", "!", "?", ":")) else f"{message}."


class UsageError(TodoError):
    exit_code = ExitCode.USAGE


class NotFoundError(TodoError):
    exit_code = ExitCode.NOT_FOUND


class ConfigError(TodoError):
    exit_code = ExitCode.ERROR


class ProviderError(TodoError):
    exit_code = ExitCode.PROVIDER
