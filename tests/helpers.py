"""Small pieces shared by several test modules (``from helpers import ...``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import TODO_EXE
from fakeserver import FakeServer


@dataclass
class StubTask:
    """Stand-in with the fields of store.Task, for modules that never need the store."""

    id: int
    title: str
    notes: str | None = None
    status: str = "pending"
    priority: str = "none"
    due: str | None = None
    tags: list[str] = field(default_factory=list)
    project: str | None = None
    created_at: str = "2026-11-20T09:30:00-05:00"
    updated_at: str = "2026-11-21T10:00:00-05:00"
    completed_at: str | None = None
    uuid: str = ""
    extra: dict | None = None
    wait: str | None = None
    parent: int | None = None
    blocked_by: list[int] = field(default_factory=list)
    repeat: dict | None = None
    done_count: int = 0
    last_done: dict | None = None
    blocked = False  # derived, as on store.Task: not a field

    def to_dict(self) -> dict:
        return asdict(self)


# The keys of ``Task.to_dict()`` (and of every task in ``--json`` output), in order.
TASK_FIELDS = [
    "id",
    "title",
    "notes",
    "status",
    "priority",
    "due",
    "tags",
    "project",
    "created_at",
    "updated_at",
    "completed_at",
    "list",
    "uuid",
    "extra",
    "wait",
    "parent",
    "blocked_by",
    "repeat",
    "done_count",
    "last_done",
]
# ``--json`` output adds the derived ``blocked`` flag (``Task.to_json``).
JSON_FIELDS = [*TASK_FIELDS, "blocked"]


def point_openrouter_at(
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    *,
    key: str = "sk-or-v1-test",
    timeout: str | None = "5",
) -> None:
    """Make OpenRouter the provider at ``url`` with a test key (and a short timeout)."""
    monkeypatch.setenv("OPENROUTER_BASE_URL", url)
    monkeypatch.setenv("OPENROUTER_API_KEY", key)
    if timeout is not None:
        monkeypatch.setenv("TODO_TIMEOUT", timeout)


@pytest.fixture
def openrouter_server(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    """The fake server as OpenRouter (test key, 5 s timeout). Modules that use it bind it
    as ``server = helpers.openrouter_server`` next to ``fake_server = fakeserver.fake_server``."""
    point_openrouter_at(monkeypatch, fake_server.url)
    return fake_server


def run_on_pty(
    argv: list[str],
    env: dict[str, str],
    *,
    prompt: bytes,
    reply: bytes,
    cwd: Path | None = None,
    timeout: float = 45.0,
) -> tuple[str, int, bool]:
    """Run ``argv`` with a pseudo-terminal as its controlling terminal; the first time
    ``prompt`` shows up, type ``reply``. Returns what the terminal showed, the exit code
    and whether ``reply`` was typed. POSIX only.

    It waits for the child to close the terminal, however long a loaded machine takes to
    start it, up to ``timeout`` seconds in all; then the child is killed (exit code -9), so
    a stuck child fails the test with its screen instead of hanging it. The child starts
    with the default Ctrl-C behaviour and no blocked signals, as from a shell, whatever
    earlier tests left in this process (an ignored or blocked SIGINT is inherited across
    exec, and Python then never turns Ctrl-C into KeyboardInterrupt)."""
    import pty
    import select
    import signal
    import time

    pid, fd = pty.fork()
    if pid == 0:  # child: its controlling terminal is the pty
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, set())
            if cwd is not None:
                os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    output = b""
    sent = False
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not sent and prompt in output:
                os.write(fd, reply)
                sent = True
        else:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return output.decode(errors="replace"), os.waitstatus_to_exitcode(status), sent


def run_in_threads(target: Callable[[Any], object], args: Iterable[Any]) -> list[BaseException]:
    """Call ``target(arg)`` for every arg, each on its own thread, all at once; wait for
    them all and return what they raised (the test asserts it is empty)."""
    errors: list[BaseException] = []

    def guarded(arg: Any) -> None:
        try:
            target(arg)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted by the caller
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(arg,)) for arg in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@dataclass
class CliOutcome:
    code: int
    stdout: str
    stderr: str


def invoke_cli(*args: str, input: str | None = None) -> CliOutcome:
    """Run `todo ARGS` in-process; domain errors map to exit codes and an error line on
    stderr the way `cli.main` maps them."""
    from typer.testing import CliRunner

    from todo_cli.cli import app
    from todo_cli.errors import TodoError

    result = CliRunner().invoke(app, list(args), input=input)
    exc = result.exception
    if isinstance(exc, TodoError):
        line = f"Error: {exc.message}" + (f" {exc.hint}" if exc.hint else "")
        return CliOutcome(int(exc.exit_code), result.stdout, result.stderr + line + "\n")
    if exc is not None and not isinstance(exc, SystemExit):
        raise exc
    return CliOutcome(result.exit_code, result.stdout, result.stderr)


def run_todo(
    env: dict[str, str], *args: str, input: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `todo ARGS` executable (stdin inherited unless ``input`` is given)."""
    return subprocess.run(
        [*TODO_EXE, *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=cwd,
    )


def run_sql(target: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement (``?`` placeholders) on a store's database behind its back, SQLite
    file or PostgreSQL URL, committed; returns the rows it gives."""
    if isinstance(target, str) and target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target, autocommit=True) as conn:
            cur = conn.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []
    import sqlite3

    with sqlite3.connect(target) as conn:
        return conn.execute(sql, params).fetchall()


@contextlib.contextmanager
def sigint_while_writing(conn: Any, after: int = 2000) -> Iterator[list[int]]:
    """Ctrl-C, for a block that writes through ``conn``: SIGINT to this process once the
    connection has made ``after`` more changes, and again every 20 ms until the block is
    over (a signal may land where it is not acted on). Yields a list that then holds how
    many changes there were when the first signal went."""
    start = conn.total_changes
    seen: list[int] = []
    stopped = threading.Event()

    def interrupt() -> None:
        deadline = time.monotonic() + 60
        while conn.total_changes < start + after and time.monotonic() < deadline:
            time.sleep(0.001)
        seen.append(conn.total_changes - start)
        while not stopped.is_set():
            os.kill(os.getpid(), signal.SIGINT)
            stopped.wait(0.02)

    watcher = threading.Thread(target=interrupt)
    watcher.start()
    try:
        yield seen
    finally:
        stopped.set()
        watcher.join()


def taskwarrior_env(home: Path, tz: str = "UTC") -> dict[str, str]:
    """The environment for running the real `task` binary on a Taskwarrior of its own in
    ``home`` (made here): no hooks, no questions, JSON arrays, the time zone ``tz``, and
    nothing from the caller's own Taskwarrior settings."""
    home.mkdir(parents=True, exist_ok=True)
    rc = home / "taskrc"
    rc.write_text(
        f"data.location={home / 'data'}\nconfirmation=off\nverbose=nothing\nhooks=off\n"
        "json.array=on\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASK")}
    env.update(TASKRC=str(rc), TZ=tz)
    return env
