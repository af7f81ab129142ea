"""Where data lives, settings with precedence, and API key lookup and storage.

Precedence, highest first: command-line flag > environment > ``.env`` in the current
directory (never overrides a real environment variable) > ``config.toml`` > default.

Importing this module is cheap (standard library only); ``platformdirs``, ``tomllib``,
``tomli_w`` and ``dotenv`` are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .dburl import DEFAULT_STATEMENT_TIMEOUT
from .errors import ConfigError, ProviderError, TodoError, UsageError
from .listnames import DEFAULT_LIST, list_name_problem
from .providers import DEFAULT_PROVIDER, PROVIDERS, Provider

if TYPE_CHECKING:
    from datetime import tzinfo

APP_NAME = "todo-cli"
HOME_ENV = "TODO_HOME"
DEBUG_ENV = "TODO_DEBUG"
DOTENV_NAME = ".env"

# Where a value came from, highest precedence first.
SOURCES = ("flag", "env", ".env", "config", "default")
# How much a place is trusted to choose where a key goes: a `.env` in whatever folder the
# command runs in least, the built-in URLs (each provider's own host) most.
TRUST = {".env": 1, "config": 2, "env": 3, "flag": 4, "default": 5}


# --------------------------------------------------------------------------- data locations


@dataclass(frozen=True)
class Paths:
    """The four directories the program uses, and the files inside them."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    state_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "todo.db"

    @property
    def history_file(self) -> Path:
        return self.state_dir / "history"

    def ensure(self) -> Paths:
        """Create all four directories (mode 0700 for the ones created) and return self."""
        for directory in (self.config_dir, self.data_dir, self.cache_dir, self.state_dir):
            make_private_dir(directory)
        return self


def make_private_dir(path: Path) -> Path:
    """``mkdir -p`` where every directory created is mode 0700 (whatever the umask)."""
    path = Path(path)
    if path.is_dir():
        return path
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue
        with contextlib.suppress(OSError):  # e.g. filesystems without permissions
            os.chmod(directory, 0o700)
    return path


def get_paths(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Paths:
    """Return the data locations.

    ``TODO_HOME=DIR`` (from the environment, or from ``.env`` in the current directory)
    puts everything under DIR: DIR/config, DIR/data, DIR/cache and DIR/state. Otherwise the
    platform's standard locations for the app ``todo-cli`` are used (platformdirs).
    Nothing is created here; call ``Paths.ensure()`` before writing.
    """
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV) or _read_dotenv(cwd).get(HOME_ENV)
    if home:
        root = Path(home).expanduser().absolute()
        return Paths(root / "config", root / "data", root / "cache", root / "state")
    import platformdirs

    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    return Paths(
        Path(dirs.user_config_dir),
        Path(dirs.user_data_dir),
        Path(dirs.user_cache_dir),
        Path(dirs.user_state_dir),
    )


def display_path(path: Path | str) -> str:
    """A path for messages, with the home directory shortened to ``~``."""
    text = str(path)
    home = str(Path.home())
    if home not in ("", "/") and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home) :]
    return text


# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Setting:
    """One known setting: its dotted key, type, default, env variable and help text."""

    key: str
    type: str  # "str" | "bool" | "float" | "list"
    default: Any = None
    env: str | None = None
    secret: bool = False
    help: str = ""
    # A URL whose password is a secret: shown with the password masked (``***``).
    url_secret: bool = False

    @property
    def toml_path(self) -> tuple[str, ...]:
        return tuple(self.key.split("."))


