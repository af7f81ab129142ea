"""`todo config ...`: settings and API keys."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ..termsafe import clean, json_text

app = typer.Typer(
    help="Show and change settings and API keys.\n\n"
    "Precedence, highest first: command-line flag > environment variable > .env in the "
    "current directory > config.toml > default.",
    no_args_is_help=True,
)

KeyArg = Annotated[
    str,
    typer.Argument(help="Setting name, e.g. provider or openrouter.api_key.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _source_label(source: str, env: str | None) -> str:
    if source in ("env", ".env") and env:
        return f"{source} {env}"
    return source


def _display(key: str, value: object, *, reveal: bool = False) -> str:
    from ..config import format_value, mask_value

    if value is None or value == "":
        return "(system local)" if key == "timezone" else "(not set)"
    if not reveal:
        value = mask_value(key, value)
    return format_value(value) if value != [] else "(none)"


def _json_value(key: str, value: object, *, reveal: bool = False) -> object:
    from ..config import mask_value

    return value if reveal else mask_value(key, value)


def _warn(message: str) -> None:
    sys.stderr.write(clean(f"Warning: {message}") + "\n")


@app.command("show")
def show(json_out: JsonOpt = False) -> None:
    """Show every setting with its value and where it came from (keys are masked)."""
    from ..config import SETTINGS, display_path, load_settings, suggest_key
    from ..errors import TodoError

    settings = load_settings()
    for key in settings.unknown_file_keys:
        near = suggest_key(key)
        maybe = f" (did you mean '{near}'?)" if near else ""
        where = display_path(settings.paths.config_file)
        _warn(f"{where}: unknown setting '{key}' is ignored{maybe}.")
    rows: list[tuple[str, object, str, str | None, bool]] = []
    for key, setting in SETTINGS.items():
        try:
            value, source = settings.get(key), settings.source(key)
            valid = True
        except TodoError as exc:
            _warn(str(exc))
            (value, source), valid = settings.raw(key), False
        rows.append((key, value, source, setting.env, valid))
    if json_out:
        payload = {
            key: {
                "value": _json_value(key, value),
                "source": source,
                "env": env,
                "secret": SETTINGS[key].secret or SETTINGS[key].url_secret,
                **({} if valid else {"invalid": True}),
            }
            for key, value, source, env, valid in rows
        }
        print(json_text(json.dumps(payload, indent=2, ensure_ascii=False)))
        return
    table = [("SETTING", "VALUE", "SOURCE")] + [
        (
            key,
            _display(key, value) + ("" if valid else " (invalid)"),
            _source_label(source, env),
        )
        for key, value, source, env, valid in rows
    ]
    w1 = max(len(r[0]) for r in table)
    w2 = max(len(r[1]) for r in table)
    lines = [f"{a:<{w1}}  {b:<{w2}}  {c}".rstrip() for a, b, c in table]
    lines.append("")
    lines.append(f"Config file: {display_path(settings.paths.config_file)}")
    print(clean("\n".join(lines)))


@app.command("get")
def get(
    key: KeyArg,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print secrets unmasked.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Print one setting's value (API keys and passwords are masked unless --reveal)."""
    from ..config import format_value, get_setting, load_settings
    from ..errors import NotFoundError

    setting = get_setting(key)
    settings = load_settings()
    value, source = settings.get(setting.key), settings.source(setting.key)
    if json_out:
        out = {"key": setting.key, "value": _json_value(setting.key, value, reveal=reveal)}
        out["source"] = source
        print(json_text(json.dumps(out, ensure_ascii=False)))
        return
    if value is None or value == "":
        if setting.key == "timezone":
            print(settings.tz)
            return
        raise NotFoundError(
            f"{setting.key} is not set.",
            hint=f"Set it with `todo config set {setting.key}`"
            + (f" or the {setting.env} environment variable." if setting.env else "."),
        )
    if (setting.secret or setting.url_secret) and not reveal:
        print(clean(_display(setting.key, value)))
    else:
        print(clean(format_value(value)))


def _read_secret(key: str, label: str) -> str:
    """Ask for a secret with hidden input on a terminal, or read it from stdin."""
    from ..errors import UsageError

    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"{label} (input hidden): ")
    else:
        from ..textin import read_stdin

        value = read_stdin() if sys.stdin is not None else ""
    value = value.strip()
    from ..textin import ENCODING_HINT, has_bad_bytes

    if has_bad_bytes(value):  # never quoted: it is a secret
        raise UsageError(f"The value for {key} is not valid UTF-8 text.", hint=ENCODING_HINT)
    if not value:
        raise UsageError(
            f"No value given for {key}.",
            hint=f"Type it at the prompt, pipe it on stdin or run `todo config set {key} VALUE`.",
        )
    if "\n" in value or "\r" in value:
        raise UsageError(f"The value for {key} must be a single line.")
    return value


