"""Two real `todo serve` processes on one PostgreSQL database (a throwaway server): a token
added once works on both, a revoke stops it on both, one user's tasks and conversation are
the same through either, and one user's token on another's path is refused by both."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import TODO_EXE, clean_env
from server_helpers import FakeModelProcess

httpx = pytest.importorskip("httpx", reason="the dev group installs httpx")
pytest.importorskip("fastapi", reason="the dev group installs the server extra")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [*TODO_EXE, "serve", "--port", str(port), "--rate-limit", env.get("RATE", "0")],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, f"http://127.0.0.1:{port}"


def _wait(proc: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"todo serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("todo serve did not start")


def _server_env(home: Path, url: str, model_url: str, rate: int) -> dict[str, str]:
    return {
        **clean_env(),
        "NO_COLOR": "1",
        "TODO_HOME": str(home),
        "TODO_DATABASE_URL": url,
        "OPENROUTER_BASE_URL": model_url,
        "OPENROUTER_API_KEY": "sk-or-v1-test",
        "TODO_TIMEOUT": "60",
        "RATE": str(rate),
    }


@contextlib.contextmanager
def _servers(url: str, folder: Path, rate: int) -> Iterator[list[str]]:
    """Two server processes, each with its own TODO_HOME ("machine"), one database URL."""
    fake = FakeModelProcess()
    procs: list[subprocess.Popen[str]] = []
    try:
        urls = []
        for name in ("one", "two"):
            home = folder / name
            home.mkdir()
            proc, server_url = _start(_server_env(home, url, fake.url, rate))
            procs.append(proc)
            urls.append(server_url)
        for proc, server_url in zip(procs, urls, strict=True):
            _wait(proc, server_url)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        fake.stop()


@dataclass
class Servers:
    urls: list[str]
    database_url: str


def _shared_pair(
    pg_server: Any, tmp_path_factory: pytest.TempPathFactory, rate: int
) -> Iterator[Servers]:
    """A pair of servers on a database of its own, for the tests of this module that want
    its settings: each of them works with users of its own, as separate clients of one
    service would. Starting a pair costs two processes that load the Agents SDK."""
    url = pg_server.fresh_database()
    try:
        with _servers(url, tmp_path_factory.mktemp("servers"), rate) as urls:
            yield Servers(urls, url)
    finally:
        pg_server.release_database(url)


@pytest.fixture(scope="module")
def two_servers(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The shared pair without a rate limit."""
    yield from _shared_pair(pg_server, tmp_path_factory, rate=0)


@pytest.fixture(scope="module")
def rate_limited_servers(
    pg_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    """The shared pair with --rate-limit 4."""
    yield from _shared_pair(pg_server, tmp_path_factory, rate=4)


@pytest.fixture
def token(todo: Any) -> Callable[..., str]:
    """`todo serve token ...` on a third "machine" (this test's TODO_HOME, only the
    database URL set), run in-process: what it prints."""

    def run(servers: Servers, *args: str) -> str:
        result = todo("serve", "token", *args, env={"TODO_DATABASE_URL": servers.database_url})
        assert result.code == 0, result.err
        return str(result.out.strip())

    return run


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.timeout(300)
def test_two_server_processes_share_tokens_tasks_and_conversations(
    two_servers: Servers, token: Callable[..., str]
) -> None:
    one, two = two_servers.urls
    # Added once, on a third "machine" (the CLI with only the URL): both servers know it.
    alice = token(two_servers, "add", "alice")
    bob = token(two_servers, "add", "bob")
    assert "alice" in token(two_servers, "list")
    for url in (one, two):
        r = httpx.get(f"{url}/api/alice/tasks", headers=_auth(alice), timeout=30)
        assert r.status_code == 200, r.text
        assert r.json() == {"tasks": [], "total": 0}

    # A user's turns spread over both processes: one conversation, history in order.
    convo: Any = None
    for n, url in enumerate((one, two, one, two)):
        r = httpx.post(
            f"{url}/api/alice/chat",
            json={"conversation_id": convo, "message": f"add job {n}"},
            headers=_auth(alice),
            timeout=60,
        )
        assert r.status_code == 200, r.text
        convo = r.json()["conversation_id"]
    for url in (one, two):
        r = httpx.get(f"{url}/api/alice/conversations/{convo}", headers=_auth(alice), timeout=30)
        said = [m["text"] for m in r.json()["messages"] if m["role"] == "user"]
        assert said == [f"add job {n}" for n in range(4)]
        r = httpx.get(f"{url}/api/alice/tasks?sort=id", headers=_auth(alice), timeout=30)
        assert [t["title"] for t in r.json()["tasks"]] == [f"job {n}" for n in range(4)]

    # Isolation on both: bob's token on alice's data is refused, alice's data unchanged.
    for url in (one, two):
        for method, path in (
            ("GET", "/api/alice/tasks"),
            ("GET", f"/api/alice/conversations/{convo}"),
            ("POST", "/api/alice/undo"),
        ):
            r = httpx.request(method, f"{url}{path}", headers=_auth(bob), timeout=30)
            assert r.status_code == 403, (url, path, r.text)
        r = httpx.get(f"{url}/api/bob/conversations/{convo}", headers=_auth(bob), timeout=30)
        assert r.status_code == 404
        assert httpx.get(f"{url}/api/bob/conversations", headers=_auth(bob)).json() == {
            "conversations": []
        }

    # Revoked once: refused by both on the next request.
    token(two_servers, "revoke", alice.split("_")[1])
    for url in (one, two):
        r = httpx.get(f"{url}/api/alice/tasks", headers=_auth(alice), timeout=30)
        assert r.status_code == 401


@pytest.mark.timeout(300)
def test_two_processes_take_turns_on_one_conversation(
    two_servers: Servers, token: Callable[..., str]
) -> None:
    """Two turns of one conversation sent at once to two processes run one after the
    other: the second is sent the first one's messages, and the history stays in pairs."""
    one, two = two_servers.urls
    carol = token(two_servers, "add", "carol")
    r = httpx.post(
        f"{one}/api/carol/chat", json={"message": "hello"}, headers=_auth(carol), timeout=60
    )
    assert r.status_code == 200, r.text
    convo = r.json()["conversation_id"]

    def turn(url: str, text: str) -> str:
        r = httpx.post(
            f"{url}/api/carol/chat",
            json={"conversation_id": convo, "message": text},
            headers=_auth(carol),
            timeout=120,
        )
        assert r.status_code == 200, r.text
        return str(r.json()["response"])

    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(turn, (one, two), ("slowly a", "slowly b")))
    seen = sorted(int(reply.rsplit("(", 1)[1].split()[0]) for reply in replies)
    assert seen == [2, 3], replies  # without a shared lock both would have seen 2
    r = httpx.get(f"{two}/api/carol/conversations/{convo}", headers=_auth(carol), timeout=30)
    roles = [m["role"] for m in r.json()["messages"]]
    assert roles == ["user", "assistant"] * 3, roles


