"""Bearer tokens in the PostgreSQL database of ``database.url``: `todo serve token add` on
one machine works at once for every server process on that database, and a revoke stops
the token everywhere on the next request. Only SHA-256 hashes are stored, as in the file.

Table ``server_tokens`` (its own append-only migrations, set ``server`` in
``todo_migrations``). ``verify`` reads every stored hash and compares each in constant
time, like the file store. psycopg is imported with this module, which
``tokens.open_token_store`` imports only for a PostgreSQL URL.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from ..errors import NotFoundError, UsageError
from ..pgconversations import Connection
from ..store.pgconn import DEFAULT_STATEMENT_TIMEOUT, apply_migrations, mask_url
from .scoping import validate_user_id
from .tokeninfo import TOKEN_PREFIX, TokenInfo, hash_token

MIGRATION_SET = "server"


def pgs001_server_tokens(conn: Any) -> None:
    """Bearer tokens: id, user, SHA-256 hash, creation time, label."""
    conn.execute(
        """
        CREATE TABLE server_tokens (
            id text PRIMARY KEY,
            user_id text NOT NULL,
            hash text NOT NULL,
            created_at text NOT NULL,
            label text
        )
        """
    )


def pgs002_server_rate(conn: Any) -> None:
    """Per-user rate buckets shared by every server process: tokens left, when counted
    (seconds since the epoch, by the database's clock)."""
    conn.execute(
        """
        CREATE TABLE server_rate (
            user_id text PRIMARY KEY,
            tokens double precision NOT NULL,
            at double precision NOT NULL
        )
        """
    )


SERVER_MIGRATIONS: list[Callable[[Any], None]] = [pgs001_server_tokens, pgs002_server_rate]


def _migrate(conn: psycopg.Connection[Any]) -> None:
    apply_migrations(conn, MIGRATION_SET, SERVER_MIGRATIONS)


class PgTokenStore:
    """The token table: add, list, revoke (CLI) and verify (server), like ``TokenStore``."""

    blocking = True  # verify waits for the database: the server calls it off the event loop

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
    ) -> None:
        self.location = mask_url(url)
        self._db = Connection(
            url, timeout, migrations=_migrate, statement_timeout=statement_timeout
        )

    def close(self) -> None:
        self._db.close()

    def all(self) -> list[TokenInfo]:
        rows = self._db.run(
            lambda conn: conn.execute(
                "SELECT id, user_id, created_at, label FROM server_tokens ORDER BY created_at, id"
            ).fetchall()
        )
        return [TokenInfo(i, u, c, label) for i, u, c, label in rows]

    def verify(self, token: str | None) -> str | None:
        if not token:
            return None
        digest = hash_token(token)
        rows = self._db.run(
            lambda conn: conn.execute("SELECT user_id, hash FROM server_tokens").fetchall()
        )
        user: str | None = None
        for owner, stored in rows:  # no early exit: every stored hash is compared
            if hmac.compare_digest(str(stored), digest):
                user = str(owner)
        return user

    def add(self, user: str, label: str | None = None) -> tuple[TokenInfo, str]:
        user = validate_user_id(user)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        while True:
            token_id = secrets.token_hex(4)
            token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
            row = (token_id, user, hash_token(token), created, label or None)

            def insert(conn: psycopg.Connection[Any], row: tuple[Any, ...] = row) -> Any:
                return conn.execute(
                    "INSERT INTO server_tokens (id, user_id, hash, created_at, label) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id",
                    row,
                ).fetchone()

            inserted = self._db.run(insert)
            if inserted is not None:
                return TokenInfo(token_id, user, created, label or None), token

    def revoke(self, token_id: str) -> TokenInfo:
        wanted = token_id.strip().removeprefix(TOKEN_PREFIX).split("_")[0].lower()
        if not wanted:
            raise UsageError("No token id given.", hint="See the ids with `todo serve token list`.")
        row = self._db.run(
            lambda conn: conn.execute(
                "DELETE FROM server_tokens WHERE id = %s RETURNING id, user_id, created_at, label",
                (wanted,),
            ).fetchone()
        )
        if row is None:
            raise NotFoundError(
                f"No token '{token_id}'.", hint="See the ids with `todo serve token list`."
            )
        return TokenInfo(*row)


class PgRateLimiter:
    """``RateLimiter`` with its buckets in the database, so every server process on it
    counts one user's requests together; the database's clock is the only clock."""

    blocking = True  # take waits for the database: the server calls it off the event loop

    def __init__(self, tokens: PgTokenStore, per_minute: int) -> None:
        self.per_minute = per_minute
        self._db = tokens._db

    def take(self, user: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        if self.per_minute <= 0:
            return 0.0
        cap = float(self.per_minute)
        rate = cap / 60.0

        def take(conn: psycopg.Connection[Any]) -> float:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO server_rate (user_id, tokens, at) "
                    "VALUES (%s, %s, extract(epoch FROM clock_timestamp())) "
                    "ON CONFLICT (user_id) DO NOTHING",
                    (user, cap),
                )
                row = conn.execute(
                    "SELECT tokens, at, extract(epoch FROM clock_timestamp())::float8 "
                    "FROM server_rate WHERE user_id = %s FOR UPDATE",
                    (user,),
                ).fetchone()
                assert row is not None  # inserted above when it was missing
                left, at, now = float(row[0]), float(row[1]), float(row[2])
                left = min(cap, left + max(0.0, now - at) * rate)
                wait = 0.0 if left >= 1.0 else (1.0 - left) / rate
                if left >= 1.0:
                    left -= 1.0
                conn.execute(
                    "UPDATE server_rate SET tokens = %s, at = %s WHERE user_id = %s",
                    (left, now, user),
                )
            return wait

        return float(self._db.run(take))
