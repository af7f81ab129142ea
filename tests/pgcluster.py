"""A throwaway PostgreSQL cluster for tests and benchmarks.

``initdb`` runs once per test run (into a template data directory shared by every worker,
under a file lock); each cluster is a copy of it with its own port and unix-socket
directory, started with ``pg_ctl`` and removed when stopped. PostgreSQL refuses to run as
root: as root, the commands run as the ``postgres`` user (``runuser -u postgres --``) and the
directory belongs to it.

Clients use password authentication over TCP (127.0.0.1), like a real server: the URLs
carry a user and a password. ``ADMIN`` is the superuser; ``ROLE`` owns the test databases
(it may create databases, nothing more).

    cluster = PgCluster.start()         # raises ClusterUnavailable with the reason
    url = cluster.create_database()     # postgresql://todo_test:...@127.0.0.1:PORT/t_1
    cluster.stop(); cluster.start_again()   # a server outage
    cluster.destroy()
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADMIN, ADMIN_PASSWORD = "postgres", "admin-pw-Zq8"
ROLE, ROLE_PASSWORD = "todo_test", "s3cret-pw-Xy7"
# Speed over durability: the cluster is thrown away (a crash of the machine loses nothing
# of value). fsync off still survives a server crash or `pg_ctl stop -m immediate`.
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200 -c shared_buffers=32MB"
)
_TEMPLATE_LOCK = threading.Lock()


class ClusterUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says why."""


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: PATH first, then Debian's
    /usr/lib/postgresql/VERSION/bin (highest version)."""
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(initdb).resolve().parent  # Debian links /usr/bin/... to the real one
        if (bindir / "pg_ctl").exists():
            return bindir
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")

    def version(path: str) -> tuple[int, ...]:
        digits = re.findall(r"\d+", Path(path).parent.parent.name)
        return tuple(int(d) for d in digits)

    for path in sorted(candidates, key=version, reverse=True):
        if (Path(path).parent / "pg_ctl").exists():
            return Path(path).parent
    return None


def _as_server_user() -> list[str]:
    """The command prefix that runs a PostgreSQL program as a user it accepts."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ClusterUnavailable("running as root and `runuser` is missing")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterUnavailable("running as root and there is no `postgres` user") from None
    return [runuser, "-u", "postgres", "--"]


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    entry = pwd.getpwnam("postgres")
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def _run(cmd: list[str], what: str, timeout: float = 60) -> None:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterUnavailable(f"{what} failed: {exc}") from None
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()
        raise ClusterUnavailable(f"{what} failed: {output[-1] if output else result.returncode}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


NOT_INSTALLED = (
    "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin; "
    "apt-get install postgresql)"
)


def _initdb(bindir: Path, prefix: list[str], work: Path) -> None:
    """``initdb`` into ``work``/data (``work`` belongs to the server user)."""
    password_file = work / "pw"
    password_file.write_text(ADMIN_PASSWORD + "\n")
    _chown_to_server_user(work)
    try:
        _run(
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                str(work / "data"),
                "-U",
                ADMIN,
                "-A",
                "scram-sha-256",
                f"--pwfile={password_file}",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--wal-segsize=1",  # 1 MB WAL files: a smaller directory to copy
            ],
            "initdb",
        )
    finally:
        password_file.unlink(missing_ok=True)


