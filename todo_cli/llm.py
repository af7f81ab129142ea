"""Talking to model providers: client factory, model settings, retries, error mapping.

Every provider is an OpenAI-compatible Chat Completions endpoint. This module builds the
``AsyncOpenAI`` client and the Agents SDK model for one, and is the single place that turns
provider failures (HTTP errors, error chunks inside a stream, network errors) into a
``ProviderError`` with a one-line cause and a fix.

Imports ``openai`` and ``agents`` at top level: only agent code imports this module.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import math
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import openai
from agents import ModelSettings, OpenAIChatCompletionsModel, set_tracing_disabled
from openai.resources.chat import AsyncChat, AsyncCompletions

from .errors import ProviderError, TodoError, UsageError
from .providers import Provider

# Tracing uploads prompts and tool data to OpenAI: never, whatever provider is in use.
set_tracing_disabled(True)

APP_URL = "https://github.com/todo-cli/todo"
APP_TITLE = "todo"
OPENROUTER_MAX_TOKENS = 4096
DEFAULT_TIMEOUT = 120.0  # seconds between bytes; OpenRouter sends keep-alive comments
MAX_RATE_LIMIT_RETRIES = 3
MAX_SERVER_ERROR_RETRIES = 1
MAX_RETRY_WAIT = 30.0  # never sleep longer than this for one retry
RETRY_BASE_DELAY = 1.0  # backoff without Retry-After: 1 s, 2 s, 4 s


@dataclass(frozen=True)
class Endpoint:
    """A resolved provider connection: where to send requests, which model, which key."""

    provider: Provider
    base_url: str
    model: str
    api_key: str = field(repr=False)

    @property
    def label(self) -> str:
        return self.provider.label

    @property
    def is_openrouter(self) -> bool:
        return self.provider.name == "openrouter" or "openrouter.ai" in self.base_url


def resolve_endpoint(
    settings: Any,
    provider: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
) -> Endpoint:
    """Base URL, model and key for ``provider`` (default: the configured one).

    Raises ProviderError when the key is missing (exit code 4, names the variable and the
    ``todo config set`` command) and UsageError when a custom server has no URL or model.
    """
    pc = settings.provider_config(provider)
    p: Provider = pc.provider
    url = pc.require_base_url(base_url)
    name = model or pc.model
    if not name:
        raise UsageError(
            f"No model chosen for {p.label}.",
            hint=f"Pass --model ID, or set {p.model_env} or `todo config set {p.name}.model ID`.",
        )
    key = pc.require_key()  # ProviderError naming the variable and the command
    pc.check_key_destination(url, flag=bool(base_url))  # a .env must not redirect the key
    return Endpoint(provider=p, base_url=url.rstrip("/"), model=name, api_key=key)


def timeout_seconds() -> float:
    """Read timeout for model requests (``TODO_TIMEOUT`` overrides, in seconds)."""
    raw = os.environ.get("TODO_TIMEOUT")
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


def _is_json(value: Any) -> bool:
    """Whether ``value`` is plain JSON data (dicts with string keys, lists, scalars)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return True
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


class _Completions(AsyncCompletions):
    """``chat.completions.create`` that sends the messages and tools as they are.

    The Agents SDK hands over messages and tools already as plain JSON. The client would
    walk them again against its request types (for key aliases and file formats, which
    Chat Completions requests do not have): 5-15 ms of CPU a request, growing with the
    conversation, the largest part of a turn's own cost. They go through ``extra_body``
    instead, which the client merges into the JSON unchanged; anything that is not plain
    JSON takes the usual path."""

    async def create(self, **kwargs: Any) -> Any:  # type: ignore[override]
        plain = {
            key: kwargs[key]
            for key in ("messages", "tools")
            if isinstance(kwargs.get(key), list) and _is_json(kwargs[key])
        }
        extra = kwargs.get("extra_body")
        if "messages" not in plain or not (extra is None or isinstance(extra, dict)):
            return await super().create(**kwargs)
        if "tools" in plain:
            kwargs["tools"] = openai.omit
        kwargs["messages"] = []  # replaced by the merge, in the same place in the body
        kwargs["extra_body"] = {**plain, **(extra or {})}  # the caller's extra keys still win
        return await super().create(**kwargs)


class _Chat(AsyncChat):
    @functools.cached_property
    def completions(self) -> _Completions:  # type: ignore[override]
        return _Completions(self._client)


class _Client(openai.AsyncOpenAI):
    @functools.cached_property
    def chat(self) -> _Chat:  # type: ignore[override]
        return _Chat(self)


