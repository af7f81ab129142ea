"""Two real `todo serve` processes on one PostgreSQL database (a throwaway server): a token
added once works on both, a revoke stops it on both, one user's tasks and conversation are
the same through either, and one user's token on another's path is refused by both."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import TODO_EXE
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


@pytest.fixture
def two_servers(
    pg_url: str, todo_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[list[str], dict[str, str]]]:
    """Two server processes, each with its own TODO_HOME ("machine"), one database URL."""
    fake = FakeModelProcess()
    procs: list[subprocess.Popen[str]] = []
    try:
        urls = []
        envs = []
        for name in ("one", "two"):
            home = tmp_path / name
            home.mkdir()
            env = {
                **todo_env,
                "TODO_HOME": str(home),
                "TODO_DATABASE_URL": pg_url,
                "OPENROUTER_BASE_URL": fake.url,
                "OPENROUTER_API_KEY": "sk-or-v1-test",
                "TODO_TIMEOUT": "60",
                "RATE": str(getattr(request, "param", 0)),
            }
            proc, url = _start(env)
            procs.append(proc)
            urls.append(url)
            envs.append(env)
        for proc, url in zip(procs, urls, strict=True):
            _wait(proc, url)
        yield urls, envs[0]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        fake.stop()


def _token(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [*TODO_EXE, "serve", "token", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.timeout(300)
def test_two_server_processes_share_tokens_tasks_and_conversations(
    two_servers: tuple[list[str], dict[str, str]],
) -> None:
    (one, two), env = two_servers
    # Added once, on a third "machine" (the CLI with only the URL): both servers know it.
    alice = _token(env, "add", "alice")
    bob = _token(env, "add", "bob")
    assert "alice" in _token(env, "list")
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
    _token(env, "revoke", alice.split("_")[1])
    for url in (one, two):
        r = httpx.get(f"{url}/api/alice/tasks", headers=_auth(alice), timeout=30)
        assert r.status_code == 401


@pytest.mark.timeout(300)
def test_two_processes_take_turns_on_one_conversation(
    two_servers: tuple[list[str], dict[str, str]],
) -> None:
    """Two turns of one conversation sent at once to two processes run one after the
    other: the second is sent the first one's messages, and the history stays in pairs."""
    (one, two), env = two_servers
    alice = _token(env, "add", "alice")
    r = httpx.post(
        f"{one}/api/alice/chat", json={"message": "hello"}, headers=_auth(alice), timeout=60
    )
    assert r.status_code == 200, r.text
    convo = r.json()["conversation_id"]

    def turn(url: str, text: str) -> str:
        r = httpx.post(
            f"{url}/api/alice/chat",
            json={"conversation_id": convo, "message": text},
            headers=_auth(alice),
            timeout=120,
        )
        assert r.status_code == 200, r.text
        return str(r.json()["response"])

    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(turn, (one, two), ("slowly a", "slowly b")))
    seen = sorted(int(reply.rsplit("(", 1)[1].split()[0]) for reply in replies)
    assert seen == [2, 3], replies  # without a shared lock both would have seen 2
    r = httpx.get(f"{two}/api/alice/conversations/{convo}", headers=_auth(alice), timeout=30)
    roles = [m["role"] for m in r.json()["messages"]]
    assert roles == ["user", "assistant"] * 3, roles


@pytest.mark.timeout(300)
@pytest.mark.parametrize("two_servers", [4], indirect=True)
def test_the_rate_limit_counts_a_users_requests_on_every_process(
    two_servers: tuple[list[str], dict[str, str]],
) -> None:
    """--rate-limit 4 on both processes: 4 requests in all, whichever process gets them,
    then 429 with Retry-After on both; another user still has her own 4."""
    (one, two), env = two_servers
    alice = _token(env, "add", "alice")
    bob = _token(env, "add", "bob")
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
@pytest.mark.parametrize("two_servers", [100], indirect=True)
def test_a_token_or_rate_check_waiting_for_the_database_holds_up_nothing_else(
    two_servers: tuple[list[str], dict[str, str]], pg_url: str
) -> None:
    """While a request's token check (then its rate-limit check) waits for the database, the
    same process answers other requests; the waiting one goes ahead once the database
    does."""
    import psycopg

    (one, _two), env = two_servers
    alice = _token(env, "add", "alice")
    r = httpx.get(f"{one}/api/alice/tasks", headers=_auth(alice), timeout=30)
    assert r.status_code == 200, r.text  # connected, the tables made
    for table in ("server_tokens", "server_rate"):
        with psycopg.connect(pg_url) as holder, ThreadPoolExecutor(1) as pool:
            holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # until rollback
            waiting = pool.submit(
                httpx.get, f"{one}/api/alice/tasks", headers=_auth(alice), timeout=60
            )
            _wait_for_a_lock_wait(holder, table)
            for _ in range(3):
                assert httpx.get(f"{one}/health", timeout=10).status_code == 200, table
            no_token = httpx.get(f"{one}/api/alice/tasks", timeout=10)
            assert no_token.status_code == 401, table
            assert not waiting.done()
            holder.rollback()
            answer = waiting.result(timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"tasks": [], "total": 0}
