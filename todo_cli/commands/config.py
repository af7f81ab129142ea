"""`todo config ...`: settings and API keys."""

from __future__ import annotations

import typer

app = typer.Typer(help="Show and change settings and API keys.", no_args_is_help=True)

from .keycheck import check  # noqa: E402

app.command("check")(check)