def _build_registry() -> dict[str, Setting]:
    settings = [
        Setting(
            "provider",
            "str",
            DEFAULT_PROVIDER,
            "LLM_PROVIDER",
            help=f"Model provider to use: {', '.join(PROVIDERS)}.",
        ),
        Setting(
            "show_reasoning",
            "bool",
            False,
            help="Show the model's reasoning while it thinks (reasoning models only).",
        ),
        Setting(
            "timezone",
            "str",
            None,  # the system's local zone, detected at load time
            help="IANA time zone for due dates, e.g. Europe/Paris (default: the system's).",
        ),
        Setting(
            "list",
            "str",
            DEFAULT_LIST,
            "TODO_LIST",
            help="The task list `todo tasks` and `todo chat` work on (see `todo lists`).",
        ),
        Setting(
            "turn_timeout",
            "float",
            300.0,
            "TODO_TURN_TIMEOUT",
            help="Seconds one chat turn may take in all (model requests and tools, not the "
            "time a question waits for you) before it stops with an error.",
        ),
        Setting(
            "database.url",
            "str",
            None,
            "TODO_DATABASE_URL",
            url_secret=True,
            help="PostgreSQL server holding the tasks, e.g. "
            "postgresql://USER:PASSWORD@HOST:5432/DBNAME?sslmode=require (not set: the "
            "local SQLite file). Needs the network; the password is never shown.",
        ),
        Setting(
            "database.connect_timeout",
            "float",
            5.0,
            help="Seconds to wait for the database server before giving up with an error.",
        ),
        Setting(
            "database.statement_timeout",
            "float",
            DEFAULT_STATEMENT_TIMEOUT,
            help="Seconds one statement on the database server may run, or wait for another "
            "client's change, before the server stops it with an error (0 = no limit).",
        ),
        Setting(
            "models.cache_ttl_hours",
            "float",
            24.0,
            help="How long a downloaded model catalog is reused before refreshing it.",
        ),
        Setting(
            "agent.task_list_tokens",
            "float",
            1000.0,
            help="Token budget of the open-task list the agent's instructions carry.",
        ),
    ]
    for p in PROVIDERS.values():
        settings += [
            Setting(
                f"{p.name}.api_key",
                "str",
                None,
                p.key_env,
                secret=True,
                help=f"API key for {p.label}."
                + ("" if p.needs_key else " Optional: only if your server asks for one."),
            ),
            Setting(
                f"{p.name}.model",
                "str",
                p.default_model,
                p.model_env,
                help=f"Default model on {p.label}.",
            ),
            Setting(
                f"{p.name}.base_url",
                "str",
                p.base_url,
                p.base_url_env,
                help=f"Base URL of {p.label}'s OpenAI-compatible API.",
            ),
        ]
        if p.name == "openrouter":
            settings.append(
                Setting(
                    "openrouter.fallback_models",
                    "list",
                    [],
                    help="Models OpenRouter tries, in order, when the main model fails.",
                )
            )
    return {s.key: s for s in settings}


SETTINGS: dict[str, Setting] = _build_registry()


def get_setting(key: str) -> Setting:
    """Look a setting up; unknown keys raise a UsageError naming the nearest valid key."""
    try:
        return SETTINGS[key]
    except KeyError:
        pass
    close = suggest_key(key)
    suggestion = f" Did you mean '{close}'?" if close else ""
    raise UsageError(
        f"Unknown setting '{key}'.{suggestion}",
        hint="Run `todo config show` to list every setting.",
    )


def suggest_key(key: str) -> str | None:
    """The known setting nearest to a misspelt ``key``, or None."""
    import difflib

    lowered = key.strip().lower().replace("-", "_")
    if lowered in SETTINGS:
        return lowered
    last = lowered.rsplit(".", 1)[-1]
    by_last: dict[str, str] = {}  # last part -> first key with it (openrouter first)
    for name in SETTINGS:
        by_last.setdefault(name.rsplit(".", 1)[-1], name)
    # A bare name ("model", "apikey") is matched against the last part first, and
    # suggests the first provider's key: "openrouter.model", "openrouter.api_key".
    near = difflib.get_close_matches(last, by_last, n=1, cutoff=0.6)
    by_tail = [by_last[near[0]]] if near else []
    if "." in lowered:
        # Keep the user's provider: "groq.apikey" -> "groq.api_key".
        prefix = lowered.rsplit(".", 1)[0]
        same = [f"{prefix}.{near[0]}"] if near and f"{prefix}.{near[0]}" in SETTINGS else []
        whole = difflib.get_close_matches(lowered, SETTINGS, n=1, cutoff=0.6)
        close = same or whole or by_tail
    else:
        close = by_tail or difflib.get_close_matches(lowered, SETTINGS, n=1, cutoff=0.6)
    return close[0] if close else None


# --------------------------------------------------------------------------- values

