"""A fake OpenAI-compatible server that speaks the way OpenRouter does.

Use it three ways:

- as a pytest fixture: ``from fakeserver import fake_server  # noqa: F401`` then take
  ``fake_server`` as an argument (started on 127.0.0.1, random port, stopped afterwards);
- as a class: ``server = FakeServer().start(); ...; server.stop()`` (benchmarks, tmux tests);
- as a process: ``python tests/fakeserver.py --port 0 --script script.json`` prints
  ``URL <base url>`` on its first stdout line and serves until killed.

Each ``POST /chat/completions`` takes the next scripted response from a queue. Build
responses with the helpers (``add_text``, ``add_tool_call``, ``add_tool_calls``,
``add_reasoning_text``, ``add_error``, ``add_stream_error``, ``add_sse``, ``add_json``) or
``add_spec`` with a dict (the same dicts a ``--script`` file holds, as a JSON list):

    {"type": "text", "text": "Hello", "reasoning": "optional", "model": "...", "delay": 0.1}
    {"type": "tool_calls", "calls": [{"name": "add_tasks", "arguments": {...}, "id": "call_1"}]}
    {"type": "error", "status": 429, "body": {...}, "headers": {"Retry-After": "1"}}
    {"type": "stream_error", "text": "partial", "error": {"code": 502, "message": "..."}}
    {"type": "sse", "body": "raw SSE text"}   or   {"type": "sse", "file": "path.sse"}
    {"type": "json", "body": {...}, "status": 200}
    {"type": "keepalive"} · {"type": "cut_stream", "text": "..."} · {"type": "html"}
                                                  (broken streams: see that section)

Streamed answers carry what real OpenRouter streams carry: a ``: OPENROUTER PROCESSING``
comment first, ``provider`` and ``native_finish_reason`` keys, tool-call ids only on the
first delta of each call, arguments split over several chunks, the usage chunk after the
finish chunk, then ``data: [DONE]``. A request with ``"stream": false`` gets the same
scripted answer as one JSON completion.

The conversation a request sends is checked the way the strictest providers check it
(``history_problem``): every assistant tool call answered by a tool message right after it,
and an assistant message (not a user message) after tool output. A request that breaks
this gets a 400, as from the provider, without using up a scripted answer
(``server.strict_history = False`` turns the check off).

Every request is recorded in ``server.requests`` (method, path, query, headers, JSON body);
``server.chat_requests`` holds only the chat completions. ``GET /models`` serves
``server.models_body`` and ``GET /key`` serves ``server.key_body``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_MODEL = "openai/gpt-oss-20b:free"

DEFAULT_MODELS_BODY: dict[str, Any] = {
    "data": [
        {
            "id": "openai/gpt-oss-20b:free",
            "canonical_slug": "openai/gpt-oss-20b",
            "name": "OpenAI: gpt-oss-20b (free)",
            "created": 1754414229,
            "description": "A small open-weight reasoning model.",
            "context_length": 131072,
            "architecture": {
                "modality": "text->text",
                "input_modalities": ["text"],
                "output_modalities": ["text"],
                "tokenizer": "GPT",
                "instruct_type": None,
            },
            "pricing": {},
            "top_provider": {
                "context_length": 131072,
                "max_completion_tokens": 8192,
                "is_moderated": False,
            },
            "supported_parameters": ["max_tokens", "reasoning", "tool_choice", "tools"],
        }
    ]
}

DEFAULT_KEY_BODY: dict[str, Any] = {
    "data": {
        "label": "sk-or-v1-abc...xyz",
        "limit": None,
        "limit_remaining": None,
        "usage": 0,
        "is_free_tier": True,
    }
}


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages") or [])


@dataclass
class Scripted:
    """One scripted answer to a chat completion request."""

    kind: str  # "stream" | "raw" | "error" | "json"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[dict[str, Any]] = field(default_factory=list)  # for "stream"
    raw: str = ""  # for "raw" (SSE text) / "error" / "json" body text
    delay: float = 0.0  # seconds between chunks
    first_delay: float = 0.0  # seconds before the response starts
    completion: dict[str, Any] | None = None  # non-streamed equivalent of a stream


def history_problem(messages: list[Any]) -> str | None:
    """Why a provider would reject this message list (None when it is valid)."""
    pending: list[Any] = []
    previous = None
    for n, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if pending and role != "tool":
            return f"messages[{n}]: tool call(s) {pending} have no tool message before this one"
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                return f"messages[{n}]: tool message for {call_id!r}, which no call is waiting for"
            pending.remove(call_id)
        elif role == "assistant":
            pending = [c.get("id") for c in message.get("tool_calls") or []]
        elif role == "user" and previous == "tool":
            return f"messages[{n}]: a user message right after a tool message"
        previous = role
    if pending:
        return f"the conversation ends with unanswered tool call(s) {pending}"
    return None


def _gen_id() -> str:
    return f"gen-{int(time.time())}-{uuid.uuid4().hex[:20]}"


def _split(text: str, parts: int) -> list[str]:
    if not text:
        return [""]
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _words(text: str) -> list[str]:
    """Split text into word-sized pieces (spaces kept), like a model's tokens."""
    pieces: list[str] = []
    current = ""
    for ch in text:
        if ch == " " and current.strip():
            pieces.append(current)
            current = ""
        current += ch
    if current:
        pieces.append(current)
    return pieces


