"""Bearer tokens for `todo serve`: created once, stored only as hashes.

A token looks like ``todo_3f9a1c2e_<43 random characters>``: the 8 hex digits are its id
(what ``todo serve token list`` shows and ``token revoke`` takes), the rest is 256 random
bits. Only the SHA-256 of the whole token is kept, in ``server_tokens.toml`` in the data
folder (mode 0600, written atomically); a hash of 256 random bits needs no slow hashing.
Checking a token compares its hash with every stored hash in constant time, so neither
timing nor the order of the file tells anything about other tokens.

The server re-reads the file when it changes, so a token added or revoked while it runs
takes effect on the next request. Standard library only: the CLI's token commands load
no web framework.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError, NotFoundError, UsageError
from .scoping import validate_user_id
from .tokeninfo import TOKEN_PREFIX, TokenInfo, hash_token

FILE_NAME = "server_tokens.toml"


def tokens_path(paths: Any | None = None) -> Path:
    """``<data dir>/server_tokens.toml``."""
    if paths is None:
        from ..config import get_paths

        paths = get_paths()
    return Path(paths.data_dir) / FILE_NAME


def open_token_store(settings: Any | None = None, *, path: Path | None = None) -> Any:
    """Where the server's tokens are: the database of ``database.url`` when it is set (so
    every server process on it sees them), else the token file (``path``, or the default
    one in the data folder)."""
    if path is None:
        if settings is None:
            from ..config import load_settings

            settings = load_settings()
        database = getattr(settings, "database", None)
        url = getattr(database, "url", None)
        if url:
            from ..dburl import DEFAULT_STATEMENT_TIMEOUT
            from .pgtokens import PgTokenStore

            timeout = float(getattr(database, "connect_timeout", 5.0) or 5.0)
            limit = float(getattr(database, "statement_timeout", DEFAULT_STATEMENT_TIMEOUT))
            return PgTokenStore(str(url), timeout=timeout, statement_timeout=limit)
        path = tokens_path(getattr(settings, "paths", None))
    return TokenStore(path)


class TokenStore:
    """The token file: add, list, revoke (CLI) and verify (server)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._entries: list[dict[str, Any]] = []

    # -- reading ---------------------------------------------------------------------
    def _read(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{self.path}: {exc}", hint="Fix it, or remove it and add the tokens again."
            ) from None
        entries = data.get("tokens", [])
        if not isinstance(entries, list):
            raise ConfigError(f"{self.path}: 'tokens' must be a list of tables.")
        return [
            e
            for e in entries
            if isinstance(e, dict)
            and isinstance(e.get("id"), str)
            and isinstance(e.get("user"), str)
            and isinstance(e.get("hash"), str)
        ]

    def _current(self) -> list[dict[str, Any]]:
        """The entries, re-read only when the file changed (one stat per call)."""
        try:
            st = self.path.stat()
            stamp: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp or stamp is None:
                self._entries = self._read() if stamp is not None else []
                self._stamp = stamp
            return self._entries

    def all(self) -> list[TokenInfo]:
        """Every token (id, user, creation time, label), oldest first."""
        return [
            TokenInfo(e["id"], e["user"], str(e.get("created_at", "")), e.get("label"))
            for e in self._current()
        ]

    def verify(self, token: str | None) -> str | None:
        """The user a token belongs to, or None. Constant time in the token's content."""
        if not token:
            return None
        digest = hash_token(token)
        user: str | None = None
        for entry in self._current():  # no early exit: every stored hash is compared
            if hmac.compare_digest(entry["hash"], digest):
                user = entry["user"]
        return user

    # -- writing ---------------------------------------------------------------------
    def add(self, user: str, label: str | None = None) -> tuple[TokenInfo, str]:
        """Create a token for ``user``; returns its info and the token (shown once)."""
        from ..config import _locked

        user = validate_user_id(user)
        with _locked(self.path):
            entries = self._read()
            used = {e["id"] for e in entries}
            token_id = secrets.token_hex(4)
            while token_id in used:
                token_id = secrets.token_hex(4)
            token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
            created = datetime.now(UTC).isoformat(timespec="seconds")
            entry: dict[str, Any] = {
                "id": token_id,
                "user": user,
                "hash": hash_token(token),
                "created_at": created,
            }
            if label:
                entry["label"] = label
            self._write([*entries, entry])
        return TokenInfo(token_id, user, created, label or None), token

    def revoke(self, token_id: str) -> TokenInfo:
        """Remove one token by its id (NotFoundError when there is none)."""
        from ..config import _locked

        wanted = token_id.strip().removeprefix(TOKEN_PREFIX).split("_")[0].lower()
        if not wanted:
            raise UsageError("No token id given.", hint="See the ids with `todo serve token list`.")
        with _locked(self.path):
            entries = self._read()
            keep = [e for e in entries if e["id"] != wanted]
            gone = [e for e in entries if e["id"] == wanted]
            if not gone:
                raise NotFoundError(
                    f"No token '{token_id}'.", hint="See the ids with `todo serve token list`."
                )
            self._write(keep)
        e = gone[0]
        return TokenInfo(e["id"], e["user"], str(e.get("created_at", "")), e.get("label"))

    def close(self) -> None:
        """Nothing to release (the interface of the database store)."""

    def _write(self, entries: list[dict[str, Any]]) -> None:
        from ..config import write_config_file

        write_config_file(self.path, {"tokens": entries})  # atomic, mode 0600
        with self._lock:
            self._stamp = None
