"""Connections to a PostgreSQL server (the shared store), with one-line errors.

psycopg 3 is an optional dependency (the ``postgres`` extra) and is imported only when a
connection is made, never on start-up paths. Every failure to connect becomes a
``TodoError`` (exit code 1) with one line naming ``host:port`` and the cause, never the
password: ``Cannot reach the database at db.example.com:5432: connection refused.``
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..dburl import (
    DEFAULT_STATEMENT_TIMEOUT,
    POSTGRES_SCHEMES,
    is_postgres_url,
    mask_url,
    scrub,
)
from ..errors import ConfigError, TodoError

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "DEFAULT_STATEMENT_TIMEOUT",
    "POSTGRES_SCHEMES",
    "DatabaseUnavailableError",
    "connect",
    "describe_error",
    "is_postgres_url",
    "is_statement_timeout",
    "mask_url",
    "require_psycopg",
    "server_address",
]

INSTALL_HINT = (
    "Install it with `pip install 'todo-cli[postgres]'` (from a clone: `uv sync --extra "
    "postgres`), or unset database.url to use the local SQLite file."
)
_NETWORK_HINT = (
    "Check that the server is running and reachable from here, and the host and port in "
    "database.url (`todo config show`); the shared list needs the network."
)
_AUTH_HINT = (
    "Check the user name and password in database.url (`todo config set database.url URL`)."
)
_TIMEOUT_HINT = (
    "Check the host and port in database.url (`todo config show`) and the network; "
    "database.connect_timeout sets how long to wait."
)


# TCP keepalives, so that a server that died or a network that dropped the connection without
# a word is noticed within about 20 s (idle 10 s, then 3 probes 3 s apart; unacknowledged
# data gives up after 20 s) instead of the operating system's two hours. Parameters the
# URL sets itself win.
KEEPALIVES: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
}
TCP_USER_TIMEOUT_MS = 20_000  # libpq 12 and later
_STATEMENT_TIMEOUT_HINT = (
    "Nothing was changed. The server is busy or another client's long change held the "
    "list; try again, or allow more time with `todo config set database.statement_timeout "
    "SECONDS` (0 = no limit)."
)


class DatabaseUnavailableError(TodoError):
    """The PostgreSQL server cannot be used: unreachable, refused, wrong credentials, no
    such database, or the connection was lost. ``address`` is ``host:port``."""

    def __init__(self, message: str, *, hint: str | None = None, address: str = "") -> None:
        super().__init__(message, hint=hint)
        self.address = address


def require_psycopg() -> ModuleType:
    """The ``psycopg`` module, or a TodoError saying how to install it."""
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            "database.url names a PostgreSQL server, but the PostgreSQL driver (psycopg) is "
            "not installed.",
            hint=INSTALL_HINT,
        ) from None
    import logging

    # psycopg logs what it ignores while cleaning up a lost connection ("error ignored
    # terminating <psycopg.Pipeline [BAD]>"); with no handler anywhere Python would print
    # that to stderr under our own one-line error. Applications that set up logging see it.
    logger = logging.getLogger("psycopg")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return psycopg


def _params(url: str) -> dict[str, Any]:
    """The connection parameters ``url`` carries (libpq's own parser), or {}."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        return dict(conninfo_to_dict(url))
    except Exception:
        return {}


def server_address(url: str) -> str:
    """``host:port`` of the server ``url`` names, for messages (libpq's defaults and the
    PGHOST/PGPORT variables fill what the URL leaves out)."""
    params = _params(url)
    host = str(params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "")
    port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
    if not host:
        host = "localhost"
    if "," in host:  # several hosts: name them all, each with its port
        ports = port.split(",")
        hosts = host.split(",")
        ports += [ports[-1]] * (len(hosts) - len(ports))
        return ",".join(f"{h}:{p}" for h, p in zip(hosts, ports, strict=False))
    return f"{host}:{port}"


def _database_name(url: str) -> str:
    params = _params(url)
    return str(params.get("dbname") or params.get("user") or os.environ.get("PGDATABASE") or "")


def _cause(message: str) -> tuple[str, str]:
    """(the cause in a few words, how to fix it) for a libpq/psycopg error message."""
    text = " ".join(message.split())
    low = text.lower()
    if "does not exist" in low and "database" in low and "role" not in low:
        start = low.find('database "')
        name = text[start:].split('"')[1] if start != -1 else ""
        what = f'database "{name}" does not exist' if name else "no such database"
        return what, "Create it (`createdb NAME`) or fix the database name in database.url."
    if (
        "authentication failed" in low
        or "no password supplied" in low
        or "password is required" in low
        or ("role" in low and "does not exist" in low)
        or "no pg_hba.conf entry" in low
    ):
        user = ""
        start = low.find('for user "')
        if start != -1:
            user = text[start:].split('"')[1]
        return ("authentication failed" + (f" for user {user}" if user else "")), _AUTH_HINT
    if "could not receive data" in low or "could not send data" in low:
        return "the connection was lost (the server stopped answering)", (
            "Run the command again; " + _NETWORK_HINT
        )
    if "refused" in low:
        return "connection refused (is the server running?)", _NETWORK_HINT
    if "timeout expired" in low or "timed out" in low:
        return "no answer in time", _TIMEOUT_HINT
    if "resolve host" in low or "translate host name" in low or "name or service" in low:
        return "unknown host name", _NETWORK_HINT
    if "unreachable" in low or "no route to host" in low:
        return "network unreachable", _NETWORK_HINT
    if "too many connections" in low or "too many clients" in low:
        return "too many connections", "Try again later, or ask the server's owner."
    if "starting up" in low or "shutting down" in low or "in recovery mode" in low:
        return "the server is starting up or shutting down", "Try again in a moment."
    if "ssl" in low:
        detail = text.rsplit("failed:", 1)[-1].strip()
        return f"SSL: {detail}", "Check sslmode in database.url and the server's SSL setup."
    if "server closed the connection" in low or "terminating connection" in low:
        return "the server closed the connection", "Run the command again; " + _NETWORK_HINT
    if "consuming input failed" in low or "connection is lost" in low or "bad connection" in low:
        return "the connection was lost", "Run the command again; " + _NETWORK_HINT
    detail = text.rsplit("failed:", 1)[-1].strip()
    detail = detail.removeprefix("FATAL:").strip().rstrip(".")
    return detail or "unknown error", _NETWORK_HINT


def is_statement_timeout(exc: BaseException) -> bool:
    """The server stopped a statement that ran past ``statement_timeout``."""
    return type(exc).__name__ == "QueryCanceled" and "statement timeout" in str(exc).lower()


def describe_error(
    exc: BaseException,
    url: str,
    *,
    timeout: float | None = None,
    connecting: bool = True,
    statement_timeout: float | None = None,
) -> DatabaseUnavailableError:
    """A one-line ``DatabaseUnavailableError`` for a psycopg error ``exc`` met while
    connecting to (``connecting``) or using the server ``url`` names; never the password.
    ``statement_timeout``: the limit the connection has, named when a statement ran past
    it."""
    address = server_address(url)
    message = str(exc) or type(exc).__name__
    if is_statement_timeout(exc):
        limit = f" ({statement_timeout:g} s)" if statement_timeout else ""
        return DatabaseUnavailableError(
            f"The database at {address} stopped a statement that took longer than "
            f"database.statement_timeout{limit}.",
            hint=_STATEMENT_TIMEOUT_HINT,
            address=address,
        )
    if type(exc).__name__ == "ConnectionTimeout" or "timeout expired" in message.lower():
        wait = f" within {timeout:g} s" if timeout else ""
        cause, hint = f"no answer{wait}", _TIMEOUT_HINT
    else:
        cause, hint = _cause(message)
    cause = scrub(cause, url)
    if connecting:
        text = f"Cannot connect to the database at {address}: {cause}."
    else:
        text = f"Lost the database at {address}: {cause}."
    return DatabaseUnavailableError(text, hint=hint, address=address)


def connect(
    url: str,
    *,
    timeout: float,
    autocommit: bool = False,
    statement_timeout: float | None = None,
) -> psycopg.Connection:
    """A psycopg 3 connection to ``url``, giving up after ``timeout`` seconds (libpq waits
    at least 2 s), with TCP keepalives (``KEEPALIVES``); any failure is a one-line
    TodoError (exit 1) naming host:port. ``statement_timeout`` (seconds; None or 0: no
    limit) is set on the session: a statement running or waiting longer is stopped by the
    server (``describe_error`` says so in one line)."""
    if not is_postgres_url(url):
        raise ConfigError(
            f"database.url is not a PostgreSQL URL: {mask_url(url)!r}.",
            hint="Use postgresql://USER:PASSWORD@HOST:5432/DBNAME.",
        )
    psycopg = require_psycopg()
    params = _params(url)
    ports = str(params.get("port") or "").split(",")
    if not params or not all(p.strip().isdigit() for p in ports if p):
        reason = f"port {params.get('port')!r} is not a number"
        try:  # libpq's parser says what is wrong; its message may quote the URL
            from psycopg.conninfo import conninfo_to_dict

            conninfo_to_dict(url)
        except Exception as exc:
            reason = scrub(" ".join(str(exc).split()), url).rstrip(".")
        raise ConfigError(
            f"database.url is not a valid PostgreSQL URL ({mask_url(url)}): {reason}.",
            hint="Use postgresql://USER:PASSWORD@HOST:5432/DBNAME (percent-encode special "
            "characters in the password).",
        )
    extra: dict[str, Any] = {"connect_timeout": max(1, math.ceil(timeout))}
    if "application_name" not in params:
        extra["application_name"] = "todo"
    keepalives: dict[str, int] = dict(KEEPALIVES)
    if psycopg.pq.version() >= 120000:
        keepalives["tcp_user_timeout"] = TCP_USER_TIMEOUT_MS
    extra.update({key: value for key, value in keepalives.items() if key not in params})
    try:
        conn = psycopg.connect(url, autocommit=autocommit, **extra)
    except psycopg.Error as exc:
        raise describe_error(exc, url, timeout=timeout) from None
    if statement_timeout:
        try:  # a SET, not a startup option: connection poolers refuse unknown options
            conn.execute(f"SET statement_timeout = {max(1, round(statement_timeout * 1000))}")
            if not autocommit:
                conn.commit()
        except psycopg.Error as exc:
            conn.close()
            raise describe_error(exc, url, timeout=timeout) from None
    return conn


# Every migration set (the store's, the conversations', the server's) is recorded in one
# table and applied under one advisory lock.
MIGRATION_LOCK = 0x746F646F_6D696772  # "todomigr"


def apply_migrations(
    conn: psycopg.Connection[Any], migration_set: str, steps: Sequence[Callable[[Any], None]]
) -> None:
    """Apply the pending ``steps`` of ``migration_set`` in one transaction (``conn`` in
    autocommit mode); a second client doing the same at once waits on the advisory lock,
    then finds nothing left to do."""
    errors = require_psycopg().errors
    names = {fn.__name__ for fn in steps}
    try:
        rows = conn.execute(
            "SELECT name FROM todo_migrations WHERE migration_set = %s", (migration_set,)
        ).fetchall()
        if {name for (name,) in rows} >= names:
            return
    except errors.UndefinedTable:
        pass
    with conn.transaction():
        # An upgrade builds what it must however long that takes (an index on a big table),
        # and a client waiting for another's upgrade waits until it is done.
        conn.execute("SET LOCAL statement_timeout = 0")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS todo_migrations ("
            " migration_set text NOT NULL, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(),"
            " PRIMARY KEY (migration_set, name))"
        )
        rows = conn.execute(
            "SELECT name FROM todo_migrations WHERE migration_set = %s", (migration_set,)
        ).fetchall()
        applied = {name for (name,) in rows}
        for fn in steps:
            if fn.__name__ in applied:
                continue
            fn(conn)
            conn.execute(
                "INSERT INTO todo_migrations (migration_set, name) VALUES (%s, %s)",
                (migration_set, fn.__name__),
            )
