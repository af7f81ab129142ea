"""`todo models`: list OpenRouter's (or another provider's) models, and pick one."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..catalog import Catalog, Model


def _stderr(message: str, style: str = "yellow") -> None:
    """One diagnostic line on stderr (coloured on a terminal)."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\x1b[33m{message}\x1b[0m\n" if style == "yellow" else message + "\n")
    else:
        sys.stderr.write(message + "\n")


def spinner_factory():  # -> StatusFactory | None
    """A Rich spinner on stderr while fetching, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def status(text: str):
        from rich.console import Console

        return Console(stderr=True).status(text, spinner="dots")

    return status


def models(
    free: Annotated[
        bool, typer.Option("--free", help="Only free models (id ends in :free or price 0).")
    ] = False,
    tools: Annotated[
        bool, typer.Option("--tools", help="Only models that support tool calling.")
    ] = False,
    search: Annotated[
        str | None,
        typer.Option(
            "--search", "-s", help="Only models whose id or name contains TEXT.", metavar="TEXT"
        ),
    ] = None,
    min_context: Annotated[
        str | None,
        typer.Option("--min-context", help="Minimum context length: 32000, 128k, 1M.", metavar="N"),
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            help="Sort order: name (default), context (largest first), price (cheapest "
            "first) or newest.",
            metavar="name|context|price|newest",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="Show at most N models.", metavar="N")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of models.")] = False,
    ids: Annotated[bool, typer.Option("--ids", help="Print model ids only, one per line.")] = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Fetch the catalog now instead of using the cache.")
    ] = False,
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            "-p",
            metavar="NAME",
            help="List this provider's models: openrouter (default), groq, gemini, openai, "
            "ollama, custom.",
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", help="List the models of this OpenAI-compatible server.", metavar="URL"
        ),
    ] = None,
    set_model: Annotated[
        str | None,
        typer.Option(
            "--set",
            help="Make ID the default model (checked against the catalog first).",
            metavar="ID",
        ),
    ] = None,
) -> None:
    """List models: OpenRouter's catalog by default, with prices and tool support.

    The catalog is cached for models.cache_ttl_hours (24 h) and used offline. Examples:
    `todo models --free --tools`, `todo models -s llama --sort context`,
    `todo models --set openai/gpt-oss-20b:free`, `todo models --provider groq`.
    """
    from ..catalog import SORT_KEYS, filter_models, load_catalog, parse_context, sort_models
    from ..config import load_settings
    from ..errors import UsageError

    if as_json and ids:
        raise UsageError("Use either --json or --ids, not both.")
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, not {limit}.")
    sort_key = (sort or "name").strip().lower()
    if sort_key not in SORT_KEYS:
        raise UsageError(
            f"Unknown sort order '{sort}'.", hint=f"Use one of: {', '.join(SORT_KEYS)}."
        )
    settings = load_settings()
    if set_model is not None:
        _set_default_model(
            settings, set_model, provider=provider, base_url=base_url, refresh=refresh
        )
        return
    min_ctx = parse_context(min_context) if min_context else None
    catalog = load_catalog(
        settings, provider=provider, base_url=base_url, refresh=refresh, status=spinner_factory()
    )
    if catalog.notice:
        _stderr(catalog.notice)
    everything = catalog.models
    matching = filter_models(everything, free=free, tools=tools, search=search, min_context=min_ctx)
    _note_unknown(everything, free=free, tools=tools, search=search, min_context=min_ctx)
    shown = sort_models(matching, sort_key)
    if limit is not None:
        shown = shown[:limit]

    if as_json:
        import json

        sys.stdout.write(json.dumps([m.to_dict() for m in shown], ensure_ascii=False, indent=2))
        sys.stdout.write("\n")
        return
    if ids:
        sys.stdout.write("".join(m.id + "\n" for m in shown))
        return
    _render_table(catalog, shown, matching=len(matching))


def _note_unknown(models: list[Model], *, free: bool, tools: bool, **filters) -> None:
    """Say when --free/--tools left out models only because the catalog does not say."""
    from ..catalog import filter_models

    if tools:
        rest = filter_models(models, free=free, **filters)
        unknown = sum(1 for m in rest if m.tools is None)
        if unknown:
            _stderr(
                f"Note: {_plural(unknown)} left out: the catalog does not say whether "
                f"{'they support' if unknown != 1 else 'it supports'} tool calling."
            )
    if free:
        rest = filter_models(models, tools=tools, **filters)
        unknown = sum(1 for m in rest if m.free is None)
        if unknown:
            _stderr(
                f"Note: {_plural(unknown)} left out: the catalog does not give "
                f"{'their prices' if unknown != 1 else 'its price'}."
            )


def _plural(n: int) -> str:
    return f"{n} model{'s' if n != 1 else ''}"


def _render_table(catalog: Catalog, shown: list[Model], *, matching: int) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ..catalog import format_age, format_context, format_flag, format_price

    console = Console(highlight=False)
    total = len(catalog.models)
    if shown:
        rows = [
            (
                m.id,
                m.name if m.name != m.id else "",
                format_context(m.context_length),
                format_price(m, "prompt"),
                format_price(m, "completion"),
                format_flag(m.tools),
                format_flag(m.reasoning),
            )
            for m in shown
        ]
        headers = ("id", "name", "context", "$/M in", "$/M out", "tools", "reasoning")
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
        # Lay out by hand: the id column is never squeezed, the name column takes what is
        # left (and is dropped on narrow terminals).
        gap = 2
        fixed = sum(widths[2:]) + gap * 5
        room = console.width - fixed - widths[0] - gap
        show_name = room >= 12 and any(r[1] for r in rows)
        widths[1] = min(widths[1], room) if show_name else 0
        widths[0] = max(
            8, min(widths[0], console.width - fixed - (widths[1] + gap if show_name else 0))
        )
        table = Table(
            box=None, header_style="bold", pad_edge=False, show_edge=False, padding=(0, gap // 2)
        )
        table.add_column("id", width=widths[0], overflow="fold")
        if show_name:
            table.add_column("name", width=widths[1], overflow="ellipsis", no_wrap=True)
        for i, header in enumerate(headers[2:5], start=2):
            table.add_column(header, justify="right", no_wrap=True, width=widths[i])
        for i, header in enumerate(headers[5:], start=5):
            table.add_column(header, justify="center", no_wrap=True, width=widths[i])
        for r in rows:
            cells = [r[0]] + ([r[1]] if show_name else [])
            cells += [r[2], _price_cell(Text, r[3]), _price_cell(Text, r[4])]
            cells += [_flag_cell(Text, r[5]), _flag_cell(Text, r[6])]
            table.add_row(*cells)
        console.print(table)
    if matching == total:
        count = f"{total} model{'s' if total != 1 else ''}"
    else:
        count = f"{matching} of {total} models match"
    if len(shown) < matching:
        count += f" (showing {len(shown)})"
    when = format_age(catalog.age_seconds)
    count += f" · {catalog.source.label} catalog fetched {when}"
    console.print(Text(count, style="dim"))


def _price_cell(text_cls, value: str):
    style = {"free": "green", "variable": "yellow", "?": "dim"}.get(value, "")
    return text_cls(value, style=style)


def _flag_cell(text_cls, value: str):
    return text_cls(value, style={"✓": "green", "✗": "red", "?": "dim"}[value])


def _set_default_model(
    settings, model_id: str, *, provider: str | None, base_url: str | None, refresh: bool
) -> None:
    """`todo models --set ID`: warn about unknown or tool-less ids, then store the setting."""
    from ..catalog import close_matches, load_catalog, no_tools_message, resolve_source
    from ..config import set_value
    from ..errors import TodoError, UsageError

    model_id = model_id.strip()
    if not model_id:
        raise UsageError("Empty model id.", hint="Pick one from `todo models --free --tools`.")
    source = resolve_source(settings, provider, base_url)
    key = f"{source.provider}.model"
    try:
        catalog = load_catalog(
            settings,
            provider=provider,
            base_url=base_url,
            refresh=refresh,
            status=spinner_factory(),
        )
    except TodoError as exc:
        _stderr(f"Warning: could not check '{model_id}' against the catalog: {exc.message}")
        catalog = None
    if catalog is not None:
        if catalog.notice:
            _stderr(catalog.notice)
        model = catalog.get(model_id)
        if model is None:
            close = close_matches(model_id, catalog.models)
            maybe = f" Did you mean: {', '.join(close)}?" if close else ""
            _stderr(f"Warning: '{model_id}' is not in the {catalog.source.label} catalog.{maybe}")
        elif model.tools is False:
            _stderr("Warning: " + no_tools_message(model_id, catalog))
    set_value(key, model_id)
    sys.stdout.write(f"{key} = {model_id}\n")
    if settings.source(key) in ("env", ".env", "flag"):
        from ..providers import get_provider

        env = get_provider(source.provider).model_env
        _stderr(
            f"Note: {env} is set in the {settings.source(key).lstrip('.')} and still "
            "takes precedence over the config file."
        )