_TRUE = {"true", "yes", "1", "on", "y"}
_FALSE = {"false", "no", "0", "off", "n"}


def parse_bool(value: Any) -> bool:
    """Accept true/false/yes/no/1/0/on/off (any case) and real booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true or false, got '{value}'")


def coerce(setting: Setting, value: Any) -> Any:
    """Convert a raw value (a string from the command line or environment, or a TOML
    value) to the setting's type and validate it. Raises ValueError with the reason."""
    if setting.type == "bool":
        return parse_bool(value)
    if setting.type == "float":
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got '{value}'")
        try:
            number = float(str(value).strip()) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got '{value}'") from None
        if number != number or number < 0:  # NaN or negative
            raise ValueError(f"expected a number >= 0, got '{value}'")
        if number == 0 and setting.key == "database.connect_timeout":
            raise ValueError("expected a number of seconds > 0, got '0'")
        return number
    if setting.type == "list":
        if isinstance(value, str):
            items = value.split(",")
        elif isinstance(value, list | tuple):
            items = [str(v) for v in value]
        else:
            raise ValueError(f"expected a list, got '{value}'")
        return [item.strip() for item in items if item.strip()]
    # str
    if isinstance(value, dict | list | tuple):
        raise ValueError(f"expected text, got {type(value).__name__}")
    text = str(value).strip()
    if setting.key == "provider":
        text = text.lower()
        if text not in PROVIDERS:
            import difflib

            close = difflib.get_close_matches(text, PROVIDERS, n=1)
            maybe = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(
                f"unknown provider '{value}'{maybe}; choose one of: {', '.join(PROVIDERS)}"
            )
    elif setting.key == "timezone":
        validate_timezone(text)
    elif setting.key == "list":
        problem = list_name_problem(text)
        if problem:
            raise ValueError(problem)
        text = text.lower()
    elif setting.key == "database.url":
        from .dburl import is_postgres_url, mask_url

        if not is_postgres_url(text) or "://" not in text or text.endswith("://"):
            raise ValueError(
                "expected a PostgreSQL URL such as "
                f"postgresql://USER:PASSWORD@HOST:5432/DBNAME, got '{mask_url(text)}'"
            )
    elif setting.key.endswith(".base_url") and text:
        from urllib.parse import urlsplit

        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"expected an http(s) URL such as http://localhost:1234/v1, got '{text}'"
            )
    return text


def validate_timezone(name: str) -> str:
    """Raise ValueError unless ``name`` is a valid IANA time zone."""
    from zoneinfo import ZoneInfo

    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError
        ZoneInfo(name)
    except Exception:
        raise ValueError(
            f"unknown time zone '{name}' (use an IANA name such as Europe/Paris or UTC)"
        ) from None
    return name


