"""PostgreSQL connections: masked URLs, one-line errors, the database settings."""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from todo_cli.config import load_settings
from todo_cli.errors import ExitCode, TodoError
from todo_cli.store.pgconn import (
    DatabaseUnavailableError,
    connect,
    is_postgres_url,
    mask_url,
    require_psycopg,
)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "postgresql://me:hunter2@db.example.com:5432/todo",
            "postgresql://me:***@db.example.com:5432/todo",
        ),
        (
            "postgresql://me:p%40ss%3Aw@db.example.com/todo?sslmode=require",
            "postgresql://me:***@db.example.com/todo?sslmode=require",
        ),
        ("postgres://me@localhost/todo", "postgres://me@localhost/todo"),
        ("postgresql://localhost:5433/todo", "postgresql://localhost:5433/todo"),
        (
            "postgresql:///todo?host=/var/run/postgresql",
            "postgresql:///todo?host=/var/run/postgresql",
        ),
        (
            "postgresql://db/todo?user=me&password=hunter2&sslmode=require",
            "postgresql://db/todo?user=me&password=***&sslmode=require",
        ),
        ("postgresql://db/todo?PASSWORD=hunter2", "postgresql://db/todo?PASSWORD=***"),
        (
            "postgresql://me:hunter2@h1:5432,h2:5433/todo?target_session_attrs=read-write",
            "postgresql://me:***@h1:5432,h2:5433/todo?target_session_attrs=read-write",
        ),
        # An unencoded / or @ in the password is still masked.
        ("postgresql://me:hun/ter2@db/todo", "postgresql://me:***@db/todo"),
        ("postgresql://me:hu@n@ter2@db/todo", "postgresql://me:***@db/todo"),
        ("postgresql://me:@db/todo", "postgresql://me:***@db/todo"),
        # key=value connection strings
        (
            "host=db user=me password=hunter2 dbname=todo",
            "host=db user=me password=*** dbname=todo",
        ),
        ("host=db password = 'hun ter2' dbname=todo", "host=db password = *** dbname=todo"),
        ("", ""),
    ],
)
def test_mask_url_hides_every_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_is_postgres_url() -> None:
    assert is_postgres_url("postgresql://me@db/todo")
    assert is_postgres_url("POSTGRES://me@db/todo")
    assert not is_postgres_url(None)
    assert not is_postgres_url("")
    assert not is_postgres_url("sqlite:///tmp/todo.db")
    assert not is_postgres_url("/home/me/todo.db")
    assert not is_postgres_url("host=db dbname=todo")


def _one_line(exc: TodoError) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


def test_connect_to_the_real_server(pg_url: str) -> None:
    with connect(pg_url, timeout=5) as conn:
        assert not conn.autocommit
        row = conn.execute("select current_user, current_database(), version()").fetchone()
        assert row is not None
        assert row[0] == "todo_test"
        assert row[1] == pg_url.rsplit("/", 1)[1]
        assert row[2].startswith("PostgreSQL")
        name = conn.execute("select current_setting('application_name')").fetchone()
        assert name == ("todo",)
    with connect(pg_url, timeout=5, autocommit=True) as conn:
        assert conn.autocommit


def test_a_wrong_password_is_one_line_naming_the_host(pg_server) -> None:
    url = pg_server.url("postgres", password="not-the-password")
    with pytest.raises(DatabaseUnavailableError) as info:
        connect(url, timeout=5)
    text = _one_line(info.value)
    assert text.startswith(
        f"Cannot connect to the database at 127.0.0.1:{pg_server.port}: authentication "
        "failed for user todo_test."
    )
    assert "not-the-password" not in text
    assert "database.url" in text  # the hint says what to fix
    assert info.value.exit_code == ExitCode.ERROR


def test_a_missing_database_is_named(pg_server) -> None:
    with pytest.raises(DatabaseUnavailableError) as info:
        connect(pg_server.url("no_such_db"), timeout=5)
    text = _one_line(info.value)
    assert f'127.0.0.1:{pg_server.port}: database "no_such_db" does not exist.' in text
    assert "s3cret" not in text


