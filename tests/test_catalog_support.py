"""Helpers for the catalog tests: a tiny routed HTTP server on 127.0.0.1 and cache tools.

The shared fake OpenAI server (tests/fakeserver.py) always answers ``GET /models`` and
``GET /key`` with 200; the catalog tests also need error statuses, slow answers, broken
bodies and paths without the ``/api/v1`` prefix, so they use this server. Import with
``from test_catalog_support import running_server, ...``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None  # a Content-Length that lies (truncated body)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class RouteServer:
    """Serves fixed answers per path under ``prefix``; anything else is a JSON 404."""

    def __init__(self, prefix: str = "/api/v1") -> None:
        self.prefix = prefix.rstrip("/")
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self._httpd: ThreadingHTTPServer | None = None

    def route(
        self,
        path: str,
        body: bytes | str | dict | list = b"",
        status: int = 200,
        delay: float = 0,
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> RouteServer:
        if isinstance(body, dict | list):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        self.routes[path] = Route(status, body, delay, dict(headers or {}), length)
        return self

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == self.prefix + path)

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{self.prefix}"

    def start(self) -> RouteServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                server.requests.append(
                    Seen("GET", path, {k.lower(): v for k, v in self.headers.items()})
                )
                route = None
                if path.startswith(server.prefix):
                    route = server.routes.get(path[len(server.prefix) :] or "/")
                if route is None:
                    route = Route(404, b'{"error": {"code": 404, "message": "Not Found"}}')
                if route.delay:
                    time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    self.send_header("Content-Type", "application/json")
                    length = route.length if route.length is not None else len(route.body)
                    self.send_header("Content-Length", str(length))
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(route.body)
                except OSError:
                    pass  # the client gave up (timeout tests)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


@contextmanager
def running_server() -> Iterator[RouteServer]:
    """A started RouteServer, stopped on exit. Test modules wrap it in a ``routes``
    fixture of their own."""
    server = RouteServer().start()
    try:
        yield server
    finally:
        server.stop()


def serve_catalog(routes: RouteServer, monkeypatch: pytest.MonkeyPatch, body: bytes) -> RouteServer:
    """Serve ``body`` at ``GET /models`` and point OpenRouter's base URL at ``routes``."""
    routes.route("/models", body)
    monkeypatch.setenv("OPENROUTER_BASE_URL", routes.url)
    return routes


def dead_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connection refused: "offline")."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1"


def cache_files(home: Path) -> list[Path]:
    directory = home / "cache"
    return sorted(directory.glob("models-*")) if directory.is_dir() else []


def age_cache(path: Path, seconds: float) -> None:
    """Pretend the cached catalog in ``path`` was fetched ``seconds`` earlier."""
    header, _, body = path.read_bytes().partition(b"\n")
    meta = json.loads(header)
    meta["fetched_at"] -= seconds
    path.write_bytes(json.dumps(meta).encode() + b"\n" + body)


def test_route_server_serves_routes_and_404() -> None:

    with running_server() as routes:
        _check_server(routes)


def _check_server(routes: RouteServer) -> None:
    import urllib.error
    import urllib.request

    routes.route("/models", {"data": []})
    with urllib.request.urlopen(routes.url + "/models", timeout=5) as response:
        assert json.loads(response.read()) == {"data": []}
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(routes.url + "/nothing", timeout=5)
    assert info.value.code == 404
    assert routes.hits("/models") == 1
