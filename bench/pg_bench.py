"""The PostgreSQL store next to the SQLite file, in the same run, on the same tasks.

Store figures at 100,000 tasks (2,000 with --quick) on both backends: bulk insert, one add,
a filtered list, the default list page, ``stats()``, full-text search and undo of a
1,000-change group (``store_bench``'s measurements), then `todo tasks list` wall time at
10,000 tasks (1,000 with --quick) against the SQLite file and against the server. The
server is a throwaway cluster on this machine (``tests/pgcluster.py``: initdb + pg_ctl,
fsync off, over TCP to 127.0.0.1 with password authentication), so the figures are the
store's and the protocol's cost without network latency: a real server adds its round trip
to every statement. Where PostgreSQL cannot start (not installed, no psycopg), every figure
says why and the run goes on.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from . import store_bench
from .data import generate_tasks
from .harness import (
    BenchError,
    CommandStats,
    Context,
    Figure,
    NotAvailable,
    failed,
    measure_command,
    speed_ratio,
    todo_command,
    unavailable,
)
from .todo_env import db_path, home_with_tasks, open_store, require, todo_env

CLUSTER_MODULE = Path(__file__).resolve().parents[1] / "tests" / "pgcluster.py"
CORE = (  # store_bench's figures, by name: (label, unit, lower is better)
    ("insert_rate", "bulk insert (import_tasks)", "tasks/s", False),
    ("add", "add one task", "ms", True),
    ("filtered_list", "filtered list (priority=high, tag=work, limit 50)", "ms", True),
    ("list_page", "default list page (pending, by due, limit 50)", "ms", True),
    ("stats", "stats(), the chat toolbar's counts", "ms", True),
    ("fts_search", "full-text search, slowest of 3 queries, limit 50", "ms", True),
    ("undo_1000", "undo a 1,000-change group", "ms", True),
)


def _cluster_module() -> Any:
    if not CLUSTER_MODULE.exists():
        raise NotAvailable(f"{CLUSTER_MODULE} is missing")
    spec = importlib.util.spec_from_file_location("todo_bench_pgcluster", CLUSTER_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _start_cluster(ctx: Context) -> Any:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise NotAvailable(
            "psycopg is not installed (uv sync installs it; pip install 'todo-cli[postgres]')"
        ) from None
    pgcluster = _cluster_module()
    ctx.log("starting a throwaway PostgreSQL cluster")
    try:
        return pgcluster.PgCluster.start()
    except pgcluster.ClusterUnavailable as exc:
        raise NotAvailable(f"no PostgreSQL cluster could start: {exc}") from None


def _value(name: str, medians: dict[str, float]) -> float:
    value = medians[name]
    return value if name == "insert_rate" else value * 1000


def _shown(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if unit == "tasks/s" else f"{value:.1f} {unit}"


def run(ctx: Context) -> list[Figure]:
    store_mod = require("store")
    n = 2_000 if ctx.quick else 100_000
    n_cli = 1_000 if ctx.quick else 10_000
    micro_runs = ctx.runs if ctx.quick else max(ctx.runs, 21)
    rows = [(f"postgres.{name}", f"PostgreSQL: {label}") for name, label, *_ in CORE]
    rows.append(("postgres.tasks_list", "PostgreSQL: todo tasks list"))
    try:
        cluster = _start_cluster(ctx)
    except NotAvailable as exc:
        ctx.log(f"PostgreSQL figures skipped: {exc}")
        print(f"bench postgres: skipped, {exc}", file=sys.stderr)
        return [unavailable(key, label, str(exc)) for key, label in rows]
    figures: list[Figure] = []
    try:
        records = generate_tasks(n, seed=99)
        ctx.log(f"SQLite: {n:,} tasks")
        sqlite_store = open_store(db_path(ctx.tmpdir("home-pg-bench-sqlite")))
        try:
            _, lite = store_bench.measure_core(ctx, sqlite_store, store_mod, records, micro_runs)
        finally:
            sqlite_store.close()
        ctx.log(f"PostgreSQL: {n:,} tasks")
        pg_store = store_mod.TaskStore(cluster.create_database("bench_store"))
        try:
            _, pg = store_bench.measure_core(ctx, pg_store, store_mod, records, micro_runs)
        finally:
            pg_store.close()
        for name, label, unit, lower in CORE:
            ours, ref = _value(name, pg), _value(name, lite)
            if lower:
                ratio = speed_ratio(ours, ref)
            else:
                ratio = speed_ratio(1 / ours, 1 / ref) if ours and ref else "n/a"
            figures.append(
                Figure(
                    f"postgres.{name}",
                    f"PostgreSQL: {label} ({int(pg['tasks']):,} tasks)",
                    ours,
                    unit,
                    reference=f"SQLite {_shown(ref, unit)}",
                    ratio=f"{ratio} than SQLite" if ratio != "n/a" else None,
                    note="local server over TCP, no network latency; same tasks, same run",
                    extra={"postgresql": ours, "sqlite": ref, "tasks": int(pg["tasks"])},
                )
            )
        figures.append(_tasks_list(ctx, cluster, store_mod, n_cli))
    finally:
        cluster.destroy()
    return figures


def _tasks_list(ctx: Context, cluster: Any, store_mod: Any, n: int) -> Figure:
    """`todo tasks list` at ``n`` tasks: the SQLite file, then the local server."""
    key, label = "postgres.tasks_list", f"PostgreSQL: todo tasks list ({n:,} tasks)"
    records = generate_tasks(n)
    home = home_with_tasks(ctx, "home-pg-bench-cli", records)
    url = cluster.create_database("bench_cli")
    store = store_mod.TaskStore(url)
    try:
        store.import_tasks(records)
    finally:
        store.close()
    todo = todo_command() + ["tasks", "list"]
    try:
        ctx.log("todo tasks list (SQLite)")
        lite: CommandStats = measure_command(
            todo, runs=ctx.runs, warmup=ctx.warmup, env=todo_env(home)
        )
        ctx.log("todo tasks list (PostgreSQL)")
        pg = measure_command(
            todo, runs=ctx.runs, warmup=ctx.warmup, env=todo_env(home, TODO_DATABASE_URL=url)
        )
    except BenchError as exc:
        return failed(key, label, str(exc))
    if pg.last.stdout.count("\n") != lite.last.stdout.count("\n"):
        return failed(key, label, "the two backends printed different lists")
    return Figure(
        key,
        label,
        pg.wall.median,
        "s",
        reference=f"SQLite {lite.wall.median:.3f} s",
        ratio=f"{speed_ratio(pg.wall.median, lite.wall.median)} than SQLite",
        note="wall time of the whole command (start-up, connect, migrations check, query, "
        f"first 100 rows); peak RSS {pg.rss_mb.median:.1f} MB vs {lite.rss_mb.median:.1f} MB",
        extra={
            "postgresql_s": pg.wall.to_dict(),
            "sqlite_s": lite.wall.to_dict(),
            "tasks": n,
        },
    )