def test_nothing_listening_is_refused_at_once() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://me:hunter2@127.0.0.1:{port}/todo"
    start = time.monotonic()
    with pytest.raises(DatabaseUnavailableError) as info:
        connect(url, timeout=5)
    assert time.monotonic() - start < 5
    text = _one_line(info.value)
    assert text.startswith(
        f"Cannot connect to the database at 127.0.0.1:{port}: connection refused "
        "(is the server running?)."
    )
    assert "hunter2" not in text


def test_a_server_that_never_answers_times_out_with_one_line() -> None:
    """A socket that accepts connections and never says a word: the timeout applies."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # the kernel completes handshakes; nobody ever answers
        port = server.getsockname()[1]
        url = f"postgresql://me:hunter2@127.0.0.1:{port}/todo"
        start = time.monotonic()
        with pytest.raises(DatabaseUnavailableError) as info:
            connect(url, timeout=2)
        elapsed = time.monotonic() - start
    assert 1.5 < elapsed < 15  # gave up after the timeout, not at once and not never
    text = _one_line(info.value)
    assert text.startswith(
        f"Cannot connect to the database at 127.0.0.1:{port}: no answer within 2 s."
    )
    assert "database.connect_timeout" in text
    assert "hunter2" not in text


def test_bad_urls_are_one_line_without_the_password() -> None:
    for url, reason in [
        ("postgresql://me:hunter2@db:port/todo", "port 'port' is not a number"),
        ("postgresql://me:hunter2@[::1/todo", 'looking for matching "]"'),  # libpq quotes it
        ("postgresql://me:hunter2@db/todo?bogus=1", 'invalid URI query parameter: "bogus"'),
    ]:
        with pytest.raises(TodoError) as bad:
            connect(url, timeout=2)
        text = _one_line(bad.value)
        assert text.startswith("database.url is not a valid PostgreSQL URL"), text
        assert reason in text
        assert "hunter2" not in text

    with pytest.raises(TodoError) as other:
        connect("mysql://me:hunter2@db/todo", timeout=2)
    assert "hunter2" not in _one_line(other.value)


def test_a_missing_driver_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` raises ImportError
    with pytest.raises(TodoError) as info:
        require_psycopg()
    text = _one_line(info.value)
    assert "pip install 'todo-cli[postgres]'" in text
    assert "uv sync --extra postgres" in text
    assert info.value.exit_code == ExitCode.ERROR
    with pytest.raises(TodoError):
        connect("postgresql://me:hunter2@db/todo", timeout=1)


# --------------------------------------------------------------------------- settings

URL = "postgresql://me:hunter2@db.example.com:5432/todo?sslmode=require"
MASKED = "postgresql://me:***@db.example.com:5432/todo?sslmode=require"


def test_database_settings_default_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.database.url is None
    assert settings.database.connect_timeout == 5
    monkeypatch.setenv("TODO_DATABASE_URL", URL)
    database = load_settings().database
    assert database.url == URL
    assert database.url_source == "env"
    assert "hunter2" not in repr(database)
    assert MASKED in repr(database)


def test_config_set_show_and_get_mask_the_password(
    todo, todo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = todo("config", "set", "database.url", URL)
    assert result.code == 0, result.err
    assert "hunter2" not in result.out + result.err
    assert MASKED in result.out
    config_file = todo_home / "config" / "config.toml"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert "hunter2" in config_file.read_text()  # stored as given, in a private file

    assert todo("config", "set", "database.connect_timeout", "2.5").code == 0
    shown = todo("config", "show")
    assert shown.code == 0
    assert "hunter2" not in shown.out + shown.err
    assert MASKED in shown.out
    row = next(line for line in shown.out.splitlines() if line.startswith("database.connect"))
    assert row.split()[:3] == ["database.connect_timeout", "2.5", "config"]
    data = json.loads(todo("config", "show", "--json").out)
    assert data["database.url"] == {
        "value": MASKED,
        "source": "config",
        "env": "TODO_DATABASE_URL",
        "secret": True,
    }
    assert data["database.connect_timeout"]["value"] == 2.5
    got = todo("config", "get", "database.url")
    assert got.out.strip() == MASKED
    assert json.loads(todo("config", "get", "database.url", "--json").out)["value"] == MASKED
    assert todo("config", "get", "database.url", "--reveal").out.strip() == URL

    # The environment wins, and is masked the same way.
    other = "postgresql://them:0ther-pw@db2.example.com/todo"
    monkeypatch.setenv("TODO_DATABASE_URL", other)
    shown = todo("config", "show")
    assert "0ther-pw" not in shown.out + shown.err
    assert "postgresql://them:***@db2.example.com/todo" in shown.out
    assert "env TODO_DATABASE_URL" in shown.out


def test_config_set_reads_the_url_from_stdin(todo, todo_home: Path) -> None:
    result = todo("config", "set", "database.url", stdin=URL + "\n")
    assert result.code == 0, result.err
    assert "hunter2" not in result.out + result.err
    assert load_settings().database.url == URL


def test_invalid_database_settings_never_show_the_password(
    todo, todo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = todo("config", "set", "database.url", "mysql://me:hunter2@db/todo")
    assert bad.code == ExitCode.USAGE
    assert "hunter2" not in bad.out + bad.err
    assert "mysql://me:***@db/todo" in bad.err
    assert len(bad.err.strip().splitlines()) == 1
    zero = todo("config", "set", "database.connect_timeout", "0")
    assert zero.code == ExitCode.USAGE
    assert "> 0" in zero.err

    # A bad value in the environment: `config show` warns, masked, and goes on.
    monkeypatch.setenv("TODO_DATABASE_URL", "http://me:hunter2@db/todo")
    shown = todo("config", "show")
    assert shown.code == 0
    assert "hunter2" not in shown.out + shown.err
    assert "Invalid TODO_DATABASE_URL" in shown.err


# ------------------------------------------------------- keepalives and the statement timeout


def _tcp_options(conn: Any) -> dict[str, int]:
    """The keepalive options the operating system has on the connection's socket."""
    sock = socket.socket(fileno=os.dup(conn.pgconn.socket))
    try:
        return {
            "keepalive": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            "idle": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            "interval": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            "count": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            "user_timeout_ms": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
        }
    finally:
        sock.close()  # the duplicate only


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux socket options")
def test_connections_have_tcp_keepalives_and_the_url_may_set_its_own(pg_url: str) -> None:
    with connect(pg_url, timeout=5) as conn:
        options = _tcp_options(conn)
    # A server gone silent is noticed in about 10 + 3 x 3 s, not after two hours.
    assert options == {
        "keepalive": 1,
        "idle": 10,
        "interval": 3,
        "count": 3,
        "user_timeout_ms": 20_000,
    }
    with connect(pg_url + "?keepalives_idle=42", timeout=5) as conn:
        assert _tcp_options(conn)["idle"] == 42


