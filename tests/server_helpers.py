"""A real `todo serve` (uvicorn on 127.0.0.1, a free port) for tests and benchmarks, and a
fake model that answers from the request, so many users can talk to it at once.

``LiveServer(config).start()`` runs uvicorn in a background thread of this process, with
the application `todo serve` builds; ``stop()`` shuts it down cleanly.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from typing import Any

from fakeserver import RecordedRequest, Scripted, build_stream


class LiveServer:
    """uvicorn serving ``create_app(config)`` on 127.0.0.1 in a thread."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.port = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> LiveServer:
        import uvicorn

        from todo_cli.server.app import listening_socket, uvicorn_config

        sock = listening_socket("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        config = uvicorn_config(self.config, log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[sock])), daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------- a fake model

_ADD = re.compile(r"^add (.+)$", re.IGNORECASE)
_DELETE = re.compile(r"^delete #?(\d+)$", re.IGNORECASE)


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def todo_model(rec: RecordedRequest) -> Scripted | None:
    """Answers like a model that follows orders: "add TITLE" calls add_tasks, "delete #N"
    calls delete_tasks, anything else gets a short text; after a tool result it says what
    the tool returned. Deterministic, so concurrent users each get their own answer."""
    messages = rec.messages
    if not messages:
        return None
    last = messages[-1]
    if last.get("role") == "tool":
        result = _text(last)
        return build_stream(text=f"Done: {result}")
    said = _text(last).strip()
    match = _ADD.match(said)
    if match:
        return build_stream(
            tool_calls=[{"name": "add_tasks", "arguments": {"tasks": [{"title": match[1]}]}}]
        )
    match = _DELETE.match(said)
    if match:
        return build_stream(
            tool_calls=[{"name": "delete_tasks", "arguments": {"ids": [int(match[1])]}}]
        )
    if said.startswith("slowly "):  # a slow model, and what history it was sent
        seen = sum(1 for m in messages if m.get("role") == "user")
        return build_stream(text=f"You said: {said} ({seen} seen)", first_delay=1.5)
    return build_stream(text=f"You said: {said}")


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Parse a server-sent event stream into (event, data) pairs."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            out.append((name, json.loads("\n".join(data))))
    return out


class FakeModelProcess:
    """The fake model (``todo_model`` answering) in a child process, so that under load it
    does not share this process's interpreter lock with the server or the clients."""

    def __init__(self) -> None:
        import subprocess
        import sys
        from pathlib import Path

        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "fake-model"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "URL":
            self.proc.kill()
            raise RuntimeError("the fake model did not start")
        self.url = line[1]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


def _serve_fake_model() -> None:
    from fakeserver import FakeServer

    server = FakeServer()
    server.responder = todo_model
    server.start()
    print(f"URL {server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if sys.argv[1:] == ["fake-model"]:
        _serve_fake_model()