def make_client(endpoint: Endpoint, *, timeout: float | None = None) -> openai.AsyncOpenAI:
    """An ``AsyncOpenAI`` client for the endpoint (retries are ours, not the client's)."""
    headers: dict[str, str] = {}
    if endpoint.is_openrouter:
        headers = {"HTTP-Referer": APP_URL, "X-OpenRouter-Title": APP_TITLE, "X-Title": APP_TITLE}
    tls = _tls_context()
    return _Client(
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,
        default_headers=headers,
        max_retries=0,
        timeout=timeout if timeout is not None else timeout_seconds(),
        http_client=openai.DefaultAsyncHttpxClient(verify=tls) if tls is not None else None,
    )


@functools.cache
def _tls_context() -> Any:
    """One TLS context, the HTTP library's default, for every client: loading the CA
    bundle costs ~50 ms, once per client otherwise (the server makes one per user).
    None (each client makes its own) if the library does not offer it."""
    import importlib

    try:
        base = openai.DefaultAsyncHttpxClient.__mro__[1]  # httpx's AsyncClient
        library = importlib.import_module(base.__module__.split(".")[0])
        return library.create_ssl_context()
    except Exception:
        return None


def make_model_settings(endpoint: Endpoint, fallback_models: list[str] | None = None):
    """ModelSettings: usage in streams; for OpenRouter also max_tokens, cost and fallbacks."""
    if not endpoint.is_openrouter:
        return ModelSettings(include_usage=True)
    body: dict[str, Any] = {"usage": {"include": True}}
    fallbacks = [m for m in (fallback_models or []) if m and m != endpoint.model]
    if fallbacks:
        body["models"] = [endpoint.model, *fallbacks]
    return ModelSettings(include_usage=True, max_tokens=OPENROUTER_MAX_TOKENS, extra_body=body)


# ---------------------------------------------------------------------- per-turn stats


@dataclass
class TurnStats:
    """What the client saw during one turn: usage, cost, models that answered, notices."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    models: list[str] = field(default_factory=list)
    notice: Callable[[str], None] | None = None

    def add_usage(self, usage: Any) -> None:
        if usage is None:
            return
        self.input_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
        self.output_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
        cost = getattr(usage, "cost", None)
        if cost is None and isinstance(getattr(usage, "model_extra", None), dict):
            cost = usage.model_extra.get("cost")
        if isinstance(cost, int | float):
            self.cost = (self.cost or 0.0) + float(cost)

    def add_model(self, model: str | None) -> None:
        if model and (not self.models or self.models[-1] != model):
            self.models.append(model)


# The agent code sets this for the duration of a turn; the SDK's run-loop task inherits it.
CURRENT_TURN: contextvars.ContextVar[TurnStats | None] = contextvars.ContextVar(
    "todo_current_turn", default=None
)


def _stats() -> TurnStats | None:
    return CURRENT_TURN.get()


def _fix_tool_call_ids(tool_calls: Any, seen: dict[int, str]) -> None:
    """Give every tool call an id: Gemini sends ``"id": ""``, which breaks follow-ups."""
    for tc in tool_calls or []:
        index = getattr(tc, "index", None)
        if index is None:  # non-streamed message tool call
            if not getattr(tc, "id", None):
                tc.id = f"call_{uuid.uuid4().hex[:24]}"
            continue
        if tc.id:
            seen[index] = tc.id
        elif index not in seen:
            tc.id = seen[index] = f"call_{uuid.uuid4().hex[:24]}"
        else:
            tc.id = None


MAX_ARGUMENT_DEPTH = 32  # our tools need 2; JSON nested thousands deep crashes json.loads
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def safe_arguments(text: str) -> str:
    """A model's tool-call arguments made safe for the Agents SDK, which parses and
    fingerprints them before any tool runs: JSON nested deeper than ``MAX_ARGUMENT_DEPTH``
    is cut (invalid JSON, reported to the model as nested too deeply, where the whole text
    would raise RecursionError and end the turn), and lone surrogates (``\\udcff``, not
    valid Unicode, which would raise UnicodeEncodeError) become U+FFFD, as a decoder would
    replace bad bytes."""
    depth = 0
    in_string = escaped = False
    for n, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_ARGUMENT_DEPTH:
                return text[:n]
        elif ch in "]}":
            depth -= 1
    text = _LONE_SURROGATE.sub("\ufffd", text)
    if "\\u" not in text:
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    fixed = _replace_surrogates(value)
    return text if fixed == value else json.dumps(fixed, ensure_ascii=False)


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def _safe_output(items: Any) -> None:
    """Make the arguments of every function call in a response's output safe."""
    for item in items or []:
        if getattr(item, "type", None) == "function_call" and isinstance(item.arguments, str):
            item.arguments = safe_arguments(item.arguments)