class _Builder:
    """Builds OpenRouter-shaped chunks of one streamed completion."""

    def __init__(self, model: str, provider: str) -> None:
        self.id = _gen_id()
        self.model = model
        self.provider = provider
        self.created = int(time.time())

    def chunk(
        self, delta: dict[str, Any], finish: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "provider": self.provider,
            "model": self.model,
            "object": "chat.completion.chunk",
            "created": self.created,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", **delta},
                    "finish_reason": finish,
                    "native_finish_reason": finish,
                    "logprobs": None,
                }
            ],
        }
        body.update(extra)
        return body


def _usage(prompt: int, completion: int, cost: float | None, reasoning: int = 0) -> dict:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0},
        "cost_details": {"upstream_inference_cost": None},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }
    if cost is not None:
        usage["cost"] = cost
    return usage


def build_stream(
    *,
    text: str = "",
    reasoning: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    model: str = DEFAULT_MODEL,
    provider: str = "OpenInference",
    usage: dict[str, Any] | None = None,
    prompt_tokens: int = 100,
    completion_tokens: int | None = None,
    cost: float | None = 0.0,
    delay: float = 0.0,
    first_delay: float = 0.0,
    headers: dict[str, str] | None = None,
) -> Scripted:
    """A streamed answer: optional reasoning, then text and/or tool calls, then usage."""
    b = _Builder(model, provider)
    chunks: list[dict[str, Any]] = [b.chunk({"content": ""})]
    if reasoning:
        for piece in _words(reasoning):
            chunks.append(
                b.chunk(
                    {
                        "content": "",
                        "reasoning": piece,
                        "reasoning_details": [
                            {"type": "reasoning.text", "text": piece, "index": 0, "format": None}
                        ],
                    }
                )
            )
    for piece in _words(text):
        chunks.append(b.chunk({"content": piece}))
    message_calls: list[dict[str, Any]] = []
    for index, call in enumerate(tool_calls or []):
        call_id = call.get("id")
        if call_id is None:
            call_id = f"call_{uuid.uuid4().hex[:24]}"
        args = call.get("arguments", {})
        args_text = args if isinstance(args, str) else json.dumps(args)
        message_calls.append(
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call["name"], "arguments": args_text},
            }
        )
        chunks.append(
            b.chunk(
                {
                    "content": None,
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": call["name"], "arguments": ""},
                        }
                    ],
                }
            )
        )
        for piece in _split(args_text, 3):
            chunks.append(
                b.chunk(
                    {
                        "content": None,
                        "tool_calls": [
                            {"index": index, "function": {"arguments": piece}, "type": "function"}
                        ],
                    }
                )
            )
    finish = "tool_calls" if tool_calls else "stop"
    chunks.append(b.chunk({"content": ""}, finish))
    if completion_tokens is None:
        completion_tokens = max(1, len(text.split()) + 10 * len(tool_calls or []))
    if usage is None:
        usage = _usage(prompt_tokens, completion_tokens, cost)
    if usage:
        chunks.append(b.chunk({"content": ""}, None, usage=usage))
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if reasoning:
        message["reasoning"] = reasoning
    if message_calls:
        message["tool_calls"] = message_calls
    completion = {
        "id": b.id,
        "provider": provider,
        "model": model,
        "object": "chat.completion",
        "created": b.created,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish,
                "native_finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": usage or None,
    }
    return Scripted(
        "stream",
        chunks=chunks,
        delay=delay,
        first_delay=first_delay,
        completion=completion,
        headers=dict(headers or {}),
    )


