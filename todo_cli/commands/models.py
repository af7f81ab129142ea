"""`todo models`: list OpenRouter's (or another provider's) models, and pick one."""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..termsafe import json_text, one_line

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ..catalog import Catalog, Model, StatusFactory
    from ..config import Settings


def _stderr(message: str) -> None:
    """One diagnostic line on stderr (yellow on a terminal)."""
    color = _isatty(sys.stderr) and not os.environ.get("NO_COLOR")
    message = one_line(message)  # may quote a model id or a catalog's notice
    sys.stderr.write(f"\x1b[33m{message}\x1b[0m\n" if color else message + "\n")


def spinner_factory() -> StatusFactory | None:
    """A Rich spinner on stderr while fetching, only when stderr is a terminal."""
    if not _isatty(sys.stderr):
        return None

    def status(text: str) -> AbstractContextManager[Any]:
        from ..termsafe import console

        return console(stderr=True).status(text, spinner="dots")

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

        text = json.dumps([m.to_dict() for m in shown], ensure_ascii=False, indent=2)
        _emit(json_text(text) + "\n")
        return
    if ids:
        _emit("".join(one_line(m.id) + "\n" for m in shown))
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


_HEADERS = ("id", "name", "context", "$/M in", "$/M out", "tools", "reasoning")
_GAP = "  "
_ANSI = {"bold": "1", "dim": "2", "green": "32", "yellow": "33", "red": "31"}
_CELL_STYLE = {"free": "green", "variable": "yellow", "?": "dim", "✓": "green", "✗": "red"}


def _render_table(catalog: Catalog, shown: list[Model], *, matching: int) -> None:
    """Print the model table and the count line on stdout.

    Drawn without Rich (importing and measuring a Rich table costs more than the rest of
    the command): aligned columns, ANSI colours only on a terminal, and on a terminal the
    name column is shortened (or dropped) to fit; ids are never cut.
    """
    from ..catalog import format_age
    from ..render import color_enabled, terminal_width

    color = color_enabled(sys.stdout)
    width = terminal_width(sys.stdout)
    lines = table_lines(shown, width=width, color=color) if shown else []

    total = len(catalog.models)
    count = _plural(total) if matching == total else f"{matching} of {total} models match"
    if len(shown) < matching:
        count += f" (showing {len(shown)})"
    count += f" · {catalog.source.label} catalog fetched {format_age(catalog.age_seconds)}"
    count = one_line(count)
    lines.append(_paint(count, "dim") if color else count)
    _emit("\n".join(lines) + "\n")


def table_lines(models: list[Model], *, width: int | None = None, color: bool = False) -> list[str]:
    """The model table as lines: header, then one line per model.

    With ``width`` the name column is shortened with "…" (or left out) so lines fit;
    without it nothing is cut (pipes and files).
    """
    from ..catalog import format_context, format_flag, format_price
    from ..render import cell_len, truncate_cells

    rows = [
        (
            one_line(m.id),
            one_line(m.name) if m.name != m.id else "",
            format_context(m.context_length),
            format_price(m, "prompt"),
            format_price(m, "completion"),
            format_flag(m.tools),
            format_flag(m.reasoning),
        )
        for m in models
    ]
    widths = [max(cell_len(h), *(cell_len(r[i]) for r in rows)) for i, h in enumerate(_HEADERS)]
    show_name = any(r[1] for r in rows)
    if width is not None and show_name:
        room = width - (sum(widths) - widths[1]) - len(_GAP) * (len(widths) - 1)
        if room >= 12:
            widths[1] = min(widths[1], room)
        else:
            show_name = False
    cols = [i for i in range(len(_HEADERS)) if i != 1 or show_name]

    def line(cells: tuple[str, ...], header: bool = False) -> str:
        parts = []
        for i in cols:
            text = cells[i]
            n = cell_len(text)
            if n > widths[i]:
                text = truncate_cells(text, widths[i])
                n = cell_len(text)
            pad = " " * (widths[i] - n)
            if i >= 5:  # centred flags
                left = pad[: len(pad) // 2]
                right = pad[len(pad) // 2 :]
            elif i >= 2:  # right-aligned numbers
                left, right = pad, ""
            else:
                left, right = "", pad
            style = "bold" if header else _CELL_STYLE.get(text)
            if color and style and text:
                text = _paint(text, style)
            parts.append(left + text + right)
        return _GAP.join(parts).rstrip()

    return [line(_HEADERS, header=True), *(line(r) for r in rows)]


def _emit(text: str) -> None:
    """Write results to stdout; a reader that went away (`| head`) is not an error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's final flush stays quiet.
        with suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


def _paint(text: str, style: str) -> str:
    return f"\x1b[{_ANSI[style]}m{text}\x1b[0m"


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _set_default_model(
    settings: Settings, model_id: str, *, provider: str | None, base_url: str | None, refresh: bool
) -> None:
    """`todo models --set ID`: warn about unknown or tool-less ids, then store the setting."""
    from ..catalog import close_matches, load_catalog, no_tools_message
    from ..config import set_value
    from ..errors import TodoError, UsageError
    from ..providers import get_provider

    model_id = model_id.strip()
    if not model_id:
        raise UsageError("Empty model id.", hint="Pick one from `todo models --free --tools`.")
    prov = get_provider(provider or ("custom" if base_url else "openrouter"))
    key = f"{prov.name}.model"
    try:
        catalog = load_catalog(
            settings,
            provider=prov.name,
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
    _emit(f"{key} = {one_line(model_id)}\n")
    where = {"env": "the environment", ".env": "the .env file"}.get(settings.source(key))
    if where:
        _stderr(f"Note: {prov.model_env} in {where} still takes precedence over the config file.")