@pytest.mark.timeout(300)
def test_the_rate_limit_counts_a_users_requests_on_every_process(
    rate_limited_servers: Servers, token: Callable[..., str]
) -> None:
    """--rate-limit 4 on both processes: 4 requests in all, whichever process gets them,
    then 429 with Retry-After on both; another user still has her own 4."""
    one, two = rate_limited_servers.urls
    alice = token(rate_limited_servers, "add", "alice")
    bob = token(rate_limited_servers, "add", "bob")
    codes = []
    for url in (one, two, one, two):
        codes.append(httpx.get(f"{url}/api/alice/tasks", headers=_auth(alice), timeout=30))
    assert [r.status_code for r in codes] == [200] * 4
    for url in (one, two):
        r = httpx.get(f"{url}/api/alice/tasks", headers=_auth(alice), timeout=30)
        assert r.status_code == 429, r.text
        assert 1 <= int(r.headers["Retry-After"]) <= 16
    r = httpx.get(f"{two}/api/bob/tasks", headers=_auth(bob), timeout=30)
    assert r.status_code == 200


def _wait_for_a_lock_wait(conn: Any, table: str) -> None:
    """Until another session waits for a lock on ``table``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE relation = %s::regclass AND NOT granted",
            (table,),
        ).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise AssertionError(f"no request waited for {table}")


@pytest.mark.timeout(300)
def test_a_token_or_rate_check_waiting_for_the_database_holds_up_nothing_else(
    rate_limited_servers: Servers, token: Callable[..., str]
) -> None:
    """While a request's token check (then its rate-limit check) waits for the database, the
    same process answers other requests; the waiting one goes ahead once the database
    does. (Dave's three requests stay within the limit of 4.)"""
    import psycopg

    one = rate_limited_servers.urls[0]
    dave = token(rate_limited_servers, "add", "dave")
    r = httpx.get(f"{one}/api/dave/tasks", headers=_auth(dave), timeout=30)
    assert r.status_code == 200, r.text  # connected, the tables made
    for table in ("server_tokens", "server_rate"):
        with (
            psycopg.connect(rate_limited_servers.database_url) as holder,
            ThreadPoolExecutor(1) as pool,
        ):
            holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # until rollback
            waiting = pool.submit(
                httpx.get, f"{one}/api/dave/tasks", headers=_auth(dave), timeout=60
            )
            _wait_for_a_lock_wait(holder, table)
            for _ in range(3):
                assert httpx.get(f"{one}/health", timeout=10).status_code == 200, table
            no_token = httpx.get(f"{one}/api/dave/tasks", timeout=10)
            assert no_token.status_code == 401, table
            assert not waiting.done()
            holder.rollback()
            answer = waiting.result(timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"tasks": [], "total": 0}