@app.command("set")
def set_(
    key: KeyArg,
    values: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="VALUE",
            help="The value. Lists take several values or one comma-separated value. "
            "Omit it for an API key to type the key hidden (or pipe it on stdin).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Store a setting in config.toml (written atomically, mode 0600).

    Examples: `todo config set provider groq`, `todo config set openrouter.api_key`
    (asks for the key without echoing it), `echo $KEY | todo config set groq.api_key`.
    """
    from ..config import PROVIDERS, coerce, display_path, get_setting, set_value
    from ..errors import UsageError

    setting = get_setting(key)
    values = values or []
    if not values:
        if not (setting.secret or setting.url_secret):
            raise UsageError(
                f"Missing VALUE for {setting.key}.", hint=f"Usage: todo config set {key} VALUE"
            )
        if setting.url_secret:
            label = "Database URL"
        else:
            label = f"{PROVIDERS[setting.key.split('.', 1)[0]].label} API key"
        value: object = _read_secret(setting.key, label)
    elif setting.type == "list":
        value = ",".join(values)
    elif len(values) > 1:
        raise UsageError(
            f"{setting.key} takes one value, got {len(values)}.",
            hint="Quote a value that contains spaces.",
        )
    else:
        value = values[0]
        if (setting.secret or setting.url_secret) and sys.stdin is not None and sys.stdin.isatty():
            what = "the URL" if setting.url_secret else "the key"
            sys.stderr.write(
                f"Tip: `todo config set {setting.key}` without {what} asks for it with "
                "hidden input and keeps it out of your shell history.\n"
            )
    path = set_value(setting.key, value)
    stored = coerce(setting, value)
    print(clean(f"Set {setting.key} = {_display(setting.key, stored)} in {display_path(path)}"))
    _warn_if_shadowed(setting.key)


def _warn_if_shadowed(key: str) -> None:
    """Tell the user when a flag, env variable or .env hides the config file's value."""
    from ..config import SETTINGS, load_settings
    from ..errors import TodoError

    try:
        source = load_settings().source(key)
    except TodoError:
        return
    if source in ("env", ".env"):
        where = "in .env" if source == ".env" else "in the environment"
        _warn(f"{SETTINGS[key].env} {where} takes precedence over config.toml.")


@app.command("unset")
def unset(key: KeyArg) -> None:
    """Remove a setting from config.toml (it falls back to the environment or default)."""
    from ..config import display_path, get_paths, get_setting, unset_value

    setting = get_setting(key)
    path = get_paths().config_file
    if unset_value(setting.key):
        print(f"Removed {setting.key} from {display_path(path)}")
    else:
        print(f"{setting.key} was not set in {display_path(path)}")
    _warn_if_shadowed(setting.key)


@app.command("path")
def path(json_out: JsonOpt = False) -> None:
    """Print where the config file, database, cache and history live."""
    from pathlib import Path

    from ..config import DOTENV_NAME, get_paths

    paths = get_paths()
    dotenv = Path.cwd() / DOTENV_NAME
    entries = {
        "config_file": paths.config_file,
        "db_file": paths.db_file,
        "cache_dir": paths.cache_dir,
        "state_dir": paths.state_dir,
        "history_file": paths.history_file,
        "config_dir": paths.config_dir,
        "data_dir": paths.data_dir,
        "env_file": dotenv if dotenv.is_file() else None,
    }
    if json_out:
        print(json.dumps({k: str(v) if v else None for k, v in entries.items()}, indent=2))
        return
    labels = {
        "config_file": "config file",
        "db_file": "database",
        "cache_dir": "cache dir",
        "state_dir": "state dir",
        "history_file": "history",
        "config_dir": "config dir",
        "data_dir": "data dir",
        "env_file": ".env",
    }
    width = max(len(v) for v in labels.values())
    for name, value in entries.items():
        shown = str(value) if value else f"{dotenv} (not present)"
        print(clean(f"{labels[name]:<{width}}  {shown}"))


from .keycheck import check  # noqa: E402

app.command("check")(check)
