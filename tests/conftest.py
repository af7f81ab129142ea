"""Shared fixtures: every test runs with its own TODO_HOME and a clean environment."""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Variables the program reads; tests must never see the developer's real ones.
_PROVIDER_PREFIXES = ("OPENROUTER", "GROQ", "GEMINI", "OPENAI", "OLLAMA", "CUSTOM")
_ENV_VARS = [
    "LLM_PROVIDER",
    "TODO_HOME",
    "TODO_DEBUG",
    "TODO_LIST",
    "OPENAI_BASE_URL",
    "TODO_DATABASE_URL",
    *("PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE"),
] + [f"{p}_{s}" for p in _PROVIDER_PREFIXES for s in ("API_KEY", "DEFAULT_MODEL", "BASE_URL")]

SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


def _temp_folders_in_memory() -> None:
    """Put the tests' temporary folders (``tmp_path``, every TODO_HOME) on /dev/shm when it
    is a tmpfs with room to spare and TMPDIR does not choose a place: each new SQLite store
    syncs its file a few times, which on a busy disk costs far more wall time than the test
    itself. Nothing else changes (the storage-fault tests mount their own file systems)."""
    shm = "/dev/shm"
    if os.environ.get("TMPDIR") or not os.path.isdir(shm) or not os.access(shm, os.W_OK):
        return
    try:
        stats = os.statvfs(shm)
        with open("/proc/mounts", encoding="utf-8") as mounts:
            is_tmpfs = any(
                line.split()[1:3] == [shm, "tmpfs"] for line in mounts if line.count(" ") >= 2
            )
    except OSError:
        return
    if is_tmpfs and stats.f_bavail * stats.f_frsize >= 2 * 1024**3:
        tempfile.tempdir = shm


_temp_folders_in_memory()


def _build_each_command_tree_once() -> None:
    """Typer builds the click command tree of an app anew on every call, reading every
    command's signature and evaluating its annotations (50-150 ms for `todo`'s tree). A
    real process does that once; the in-process runs here (``todo`` below and
    ``helpers.invoke_cli``) reuse one tree per app instead of rebuilding it per call."""
    import typer.main
    import typer.testing

    build = typer.main.get_command
    built: dict[int, tuple[Any, Any]] = {}  # id(app) -> (app, its command); app kept alive

    def get_command(typer_instance: Any) -> Any:
        entry = built.get(id(typer_instance))
        if entry is None or entry[0] is not typer_instance:
            entry = built[id(typer_instance)] = (typer_instance, build(typer_instance))
        return entry[1]

    typer.main.get_command = get_command  # type: ignore[assignment]
    typer.testing._get_command = get_command  # type: ignore[attr-defined]


_build_each_command_tree_once()


# Tests that take long in wall time (real terminals, servers and `todo` processes, which
# mostly wait): they start first, longest first, so that under xdist the short tests fill
# the time around them instead of one of these ending the run alone on one worker. The
# first two, and the next two, share a module-scoped pair of server processes: xdist hands
# each worker two tests of the queue at the start, so each pair is started once.
START_FIRST = (
    "test_server_pg.py::test_two_server_processes_share",
    "test_server_pg.py::test_two_processes_take_turns",
    "test_server_pg.py::test_the_rate_limit_counts",
    "test_server_pg.py::test_a_token_or_rate_check_waiting",
    "test_tmux_keys.py::test_keys_typed_during_every_stage_of_a_turn",
    "test_server_pg.py::",
    "test_tmux_chat.py::",
    "test_serve_cli.py::test_a_newcomer_starts_the_server",
    "test_server.py::test_fifty_users_at_once",
    "test_pg_shared.py::test_two_processes",
    "test_tmux_keys.py::",
    "test_agent_onerequest.py::test_one_shot_on_a_terminal_shows_a_spinner",
    "test_terminal_paths.py::test_path_chat_markdown_tool_lines_and_footer_on_a_terminal",
    "test_chat.py::test_one_shot_add_in_a_real_process",
    "test_pg_shared.py::",
    "test_agent_approvals.py::test_the_session_asks_for_each_call_beyond_the_first",
    "test_store_concurrency.py::test_two_processes",
)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than there are cores. With one per core, a quarter of
    the machine stayed idle while tests waited on terminals, servers and processes (two
    cores: 1.3 of them busy, 128-133 s; with three workers 1.5 busy, 117-119 s; four,
    122 s)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + 1


def _start_rank(item: pytest.Item) -> int:
    name = item.nodeid.rsplit("/", 1)[-1]
    for rank, prefix in enumerate(START_FIRST):
        if name.startswith(prefix):
            return rank
    return len(START_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_start_rank)  # stable: the rest keep their order


@pytest.fixture(autouse=True)
def todo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate every test: its own TODO_HOME, no provider keys, cwd without a .env."""
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "todo-home"
    home.mkdir()
    monkeypatch.setenv("TODO_HOME", str(home))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


def clean_env() -> dict[str, str]:
    """This process's environment without the variables the program reads."""
    return {k: v for k, v in os.environ.items() if k not in _ENV_VARS}


@pytest.fixture
def todo_env(todo_home: Path) -> dict[str, str]:
    """Environment for running the real `todo` executable in a subprocess."""
    env = clean_env()
    env["TODO_HOME"] = str(todo_home)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "120"
    return env


