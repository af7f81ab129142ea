"""What both token stores share: the token's shape, its stored hash, what a listing shows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

TOKEN_PREFIX = "todo_"


@dataclass(frozen=True)
class TokenInfo:
    """A stored token, without anything that would let someone use it."""

    id: str
    user: str
    created_at: str
    label: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
