"""The gate in front of every ``/api/{user_id}/...`` route, as pure ASGI middleware.

In this order, before any route (so before the body is parsed or the path is matched):

1. a bearer token the token file knows, or **401** (``WWW-Authenticate: Bearer``);
2. the token's user is the user in the path, or **403**, the same answer whether that
   other user exists or not;
3. the user's rate limit, or **429** with ``Retry-After``;
4. a body of at most ``max_body_bytes``, or **413** (the body is read here, bounded, and
   handed on to the route).

Nothing here logs a header or a body, so tokens never reach a log. A token store or rate
limiter whose checks block (``blocking = True``: the ones in a PostgreSQL database) is
asked on a worker thread, one check at a time (they share one connection), so a slow
database never holds up the event loop and the requests it serves.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from .scoping import canonical_user_id
from .tokens import TokenStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_PREFIX = "/api/"
T = TypeVar("T")


def error_body(code: str, message: str, hint: str | None = None, **extra: Any) -> dict[str, Any]:
    """The JSON every error answer has: ``{"error": {"code", "message", "hint"?, ...}}``."""
    err: dict[str, Any] = {"code": code, "message": message}
    if hint:
        err["hint"] = hint
    err.update(extra)
    return {"error": err}


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
    ]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


class RateLimiter:
    """A token bucket per user: ``per_minute`` requests a minute, bursts up to that many."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # user -> (tokens, last time)
        self._lock = threading.Lock()

    def take(self, user: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        if self.per_minute <= 0:
            return 0.0
        rate = self.per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(user, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[user] = (tokens - 1.0, now)
                return 0.0
            self._buckets[user] = (tokens, now)
            return (1.0 - tokens) / rate


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


class ApiGuard:
    """ASGI middleware: authentication, user scoping, rate limit and body size for /api/."""

    def __init__(
        self, app: ASGIApp, *, tokens: TokenStore, limiter: RateLimiter, max_body_bytes: int
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.limiter = limiter
        self.max_body_bytes = max_body_bytes
        self._checks: anyio.CapacityLimiter | None = None  # made in the event loop

    async def _check(self, blocking: bool, fn: Callable[[str], T], arg: Any) -> T:
        """``fn(arg)``: at once, or on a worker thread when it blocks (a database)."""
        if not blocking:
            return fn(arg)
        if self._checks is None:
            self._checks = anyio.CapacityLimiter(1)
        return await anyio.to_thread.run_sync(fn, arg, limiter=self._checks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        user = None
        if token is not None:  # no token: refused without asking the store
            user = await self._check(
                getattr(self.tokens, "blocking", False), self.tokens.verify, token
            )
        if user is None:
            await send_json(
                send,
                401,
                error_body(
                    "unauthorized",
                    "Missing or unknown bearer token.",
                    "Send `Authorization: Bearer TOKEN`; create a token with "
                    "`todo serve token add USER`.",
                ),
                {"WWW-Authenticate": "Bearer"},
            )
            return
        path_user = scope["path"][len(API_PREFIX) :].split("/", 1)[0]
        if canonical_user_id(path_user) != user:
            await send_json(
                send,
                403,
                error_body("forbidden", "This token does not give access to that user's data."),
            )
            return
        wait = await self._check(getattr(self.limiter, "blocking", False), self.limiter.take, user)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            await send_json(
                send,
                429,
                error_body(
                    "rate_limited",
                    f"Too many requests for user '{user}' "
                    f"(the limit is {self.limiter.per_minute} a minute).",
                    f"Wait {seconds} s and try again.",
                    retry_after=seconds,
                ),
                {"Retry-After": str(seconds)},
            )
            return
        body = await self._read_body(scope, receive, send)
        if body is None:
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole request body, or None after answering 413 (or when the client left)."""
        limit = self.max_body_bytes
        for name, value in scope.get("headers") or []:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._too_large(send)
                    return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(send)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, send: Send) -> None:
        await send_json(
            send,
            413,
            error_body(
                "body_too_large",
                f"The request body is larger than {self.max_body_bytes} bytes.",
                "Send a shorter message.",
            ),
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the buffered body to the app, then waits for the client
    (so a route still learns when the client disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