TODO_EXE = [sys.executable, "-m", "todo_cli"]


class Result:
    """What one in-process CLI run left: exit code, stdout, stderr."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def todo(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run the real CLI entry point in-process: todo(*args, stdin=None, env=None, cwd=None)
    -> Result (stdout and stderr are not terminals; ``stdin`` text replaces standard input
    when given; ``env`` sets variables (None removes one) and ``cwd`` is the working folder,
    both for this one run). Much cheaper than a subprocess: the interpreter and the SDK
    load once per worker."""
    from todo_cli import cli

    def run(
        *args: str,
        stdin: str | None = None,
        env: dict[str, str | None] | None = None,
        cwd: Path | None = None,
    ) -> Result:
        code: Any = 0
        with monkeypatch.context() as once:
            once.setattr(sys, "argv", ["todo", *args])
            if stdin is not None:
                once.setattr(sys, "stdin", io.StringIO(stdin))
            for name, value in (env or {}).items():
                if value is None:
                    once.delenv(name, raising=False)
                else:
                    once.setenv(name, value)
            if cwd is not None:
                once.chdir(cwd)
            core = sys.modules.get("todo_cli.store.core")
            if core is not None:  # who made a change: read anew, as a new process would
                once.setattr(core, "_WHO", None)
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code
        out, err = capsys.readouterr()
        return Result(int(code or 0), out, err)

    return run


# --------------------------------------------------------------------------- PostgreSQL


def _pg_unavailable(reason: str) -> None:
    """Skip with ``reason``; under CI=true (where the cluster must run) fail instead."""
    message = f"no throwaway PostgreSQL cluster: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _pg_shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run sees (the template cluster is made there)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory):
    """The running throwaway PostgreSQL cluster of this test worker (tests/pgcluster.py),
    or a skip with the reason (a failure under CI=true). Never stop it: use pg_own_server."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _pg_unavailable("psycopg is not installed (uv sync installs the dev group)")
    from pgcluster import ClusterUnavailable, PgCluster

    try:
        cluster = PgCluster.start(_pg_shared_dir(tmp_path_factory))
    except ClusterUnavailable as exc:
        _pg_unavailable(str(exc))
    yield cluster
    cluster.destroy()


@pytest.fixture
def pg_url(pg_server) -> Iterator[str]:
    """A fresh empty database on the throwaway cluster, as a URL with user and password
    (the role owns the database and may create databases; it is not a superuser)."""
    url = pg_server.fresh_database()
    yield url
    pg_server.release_database(url)


@pytest.fixture
def pg_own_server(pg_server, tmp_path_factory: pytest.TempPathFactory):
    """A cluster of the test's own, which it may stop (``.stop()``, ``.stop("immediate")``)
    and start again (``.start_again()``, same port and data): a server outage."""
    from pgcluster import PgCluster

    cluster = PgCluster.start(_pg_shared_dir(tmp_path_factory))
    yield cluster
    cluster.destroy()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's template cluster goes when the run ends (in the controller under xdist,
    after every worker stopped its own cluster)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        from pgcluster import remove_template

        remove_template(factory.getbasetemp())


# --------------------------------------------------------------------------- both stores

STORE_BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=STORE_BACKENDS)
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """What ``TaskStore(target)`` opens, once per backend: an SQLite file in the test's
    folder, then a fresh database on the throwaway PostgreSQL cluster (skipped, with the
    reason, when it cannot start; a failure under CI=true)."""
    if request.param == "sqlite":
        return tmp_path / "todo.db"
    store_db: _PgStoreDatabase = request.getfixturevalue("pg_store_database")
    return store_db.reset()


class _PgStoreDatabase:
    """One database of the throwaway cluster, migrated once per test worker and emptied
    before each test (a few ms; a fresh database plus the migrations take ~0.15 s)."""

    TABLES = (
        "journal",
        "journal_groups",
        "task_tags",
        "task_deps",
        "completions",
        "task_search",
        "tasks",
        "store_meta",
    )

    def __init__(self, url: str) -> None:
        import psycopg

        from todo_cli.store import TaskStore

        TaskStore(url).close()  # applies the migrations
        self.url = url
        self._conn = psycopg.connect(url, autocommit=True)
        sequences = ("tasks", "id"), ("journal_groups", "seq"), ("journal", "seq")
        self._reset_sql = "; ".join(
            [f"DELETE FROM {table}" for table in self.TABLES]
            + [
                f"SELECT setval(pg_get_serial_sequence('{t}', '{c}'), 1, false)"
                for t, c in sequences
            ]
        )

    def reset(self) -> str:
        if self._conn.closed:
            import psycopg

            self._conn = psycopg.connect(self.url, autocommit=True)
        self._conn.execute(self._reset_sql)
        return self.url

    def close(self) -> None:
        self._conn.close()


@pytest.fixture(scope="session")
def pg_store_database(pg_server) -> Iterator[_PgStoreDatabase]:
    """The PostgreSQL database ``store_target`` hands out (emptied before each test)."""
    database = _PgStoreDatabase(pg_server.create_database())
    yield database
    database.close()
