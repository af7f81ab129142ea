"""Model catalogs: fetch a provider's ``GET /models``, cache it, normalise it, filter it.

OpenRouter's catalog (the default) carries prices, context lengths and the request
parameters each model supports; other OpenAI-compatible providers (Groq, Gemini, OpenAI,
Ollama, any server) list ids and little else, so their prices and tool support are unknown.

The raw response body is cached in the cache dir with its fetch time, one file per provider
and base URL, for ``models.cache_ttl_hours`` (default 24). When a fetch fails the stale cache
is used with a one-line notice; with no cache at all the failure is a clear error.

Only the standard library is imported here (HTTP through ``urllib.request``), so listing
models never pays for the OpenAI SDK. Nothing in this module prints: the CLI renders.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ProviderError, TodoError, UsageError

if TYPE_CHECKING:
    from .config import Settings

DEFAULT_TIMEOUT = 10.0  # seconds, for every catalog / key request
DEFAULT_TTL_HOURS = 24.0
CACHE_FORMAT = 1
FREE_REQUESTS_PER_MINUTE = 20
FREE_REQUESTS_PER_DAY_FREE_TIER = 50  # accounts that bought less than $10 of credits
FREE_REQUESTS_PER_DAY_PAID = 1000
SORT_KEYS = ("name", "context", "price", "newest")

# Providers whose /models answers without a key (the key is still sent when configured).
_KEYLESS_LISTING = frozenset({"openrouter"})


class CatalogUnavailable(TodoError):
    """No model list: the fetch failed and nothing is cached (exit code 1)."""


# --------------------------------------------------------------------------------------
# The normalised model
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """One model from a catalog, normalised across catalog shapes.

    Prices are USD per million tokens; ``None`` when unknown or variable. ``free``,
    ``tools`` and ``reasoning`` are ``None`` when the catalog does not say.
    """

    id: str
    name: str
    context_length: int | None = None
    prompt_price_per_mtok: float | None = None
    completion_price_per_mtok: float | None = None
    variable_price: bool = False
    free: bool | None = None
    tools: bool | None = None
    reasoning: bool | None = None
    created: int | None = None
    owned_by: str | None = None

    @property
    def priced(self) -> bool:
        """True when both prices are known numbers."""
        return self.prompt_price_per_mtok is not None and self.completion_price_per_mtok is not None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by `todo models --json`."""
        return {
            "id": self.id,
            "name": self.name,
            "context_length": self.context_length,
            "prompt_price_per_mtok": self.prompt_price_per_mtok,
            "completion_price_per_mtok": self.completion_price_per_mtok,
            "variable_price": self.variable_price,
            "free": self.free,
            "tools": self.tools,
            "reasoning": self.reasoning,
            "created": self.created,
            "owned_by": self.owned_by,
        }


class CatalogFormatError(ValueError):
    """The body is not a model list we understand."""


_MISSING = object()


def _price_per_mtok(value: Any) -> tuple[float | None, bool]:
    """A per-token price (string or number) -> (USD per million tokens, variable?).

    A missing key is zero (since 2026 OpenRouter leaves zero prices out); a negative
    price ("-1") is a variable-price router; anything unparseable is unknown (None).
    """
    if value is _MISSING or value is None:
        return 0.0, False
    if isinstance(value, bool):
        return None, False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, False
    if number != number or number in (float("inf"), float("-inf")):
        return None, False
    if number < 0:
        return None, True
    return round(number * 1_000_000, 6), False