class BrokenStream(Exception):
    """A 200 response that is not a complete model stream (mapped by to_provider_error)."""

    def __init__(self, chunks: int, content_type: str) -> None:
        super().__init__(f"stream ended without a finish chunk after {chunks} chunks")
        self.chunks = chunks
        self.content_type = content_type


class _WatchedStream:
    """Wraps the provider's chunk stream: fixes tool-call ids, records model and usage, and
    raises ``BrokenStream`` when the stream ends before a choice finished (a connection cut
    cleanly in the middle, or a 200 page that is not a stream at all)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.response = getattr(stream, "response", None)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        seen: dict[int, str] = {}
        stats = _stats()
        chunks = 0
        finished = False
        async for chunk in self._stream:
            chunks += 1
            if stats is not None:
                stats.add_model(getattr(chunk, "model", None))
                if getattr(chunk, "usage", None) is not None:
                    stats.add_usage(chunk.usage)
            for choice in chunk.choices or []:
                finished = finished or bool(getattr(choice, "finish_reason", None))
                delta = getattr(choice, "delta", None)
                if delta is not None and delta.tool_calls:
                    _fix_tool_call_ids(delta.tool_calls, seen)
            yield chunk
        if not finished:
            headers = getattr(self.response, "headers", None) or {}
            raise BrokenStream(chunks, str(headers.get("content-type", "")))

    async def close(self) -> None:
        await self._stream.close()


class TodoChatModel(OpenAIChatCompletionsModel):
    """Chat Completions model with visible rate-limit retries and stream bookkeeping."""

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        response = await super().get_response(*args, **kwargs)
        _safe_output(getattr(response, "output", None))
        return response

    async def stream_response(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        event: Any
        async for event in super().stream_response(*args, **kwargs):
            kind = getattr(event, "type", None)
            if kind == "response.completed":
                _safe_output(getattr(event.response, "output", None))
            elif kind == "response.output_item.done":
                _safe_output([event.item])
            yield event

    async def _fetch_response(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        attempt = 0
        while True:
            try:
                ret = await super()._fetch_response(*args, **kwargs)
                break
            except openai.APIStatusError as exc:
                delay = retry_delay(exc, attempt)
                if delay is None:
                    raise
                attempt += 1
                stats = _stats()
                if stats is not None and stats.notice is not None:
                    what = "rate limited" if exc.status_code == 429 else "provider error"
                    stats.notice(f"{what}, retrying in {max(1, math.ceil(delay))} s")
                await asyncio.sleep(delay)
        if isinstance(ret, tuple):
            response, stream = ret
            return response, _WatchedStream(stream)
        stats = _stats()
        if stats is not None:
            stats.add_model(getattr(ret, "model", None))
            stats.add_usage(getattr(ret, "usage", None))
        for choice in getattr(ret, "choices", None) or []:
            _fix_tool_call_ids(getattr(choice.message, "tool_calls", None), {})
        return ret


def make_model(endpoint: Endpoint, client: openai.AsyncOpenAI | None = None) -> TodoChatModel:
    return TodoChatModel(model=endpoint.model, openai_client=client or make_client(endpoint))


# ---------------------------------------------------------------------- error mapping


def _error_body(exc: Any) -> dict[str, Any]:
    """The ``error`` object of a provider's error body, whatever its shape."""
    body = getattr(exc, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], dict):  # Gemini wraps in a list
        body = body[0]
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            return inner
        if isinstance(inner, str):
            return {"message": inner}
        return body
    return {}


def _message(exc: Any, err: dict[str, Any]) -> str:
    msg = err.get("message")
    raw = (err.get("metadata") or {}).get("raw") if isinstance(err.get("metadata"), dict) else None
    if isinstance(raw, str) and raw.strip():
        msg = f"{msg}: {raw}" if msg and msg not in raw else raw
    if not msg:
        msg = getattr(exc, "message", None) or str(exc)
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= 300 else msg[:297] + "..."


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            try:
                from email.utils import parsedate_to_datetime

                when = parsedate_to_datetime(value)
                seconds = when.timestamp() - time.time()
            except (TypeError, ValueError):
                continue
        return max(0.0, seconds / 1000 if name == "retry-after-ms" else seconds)
    return None


def is_daily_limit(exc: Any) -> bool:
    err = _error_body(exc)
    text = f"{err.get('message', '')} {getattr(exc, 'message', '')}".lower()
    return "per-day" in text or "per day" in text or "daily" in text


