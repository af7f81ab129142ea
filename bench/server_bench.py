"""`todo serve` under load: the latency a turn gains by going through the server, and turns
per second with 10 and 50 users at once.

Everything runs against the same fake model: ``tests/server_helpers.py``'s ``todo_model`` in
its own process (each "add TITLE" turn is two model requests: an ``add_task`` call, then a
text answer). The server is the real `todo serve` command in its own process; the clients
(httpx) run here. The references, measured in the same run on the same fake:

- one-shot `todo chat "add ..."` as a child process (what a script waits for today);
- the same turn through ``ChatSession.stream_turn`` in this process (the turn itself,
  without start-up), so "added latency" is the server's own cost: HTTP, JSON, auth, scoping.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .harness import REPO, BenchError, Context, Figure, NotAvailable, Series, measure_command
from .todo_env import require, todo_env
from .turns import FAKE_KEY, MODEL, timed_turn


def _helpers() -> Any:
    path = REPO / "tests" / "server_helpers.py"
    if not path.exists():
        raise NotAvailable("tests/server_helpers.py is not there yet")
    tests_dir = str(path.parent)
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    import server_helpers  # type: ignore[import-not-found]

    return server_helpers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """`todo serve` on a free port, in its own process, until ``stop()``."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "todo_cli", "serve", "--port", str(self.port)]
            + ["--rate-limit", "0"],
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise BenchError(f"todo serve exited: {err.strip()[-300:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise BenchError("todo serve did not start in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _tokens(home: Path, users: list[str]) -> dict[str, str]:
    tokens_mod = require("server.tokens")
    config = require("config")
    store = tokens_mod.TokenStore(
        tokens_mod.tokens_path(config.get_paths(environ={"TODO_HOME": str(home)}))
    )
    return {user: store.add(user)[1] for user in users}


async def _http_turns(url: str, token: str, user: str, count: int) -> list[float]:
    """``count`` turns of one user in one conversation; each turn's seconds."""
    import httpx

    times: list[float] = []
    convo = None
    async with httpx.AsyncClient(
        base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for n in range(count):
            start = time.perf_counter()
            r = await client.post(
                f"/api/{user}/chat",
                json={"conversation_id": convo, "message": f"add {user} bench task {n}"},
            )
            times.append(time.perf_counter() - start)
            if r.status_code != 200:
                raise BenchError(f"{user} turn {n}: {r.status_code} {r.text[:200]}")
            convo = r.json()["conversation_id"]
    return times


async def _load(url: str, tokens: dict[str, str], turns: int) -> float:
    """Every user runs ``turns`` turns at the same time (after one warm-up turn each, which
    builds the user's agent); turns per second."""
    await asyncio.gather(*(_http_turns(url, tok, user, 1) for user, tok in tokens.items()))
    start = time.perf_counter()
    await asyncio.gather(*(_http_turns(url, tok, user, turns) for user, tok in tokens.items()))
    return len(tokens) * turns / (time.perf_counter() - start)


def _direct_turns(home: Path, fake_url: str, count: int) -> list[float]:
    """The same turn through ChatSession.stream_turn in this process (no start-up)."""
    from .harness import patched_environ
    from .turns import agent_environ

    agent = require("agent")
    config = require("config")
    with patched_environ(**agent_environ(home, fake_url)):
        settings = config.load_settings(cwd=home)
        session = agent.ChatSession(settings, provider="openrouter", model=MODEL)

        async def go() -> list[float]:
            out = []
            for n in range(count):
                out.append((await timed_turn(session, f"add direct bench task {n}")).end)
            await session.aclose()
            return out

        return asyncio.run(go())


def run(ctx: Context) -> list[Figure]:
    helpers = _helpers()
    require("server.app")
    fake = helpers.FakeModelProcess()
    figures: list[Figure] = []
    try:
        warmup = max(1, ctx.warmup)  # the first turn builds the agent: never timed
        iterations = warmup + ctx.runs
        home = ctx.tmpdir("home-serve")
        env = todo_env(
            home,
            OPENROUTER_API_KEY=FAKE_KEY,
            OPENROUTER_BASE_URL=fake.url,
            OPENROUTER_DEFAULT_MODEL=MODEL,
        )
        ctx.log("one-shot `todo chat` turns (child processes)")
        one_shot = measure_command(
            [sys.executable, "-m", "todo_cli", "chat", "add one shot bench task"],
            runs=ctx.runs,
            warmup=ctx.warmup,
            env=env,
            cwd=home,
        )
        ctx.log("the same turn through ChatSession in this process")
        direct_home = ctx.tmpdir("home-direct")
        direct = Series(_direct_turns(direct_home, fake.url, iterations)[warmup:])
        users_10 = [f"user{n:02d}" for n in range(10)]
        users_50 = [f"load{n:02d}" for n in range(50)]
        tokens = _tokens(home, ["solo", *users_10, *users_50])
        server = ServeProcess(env)
        try:
            server.wait_ready()
            ctx.log("turns through `todo serve`, one user")
            http = Series(
                asyncio.run(_http_turns(server.url, tokens["solo"], "solo", iterations))[warmup:]
            )
            per_user = 1 if ctx.quick else 5
            ctx.log(f"10 users x {per_user} turns at once")
            rate_10 = asyncio.run(_load(server.url, {u: tokens[u] for u in users_10}, per_user))
            per_user_50 = 1 if ctx.quick else 3
            ctx.log(f"50 users x {per_user_50} turns at once")
            rate_50 = asyncio.run(_load(server.url, {u: tokens[u] for u in users_50}, per_user_50))
        finally:
            server.stop()
    finally:
        fake.stop()
    added = (http.median - direct.median) * 1000
    figures += [
        Figure(
            "server.turn",
            "todo serve: one chat turn over HTTP",
            http.median * 1000,
            "ms",
            reference=f"todo chat one-shot {one_shot.wall.median * 1000:.0f} ms",
            ratio=f"{one_shot.wall.median / http.median:.1f}x faster",
            note="POST /api/USER/chat with an add request: one add_task call, and the turn "
            "ends on its result; fake model, no delay",
            extra={"http_ms": http.to_dict(1000), "one_shot_ms": one_shot.wall.to_dict(1000)},
        ),
        Figure(
            "server.added_latency",
            "todo serve: latency added to a turn",
            added,
            "ms",
            reference=f"ChatSession turn in-process {direct.median * 1000:.1f} ms",
            ratio=f"{http.median / direct.median:.2f}x in-process",
            note="HTTP turn minus the same turn through ChatSession.stream_turn",
            extra={"direct_ms": direct.to_dict(1000)},
        ),
        Figure(
            "server.rate_10",
            f"todo serve: 10 users at once ({per_user} turns each)",
            rate_10,
            "turns/s",
        ),
        Figure(
            "server.rate_50",
            f"todo serve: 50 users at once ({per_user_50} turns each)",
            rate_50,
            "turns/s",
        ),
    ]
    return figures