def _setting(conn: Any, name: str) -> str:
    row = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
    return str(row[0])


def test_the_statement_timeout_stops_a_long_statement_in_one_line(pg_url: str) -> None:
    import psycopg

    from todo_cli.store.pgconn import describe_error

    with connect(pg_url, timeout=5, statement_timeout=0.3) as conn:
        assert _setting(conn, "statement_timeout") == "300ms"
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled) as info:
            conn.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 4
        conn.rollback()
        error = describe_error(info.value, pg_url, connecting=False, statement_timeout=0.3)
    assert error.message == (
        f"The database at 127.0.0.1:{pg_url.split(':')[3].split('/')[0]} stopped a statement "
        "that took longer than database.statement_timeout (0.3 s)."
    )
    assert "database.statement_timeout" in (error.hint or "") and "s3cret" not in error.hint
    with connect(pg_url, timeout=5, statement_timeout=0) as conn:
        assert _setting(conn, "statement_timeout") == "0"  # 0: no limit
    with connect(pg_url, timeout=5) as conn:
        assert _setting(conn, "statement_timeout") == "0"


def test_a_store_write_waiting_past_the_statement_timeout_is_one_line(pg_url: str) -> None:
    from todo_cli.store import TaskQuery, TaskStore

    with TaskStore(pg_url) as other, TaskStore(pg_url, statement_timeout=0.5) as store:
        assert _setting(store._db.raw(), "statement_timeout") == "500ms"
        task = store.add("first")
        with other._transaction():  # another client holds the list's write lock
            started = time.monotonic()
            with pytest.raises(TodoError) as info:
                store.complete([task.id])
            assert time.monotonic() - started < 5
        error = info.value
        assert error.exit_code == ExitCode.ERROR and "\n" not in error.message
        assert "took longer than database.statement_timeout (0.5 s)" in error.message
        assert "127.0.0.1:" in error.message and "s3cret" not in error.message
        assert (error.hint or "").startswith("Nothing was changed.")
        assert store.get(task.id).status == "pending"
        assert store.complete([task.id])[0].status == "done"  # the next command works
        assert store.count(TaskQuery(status="done")) == 1