def retry_delay(exc: openai.APIStatusError, attempt: int) -> float | None:
    """Seconds to wait before retrying this failure, or None when it must not be retried."""
    status = exc.status_code
    if status == 429:
        if is_daily_limit(exc) or attempt >= MAX_RATE_LIMIT_RETRIES:
            return None
    elif status in (408, 500, 502, 503, 504):
        if attempt >= MAX_SERVER_ERROR_RETRIES:
            return None
    else:
        return None
    after = _retry_after(exc)
    if after is None:
        return RETRY_BASE_DELAY * (2**attempt)
    return after if after <= MAX_RETRY_WAIT else None


def _daily_reset_text(err: dict[str, Any]) -> str:
    headers = (err.get("metadata") or {}).get("headers") if isinstance(err, dict) else None
    reset: datetime | None = None
    if isinstance(headers, dict):
        raw = headers.get("X-RateLimit-Reset") or headers.get("x-ratelimit-reset")
        try:
            reset = datetime.fromtimestamp(int(str(raw)) / 1000, UTC)
        except (TypeError, ValueError, OverflowError):
            reset = None
    now = datetime.now(UTC)
    if reset is None or reset <= now:
        reset = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    minutes = int((reset - now).total_seconds() // 60)
    return f"it resets at 00:00 UTC (in {minutes // 60} h {minutes % 60:02d} min)"


_TOOLS_UNSUPPORTED = (
    "does not support tools",
    "doesn't support tools",
    "tools are not supported",
    "tool use is not supported",
    "tool calling is not supported",
    "does not support tool",
    "tools param requires",
    "function calling is not",
    "not support function calling",
)


def to_provider_error(exc: BaseException, endpoint: Endpoint | None = None) -> TodoError:
    """Map any provider failure to a ProviderError with a one-line cause and a fix."""
    if isinstance(exc, TodoError):
        return exc
    label = endpoint.label if endpoint else "The provider"
    model = endpoint.model if endpoint else "the model"
    url = endpoint.base_url if endpoint else "the provider"
    name = endpoint.provider.name if endpoint else "PROVIDER"
    other_model = "Try again, or pick another model with --model."

    broken = next((e for e in _chain(exc) if isinstance(e, BrokenStream)), None)
    if broken is not None:
        kind = broken.content_type.split(";")[0].strip() or "no content type"
        if broken.chunks == 0 and "event-stream" not in kind:
            return ProviderError(
                f"{url} answered with a page that is not a model stream (status 200, {kind}).",
                hint="Check the base URL: it must be an OpenAI-compatible API (it usually "
                "ends in /v1), not a web page or a login portal.",
            )
        return ProviderError(
            f"The answer from {label} was cut off: the stream ended before the model "
            f"finished ({url}).",
            hint=other_model,
        )

    if isinstance(exc, openai.APITimeoutError) or _is_timeout(exc):
        return ProviderError(
            f"{label} did not answer in time ({url}).",
            hint="The model may be overloaded: try again, raise TODO_TIMEOUT, "
            "or pick another model with --model.",
        )
    if isinstance(exc, openai.APIConnectionError) or _is_network(exc):
        hint = "Check the URL and your network connection."
        if endpoint and endpoint.provider.name == "ollama":
            hint = "Is Ollama running? Start it with `ollama serve`."
        elif endpoint and endpoint.provider.name == "custom":
            hint = "Is the server running? Check --base-url / CUSTOM_BASE_URL."
        if _is_broken_stream(exc):
            return ProviderError(f"The connection to {url} broke during the answer.", hint=hint)
        return ProviderError(f"Could not connect to {label} at {url}.", hint=hint)
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, exc.status_code, label, model, name, endpoint)
    if isinstance(exc, openai.APIError):
        # An error chunk inside a 200 stream (or an error body without an HTTP status).
        err = _error_body(exc)
        code = err.get("code")
        msg = _message(exc, err)
        if isinstance(code, int) and code >= 400:
            mapped = _status_error(exc, code, label, model, name, endpoint)
            return ProviderError(f"The answer stopped: {mapped.message}", hint=mapped.hint)
        return ProviderError(
            f"The answer stopped: {label} reported an error ({msg}).", hint=other_model
        )
    cls = type(exc).__name__
    detail = " ".join(str(exc).split())
    detail = detail if len(detail) <= 200 else detail[:197] + "..."
    if cls == "MaxTurnsExceeded":
        return ProviderError(
            "The agent took too many steps without finishing.",
            hint="Ask for something smaller, or try another model with --model.",
        )
    if cls == "ModelBehaviorError" and "not found in agent" in detail:
        tool = detail.split(" not found", 1)[0].removeprefix("Tool ")
        return ProviderError(
            f"{model} called a tool that does not exist ({tool}).",
            hint="Try again, or pick a model that handles tools better (`todo models --tools`).",
        )
    if cls in ("ModelBehaviorError", "AgentsException", "UserError"):
        return ProviderError(f"{label} returned an unusable answer ({detail}).", hint=other_model)
    return ProviderError(f"{label} request failed ({cls}: {detail}).", hint=other_model)


