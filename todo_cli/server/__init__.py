"""`todo serve`: the agent and the task store behind an HTTP API, one task list per user.

- ``tokens``: bearer tokens (only their hashes are stored), used by ``todo serve token``;
- ``scoping``: user ids, each user's store and conversations, one turn at a time per
  conversation;
- ``auth``: the ASGI middleware that checks the token, the user in the path, the body size
  and the per-user rate limit before any route runs;
- ``turns``: one agent turn as a JSON answer or as server-sent events;
- ``routes``: the endpoints; ``app``: the FastAPI application and its error handling.

FastAPI and uvicorn are an optional extra (``todo-cli[server]``) and are imported only by
``app``, ``auth`` and ``routes``, which the CLI loads only when the server starts.
"""

from __future__ import annotations

from ..errors import TodoError

INSTALL_HINT = "Install them with `pip install 'todo-cli[server]'` (or `uv sync` in a clone)."


def require_server_packages() -> None:
    """Raise a one-line TodoError naming the install command when FastAPI or uvicorn is missing."""
    import importlib.util

    missing = [name for name in ("fastapi", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise TodoError(
            f"`todo serve` needs {' and '.join(missing)}, which {verb} not installed.",
            hint=INSTALL_HINT,
        )
