"""Database URLs: which ones name a PostgreSQL server, and how to show one safely.

Standard library only, so settings and `todo config show` can use it without loading the
store or the PostgreSQL driver. ``todo_cli.store.pgconn`` re-exports these names.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

POSTGRES_SCHEMES = ("postgresql", "postgres")
# Seconds one statement may run (or wait for a lock) on the server before it is stopped:
# the default of ``database.statement_timeout`` (0 = no limit).
DEFAULT_STATEMENT_TIMEOUT = 60.0
MASK = "***"

_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*)://", re.ASCII)
# `password=...` in a URL's query string (libpq reads connection parameters there too).
_QUERY_PASSWORD = re.compile(r"([?&;]password=)[^&;#]*", re.IGNORECASE)
# `password=...` in a key=value connection string, quoted or not.
_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)", re.IGNORECASE)


def is_postgres_url(url: str | None) -> bool:
    """True when ``url`` is a ``postgresql://`` or ``postgres://`` URL."""
    if not url:
        return False
    match = _SCHEME.match(url)
    return match is not None and match.group(1).lower() in POSTGRES_SCHEMES


def _userinfo_end(text: str, start: int) -> int:
    """Where the user[:password] part after ``start`` (just past ``://``) ends, at its
    ``@``, or -1. A password with an unencoded ``/``, ``?`` or ``#`` still counts, so it
    is masked too: the last ``@`` before any query wins when the authority has none."""
    authority_end = len(text)
    for sep in "/?#":
        found = text.find(sep, start)
        if found != -1:
            authority_end = min(authority_end, found)
    at = text.rfind("@", start, authority_end)
    if at != -1:
        return at
    query = text.find("?", start)
    at = text.rfind("@", start, query if query != -1 else len(text))
    if at != -1 and ":" in text[start:at]:
        return at
    return -1


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, safe to print and log.

    Masks the password of ``scheme://user:password@host``, a ``password=`` query parameter
    and, in a key=value connection string (``host=db password=x``), its ``password``.
    """
    if not url:
        return url
    text = str(url)
    match = _SCHEME.match(text)
    if not match:
        return _KV_PASSWORD.sub(lambda m: m.group(1) + MASK, text)
    start = match.end()
    at = _userinfo_end(text, start)
    if at != -1:
        userinfo = text[start:at]
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            text = f"{text[:start]}{user}:{MASK}{text[at:]}"
            at = start + len(user) + 1 + len(MASK)
    head, tail = text[: max(at, start)], text[max(at, start) :]
    return head + _QUERY_PASSWORD.sub(lambda m: m.group(1) + MASK, tail)


def url_passwords(url: str) -> list[str]:
    """Every form of the password ``url`` carries (as written and percent-decoded), so
    messages can be scrubbed of it; empty when there is none."""
    if not url:
        return []
    found: list[str] = []
    match = _SCHEME.match(url)
    if match:
        start = match.end()
        at = _userinfo_end(url, start)
        if at != -1 and ":" in url[start:at]:
            found.append(url[start:at].split(":", 1)[1])
        found += [m.group(0).split("=", 1)[1] for m in _QUERY_PASSWORD.finditer(url)]
    else:
        found += [m.group(2).strip("'") for m in _KV_PASSWORD.finditer(url)]
    found += [unquote(p) for p in found]
    return sorted({p for p in found if p}, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` (an error message about ``url``) with the URL's password masked."""
    for password in url_passwords(url):
        text = text.replace(password, MASK)
    return text