def scratch_dir() -> str:
    """Where clusters live: /dev/shm (memory) when usable, else the temp folder. A data
    directory on a busy disk takes seconds to copy and slows every write."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        try:
            if shutil.disk_usage(shm).free > 1 << 30:
                return shm
        except OSError:
            pass
    return tempfile.gettempdir()


def _copy_tree(source: Path, target: Path) -> None:
    """``cp -a`` (several times faster than shutil.copytree on a loaded machine)."""
    cp = shutil.which("cp")
    if cp and subprocess.run([cp, "-a", str(source), str(target)]).returncode == 0:
        return
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)


def template_path(shared: Path) -> Path:
    """Where the template data directory of the run whose shared folder is ``shared`` is
    kept (in memory, like the clusters; ``remove_template`` deletes it at the end)."""
    import hashlib

    digest = hashlib.sha1(str(Path(shared).absolute()).encode()).hexdigest()[:12]
    return Path(scratch_dir()) / f"todo-pg-template-{digest}"


def remove_template(shared: Path) -> None:
    shutil.rmtree(template_path(shared), ignore_errors=True)


def _template_dir(shared: Path) -> Path:
    """A data directory made by ``initdb`` once for ``shared`` (a folder every worker of
    the run sees), under a file lock there so parallel workers wait for the first."""
    import fcntl

    bindir = find_bindir()
    if bindir is None:
        raise ClusterUnavailable(NOT_INSTALLED)
    shared = Path(shared)
    shared.mkdir(parents=True, exist_ok=True)
    template = template_path(shared)
    with _TEMPLATE_LOCK, open(shared / ".todo-pg-template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (template / "ok").exists():
            return template
        shutil.rmtree(template, ignore_errors=True)
        template.mkdir(mode=0o700)
        try:
            _initdb(bindir, _as_server_user(), template)
        except BaseException:
            shutil.rmtree(template, ignore_errors=True)
            raise
        (template / "ok").write_text("")
        return template


@dataclass
class PgCluster:
    """One running throwaway cluster (see the module's docstring)."""

    root: Path
    port: int
    bindir: Path
    _prefix: list[str] = field(default_factory=list)
    _count: int = 0
    _admin: Any = None  # an autocommit psycopg connection as ADMIN, opened when needed
    _db_admins: dict[str, Any] = field(default_factory=dict)  # ADMIN, in each pooled database
    _free: list[str] = field(default_factory=list)  # emptied databases, ready for reuse
    running: bool = False

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def start(cls, shared: Path | None = None) -> PgCluster:
        """Start a server on a free port. ``shared``: a folder every test worker sees; the
        data directory is then a copy of a template made there once by ``initdb`` (much
        faster than one ``initdb`` per worker). Without it, ``initdb`` runs here."""
        bindir = find_bindir()
        if bindir is None:
            raise ClusterUnavailable(NOT_INSTALLED)
        prefix = _as_server_user()
        root = Path(tempfile.mkdtemp(prefix="todo-pg-", dir=scratch_dir()))
        cluster = cls(root=root, port=free_port(), bindir=bindir, _prefix=prefix)
        try:
            os.chmod(root, 0o700)
            if shared is None:
                _chown_to_server_user(root)
                _initdb(bindir, prefix, root)
            else:
                template = _template_dir(shared)
                _copy_tree(template / "data", root / "data")
                os.chmod(root / "data", 0o700)
                _chown_to_server_user(root)
            cluster.start_again()
            cluster._setup_role()
        except BaseException:
            cluster.destroy()
            raise
        return cluster

    def start_again(self) -> None:
        """Start the server (again, after ``stop``) on the same port and data."""
        for attempt in range(3):
            try:
                self._pg_ctl("start", "-w", "-t", "30", "-l", str(self.root / "server.log"))
                break
            except ClusterUnavailable:
                log = self.root / "server.log"
                text = log.read_text(errors="replace") if log.exists() else ""
                if "could not bind" in text and attempt < 2:  # the port was taken meanwhile
                    self.port = free_port()
                    continue
                raise
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` ends client sessions cleanly, ``immediate`` is a crash
        (recovery on the next start)."""
        self.close_admin()
        self._pg_ctl("stop", "-w", "-t", "30", "-m", mode)
        self.running = False

    def destroy(self) -> None:
        """Stop the server (if running) and remove its directory."""
        self.close_admin()
        if self.running:
            with contextlib.suppress(ClusterUnavailable):
                self._pg_ctl("stop", "-w", "-t", "30", "-m", "immediate")
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 {SERVER_OPTIONS}"
        cmd = [*self._prefix, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data")]
        _run([*cmd, "-o", options, *args], f"pg_ctl {args[0]}")

    # ------------------------------------------------------------------ databases

    def url(
        self, dbname: str = "postgres", *, user: str = ROLE, password: str = ROLE_PASSWORD
    ) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    @property
    def admin_url(self) -> str:
        return self.url("postgres", user=ADMIN, password=ADMIN_PASSWORD)

    def admin(self) -> Any:
        """An autocommit connection as the superuser (kept open until ``stop``)."""
        if self._admin is None or self._admin.closed:
            import psycopg

            self._admin = psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10)
        return self._admin

    def close_admin(self) -> None:
        """Close the superuser's connections (before a stop, or at the end)."""
        for conn in [self._admin, *self._db_admins.values()]:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
        self._admin = None
        self._db_admins.clear()

    def _setup_role(self) -> None:
        self.admin().execute(
            f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{ROLE_PASSWORD}'"  # noqa: S608
        )

    def create_database(self, name: str | None = None) -> str:
        """A new empty database owned by ``ROLE``; returns its URL (with the password)."""
        if name is None:
            self._count += 1
            name = f"t_{os.getpid()}_{self._count}"
        self.admin().execute(f'CREATE DATABASE "{name}" OWNER {ROLE}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending the sessions still connected to it."""
        conn = self._db_admins.pop(name, None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        self.admin().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def fresh_database(self) -> str:
        """An empty database owned by ``ROLE``: one given back by ``release_database`` and
        emptied there (ten times cheaper than CREATE DATABASE), else a new one."""
        if self._free:
            return self.url(self._free.pop())
        return self.create_database()

    def release_database(self, url: str) -> None:
        """Take back a database from ``fresh_database``: empty it for the next test (its
        sessions ended, its public schema made anew), or drop it when the test left
        something a new database would not have (another schema, an extension, a setting,
        a large object)."""
        name = url.rsplit("/", 1)[1]
        if not self.running:
            self._db_admins.pop(name, None)
            return
        try:
            if self._empty(name):
                self._free.append(name)
                return
        except Exception:
            pass
        self.drop_database(name)

    def _empty(self, name: str) -> bool:
        conn = self._db_admins.get(name)
        if conn is None or conn.closed:
            import psycopg

            admin_url = self.url(name, user=ADMIN, password=ADMIN_PASSWORD)
            conn = psycopg.connect(admin_url, autocommit=True, connect_timeout=10)
            self._db_admins[name] = conn
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public AUTHORIZATION pg_database_owner")
        conn.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
        row = conn.execute(
            r"""SELECT
              (SELECT count(*) FROM pg_namespace WHERE nspname NOT IN
                 ('public', 'pg_catalog', 'information_schema', 'pg_toast')
                 AND nspname NOT LIKE 'pg\_temp\_%' AND nspname NOT LIKE 'pg\_toast\_temp\_%')
            + (SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql')
            + (SELECT count(*) FROM pg_db_role_setting WHERE setdatabase =
                 (SELECT oid FROM pg_database WHERE datname = current_database()))
            + (SELECT count(*) FROM pg_largeobject_metadata)"""
        ).fetchone()
        return row is not None and row[0] == 0