def test_the_statement_timeout_setting_reaches_every_connection(
    todo, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from todo_cli.conversations import open_conversations
    from todo_cli.server.tokens import open_token_store
    from todo_cli.store import TaskStore

    assert load_settings().database.statement_timeout == 60  # the default
    monkeypatch.setenv("TODO_DATABASE_URL", pg_url)
    assert todo("config", "set", "database.statement_timeout", "2.5").code == 0
    settings = load_settings()
    assert settings.database.statement_timeout == 2.5
    with TaskStore.open(settings) as store:
        assert _setting(store._db.raw(), "statement_timeout") == "2500ms"
    conversations = open_conversations(settings)
    tokens = open_token_store(settings)
    try:
        for db in (conversations._db, tokens._db):  # type: ignore[attr-defined]
            assert db.run(lambda conn: _setting(conn, "statement_timeout")) == "2500ms"
    finally:
        conversations.close()
        tokens.close()


def test_migrations_are_not_cut_by_the_statement_timeout(pg_url: str) -> None:
    from todo_cli.store.pgconn import apply_migrations

    def slow_step(conn: Any) -> None:
        conn.execute("SELECT pg_sleep(0.6)")  # an index built on a big table

    with connect(pg_url, timeout=5, autocommit=True, statement_timeout=0.2) as conn:
        apply_migrations(conn, "test_slow", [slow_step])
        rows = conn.execute(
            "SELECT name FROM todo_migrations WHERE migration_set = 'test_slow'"
        ).fetchall()
        assert rows == [("slow_step",)]
        assert _setting(conn, "statement_timeout") == "200ms"  # the session keeps its limit


def test_the_statement_timeout_setting_accepts_zero_and_refuses_negatives(todo) -> None:
    assert todo("config", "set", "database.statement_timeout", "0").code == 0
    assert load_settings().database.statement_timeout == 0
    negative = todo("config", "set", "--", "database.statement_timeout", "-1")
    assert negative.code == ExitCode.USAGE and ">= 0" in negative.err


# --------------------------------------------------------------------------- the test cluster


def _tables(url: str) -> list[str]:
    with connect(url, timeout=5) as conn:
        rows = conn.execute(
            "SELECT nspname || '.' || relname FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND nspname NOT LIKE 'pg\\_toast%'"
        ).fetchall()
    return sorted(r[0] for r in rows)


def test_fresh_databases_are_empty_when_reused(pg_server) -> None:
    url = pg_server.fresh_database()
    with connect(url, timeout=5) as conn:
        conn.execute("CREATE TABLE tasks (id bigserial PRIMARY KEY, title text)")
        conn.execute("CREATE INDEX ON tasks USING gin (to_tsvector('simple', title))")
        conn.execute("INSERT INTO tasks (title) VALUES ('one')")
    left_open = connect(url, timeout=5)  # a session the test forgot: it is ended
    left_open.execute("SELECT 1")
    assert "public.tasks" in _tables(url)
    pg_server.release_database(url)
    again = pg_server.fresh_database()
    assert again == url  # the same database, emptied
    assert _tables(again) == []
    with connect(again, timeout=5) as conn:  # the role may create in it as before
        conn.execute("CREATE TABLE t (x int)")
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        assert owner == ("todo_test",)

    with connect(again, timeout=5) as conn:  # something more than a schema's content
        conn.execute("CREATE SCHEMA other")
    pg_server.release_database(again)
    third = pg_server.fresh_database()
    assert third != again  # that one was dropped, not reused
    assert _tables(third) == []
    pg_server.release_database(third)


def test_own_server_stops_and_starts(pg_own_server) -> None:
    url = pg_own_server.create_database()
    with connect(url, timeout=5) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1)")
    pg_own_server.stop()
    with pytest.raises(DatabaseUnavailableError) as info:
        connect(url, timeout=2)
    assert "connection refused" in str(info.value)
    pg_own_server.start_again()
    with connect(url, timeout=5) as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    pg_own_server.stop("immediate")  # a crash: recovered on the next start
    pg_own_server.start_again()
    with connect(url, timeout=5) as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