def _context_length(raw: dict[str, Any]) -> int | None:
    for key in ("context_length", "context_window", "max_model_len", "max_context_length"):
        value = raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if isinstance(value, float) and value > 0:
            return int(value)
    top = raw.get("top_provider")
    if isinstance(top, dict):
        value = top.get("context_length")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def normalize_model(raw: Any) -> Model | None:
    """Turn one catalog entry (OpenRouter, Groq, OpenAI, Ollama shape) into a ``Model``.

    Returns None for entries without a usable id.
    """
    if not isinstance(raw, dict):
        return None
    model_id = raw.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        return None
    model_id = model_id.strip()
    if model_id.startswith("models/"):  # Gemini lists "models/gemini-2.5-flash"
        model_id = model_id[len("models/") :]
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        name = model_id

    pricing = raw.get("pricing", _MISSING)
    variable = False
    if isinstance(pricing, dict):
        prompt, var_p = _price_per_mtok(pricing.get("prompt", _MISSING))
        completion, var_c = _price_per_mtok(pricing.get("completion", _MISSING))
        variable = var_p or var_c
        if variable:
            prompt = completion = None
    else:  # no pricing at all (non-OpenRouter catalogs): unknown
        prompt = completion = None

    if variable:
        free: bool | None = False
    elif model_id.endswith(":free"):
        free = True
    elif prompt is not None and completion is not None:
        free = prompt == 0 and completion == 0
    else:
        free = None

    params = raw.get("supported_parameters")
    if isinstance(params, list):
        names = {p for p in params if isinstance(p, str)}
        tools: bool | None = "tools" in names
        reasoning: bool | None = bool(names & {"reasoning", "include_reasoning"})
    else:
        tools = reasoning = None

    created = raw.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        created = None
    owned_by = raw.get("owned_by")
    if not isinstance(owned_by, str):
        owned_by = None

    return Model(
        id=model_id,
        name=name.strip(),
        context_length=_context_length(raw),
        prompt_price_per_mtok=prompt,
        completion_price_per_mtok=completion,
        variable_price=variable,
        free=free,
        tools=tools,
        reasoning=reasoning,
        created=created,
        owned_by=owned_by,
    )


def parse_catalog(body: bytes | str | dict[str, Any] | list[Any]) -> list[Model]:
    """Parse a ``GET /models`` body into models (duplicates and unusable entries dropped).

    Accepts ``{"data": [...]}`` (OpenRouter, OpenAI, Groq, Gemini, Ollama's /v1/models),
    ``{"models": [...]}`` and a bare list. Groq models marked ``"active": false`` are
    left out. Raises ``CatalogFormatError`` for anything else.
    """
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CatalogFormatError(f"not JSON ({exc})") from None
    if isinstance(body, dict):
        entries = body.get("data")
        if entries is None:
            entries = body.get("models")
    else:
        entries = body
    if not isinstance(entries, list):
        raise CatalogFormatError("no model list in the response")
    models: list[Model] = []
    seen: set[str] = set()
    for raw in entries:
        if isinstance(raw, dict) and raw.get("active") is False:
            continue
        model = normalize_model(raw)
        if model is None or model.id in seen:
            continue
        seen.add(model.id)
        models.append(model)
    return models


# --------------------------------------------------------------------------------------
# Filters, sorting, matching
# --------------------------------------------------------------------------------------


def parse_context(text: str | int) -> int:
    """ "128k" -> 128000, "1M" -> 1000000, "1.5m" -> 1500000, "32768" -> 32768."""
    if isinstance(text, int):
        value = float(text)
    else:
        raw = text.strip().lower().replace("_", "").replace(",", "")
        factor = 1
        if raw.endswith("k"):
            factor, raw = 1_000, raw[:-1]
        elif raw.endswith("m"):
            factor, raw = 1_000_000, raw[:-1]
        try:
            value = float(raw) * factor
        except ValueError:
            value = -1
    if value < 0 or value != value:
        raise UsageError(
            f"Could not understand the context length '{text}'.",
            hint="Use a number of tokens such as 32000, 128k or 1M.",
        )
    return int(value)


def filter_models(
    models: Iterable[Model],
    *,
    free: bool = False,
    tools: bool = False,
    search: str | None = None,
    min_context: int | None = None,
) -> list[Model]:
    """Keep the models matching every given filter.

    ``free``/``tools`` keep only models the catalog says are free / can call tools
    (unknown counts as no). ``search`` matches every word, case-insensitively, against
    the id or the name. ``min_context`` drops models with a smaller or unknown context.
    """
    words = search.lower().split() if search else []
    out = []
    for m in models:
        if free and m.free is not True:
            continue
        if tools and m.tools is not True:
            continue
        if min_context and (m.context_length is None or m.context_length < min_context):
            continue
        if words:
            hay = f"{m.id}\n{m.name}".lower()
            if not all(w in hay for w in words):
                continue
        out.append(m)
    return out