def format_value(value: Any) -> str:
    """A value as the user types it: true/false, comma-separated lists, numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def mask_secret(value: str) -> str:
    """Mask a secret for display: ``sk-or-v1-0e6…(64 chars)``; short secrets fully hidden."""
    if not value:
        return ""
    n = len(value)
    if n < 20:
        return f"…({n} chars)"
    return f"{value[: min(12, n // 5)]}…({n} chars)"


def mask_value(key: str, value: Any) -> Any:
    """``value`` of setting ``key`` as it may be shown: keys masked (``mask_secret``), the
    password of a database URL replaced by ``***``; other values unchanged."""
    setting = SETTINGS.get(key)
    if setting is None or not value:
        return value
    if setting.secret:
        return mask_secret(str(value))
    if setting.url_secret:
        from .dburl import mask_url

        return mask_url(str(value))
    return value


def system_timezone_name(environ: Mapping[str, str] | None = None) -> str | None:
    """The system's IANA zone name (TZ, /etc/localtime, /etc/timezone), or None."""
    env = os.environ if environ is None else environ
    candidates: list[str] = []
    tz = env.get("TZ", "").lstrip(":")
    if tz:
        candidates.append(tz)
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    with contextlib.suppress(OSError, UnicodeDecodeError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        name = name.removeprefix("posix/").removeprefix("right/")
        try:
            validate_timezone(name)
        except ValueError:
            continue
        return "UTC" if name in ("Etc/UTC", "Etc/Universal", "Universal", "Zulu") else name
    return None


# --------------------------------------------------------------------------- files

_DOTENV_CACHE: dict[tuple[str, int, int], dict[str, str]] = {}


def _read_dotenv(cwd: Path | None = None) -> dict[str, str]:
    """Non-empty values of ``.env`` in the current directory (never touches os.environ)."""
    path = (Path.cwd() if cwd is None else Path(cwd)) / DOTENV_NAME
    try:
        stat = path.stat()
    except OSError:
        return {}
    if not path.is_file():
        return {}
    cache_key = (str(path), stat.st_mtime_ns, stat.st_size)
    cached = _DOTENV_CACHE.get(cache_key)
    if cached is None:
        from dotenv import dotenv_values

        try:
            raw = dotenv_values(path)
        except (OSError, UnicodeDecodeError):
            raw = {}
        cached = {k: v for k, v in raw.items() if v}
        _DOTENV_CACHE.clear()
        _DOTENV_CACHE[cache_key] = cached
    return cached


# In tomllib's error messages (compiled by the re module's cache on first use).
_TOML_POSITION = r"\s*\(at line (\d+), column (\d+)\)\s*$"
_TOML_EOF = r"\s*\(at end of document\)\s*$"


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse ``config.toml``; a missing file is empty. Anything unreadable raises a
    ConfigError with one line naming the file (and the line, for syntax errors)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except IsADirectoryError:
        raise _corrupt(path, None, "is a directory, not a file") from None
    except OSError as exc:
        raise ConfigError(
            f"Cannot read {display_path(path)}: {exc.strerror or exc}.",
            hint="Check its permissions.",
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = data[: exc.start].count(b"\n") + 1
        raise _corrupt(path, bad_line, "not valid UTF-8 text") from None
    import tomllib  # only for a file there is: ~5 ms

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason = str(exc)
        line: int | None = getattr(exc, "lineno", None)
        match = re.search(_TOML_POSITION, reason)
        if match:
            line = int(match.group(1))
            reason = reason[: match.start()]
        elif re.search(_TOML_EOF, reason):
            line = text.count("\n") + (0 if text.endswith("\n") else 1)
            reason = re.sub(_TOML_EOF, "", reason) + " at the end of the file"
        raise _corrupt(path, line, reason) from None


def _corrupt(path: Path, line: int | None, reason: str) -> ConfigError:
    where = display_path(path) + (f" line {line}" if line else "")
    return ConfigError(f"{where}: {reason.rstrip('.')}", hint="Fix or remove it.")


def write_config_file(path: Path, data: dict[str, Any]) -> None:
    """Write ``config.toml`` atomically with mode 0600: a temp file in the same
    directory, created 0600, fsynced, then renamed over the old file."""
    import tomli_w

    make_private_dir(path.parent)
    payload = tomli_w.dumps(data).encode("utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o600)  # private from the first byte; O_EXCL: never reuse
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.chmod(path, 0o600)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _lookup(data: Mapping[str, Any], setting: Setting, path: Path) -> Any:
    node: Any = data
    parts = setting.toml_path
    for depth, part in enumerate(parts):
        if not isinstance(node, Mapping):
            table = ".".join(parts[:depth])
            raise ConfigError(
                f"{display_path(path)}: '{table}' must be a table, not a value",
                hint="Fix or remove it.",
            )
        if part not in node:
            return None
        node = node[part]
    return node


def _unknown_keys(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    unknown: list[str] = []
    for name, value in data.items():
        key = f"{prefix}{name}"
        if key in SETTINGS:
            continue
        if isinstance(value, Mapping) and any(k.startswith(key + ".") for k in SETTINGS):
            unknown += _unknown_keys(value, key + ".")
        else:
            unknown.append(key)
    return unknown


# --------------------------------------------------------------------------- settings


def _origin(url: str) -> str:
    """The origin of a URL, "https://host:port" (no port when it is the default)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    scheme = (parts.scheme or "https").lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(scheme)
    if port is not None and port != default:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


@dataclass(frozen=True)
class ProviderConfig:
    """Everything needed to talk to one provider, resolved through the precedence."""

    provider: Provider
    base_url: str | None
    model: str | None
    api_key: str | None = field(repr=False)  # never in reprs, logs or tracebacks
    key_source: str | None  # "flag" | "env" | ".env" | "config", None when there is no key
    base_url_source: str = "default"  # where base_url came from (a SOURCES name)
    # The base URL chosen where the key is set or in a more trusted place (None: the same
    # as base_url): the one host the key may go to when base_url comes from less trusted.
    key_base_url: str | None = None
    where: Callable[[str], str] | None = field(default=None, repr=False, compare=False)

    def require_key(self) -> str:
        """The API key, or a ProviderError (exit 4) saying exactly how to set one.

        Providers that need no key (Ollama, custom servers) get a placeholder, since the
        OpenAI client insists on a non-empty key.
        """
        if self.api_key:
            return self.api_key
        if not self.provider.needs_key:
            return "not-needed"
        p = self.provider
        where = ""
        if p.key_url:
            kind = "free key" if p.name == "openrouter" else "get a key"
            where = f" ({kind}: {p.key_url})"
        raise ProviderError(
            f"No API key for {p.label}.",
            hint=f"Set {p.key_env} or run `todo config set {p.name}.api_key`{where}.",
        )

    def check_key_destination(self, url: str, *, flag: bool = False) -> None:
        """Refuse (ConfigError) to send the key to ``url`` when a less trusted place than
        the key's chose it: flag > environment > config file > a `.env` in the current
        folder. ``flag``: ``url`` came from --base-url."""
        if not self.api_key or self.key_source is None:
            return
        url_source = "flag" if flag else self.base_url_source
        if TRUST.get(url_source, 0) >= TRUST.get(self.key_source, 0):
            return
        allowed = self.key_base_url or self.provider.base_url
        if allowed and _origin(allowed) == _origin(url):
            return
        p = self.provider
        where = self.where or (lambda source: source)
        same = " or put the key in the same .env" if url_source == ".env" else ""
        raise ConfigError(
            f"Refusing to send the {p.label} API key (from {where(self.key_source)}) to "
            f"{_origin(url)}, named by {p.base_url_env} in {where(url_source)}.",
            hint=f"If you trust that server, pass --base-url {url} or set {p.base_url_env} "
            f"in the environment{same}.",
        )

    def require_base_url(self, override: str | None = None) -> str:
        """``override`` (a --base-url flag) or the configured base URL, or a UsageError."""
        url = override or self.base_url
        if url:
            return url
        p = self.provider
        raise UsageError(
            f"No base URL for {p.label}.",
            hint=f"Pass --base-url URL, set {p.base_url_env} or run "
            f"`todo config set {p.name}.base_url URL`.",
        )


@dataclass(frozen=True)
class DatabaseConfig:
    """Where the tasks live: ``url`` is a PostgreSQL URL, or None for the SQLite file."""

    url: str | None = field(repr=False)  # carries a password: never in reprs or logs
    connect_timeout: float = 5.0
    url_source: str = "default"
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT  # 0: no limit

    def __repr__(self) -> str:
        from .dburl import mask_url

        shown = mask_url(self.url) if self.url else None
        return (
            f"DatabaseConfig(url={shown!r}, connect_timeout={self.connect_timeout!r}, "
            f"statement_timeout={self.statement_timeout!r})"
        )


class Settings:
    """Resolved settings. Values are converted and validated when read."""

    def __init__(
        self,
        layers: dict[str, dict[str, Any]],
        *,
        paths: Paths,
        system_timezone: str | Callable[[], str | None] | None = None,
        unknown_file_keys: list[str] | None = None,
    ) -> None:
        self._layers = layers  # source -> {key: raw value}, for flag/env/.env/config
        self.paths = paths
        self._system_tz = system_timezone  # a name, or how to find it when first needed
        self.unknown_file_keys = unknown_file_keys or []
        self._cache: dict[str, tuple[Any, str]] = {}

    def _resolve(self, key: str) -> tuple[Any, str]:
        if key in self._cache:
            return self._cache[key]
        setting = get_setting(key)
        for source in SOURCES[:-1]:
            layer = self._layers.get(source, {})
            if key in layer:
                raw = layer[key]
                try:
                    value = coerce(setting, raw)
                except ValueError as exc:
                    raise self._invalid(setting, source, str(exc)) from None
                break
        else:
            source = "default"
            value = self._default(setting)
        self._cache[key] = (value, source)
        return value, source

    def _default(self, setting: Setting) -> Any:
        if setting.key == "timezone":
            if callable(self._system_tz):
                self._system_tz = self._system_tz()
            return self._system_tz
        if isinstance(setting.default, list):
            return list(setting.default)
        return setting.default

    def _invalid(self, setting: Setting, source: str, reason: str) -> TodoError:
        if source == "flag":
            return UsageError(f"Invalid value for {setting.key}: {reason}.")
        if source == "config":
            return ConfigError(
                f"{display_path(self.paths.config_file)}: {setting.key}: {reason}",
                hint=f"Fix it with `todo config set {setting.key} VALUE` or "
                f"`todo config unset {setting.key}`.",
            )
        where = f"{setting.env} in .env" if source == ".env" else setting.env
        return ConfigError(f"Invalid {where}: {reason}.", hint=f"Fix or unset {setting.env}.")

    def raw(self, key: str) -> tuple[Any, str]:
        """The value as given, before conversion, and its source (for error displays)."""
        setting = get_setting(key)
        for source in SOURCES[:-1]:
            if key in self._layers.get(source, {}):
                return self._layers[source][key], source
        return self._default(setting), "default"

    def get(self, key: str) -> Any:
        """The value of a setting (None when unset and without a default)."""
        return self._resolve(key)[0]

    def source(self, key: str) -> str:
        """Where the value came from: "flag", "env", ".env", "config" or "default"."""
        return self._resolve(key)[1]

    def items(self) -> list[tuple[str, Any, str]]:
        """Every known setting as (key, value, source), in registry order."""
        return [(key, *self._resolve(key)) for key in SETTINGS]

    @property
    def provider(self) -> str:
        """The selected provider's name (validated against the registry)."""
        return self.get("provider")

    @property
    def show_reasoning(self) -> bool:
        return bool(self.get("show_reasoning"))

    @property
    def list_name(self) -> str:
        """The current task list: the ``list`` setting (validated, lower case)."""
        return self.get("list") or DEFAULT_LIST

    @property
    def database(self) -> DatabaseConfig:
        """The ``database.*`` settings: the PostgreSQL URL (None: the SQLite file)."""
        url, source = self._resolve("database.url")
        return DatabaseConfig(
            url=url or None,
            connect_timeout=float(self.get("database.connect_timeout")),
            url_source=source,
            statement_timeout=float(self.get("database.statement_timeout")),
        )

    @property
    def tz(self) -> tzinfo:
        """The user's time zone: the ``timezone`` setting, else the system's."""
        name = self.get("timezone")
        if name:
            from zoneinfo import ZoneInfo

            return ZoneInfo(name)
        from datetime import datetime

        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local

    def provider_config(self, name: str | None = None) -> ProviderConfig:
        """Base URL, model and key for ``name`` (default: the selected provider)."""
        from .providers import get_provider

        provider = get_provider(name) if name else PROVIDERS[self.provider]
        key_name = f"{provider.name}.api_key"
        api_key, key_source = self._resolve(key_name)
        url_name = f"{provider.name}.base_url"
        base_url, url_source = self._resolve(url_name)
        key_base_url = None
        if api_key and TRUST[url_source] < TRUST[key_source]:
            key_base_url = self._trusted_value(url_name, TRUST[key_source]) or None
        return ProviderConfig(
            provider=provider,
            base_url=base_url or None,
            model=self.get(f"{provider.name}.model") or None,
            api_key=api_key or None,
            key_source=key_source if api_key else None,
            base_url_source=url_source,
            key_base_url=key_base_url,
            where=self.describe_source,
        )

    def _trusted_value(self, key: str, trust: int) -> Any:
        """The value from the first place trusted at least ``trust``, else the default."""
        for source in SOURCES[:-1]:
            layer = self._layers.get(source, {})
            if TRUST[source] >= trust and key in layer:
                try:
                    return coerce(get_setting(key), layer[key])
                except ValueError:
                    return None
        return self._default(get_setting(key))

    def describe_source(self, source: str) -> str:
        """A source in words for messages: "the environment", "/home/me/.env"."""
        if source == "config":
            return display_path(self.paths.config_file)
        if source == ".env":
            return display_path(Path.cwd() / DOTENV_NAME)
        return {"env": "the environment", "flag": "a command-line flag"}.get(
            source, "the built-in default"
        )


def load_settings(
    overrides: dict[str, Any] | None = None,
    *,
    paths: Paths | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve every setting: flag > environment > ``.env`` > config.toml > default.

    ``overrides`` are values from command-line flags, e.g. ``{"provider": "groq"}``; None
    values are ignored, unknown keys raise a UsageError. A corrupt config.toml raises a
    ConfigError naming the file and line. ``environ`` and ``cwd`` default to the real ones
    (tests may inject their own); os.environ is never modified.
    """
    env = os.environ if environ is None else environ
    paths = paths or get_paths(env, cwd)
    flags: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        get_setting(key)
        flags[key] = value
    dotenv = _read_dotenv(cwd)
    env_layer: dict[str, Any] = {}
    dotenv_layer: dict[str, Any] = {}
    for setting in SETTINGS.values():
        if not setting.env:
            continue
        if env.get(setting.env):
            env_layer[setting.key] = env[setting.env]
        elif setting.env in dotenv and setting.env not in env:
            dotenv_layer[setting.key] = dotenv[setting.env]
    data = read_config_file(paths.config_file)
    file_layer: dict[str, Any] = {}
    for setting in SETTINGS.values():
        value = _lookup(data, setting, paths.config_file)
        if value is not None:
            file_layer[setting.key] = value
    system_tz: Callable[[], str | None] | None = None
    if "timezone" not in flags and "timezone" not in file_layer:
        # Looked up (a ZoneInfo load) only if the zone is read: `todo models` never does.
        system_tz = functools.partial(system_timezone_name, env)
    return Settings(
        {"flag": flags, "env": env_layer, ".env": dotenv_layer, "config": file_layer},
        paths=paths,
        system_timezone=system_tz,
        unknown_file_keys=_unknown_keys(data),
    )


def _validated(key: str, value: Any) -> tuple[Setting, Any]:
    setting = get_setting(key)
    try:
        return setting, coerce(setting, value)
    except ValueError as exc:
        raise UsageError(f"Invalid value for {key}: {exc}.") from None


def set_value(key: str, value: Any, *, paths: Paths | None = None) -> Path:
    """Validate ``value`` and store it in config.toml (atomic write, mode 0600).

    Refuses (ConfigError) to touch a config file that cannot be parsed. Returns the path.
    """
    setting, converted = _validated(key, value)
    if setting.type == "str" and converted == "":
        raise UsageError(
            f"Empty value for {key}.", hint=f"Use `todo config unset {key}` to remove it."
        )
    path = (paths or get_paths()).config_file
    with _locked(path):
        data = read_config_file(path)
        node = data
        *tables, last = setting.toml_path
        for depth, part in enumerate(tables):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(
                    f"{display_path(path)}: '{'.'.join(tables[: depth + 1])}' must be a "
                    "table, not a value",
                    hint="Fix or remove it.",
                )
            node = child
        node[last] = converted
        write_config_file(path, data)
    return path


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of ``path`` across processes (POSIX; no-op elsewhere),
    so two `todo config set` at once cannot lose one of the changes."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    make_private_dir(path.parent)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def unset_value(key: str, *, paths: Paths | None = None) -> bool:
    """Remove a setting from config.toml. Returns False when it was not set there."""
    setting = get_setting(key)
    path = (paths or get_paths()).config_file
    if not path.exists():
        return False
    with _locked(path):
        data = read_config_file(path)
        trail: list[tuple[dict[str, Any], str]] = []
        node: Any = data
        for part in setting.toml_path:
            if not isinstance(node, dict) or part not in node:
                return False
            trail.append((node, part))
            node = node[part]
        parent, last = trail.pop()
        del parent[last]
        # Drop tables left empty.
        while trail:
            parent, name = trail.pop()
            if parent[name] == {}:
                del parent[name]
        write_config_file(path, data)
    return True
