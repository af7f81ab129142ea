"""The task store in-process at 100,000 tasks (5,000 with --quick).

Bulk insert: the store is filled through ``TaskStore.import_tasks`` in ten equal batches
(each one transaction and one journal group, as `todo tasks import` does); the rate is the
median over the batches after the first. Then, on the full store: a filtered list (priority +
tag, 50 rows), the default list page (pending, by due, 50 rows), ``stats()`` (the chat
toolbar's counts), full-text searches, undo of a 1,000-change group, and the size on disk.
Lists: a second list of 1% as many tasks in the same file, the same filter there (next to
the big list's figure in the same run), `lists()` with its counts, and renaming that list.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from .data import generate_tasks
from .harness import Context, Figure, Series, dir_size, measure_calls
from .todo_env import db_path, open_store, require

FTS_TARGET_MS = 20.0
BATCHES = 10
UNDO_CHANGES = 1_000
SEARCHES = ("dentist", "plumber friday", "lisb")  # common word, two words, a prefix
SMALL_LIST = "bench-small"
PAGE_ROWS = 50


def _discard(_result: object) -> None:
    """Let ``measure_calls`` time the call (a None return means "time me")."""


def run(ctx: Context) -> list[Figure]:
    store_mod = require("store")
    n = 5_000 if ctx.quick else 100_000
    micro_runs = ctx.runs if ctx.quick else max(ctx.runs, 21)
    home = ctx.tmpdir("home-store")
    path = db_path(home)
    records = generate_tasks(n, seed=99)
    store = open_store(path)
    figures: list[Figure] = []
    try:
        core, medians = measure_core(ctx, store, store_mod, records, micro_runs)
        figures += core
        total, listed_median = medians["tasks"], medians["filtered_list"]
        if hasattr(store, "use_list"):
            figures += _list_figures(ctx, store, store_mod, n, total, listed_median, micro_runs)
    finally:
        store.close()

    # -- size on disk ---------------------------------------------------------------------
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size_bytes = dir_size(path.parent)
    figures.append(
        Figure(
            "store.db_size",
            f"database on disk ({total:,} tasks + journal)",
            size_bytes / 1e6,
            "MB",
            note=f"{size_bytes / total:,.0f} bytes per task, journal and FTS index included",
            extra={"bytes": size_bytes, "tasks": total},
        )
    )
    return figures


def measure_core(
    ctx: Context, store: Any, store_mod: Any, records: list[dict[str, Any]], micro_runs: int
) -> tuple[list[Figure], dict[str, float]]:
    """The figures every backend gets, on an empty ``store`` filled with ``records``: bulk
    insert, one add, a filtered list, the default list page, stats(), full-text searches,
    undo of a 1,000-change group.
    Returns them and their medians by name (seconds; tasks/s for the insert rate)."""
    n = len(records)
    figures: list[Figure] = []
    # -- bulk insert ------------------------------------------------------------------
    size = n // BATCHES
    rates: list[float] = []
    ctx.log(f"importing {n:,} tasks in {BATCHES} batches")
    for i in range(BATCHES):
        batch = records[i * size : (i + 1) * size]
        start = time.perf_counter()
        store.import_tasks(batch)
        took = time.perf_counter() - start
        if i > 0 or ctx.quick:
            rates.append(len(batch) / took)
    total = store.count(store_mod.TaskQuery(status=None))
    rate = Series(rates)
    figures.append(
        Figure(
            "store.insert_rate",
            f"bulk insert (import_tasks, {size:,}/batch)",
            rate.median,
            "tasks/s",
            note=f"median of {len(rates)} batches filling the store to {total:,} tasks",
            extra={"tasks_per_s": rate.to_dict(), "tasks": total, "batch": size},
        )
    )

    # -- one add at a time ------------------------------------------------------------
    counter = iter(range(10**9))
    adds = measure_calls(
        lambda: (
            store.add(f"Benchmark add {next(counter)}", priority="low", tags=["bench"]) and None
        ),
        runs=micro_runs,
        warmup=ctx.warmup,
    )
    figures.append(
        Figure(
            "store.add",
            f"add one task ({total:,} in store)",
            adds.median * 1000,
            "ms",
            note="TaskStore.add: one transaction + journal entry + FTS update",
            extra={"ms": adds.to_dict(1000)},
        )
    )

    # -- filtered list ----------------------------------------------------------------
    query = store_mod.TaskQuery(priority="high", tag="work", limit=50)
    listed = measure_calls(lambda: _discard(store.query(query)), runs=micro_runs, warmup=1)
    rows = len(store.query(query))
    figures.append(
        Figure(
            "store.filtered_list",
            f"filtered list (priority=high, tag=work, limit 50; {total:,} tasks)",
            listed.median * 1000,
            "ms",
            note=f"{rows} rows, sorted by due",
            extra={"ms": listed.to_dict(1000), "rows": rows},
        )
    )

    # -- the list page and the counts ---------------------------------------------------
    page_query = store_mod.TaskQuery(limit=PAGE_ROWS)
    paged = measure_calls(lambda: _discard(store.query(page_query)), runs=micro_runs, warmup=1)
    page_rows = len(store.query(page_query))
    figures.append(
        Figure(
            "store.list_page",
            f"default list page (pending, by due, limit {PAGE_ROWS}; {total:,} tasks)",
            paged.median * 1000,
            "ms",
            note=f"{page_rows} rows: the ids ordered and cut on the list page index, then "
            "their rows",
            extra={"ms": paged.to_dict(1000), "rows": page_rows},
        )
    )
    counted = measure_calls(lambda: _discard(store.stats()), runs=micro_runs, warmup=1)
    counts = store.stats()
    figures.append(
        Figure(
            "store.stats",
            f"stats(), the chat toolbar's counts ({total:,} tasks)",
            counted.median * 1000,
            "ms",
            note=", ".join(f"{name} {value:,}" for name, value in counts.items()),
            extra={"ms": counted.to_dict(1000), "counts": counts},
        )
    )

    # -- full-text search -------------------------------------------------------------
    per_query: dict[str, Any] = {}
    worst = 0.0
    for text in SEARCHES:
        series = measure_calls(
            lambda text=text: _discard(store.search(text)), runs=micro_runs, warmup=1
        )
        hits = store.count(store_mod.TaskQuery(status=None, text=text))
        per_query[text] = {"ms": series.to_dict(1000), "matches": hits}
        worst = max(worst, series.median * 1000)
    figures.append(
        Figure(
            "store.fts_search",
            f"FTS search, limit 50 ({total:,} tasks)",
            worst,
            "ms",
            target=f"≤ {FTS_TARGET_MS:g} ms",
            met=worst <= FTS_TARGET_MS,
            note="slowest median of: "
            + ", ".join(
                f"'{q}' {v['ms']['median']:.1f} ms ({v['matches']:,} matches)"
                for q, v in per_query.items()
            ),
            extra={"queries": per_query},
        )
    )

    # -- undo of a 1,000-change group -------------------------------------------------
    ids = [t.id for t in store.query(store_mod.TaskQuery(sort="id", limit=UNDO_CHANGES))]

    def one_undo() -> float:
        with store.group("bench: complete 1,000"):
            store.complete(ids)
        start = time.perf_counter()
        result = store.undo()
        took = time.perf_counter() - start
        assert len(result.changes) == len(ids), len(result.changes)
        return took

    undos = measure_calls(one_undo, runs=ctx.runs, warmup=ctx.warmup)
    figures.append(
        Figure(
            "store.undo_1000",
            f"undo a {len(ids):,}-change group ({total:,} tasks)",
            undos.median * 1000,
            "ms",
            extra={"ms": undos.to_dict(1000), "changes": len(ids)},
        )
    )
    medians = {
        "insert_rate": rate.median,
        "add": adds.median,
        "filtered_list": listed.median,
        "list_page": paged.median,
        "stats": counted.median,
        "fts_search": worst / 1000,
        "undo_1000": undos.median,
        "tasks": total,
    }
    return figures, medians


def _list_figures(
    ctx: Context, store: Any, store_mod: Any, n: int, total: int, big_ms: float, runs: int
) -> list[Figure]:
    """A small list next to the big one: the same filter there, lists(), a rename."""
    small = max(n // 100, 50)
    store.use_list(SMALL_LIST)
    store.import_tasks(generate_tasks(small, seed=7))
    query = store_mod.TaskQuery(priority="high", tag="work", limit=50)
    listed = measure_calls(lambda: _discard(store.query(query)), runs=runs, warmup=1)
    rows = len(store.query(query))
    lists = measure_calls(lambda: _discard(store.lists()), runs=runs, warmup=1)
    counted = {info.name: info.open + info.done for info in store.lists()}
    in_file = sum(counted.values())

    def one_rename() -> float:
        start = time.perf_counter()
        store.rename_list(SMALL_LIST, "bench-renamed")
        took = time.perf_counter() - start
        store.undo()  # recorded in the renamed list, where the store followed
        store.use_list(SMALL_LIST)
        return took

    renames = measure_calls(one_rename, runs=ctx.runs, warmup=ctx.warmup)
    store.use_list(store_mod.DEFAULT_LIST)
    ratio = big_ms / listed.median if listed.median else None
    return [
        Figure(
            "store.list_filtered",
            f"filtered list in a {small:,}-task list ({in_file:,} tasks in the file)",
            listed.median * 1000,
            "ms",
            reference=f"the {total:,}-task list {big_ms * 1000:.1f} ms",
            ratio=f"{ratio:.1f}x faster" if ratio and ratio >= 1 else None,
            note=f"{rows} rows; same filter as above, scoped by the list page index",
            extra={"ms": listed.to_dict(1000), "rows": rows, "tasks": small},
        ),
        Figure(
            "store.lists",
            f"lists() with open/done counts ({in_file:,} tasks, {len(counted)} lists)",
            lists.median * 1000,
            "ms",
            note="one GROUP BY over the list page index",
            extra={"ms": lists.to_dict(1000), "lists": counted},
        ),
        Figure(
            "store.rename_list",
            f"rename a {small:,}-task list",
            renames.median * 1000,
            "ms",
            note="every task rewritten and journaled: one undo step",
            extra={"ms": renames.to_dict(1000), "tasks": small},
        ),
    ]