def _status_error(
    exc: Any, status: int, label: str, model: str, name: str, endpoint: Endpoint | None
) -> ProviderError:
    err = _error_body(exc)
    msg = _message(exc, err)
    low = msg.lower()
    code = err.get("code")
    key_env = endpoint.provider.key_env if endpoint else "the API key variable"
    if code == "tool_use_failed" or "tool call validation failed" in low:
        return ProviderError(
            f"{model} produced a malformed tool call ({label}: {msg}).",
            hint="Try again (rephrasing helps), or use another model with --model.",
        )
    bad_key = any(s in low for s in ("api key not valid", "invalid api key", "incorrect api key"))
    if status == 401 or (status in (400, 403) and bad_key):
        where = (
            f" (new key: {endpoint.provider.key_url})"
            if endpoint and endpoint.provider.key_url
            else ""
        )
        return ProviderError(
            f"{label} rejected the API key ({status}: {msg}).",
            hint=f"Check {key_env} or run `todo config set {name}.api_key`{where}.",
        )
    if status == 402:
        return ProviderError(
            f"Not enough credits on your {label} account (402: {msg}).",
            hint="Add credits at https://openrouter.ai/settings/credits. A negative balance "
            "blocks free models too; a smaller max_tokens or prompt may fit what is left.",
        )
    if status == 403:
        return ProviderError(
            f"{label} refused the request (403: {msg}).",
            hint="Rephrase the request or pick another model with --model.",
        )
    if status == 404 and "tool use" in low:
        return ProviderError(
            f"{model} cannot call tools on {label} (404: no endpoint supports tool use).",
            hint="Pick a model that can: `todo models --free --tools`.",
        )
    if status == 404 and "tool_choice" in low:
        return ProviderError(
            f"{model} does not support the tool settings this agent needs (404).",
            hint="Pick a model that can use tools: `todo models --free --tools`.",
        )
    if any(s in low for s in _TOOLS_UNSUPPORTED):
        return ProviderError(
            f"{model} does not support tool calling on {label} ({status}: {msg}).",
            hint="Pick a model that can use tools (`todo models --tools`); on Ollama try "
            "llama3.1 or qwen2.5.",
        )
    if status == 404 or (status == 400 and "not a valid model" in low):
        return ProviderError(
            f"Unknown model '{model}' on {label} (404: {msg}).",
            hint="Find a model id with `todo models --search WORD`.",
        )
    if status == 408:
        return ProviderError(
            f"{label} timed out (408: {msg}).",
            hint="Try again, or pick another model with --model.",
        )
    if status == 429:
        if is_daily_limit(exc):
            return ProviderError(
                f"Daily free-model limit reached on {label} (429: {msg}).",
                hint="Accounts that bought under $10 of credits get 50 free-model requests a "
                "day, 1000 otherwise; " + _daily_reset_text(err) + ". Until then use a paid "
                "model or add credits.",
            )
        after = _retry_after(exc)
        wait = f"Wait {math.ceil(after)} s" if after else "Wait a minute"
        return ProviderError(
            f"Rate limited by {label} (429: {msg}).",
            hint=f"{wait} and try again, or pick another model with --model (free models "
            "allow about 20 requests a minute).",
        )
    if status >= 500:
        return ProviderError(
            f"{label} had a server error ({status}: {msg}).",
            hint="The model may be down: try again shortly, pick another with --model, or "
            "set openrouter.fallback_models.",
        )
    return ProviderError(
        f"{label} rejected the request ({status}: {msg}).",
        hint="Try again, or pick another model with --model.",
    )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _is_timeout(exc: BaseException) -> bool:
    return any("Timeout" in type(e).__name__ for e in _chain(exc)) or isinstance(exc, TimeoutError)


def _is_network(exc: BaseException) -> bool:
    names = (
        "ConnectError",
        "NetworkError",
        "RemoteProtocolError",
        "ReadError",
        "TransportError",
        "ProtocolError",
    )
    return any(type(e).__name__ in names for e in _chain(exc)) or isinstance(exc, ConnectionError)


def _is_broken_stream(exc: BaseException) -> bool:
    names = ("RemoteProtocolError", "ReadError")
    return any(type(e).__name__ in names for e in _chain(exc))
