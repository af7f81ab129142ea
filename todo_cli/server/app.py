"""The FastAPI application: middleware, routes and one JSON shape for every error.

Every error answer is ``{"error": {"code", "message", "hint"?}}`` with the same message and
hint the CLI prints: unknown task or conversation 404, bad values 422, provider failures
429/502/503/504 (see ``turns.provider_status``). No traceback ever goes to a client.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import NotFoundError, ProviderError, TodoError, UsageError
from .auth import ApiGuard, RateLimiter, error_body
from .routes import router
from .scoping import ServerConfig
from .tokens import open_token_store
from .turns import TurnRunner, provider_status

log = logging.getLogger("todo.server")

DESCRIPTION = """The todo agent and task list over HTTP. Every route under `/api/{user_id}`
needs `Authorization: Bearer TOKEN` (from `todo serve token add USER`) for that same user."""


def _rate_limiter(tokens: Any, per_minute: int) -> Any:
    """Buckets in the database when the tokens are there (several server processes share
    them), else in this process."""
    pgtokens = sys.modules.get(f"{__package__}.pgtokens")  # loaded only for a database URL
    if pgtokens is not None and isinstance(tokens, pgtokens.PgTokenStore):
        return pgtokens.PgRateLimiter(tokens, per_minute)
    return RateLimiter(per_minute)


def create_app(config: ServerConfig) -> FastAPI:
    """The application for ``config`` (uvicorn serves it; tests may too)."""
    runner = TurnRunner(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from .. import agent  # noqa: F401 - load the Agents SDK now, not in the first turn

        yield
        await runner.aclose()
        config.close()
        tokens.close()

    app = FastAPI(title="todo", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.config = config
    app.state.runner = runner
    tokens = open_token_store(config.settings, path=config.token_path)
    app.state.tokens = tokens
    app.add_middleware(
        ApiGuard,  # type: ignore[arg-type]
        tokens=tokens,
        limiter=_rate_limiter(tokens, config.rate_per_minute),
        max_body_bytes=config.max_body_bytes,
    )
    app.include_router(router)

    @app.get("/health", tags=["server"])
    def health() -> dict[str, Any]:
        """Always 200 while the server runs (no token needed)."""
        return {"ok": True, "version": __version__}

    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(TodoError, _todo_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
    return app


async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = []
    details = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        kind = err.get("type", "")
        if kind == "json_invalid":
            message = "The body is not valid JSON"
            ctx = err.get("ctx") or {}
            if ctx.get("error"):
                message += f" ({ctx['error']})"
        elif kind == "missing":
            message = f"'{where}' is missing"
        elif kind == "extra_forbidden":
            message = f"'{where}' is not a field of this request"
        else:
            message = f"'{where}': {err.get('msg', 'invalid value')}"
        problems.append(message)
        details.append({"field": where, "type": kind, "message": message})
    text = "; ".join(problems) + "."
    return JSONResponse(
        error_body("invalid_request", text, "See the request schemas at /docs.", details=details),
        status_code=422,
    )


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _todo_error(_request: Request, exc: TodoError) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, NotFoundError):
        status, code = 404, "not_found"
    elif isinstance(exc, UsageError):
        status, code = 422, "invalid_request"
    elif isinstance(exc, ProviderError):
        (status, headers), code = provider_status(exc), "provider_error"
    elif "busy" in exc.message:
        status, code = 503, "busy"
        headers = {"Retry-After": "1"}
    else:
        status, code = 500, "error"
    return JSONResponse(
        error_body(code, exc.message, exc.hint), status_code=status, headers=headers
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "The server failed to handle this request."),
        status_code=500,
    )


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket with Nagle's algorithm off: a JSON answer is two writes (headers,
    body), and with it on the body waits for the client's delayed ACK, 40 ms a request.
    Accepted connections inherit the option."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(address)
    return sock


KEEP_ALIVE_SECONDS = 75


def uvicorn_config(config: ServerConfig, **options: Any) -> Any:
    """uvicorn's settings for the application of ``config``.

    An idle connection stays open longer than clients keep theirs (httpx and many others:
    5 s, uvicorn's own default too): with equal times the server may close a connection
    just as the client sends its next request on it, which fails that request.
    """
    import uvicorn

    return uvicorn.Config(create_app(config), timeout_keep_alive=KEEP_ALIVE_SECONDS, **options)


def serve(config: ServerConfig) -> None:
    """Run `todo serve` until interrupted (uvicorn, with its access log)."""
    import uvicorn

    sock = listening_socket(config.host, config.port)
    server = uvicorn.Server(uvicorn_config(config, log_level="info", access_log=True))
    server.run(sockets=[sock])
