"""`todo tasks ...`: manage tasks directly, no model involved."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage tasks directly (no model involved).", no_args_is_help=True)