def spec_to_scripted(spec: dict[str, Any], base_dir: Path | None = None) -> Scripted:
    """Turn one script dict (see the module docstring) into a scripted response."""
    spec = dict(spec)
    kind = spec.pop("type", "text")
    common = {k: spec.pop(k) for k in ("delay", "first_delay", "headers") if k in spec}
    if kind == "text":
        return build_stream(**spec, **common)
    if kind in ("tool_call", "tool_calls"):
        calls = spec.pop("calls", None)
        if calls is None:
            calls = [
                {
                    "name": spec.pop("name"),
                    "arguments": spec.pop("arguments", {}),
                    **({"id": spec.pop("id")} if "id" in spec else {}),
                }
            ]
        return build_stream(tool_calls=calls, **spec, **common)
    if kind == "error":
        body = spec.get("body", {"error": {"code": spec.get("status", 500), "message": "error"}})
        if "file" in spec:
            body_text = _read(spec["file"], base_dir)
        else:
            body_text = body if isinstance(body, str) else json.dumps(body)
        return Scripted(
            "error",
            status=int(spec.get("status", 500)),
            raw=body_text,
            headers=dict(common.get("headers", {})),
            first_delay=common.get("first_delay", 0.0),
        )
    if kind == "stream_error":
        s = build_stream(
            text=spec.get("text", ""), model=spec.get("model", DEFAULT_MODEL), usage={}
        )
        error = spec.get("error", {"code": 502, "message": "Upstream error"})
        b = _Builder(spec.get("model", DEFAULT_MODEL), "OpenInference")
        b.id = s.chunks[0]["id"]
        # Drop the finish chunk: the error interrupts the stream.
        s.chunks = [c for c in s.chunks if c["choices"][0]["finish_reason"] is None]
        s.chunks.append(b.chunk({"content": ""}, spec.get("finish_reason", "error"), error=error))
        s.delay = common.get("delay", 0.0)
        return s
    if kind == "sse":
        raw = _read(spec["file"], base_dir) if "file" in spec else spec["body"]
        return Scripted("raw", raw=raw, **common)
    if kind == "json":
        body = spec.get("body")
        return Scripted(
            "json",
            status=int(spec.get("status", 200)),
            raw=body if isinstance(body, str) else json.dumps(body),
            **common,
        )
    broken = _broken_spec(kind, spec, common)
    if broken is not None:
        return broken
    raise ValueError(f"unknown scripted response type {kind!r}")


# ---------------------------------------------------------------- broken streams
# Failure modes a real provider (or a wrong URL) produces, for the error-path tests:
#   {"type": "keepalive", "delay": 0.2}      ": OPENROUTER PROCESSING" comments, forever
#   {"type": "cut_stream", "text": "Half an"} a 200 stream that ends before its finish chunk
#   {"type": "html", "body": "<html>..."}     a 200 web page (a portal or a wrong base URL)

KEEPALIVE_MAX = 120.0  # seconds: a keep-alive stream gives up on its own after this
HTML_PAGE = "<!doctype html><html><head><title>Sign in</title></head><body>Welcome</body></html>"


def keepalive_forever(interval: float = 0.2) -> Scripted:
    """A 200 event stream that only ever sends keep-alive comments (until the client goes)."""
    return Scripted("keepalive", delay=interval)


def cut_stream(
    text: str = "", tool_calls: list[dict[str, Any]] | None = None, **kw: Any
) -> Scripted:
    """A streamed answer whose connection ends cleanly before the finish chunk: no
    ``finish_reason``, no usage, no ``data: [DONE]``."""
    full = build_stream(text=text, tool_calls=tool_calls, **kw)
    finish = next(i for i, c in enumerate(full.chunks) if c["choices"][0]["finish_reason"])
    events = [": OPENROUTER PROCESSING"] + [f"data: {json.dumps(c)}" for c in full.chunks[:finish]]
    return Scripted("raw", raw="\n\n".join(events) + "\n\n", delay=full.delay)


