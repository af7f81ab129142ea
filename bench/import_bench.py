"""Importing a Taskwarrior export: `todo tasks import FILE` at 10,000 to 100,000 records.

Each run imports into a fresh `TODO_HOME` as a child process started the way users start
`todo` (so parsing, checking, writing and the report are all in the time); the figure is the
median of the runs' wall time, with the median CPU time the import used beside it (the
steadier figure on a busy machine). The records look like a real `task export`
(``bench/data.py``: ``taskwarrior_export``): their own stamps, completed tasks, annotations,
a UDA. The reference is Taskwarrior's own `task import` of the 10,000-record file in the
same run, and linearity is the time per record at 100,000 over the time per record at
10,000. After the largest import, `todo tasks undo` takes it all back (timed too), and the
list must then be empty.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from . import refs
from .data import taskwarrior_export
from .harness import (
    Context,
    Figure,
    NotAvailable,
    Series,
    check_ok,
    run_process,
    speed_ratio,
    todo_command,
)
from .todo_env import todo_env

TARGET_S = 5.0  # 100,000 records
LINEAR_TARGET = 1.5  # time per record at 100,000 / at 10,000


def _file(ctx: Context, n: int) -> Path:
    path = ctx.tmpdir(f"tw-{n}") / f"export-{n}.json"
    records = taskwarrior_export(n, seed=11)
    path.write_text("[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n", "utf-8")
    return path


def _import(ctx: Context, path: Path, n: int, runs: int) -> tuple[Series, Series, float, Path]:
    walls: list[float] = []
    cpus: list[float] = []
    rss = 0.0
    home = path
    for _ in range(runs):
        home = ctx.tmpdir(f"import-{n}")
        run = check_ok(
            run_process(
                [*todo_command(), "tasks", "import", str(path)],
                env=todo_env(home),
                timeout=900,
            )
        )
        if f"{n:,} added" not in run.stdout:
            raise RuntimeError(f"import of {n:,} records said: {run.stdout.strip()[:200]}")
        walls.append(run.wall)
        cpus.append(run.cpu)
        rss = max(rss, run.peak_rss_mb)
    return Series(walls), Series(cpus), rss, home


def _undo(home: Path, n: int) -> Figure:
    """`todo tasks undo` of the import just made in ``home``: it must leave no task."""
    env = todo_env(home)
    run = check_ok(run_process([*todo_command(), "tasks", "undo"], env=env, timeout=900))
    left = check_ok(run_process([*todo_command(), "tasks", "list", "--all", "--json"], env=env))
    if json.loads(left.stdout):
        raise RuntimeError(f"undo of the {n:,}-record import left tasks: {run.stdout[:200]}")
    return Figure(
        f"import.undo_{n}",
        f"todo tasks undo of the {n:,}-record import",
        run.wall,
        "s",
        note=f"CPU {run.cpu:.2f} s, peak RSS {run.peak_rss_mb:.0f} MB",
        extra={"cpu_s": round(run.cpu, 3), "peak_rss_mb": round(run.peak_rss_mb, 1)},
    )


def _taskwarrior(ctx: Context, path: Path) -> float | None:
    try:
        exe = refs.taskwarrior_command(ctx)
    except NotAvailable as exc:
        ctx.log(f"no Taskwarrior reference: {exc}")
        return None
    home = ctx.tmpdir("tw-import")
    (home / "data").mkdir()
    rc = home / "taskrc"
    rc.write_text(f"data.location={home / 'data'}\nconfirmation=off\nverbose=nothing\nhooks=off\n")
    env = {"TASKRC": str(rc), "HOME": str(home), "PATH": "/usr/bin:/bin"}
    run = check_ok(run_process([exe, "import", str(path)], env=env, timeout=900))
    return run.wall


def run(ctx: Context) -> list[Figure]:
    sizes = (2_000,) if ctx.quick else (10_000, 50_000, 100_000)
    runs = 1 if ctx.quick else min(ctx.runs, 3)
    figures: list[Figure] = []
    per_record: dict[int, float] = {}
    reference: tuple[int, float] | None = None
    for n in sizes:
        path = _file(ctx, n)
        ctx.log(f"importing {n:,} Taskwarrior records ({runs} run{'s' if runs > 1 else ''})")
        walls, cpus, rss, home = _import(ctx, path, n, runs)
        per_record[n] = walls.median / n
        extra: dict[str, Any] = {
            "wall_s": walls.to_dict(),
            "cpu_s": cpus.to_dict(),
            "peak_rss_mb": round(rss, 1),
            "us_per_record": round(walls.median / n * 1e6, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        fig = Figure(
            f"import.taskwarrior_{n}",
            f"todo tasks import, {n:,} Taskwarrior records",
            walls.median,
            "s",
            note=(
                f"CPU {cpus.median:.2f} s, {walls.median / n * 1e6:.0f} µs per record,"
                f" peak RSS {rss:.0f} MB, load average {os.getloadavg()[0]:.1f}"
            ),
            extra=extra,
        )
        if n == sizes[0]:
            tw = _taskwarrior(ctx, path)
            if tw is not None:
                reference = (n, tw)
                fig.reference = f"task import {tw:.3f} s"
                fig.ratio = speed_ratio(walls.median, tw)
        if n == 100_000:
            fig.target = f"≤ {TARGET_S:g} s"
            fig.met = walls.median <= TARGET_S
        figures.append(fig)
        if n == sizes[-1]:
            figures.append(_undo(home, n))
    if 10_000 in per_record and 100_000 in per_record:
        ratio = per_record[100_000] / per_record[10_000]
        figures.append(
            Figure(
                "import.linearity",
                "import time per record, 100,000 vs 10,000 records",
                ratio,
                "x",
                target=f"≤ {LINEAR_TARGET:g}x (linear)",
                met=ratio <= LINEAR_TARGET,
                extra={"reference": reference},
            )
        )
    return figures
