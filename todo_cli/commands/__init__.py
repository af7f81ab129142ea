"""Command modules of the `todo` CLI. Each imports only typer at top level."""