def _price_key(m: Model) -> tuple[int, float]:
    if m.free:
        return (0, 0.0)
    if m.priced:
        return (0, (m.prompt_price_per_mtok or 0.0) + (m.completion_price_per_mtok or 0.0))
    return (1, 0.0)  # variable or unknown: last


def sort_models(models: Iterable[Model], by: str = "name") -> list[Model]:
    """Sort by "name" (A-Z), "context" (largest first), "price" (cheapest first, by
    input + output price; variable and unknown last) or "newest" (most recent first).
    Ties are broken by id."""
    items = sorted(models, key=lambda m: m.id)
    if by == "name":
        return sorted(items, key=lambda m: m.name.casefold())
    if by == "context":
        return sorted(items, key=lambda m: (m.context_length is None, -(m.context_length or 0)))
    if by == "price":
        return sorted(items, key=_price_key)
    if by == "newest":
        return sorted(items, key=lambda m: (m.created is None, -(m.created or 0)))
    raise UsageError(f"Unknown sort order '{by}'.", hint=f"Use one of: {', '.join(SORT_KEYS)}.")


def close_matches(model_id: str, models: Iterable[Model], n: int = 3) -> list[str]:
    """Ids that look like ``model_id``: same name without the vendor prefix, then
    difflib's close matches."""
    import difflib

    ids = [m.id for m in models]
    wanted = model_id.strip().lower()
    exact_tail = [i for i in ids if i.lower().split("/", 1)[-1] == wanted]
    contains = [i for i in ids if wanted and wanted in i.lower() and i not in exact_tail]
    fuzzy = difflib.get_close_matches(model_id, ids, n=n, cutoff=0.6)
    tails = {i.split("/", 1)[-1]: i for i in ids}
    fuzzy += [tails[t] for t in difflib.get_close_matches(wanted, list(tails), n=n, cutoff=0.6)]
    out: list[str] = []
    for i in exact_tail + fuzzy + sorted(contains, key=len):
        if i not in out:
            out.append(i)
    return out[:n]


def free_tool_models(
    models: Iterable[Model], *, limit: int = 3, exclude: Iterable[str] = ()
) -> list[Model]:
    """Free models that can call tools, best first: the project default model, then the
    largest context windows."""
    from .providers import PROVIDERS

    default = PROVIDERS["openrouter"].default_model
    skip = set(exclude)
    candidates = [m for m in models if m.free is True and m.tools is True and m.id not in skip]
    candidates.sort(key=lambda m: (m.id != default, -(m.context_length or 0), m.id))
    return candidates[:limit]


# --------------------------------------------------------------------------------------
# Display helpers (plain strings; the CLI decides colours)
# --------------------------------------------------------------------------------------


def format_context(n: int | None) -> str:
    """131072 -> "131K", 32768 -> "32.8K", 1048576 -> "1.05M", None -> "?"."""
    if not n:
        return "?"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.2f}".rstrip("0").rstrip(".") + "M"
    if n >= 100_000:
        return f"{n / 1000:.0f}K"
    if n >= 1000:
        return f"{n / 1000:.1f}".rstrip("0").rstrip(".") + "K"
    return str(n)


def format_money(value: float) -> str:
    """0.15 -> "$0.15", 30 -> "$30.00", 0.075 -> "$0.075", 0.0000123 -> "$0.0000123"."""
    if value == 0:
        return "$0"
    if value >= 0.01:
        text = f"{value:.4f}".rstrip("0")
        whole, _, frac = text.partition(".")
        return f"${whole}.{frac.ljust(2, '0')}"
    return f"${value:.8f}".rstrip("0")


def format_price(model: Model, which: str) -> str:
    """The price column: "free", "variable", "?" (unknown) or "$0.15" per million tokens."""
    if model.variable_price:
        return "variable"
    if model.free:
        return "free"
    value = model.prompt_price_per_mtok if which == "prompt" else model.completion_price_per_mtok
    return "?" if value is None else format_money(value)


def format_flag(value: bool | None) -> str:
    """True/False/None -> "✓" / "✗" / "?"."""
    return "?" if value is None else ("✓" if value else "✗")


