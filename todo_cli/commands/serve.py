"""`todo serve`: the agent and the task list behind an HTTP API; `todo serve token ...`.

Only typer and the standard library at import time: FastAPI and uvicorn load when the
server starts, and the token commands never load them.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

app = typer.Typer(
    help="Serve the agent and the task list over HTTP (FastAPI; API docs at /docs).",
    invoke_without_command=True,
    rich_markup_mode=None,
)
token_app = typer.Typer(
    help="Bearer tokens for the server: add (shown once), list, revoke.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(token_app, name="token")


@app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on.", min=0, max=65535)
    ] = 8000,
    provider: Annotated[
        str | None,
        typer.Option("--provider", "-p", metavar="NAME", help="Provider for every turn."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", metavar="ID", help="Model for every turn.")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", metavar="URL", help="Any OpenAI-compatible server's URL."),
    ] = None,
    max_message: Annotated[
        int, typer.Option("--max-message", metavar="CHARS", help="Longest chat message.", min=1)
    ] = 8000,
    max_body: Annotated[
        int,
        typer.Option("--max-body", metavar="BYTES", help="Largest request body.", min=1024),
    ] = 64 * 1024,
    rate_limit: Annotated[
        int,
        typer.Option(
            "--rate-limit", metavar="N", help="Requests per user and minute (0: no limit).", min=0
        ),
    ] = 120,
) -> None:
    """Serve the agent and the task list over HTTP: one task list per user, bearer tokens.

    Create a token first with `todo serve token add USER`. Endpoints: POST
    /api/USER/chat, /api/USER/chat/stream; GET /api/USER/conversations[/ID]; GET, POST,
    PATCH, DELETE /api/USER/tasks[/ID]; POST /api/USER/undo. Docs at /docs.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..server import require_server_packages

    require_server_packages()
    from ..config import load_settings
    from ..server.scoping import ServerConfig
    from ..server.tokens import open_token_store

    settings = load_settings({"provider": provider})
    config = ServerConfig(
        settings,
        host=host,
        port=port,
        provider=provider,
        model=model,
        base_url=base_url,
        max_body_bytes=max_body,
        max_message_chars=max_message,
        rate_per_minute=rate_limit,
    )
    token_store = open_token_store(settings)
    try:
        tokens = token_store.all()
    finally:
        token_store.close()
    _note(f"todo serve: http://{host}:{port} (API docs at http://{host}:{port}/docs)")
    if not tokens:
        _note("No tokens yet: every request gets 401. Create one with `todo serve token add USER`.")
    else:
        users = sorted({t.user for t in tokens})
        _note(f"{len(tokens)} token(s) for {', '.join(users)}.")
    if host not in ("127.0.0.1", "localhost", "::1"):
        _note(f"Listening on {host}: tokens travel in clear text; put a TLS proxy in front of it.")
    from ..server.app import serve as run_server

    try:
        run_server(config)
    except OSError as exc:  # the port is taken, the address is not this machine's
        from ..errors import UsageError

        raise UsageError(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
            hint="Pick another --port, or check --host.",
        ) from None


def _note(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _tokens():  # type: ignore[no-untyped-def]
    from ..server.tokens import open_token_store

    return open_token_store()


@token_app.command("add")
def token_add(
    user: Annotated[str, typer.Argument(help="The user id the token acts as, e.g. alice.")],
    label: Annotated[
        str | None, typer.Option("--label", help="A note to tell tokens apart, e.g. phone.")
    ] = None,
) -> None:
    """Create a token for USER and print it once (only its hash is stored)."""
    info, token = _tokens().add(user, label)
    sys.stdout.write(token + "\n")
    _note(
        f"Token {info.id} for user '{info.user}'. It is shown only now: keep it somewhere safe. "
        f"Revoke it with `todo serve token revoke {info.id}`."
    )


@token_app.command("list")
def token_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Show every token's id, user, creation time and label (never the token)."""
    tokens = _tokens().all()
    if as_json:
        rows = [
            {"id": t.id, "user": t.user, "created_at": t.created_at, "label": t.label}
            for t in tokens
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not tokens:
        _note("No tokens. Create one with `todo serve token add USER`.")
        return
    width = max(len(t.user) for t in tokens)
    sys.stdout.write(f"{'id':8}  {'user':{width}}  {'created (UTC)':25}  label\n")
    for t in tokens:
        sys.stdout.write(f"{t.id:8}  {t.user:{width}}  {t.created_at:25}  {t.label or ''}\n")


@token_app.command("revoke")
def token_revoke(
    token_ids: Annotated[
        list[str], typer.Argument(metavar="ID", help="Token ids from `todo serve token list`.")
    ],
) -> None:
    """Revoke tokens: requests with them get 401 from the next request on."""
    store = _tokens()
    for token_id in token_ids:
        info = store.revoke(token_id)
        sys.stdout.write(f"Revoked token {info.id} of user '{info.user}'.\n")