def html_page(body: str = HTML_PAGE, status: int = 200) -> Scripted:
    """An HTML page (Content-Type text/html) instead of an API answer."""
    return Scripted("html", status=status, raw=body)


def _broken_spec(kind: str, spec: dict[str, Any], common: dict[str, Any]) -> Scripted | None:
    if kind == "keepalive":
        return keepalive_forever(common.get("delay", 0.2))
    if kind == "cut_stream":
        return cut_stream(**spec, **common)
    if kind == "html":
        return html_page(spec.get("body", HTML_PAGE), int(spec.get("status", 200)))
    return None


def _read(path: str | Path, base_dir: Path | None) -> str:
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    return p.read_text(encoding="utf-8")


class FakeServer:
    """A scripted OpenAI-compatible HTTP server on 127.0.0.1 in a background thread."""

    def __init__(self, *, prefix: str = "/api/v1", port: int = 0) -> None:
        self.prefix = prefix.rstrip("/")
        self.port = port
        self.queue: deque[Scripted] = deque()
        self.requests: list[RecordedRequest] = []
        self.models_body: Any = DEFAULT_MODELS_BODY
        self.key_body: Any = DEFAULT_KEY_BODY
        self.default: Scripted | None = None  # served when the queue is empty
        self.strict_history = True  # 400 for a conversation a strict provider rejects
        # Answers from the request itself, before the queue (for many clients at once):
        # return a Scripted, or None to take the next scripted answer.
        self.responder: Callable[[RecordedRequest], Scripted | None] | None = None
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> FakeServer:
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = _QuietServer(("127.0.0.1", self.port), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to give the client, e.g. ``http://127.0.0.1:5123/api/v1``."""
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    # -- scripting -------------------------------------------------------------------
    def add(self, scripted: Scripted) -> FakeServer:
        with self._lock:
            self.queue.append(scripted)
        return self

    def add_spec(self, spec: dict[str, Any], base_dir: Path | None = None) -> FakeServer:
        return self.add(spec_to_scripted(spec, base_dir))

    def add_text(self, text: str, **kw: Any) -> FakeServer:
        """A streamed text answer. kw: reasoning, model, provider, usage, cost, delay..."""
        return self.add(build_stream(text=text, **kw))

    def add_reasoning_text(self, reasoning: str, text: str, **kw: Any) -> FakeServer:
        return self.add(build_stream(text=text, reasoning=reasoning, **kw))

    def add_tool_call(
        self, name: str, arguments: dict[str, Any] | str, *, call_id: str | None = None, **kw: Any
    ) -> FakeServer:
        """One tool call (call_id="" imitates Gemini's empty ids)."""
        call: dict[str, Any] = {"name": name, "arguments": arguments}
        if call_id is not None:
            call["id"] = call_id
        return self.add(build_stream(tool_calls=[call], **kw))

    def add_tool_calls(self, calls: list[tuple[str, dict[str, Any]] | dict], **kw: Any):
        """Several tool calls in one answer: [(name, args), ...] or dicts with name/arguments/id."""
        norm = [c if isinstance(c, dict) else {"name": c[0], "arguments": c[1]} for c in calls]
        return self.add(build_stream(tool_calls=norm, **kw))

    def add_error(
        self,
        status: int,
        body: dict[str, Any] | str | None = None,
        *,
        headers: dict[str, str] | None = None,
        first_delay: float = 0.0,
    ) -> FakeServer:
        """An HTTP error with a JSON body (default: OpenRouter's error shape)."""
        if body is None:
            body = {"error": {"code": status, "message": f"Error {status}"}}
        text = body if isinstance(body, str) else json.dumps(body)
        return self.add(
            Scripted(
                "error",
                status=status,
                raw=text,
                headers=dict(headers or {}),
                first_delay=first_delay,
            )
        )

    def add_stream_error(
        self, text: str, error: dict[str, Any] | None = None, **kw: Any
    ) -> FakeServer:
        """A 200 stream that sends some text, then a chunk with a top-level ``error``."""
        spec: dict[str, Any] = {"type": "stream_error", "text": text, **kw}
        if error is not None:
            spec["error"] = error
        return self.add_spec(spec)

    def add_sse(self, raw: str, **kw: Any) -> FakeServer:
        """A raw SSE body served verbatim (e.g. a recorded fixture file's text)."""
        return self.add(Scripted("raw", raw=raw, **kw))

    def add_json(self, body: dict[str, Any], status: int = 200) -> FakeServer:
        """A non-streamed JSON answer served as is."""
        return self.add(Scripted("json", status=status, raw=json.dumps(body)))

    # -- broken streams (see keepalive_forever, cut_stream, html_page) ------------------
    def add_keepalive_forever(self, interval: float = 0.2) -> FakeServer:
        """Keep-alive comments and nothing else, until the client hangs up."""
        return self.add(keepalive_forever(interval))

    def add_cut_stream(self, text: str = "", **kw: Any) -> FakeServer:
        """A stream that ends before its finish chunk (kw: tool_calls, model, delay...)."""
        return self.add(cut_stream(text, **kw))

    def add_html_page(self, body: str = HTML_PAGE, status: int = 200) -> FakeServer:
        """A web page with status 200 instead of a completion."""
        return self.add(html_page(body, status))

    def load_script(self, path: str | Path) -> FakeServer:
        p = Path(path)
        for spec in json.loads(p.read_text(encoding="utf-8")):
            self.add_spec(spec, p.parent)
        return self

    def clear(self) -> None:
        with self._lock:
            self.queue.clear()
            self.requests.clear()

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def pending(self) -> int:
        return len(self.queue)

    def _next(self, rec: RecordedRequest | None = None) -> Scripted:
        if self.responder is not None and rec is not None:
            answer = self.responder(rec)
            if answer is not None:
                return answer
        with self._lock:
            if self.queue:
                return self.queue.popleft()
        if self.default is not None:
            return self.default
        body = {"error": {"code": 500, "message": "fake server: no scripted response left"}}
        return Scripted("error", status=500, raw=json.dumps(body))


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients at once (load tests) must not be refused

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return  # a client that hung up (cancelled turn, timeout test)
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeServer
    protocol_version = "HTTP/1.1"
    # Each SSE event is its own small write: with Nagle's algorithm on, every write after
    # the first waits for the client's delayed ACK (up to 40 ms), a delay no real provider adds.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _record(self) -> RecordedRequest:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        with self.fake._lock:
            self.fake.requests.append(rec)
        return rec

    def _send_body(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _route(self, rec: RecordedRequest) -> str | None:
        prefix = self.fake.prefix
        path = rec.path
        if prefix and path.startswith(prefix):
            path = path[len(prefix) :]
        return path.rstrip("/") or "/"

    def do_GET(self) -> None:  # noqa: N802
        rec = self._record()
        path = self._route(rec)
        if path == "/models":
            self._send_body(200, json.dumps(self.fake.models_body))
        elif path in ("/key", "/auth/key"):
            self._send_body(200, json.dumps(self.fake.key_body))
        else:
            self._send_body(404, json.dumps({"error": {"code": 404, "message": "Not Found"}}))

    def do_POST(self) -> None:  # noqa: N802
        rec = self._record()
        if self._route(rec) != "/chat/completions":
            self._send_body(404, json.dumps({"error": {"code": 404, "message": "Not Found"}}))
            return
        problem = history_problem(rec.messages) if self.fake.strict_history else None
        if problem is not None:
            body = {"error": {"code": 400, "message": f"Invalid conversation: {problem}"}}
            self._send_body(400, json.dumps(body))
            return
        scripted = self.fake._next(rec)
        if scripted.first_delay:
            time.sleep(scripted.first_delay)
        stream = bool(isinstance(rec.body, dict) and rec.body.get("stream"))
        try:
            if scripted.kind in ("error", "json"):
                self._send_body(scripted.status, scripted.raw, scripted.headers)
            elif not stream and scripted.completion is not None:
                self._send_body(200, json.dumps(scripted.completion), scripted.headers)
            elif scripted.kind == "raw":
                self._stream_raw(scripted)
            elif scripted.kind in ("keepalive", "html"):
                self._broken(scripted)
            else:
                self._stream(scripted)
        except (BrokenPipeError, ConnectionResetError):
            # The client went away (a cancelled turn): nothing more to do.
            self.close_connection = True

    def _start_stream(self, headers: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()

    def _write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _stream(self, s: Scripted) -> None:
        self._start_stream(s.headers)
        self._write(": OPENROUTER PROCESSING\n\n")
        for chunk in s.chunks:
            if s.delay:
                time.sleep(s.delay)
            self._write(f"data: {json.dumps(chunk)}\n\n")
        self._write("data: [DONE]\n\n")
        self._end_stream()

    def _broken(self, s: Scripted) -> None:
        """Serve a broken-stream response (``keepalive_forever``, ``html_page``)."""
        if s.kind == "html":
            data = s.raw.encode("utf-8")
            self.send_response(s.status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self._start_stream(s.headers)
        began = time.monotonic()
        while time.monotonic() - began < KEEPALIVE_MAX:
            self._write(": OPENROUTER PROCESSING\n\n")
            time.sleep(s.delay or 0.2)
        self._end_stream()

    def _stream_raw(self, s: Scripted) -> None:
        self._start_stream(s.headers)
        events = [e for e in s.raw.replace("\r\n", "\n").split("\n\n") if e.strip()]
        for event in events:
            if s.delay:
                time.sleep(s.delay)
            self._write(event + "\n\n")
        self._end_stream()


try:
    import pytest
except ImportError:  # running as a script without pytest installed
    pytest = None  # type: ignore[assignment]

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class NetworkGuard:
    """Refuses (and records) every socket connection that is not to the loopback address."""

    def __init__(self) -> None:
        self.attempts: list[Any] = []
        self._saved: list[tuple[Any, str, Any]] = []

    def _allowed(self, address: Any) -> bool:
        if isinstance(address, tuple) and address:
            return str(address[0]) in _LOOPBACK
        return isinstance(address, str | bytes)  # unix sockets

    def install(self) -> NetworkGuard:
        import socket

        guard = self
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo

        def connect(sock: Any, address: Any) -> Any:
            if not guard._allowed(address):
                guard.attempts.append(address)
                raise ConnectionRefusedError(f"tests must not reach the internet: {address}")
            return real_connect(sock, address)

        def connect_ex(sock: Any, address: Any) -> Any:
            if not guard._allowed(address):
                guard.attempts.append(address)
                raise ConnectionRefusedError(f"tests must not reach the internet: {address}")
            return real_connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name not in (None, *_LOOPBACK):
                guard.attempts.append(name)
                raise OSError(f"tests must not resolve {name}")
            return real_getaddrinfo(host, *args, **kwargs)

        self._saved = [
            (socket.socket, "connect", real_connect),
            (socket.socket, "connect_ex", real_connect_ex),
            (socket, "getaddrinfo", real_getaddrinfo),
        ]
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
        return self

    def uninstall(self) -> None:
        for owner, name, value in self._saved:
            setattr(owner, name, value)
        self._saved = []


if pytest is not None:

    @pytest.fixture
    def no_internet():
        """Fail any connection (and DNS lookup) to a non-loopback host; yields the guard,
        whose ``attempts`` list must stay empty. Use it autouse in test modules."""
        guard = NetworkGuard().install()
        try:
            yield guard
        finally:
            guard.uninstall()
        assert not guard.attempts, f"a test tried to reach the network: {guard.attempts}"

    @pytest.fixture
    def fake_server():
        """A started FakeServer (OpenRouter-style ``/api/v1`` prefix), stopped afterwards."""
        server = FakeServer().start()
        try:
            yield server
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server for tests.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--prefix", default="/api/v1")
    parser.add_argument("--script", help="JSON list of scripted responses")
    parser.add_argument("--models", help="JSON file served at GET /models")
    parser.add_argument("--default-text", help="answer with this text when the script is exhausted")
    parser.add_argument("--log", help="append each request as a JSON line to this file")
    args = parser.parse_args(argv)
    server = FakeServer(prefix=args.prefix, port=args.port)
    if args.script:
        server.load_script(args.script)
    if args.models:
        server.models_body = json.loads(Path(args.models).read_text(encoding="utf-8"))
    if args.default_text is not None:
        server.default = build_stream(text=args.default_text)
    server.start()
    print(f"URL {server.url}", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.05)
            if args.log and len(server.requests) > seen:
                with open(args.log, "a", encoding="utf-8") as fh:
                    for rec in server.requests[seen:]:
                        fh.write(
                            json.dumps({"method": rec.method, "path": rec.path, "body": rec.body})
                            + "\n"
                        )
                seen = len(server.requests)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