def format_age(seconds: float) -> str:
    """Seconds -> "just now", "5 minutes ago", "3 hours ago", "2 days ago"."""
    seconds = max(0.0, seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


# --------------------------------------------------------------------------------------
# HTTP (stdlib only)
# --------------------------------------------------------------------------------------


class FetchError(Exception):
    """A request failed: ``status`` is the HTTP status (None for network errors)."""

    def __init__(self, reason: str, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.body = body


def _error_message(body: bytes) -> str | None:
    """The message of an error body: {"error": {"message"}}, {"error": "..."}, {"message"}."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    err = data.get("error", data)
    if isinstance(err, str):
        return err
    if isinstance(err, dict):
        msg = err.get("message")
        if isinstance(msg, str):
            return msg
    return None


def http_get(url: str, *, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """GET ``url`` (gzip accepted) and return the body; raises ``FetchError`` on any failure."""
    import urllib.request

    from . import __version__

    headers = {
        "Accept": "application/json",
        "Accept-Encoding": "gzip",
        "User-Agent": f"todo-cli/{__version__}",
    }
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    if not url.lower().startswith(("http://", "https://")):
        raise FetchError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            encoding = (response.headers.get("Content-Encoding") or "").lower()
    except Exception as exc:
        raise _fetch_error(exc, timeout) from None
    if encoding == "gzip":
        import gzip

        try:
            body = gzip.decompress(body)
        except Exception:
            raise FetchError("the compressed response is damaged") from None
    return body


def _fetch_error(exc: Exception, timeout: float) -> FetchError:
    """Turn whatever urllib raised into a ``FetchError`` with a short reason."""
    import socket
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        try:
            body = exc.read() or b""
        except Exception:
            body = b""
        message = _error_message(body) or exc.reason or "error"
        return FetchError(f"HTTP {exc.code}: {message}", exc.code, body)
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, socket.timeout | TimeoutError):
            return FetchError(f"timed out after {timeout:g} s")
        return FetchError(str(getattr(reason, "strerror", None) or reason))
    if isinstance(exc, TimeoutError):
        return FetchError(f"timed out after {timeout:g} s")
    # connection reset, truncated body (http.client.IncompleteRead), bad URL, ...
    return FetchError(str(exc) or type(exc).__name__)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url


# --------------------------------------------------------------------------------------
# Sources and the cache
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where a catalog comes from: one provider at one base URL."""

    provider: str
    label: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    key_env: str | None = None
    needs_key: bool = False  # listing requires a key
    key_url: str | None = None  # where to get a key

    @property
    def key_hint(self) -> str:
        where = f" (get a key: {self.key_url})" if self.key_url else ""
        return f"Set {self.key_env} or run `todo config set {self.provider}.api_key`{where}."

    @property
    def models_url(self) -> str:
        return self.base_url.rstrip("/") + "/models"

    @property
    def host(self) -> str:
        return _host(self.base_url)

    def cache_file(self, cache_dir: Path) -> Path:
        """One cache file per provider and base URL."""
        import hashlib

        digest = hashlib.sha256(self.base_url.rstrip("/").encode()).hexdigest()[:12]
        return cache_dir / f"models-{self.provider}-{digest}.json"


def resolve_source(
    settings: Settings, provider: str | None = None, base_url: str | None = None
) -> Source:
    """The catalog source for a provider name and/or base URL override.

    No provider: OpenRouter, or "custom" when only a base URL is given. Raises
    ``UsageError`` for an unknown provider or a provider without a base URL.
    """
    from .providers import get_provider

    name = provider or ("custom" if base_url else "openrouter")
    prov = get_provider(name)
    cfg = settings.provider_config(prov.name)
    url = cfg.require_base_url(base_url)
    key = cfg.api_key if cfg.api_key and cfg.api_key != "not-needed" else None
    cfg.check_key_destination(url, flag=bool(base_url))  # the key goes with the request
    return Source(
        provider=prov.name,
        label=prov.label,
        base_url=url,
        api_key=key,
        key_env=prov.key_env,
        needs_key=prov.needs_key and prov.name not in _KEYLESS_LISTING,
        key_url=prov.key_url,
    )


@dataclass
class CachedBody:
    url: str
    fetched_at: float
    body: bytes


def read_cache(path: Path) -> CachedBody | None:
    """The cached body, or None when missing. A corrupt file is deleted (None)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header, sep, body = data.partition(b"\n")
    try:
        meta = json.loads(header)
        if not sep or meta.get("format") != CACHE_FORMAT:
            raise ValueError("unknown cache format")
        fetched_at = float(meta["fetched_at"])
        url = str(meta.get("url", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        _discard(path)
        return None
    return CachedBody(url=url, fetched_at=fetched_at, body=body)


def write_cache(path: Path, url: str, body: bytes, fetched_at: float) -> bool:
    """Write header line + raw body atomically (temp file + rename). False on failure."""
    import tempfile

    header = json.dumps({"format": CACHE_FORMAT, "url": url, "fetched_at": fetched_at})
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(header.encode() + b"\n" + body)
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp:
            _discard(Path(tmp))
        return False


def _discard(path: Path) -> None:
    with suppress(OSError):
        path.unlink()


# --------------------------------------------------------------------------------------
# Loading a catalog
# --------------------------------------------------------------------------------------


@dataclass
class Catalog:
    """A loaded model list with where it came from and how fresh it is."""

    source: Source
    models: list[Model]
    fetched_at: float
    from_cache: bool = False
    stale: bool = False  # an expired cache used because the fetch failed
    notice: str | None = None  # one line for stderr (offline fallback)

    def get(self, model_id: str) -> Model | None:
        """The model with this id, or None."""
        for m in self.models:
            if m.id == model_id:
                return m
        return None

    @property
    def age_seconds(self) -> float:
        return max(0.0, time.time() - self.fetched_at)


StatusFactory = Callable[[str], AbstractContextManager[Any]]


def _auth_error(source: Source, exc: FetchError) -> ProviderError:
    return ProviderError(
        f"{source.label} rejected the API key ({exc.reason}).", hint=source.key_hint
    )


def _fetch_body(source: Source, timeout: float) -> bytes:
    try:
        return http_get(source.models_url, api_key=source.api_key, timeout=timeout)
    except FetchError as exc:
        if exc.status in (401, 403) and source.api_key and not source.needs_key:
            # The listing works without a key: a bad key must not hide the catalog.
            return http_get(source.models_url, api_key=None, timeout=timeout)
        raise


def _stale(source: Source, cached: CachedBody, models: list[Model], notice: str) -> Catalog:
    """An expired cached catalog, used because a fresh one cannot be had; ``notice`` says why."""
    return Catalog(source, models, cached.fetched_at, from_cache=True, stale=True, notice=notice)


def get_catalog(
    source: Source,
    *,
    cache_dir: Path,
    ttl_seconds: float = DEFAULT_TTL_HOURS * 3600,
    refresh: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    status: StatusFactory | None = None,
    now: Callable[[], float] = time.time,
) -> Catalog:
    """Load ``source``'s catalog from the cache when fresh, else fetch (and cache) it.

    On a failed fetch an older cache is used (``stale=True`` and a ``notice``). With no
    cache: ``CatalogUnavailable`` (exit 1); a rejected key: ``ProviderError``; a missing
    key where the provider needs one: ``ProviderError`` too.
    """
    path = source.cache_file(cache_dir)
    cached = read_cache(path)
    models: list[Model] | None = None
    if cached is not None:
        try:
            models = parse_catalog(cached.body)
        except CatalogFormatError:
            _discard(path)
            cached = None
    if cached is not None and models is not None and not refresh:
        age = now() - cached.fetched_at
        if 0 <= age < ttl_seconds:
            return Catalog(source, models, cached.fetched_at, from_cache=True)

    if source.needs_key and not source.api_key:
        missing = ProviderError(f"No API key for {source.label}.", hint=source.key_hint)
        if cached is None or models is None:
            raise missing
        when = format_age(now() - cached.fetched_at)
        return _stale(
            source, cached, models, f"{missing.message} Showing the model list cached {when}."
        )
    try:
        ctx = status(f"Fetching models from {source.host}…") if status else nullcontext()
        with ctx:
            body = _fetch_body(source, timeout)
        try:
            fresh = parse_catalog(body)
        except CatalogFormatError as exc:
            raise FetchError(f"unexpected response ({exc})") from None
    except FetchError as exc:
        if exc.status in (401, 403):
            raise _auth_error(source, exc) from None
        if cached is not None and models is not None:
            when = format_age(now() - cached.fetched_at)
            reason = f"Could not reach {source.host} ({exc.reason})"
            return _stale(
                source, cached, models, f"{reason}; showing the model list cached {when}."
            )
        raise CatalogUnavailable(
            f"Could not fetch the model list from {source.models_url}: {exc.reason}.",
            hint="Check your connection (or the base URL) and try again; once fetched, "
            "the list is cached for offline use.",
        ) from None
    fetched_at = now()
    write_cache(path, source.models_url, body, fetched_at)
    return Catalog(source, fresh, fetched_at)


def cache_ttl_seconds(settings: Settings) -> float:
    """``models.cache_ttl_hours`` in seconds (default 24 h)."""
    value = settings.get("models.cache_ttl_hours")
    try:
        hours = float(value) if value is not None else DEFAULT_TTL_HOURS
    except (TypeError, ValueError):
        hours = DEFAULT_TTL_HOURS
    if hours != hours or hours < 0:
        hours = DEFAULT_TTL_HOURS
    return hours * 3600


def _cache_dir(settings: Settings) -> Path:
    paths = getattr(settings, "paths", None)
    if paths is None:
        from .config import get_paths

        paths = get_paths()
    return paths.cache_dir


def load_catalog(
    settings: Settings | None = None,
    *,
    provider: str | None = None,
    base_url: str | None = None,
    refresh: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    status: StatusFactory | None = None,
) -> Catalog:
    """The catalog of a provider (OpenRouter by default) per the user's settings."""
    if settings is None:
        from .config import load_settings

        settings = load_settings()
    source = resolve_source(settings, provider, base_url)
    return get_catalog(
        source,
        cache_dir=_cache_dir(settings),
        ttl_seconds=cache_ttl_seconds(settings),
        refresh=refresh,
        timeout=timeout,
        status=status,
    )


def cached_catalog(
    settings: Settings, *, provider: str | None = None, base_url: str | None = None
) -> Catalog | None:
    """The cached catalog whatever its age, without any network access; None if absent.

    Raises ``UsageError`` for an unknown provider or one without a base URL."""
    source = resolve_source(settings, provider, base_url)
    path = source.cache_file(_cache_dir(settings))
    cached = read_cache(path)
    if cached is None:
        return None
    try:
        models = parse_catalog(cached.body)
    except CatalogFormatError:
        return None
    return Catalog(source, models, cached.fetched_at, from_cache=True)


# --------------------------------------------------------------------------------------
# Guards used by `todo models --set` and `todo chat`
# --------------------------------------------------------------------------------------


def _alternatives_text(models: Iterable[Model], exclude: str) -> str:
    alts = free_tool_models(models, limit=3, exclude=[exclude])
    if not alts:
        return ""
    return "Free models that can: " + ", ".join(m.id for m in alts) + "."


def no_tools_message(model_id: str, catalog: Catalog) -> str:
    """One line: the model cannot call tools, plus up to 3 free tool-capable models."""
    line = (
        f"'{model_id}' cannot call tools according to the {catalog.source.label} catalog, "
        "and the todo agent needs them."
    )
    alts = _alternatives_text(catalog.models, model_id)
    return f"{line} {alts}" if alts else line


def tool_support_warning(
    model_id: str,
    settings: Settings,
    *,
    provider: str | None = None,
    base_url: str | None = None,
) -> str | None:
    """A one-line warning when the cached catalog says ``model_id`` cannot call tools.

    Uses the cached catalog only (never fetches, never slow, never raises). Returns None
    when the model can call tools, when the catalog does not say, or with no cache.
    ``provider`` defaults to the configured provider.
    """
    try:
        name = provider or settings.provider
        catalog = cached_catalog(settings, provider=name, base_url=base_url)
        if catalog is None:
            return None
        model = catalog.get(model_id)
        if model is None or model.tools is not False:
            return None
        return no_tools_message(model_id, catalog)
    except Exception:  # a guard must never break the chat
        return None


# --------------------------------------------------------------------------------------
# OpenRouter key information (GET /key, older /auth/key)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyInfo:
    """What OpenRouter says about an API key. Money in USD (credits)."""

    label: str | None
    usage: float | None
    limit: float | None  # None = no limit
    limit_remaining: float | None
    is_free_tier: bool | None
    limit_reset: str | None = None
    usage_daily: float | None = None
    usage_monthly: float | None = None
    rate_limit: dict[str, Any] | None = None
    expires_at: str | None = None

    @property
    def free_requests_per_day(self) -> int | None:
        """Free-model requests a day: 50 on the free tier, 1000 after buying $10+."""
        if self.is_free_tier is None:
            return None
        return FREE_REQUESTS_PER_DAY_FREE_TIER if self.is_free_tier else FREE_REQUESTS_PER_DAY_PAID

    @property
    def remaining(self) -> float | None:
        """Credit left under the key's limit (computed for the older shape)."""
        if self.limit_remaining is not None:
            return self.limit_remaining
        if self.limit is not None and self.usage is not None:
            return max(0.0, self.limit - self.usage)
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by `todo config check --json` (label is already masked
        by OpenRouter, e.g. "sk-or-v1-au7...890")."""
        return {
            "label": self.label,
            "usage": self.usage,
            "usage_daily": self.usage_daily,
            "usage_monthly": self.usage_monthly,
            "limit": self.limit,
            "limit_remaining": self.remaining,
            "limit_reset": self.limit_reset,
            "is_free_tier": self.is_free_tier,
            "free_requests_per_day": self.free_requests_per_day,
            "free_requests_per_minute": FREE_REQUESTS_PER_MINUTE,
            "rate_limit": self.rate_limit,
            "expires_at": self.expires_at,
        }


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None


def parse_key_info(body: bytes | str | dict[str, Any]) -> KeyInfo:
    """Parse ``GET /key`` (current and older shapes, snake or camel case keys)."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise CatalogFormatError("not JSON") from None
    if not isinstance(body, dict):
        raise CatalogFormatError("not an object")
    data = body.get("data", body)
    if not isinstance(data, dict):
        raise CatalogFormatError("no key data")

    def pick(*names: str) -> Any:
        for n in names:
            if n in data:
                return data[n]
        return None

    free_tier = pick("is_free_tier", "isFreeTier")
    label = pick("label", "name")
    rate = pick("rate_limit", "rateLimit")
    reset = pick("limit_reset", "limitReset")
    expires = pick("expires_at", "expiresAt")
    return KeyInfo(
        label=label if isinstance(label, str) else None,
        usage=_num(pick("usage")),
        limit=_num(pick("limit")),
        limit_remaining=_num(pick("limit_remaining", "limitRemaining")),
        is_free_tier=free_tier if isinstance(free_tier, bool) else None,
        limit_reset=reset if isinstance(reset, str) else None,
        usage_daily=_num(pick("usage_daily", "usageDaily")),
        usage_monthly=_num(pick("usage_monthly", "usageMonthly")),
        rate_limit=rate if isinstance(rate, dict) else None,
        expires_at=expires if isinstance(expires, str) else None,
    )


def fetch_key_info(base_url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT) -> KeyInfo:
    """Ask OpenRouter about ``api_key``: ``GET /key``, falling back to ``/auth/key`` on 404.

    Raises ``ProviderError`` for a rejected key (401/403), network failures and
    unexpected answers.
    """
    base = base_url.rstrip("/")
    host = _host(base_url)
    hint_key = (
        "Get a key at https://openrouter.ai/keys and run `todo config set openrouter.api_key` "
        "(or set OPENROUTER_API_KEY)."
    )
    try:
        try:
            body = http_get(f"{base}/key", api_key=api_key, timeout=timeout)
        except FetchError as exc:
            if exc.status != 404:
                raise
            body = http_get(f"{base}/auth/key", api_key=api_key, timeout=timeout)
    except FetchError as exc:
        if exc.status in (401, 403):
            raise ProviderError(
                f"The OpenRouter API key is invalid ({exc.reason}).", hint=hint_key
            ) from None
        raise ProviderError(
            f"Could not check the key with {host}: {exc.reason}.",
            hint="Check your connection and OPENROUTER_BASE_URL, then try again.",
        ) from None
    try:
        return parse_key_info(body)
    except CatalogFormatError as exc:
        raise ProviderError(
            f"Unexpected answer from {host}/key ({exc}).",
            hint="Check OPENROUTER_BASE_URL points at the OpenRouter API.",
        ) from None
