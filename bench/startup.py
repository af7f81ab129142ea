"""Start-up: `todo --help`, `todo tasks list` at 10,000 tasks, `todo models --free` warm.

References measured in the same run: `python -c pass` (the floor every Python CLI pays),
`llm --help` (a popular Python LLM CLI, in its own venv) and Taskwarrior's `task list` on
the same 10,000 tasks. Each command runs as a child process started the way a user starts
it (the environment's `todo` console script); wall time and the child's peak RSS are the
medians of the runs, and the notes give the median of the child's own CPU time (user +
system), which a busy machine changes less than the wall time.
"""

from __future__ import annotations

import sys
from typing import Any

from . import catalog_cache, refs
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
from .todo_env import home_with_tasks, todo_env

HELP_TARGET_S = 0.15
HELP_VS_LLM = 3.0
MODELS_TARGET_S = 0.25


def _stats(stats: CommandStats, **more: Any) -> dict[str, Any]:
    cpu = {"cpu_s": stats.cpu.to_dict()} if stats.cpu is not None else {}
    return {
        "wall_s": stats.wall.to_dict(),
        **cpu,
        "peak_rss_mb": stats.rss_mb.to_dict(),
        **more,
    }


def _cpu(stats: CommandStats) -> str:
    """ "; CPU 0.170 s" (the child's user + system time), for a figure's note."""
    if stats.cpu is None or not any(stats.cpu.samples):
        return ""
    return f"; CPU {stats.cpu.median:.3f} s"


def _measure(ctx: Context, argv: list[str], **kw: Any) -> CommandStats:
    return measure_command(argv, runs=ctx.runs, warmup=ctx.warmup, **kw)


def _ref(label: str, stats: CommandStats) -> str:
    return f"{label} {stats.wall.median:.3f} s"


def run(ctx: Context) -> list[Figure]:
    figures: list[Figure] = []
    todo = todo_command()
    n_tasks = 1_000 if ctx.quick else 10_000

    # -- the floor ----------------------------------------------------------------------
    ctx.log("python -c pass")
    py = _measure(ctx, [sys.executable, "-c", "pass"])
    figures.append(
        Figure(
            "startup.python",
            "python -c pass (floor)",
            py.wall.median,
            "s",
            note=f"peak RSS {py.rss_mb.median:.1f} MB{_cpu(py)}",
            extra=_stats(py),
        )
    )

    # -- todo --help vs llm --help ------------------------------------------------------
    ctx.log("todo --help")
    empty_home = ctx.tmpdir("home-empty")
    llm_stats: CommandStats | None = None
    llm_why = None
    try:
        llm_cmd = refs.llm_command(ctx)
        ctx.log("llm --help (reference)")
        llm_stats = _measure(ctx, llm_cmd + ["--help"], env=todo_env(empty_home))
        figures.append(
            Figure(
                "startup.llm_help",
                "llm --help (reference)",
                llm_stats.wall.median,
                "s",
                note=f"{refs.llm_version(llm_cmd) or 'llm'}; peak RSS "
                f"{llm_stats.rss_mb.median:.1f} MB{_cpu(llm_stats)}",
                extra=_stats(llm_stats),
            )
        )
    except (NotAvailable, BenchError) as exc:
        llm_why = str(exc)
        figures.append(unavailable("startup.llm_help", "llm --help (reference)", llm_why))
    try:
        stats = _measure(ctx, todo + ["--help"], env=todo_env(empty_home))
        value = stats.wall.median
        fig = Figure(
            "startup.help",
            "todo --help",
            value,
            "s",
            target=f"≤ {HELP_TARGET_S} s and ≥ {HELP_VS_LLM:g}x faster than llm --help",
            note=f"peak RSS {stats.rss_mb.median:.1f} MB{_cpu(stats)}",
            extra=_stats(stats),
        )
        met = value <= HELP_TARGET_S
        if llm_stats is not None:
            fig.reference = _ref("llm --help", llm_stats)
            fig.ratio = speed_ratio(value, llm_stats.wall.median)
            fig.extra["speedup_vs_llm"] = llm_stats.wall.median / value
            met = met and llm_stats.wall.median / value >= HELP_VS_LLM
        else:
            fig.note += "; llm --help not measured"
        fig.met = met
        figures.append(fig)
    except BenchError as exc:
        figures.append(failed("startup.help", "todo --help", str(exc)))

    # -- todo tasks list vs task list ---------------------------------------------------
    label = f"todo tasks list ({n_tasks:,} tasks)"
    records = generate_tasks(n_tasks)
    tw_stats: CommandStats | None = None
    try:
        exe = refs.taskwarrior_command(ctx)
        ctx.log(f"loading {n_tasks:,} tasks into Taskwarrior (not timed)")
        tw_env = refs.taskwarrior_home(ctx, exe, records)
        ctx.log("task list (reference)")
        tw_stats = _measure(ctx, [exe, "list"], env=tw_env)
        figures.append(
            Figure(
                "startup.task_list",
                f"task list ({n_tasks:,} tasks, reference)",
                tw_stats.wall.median,
                "s",
                note=f"Taskwarrior {refs.taskwarrior_version(exe) or ''}; peak RSS "
                f"{tw_stats.rss_mb.median:.1f} MB{_cpu(tw_stats)}; "
                f"{tw_stats.last.stdout.count(chr(10))} lines of output",
                extra=_stats(tw_stats, tasks=n_tasks),
            )
        )
    except (NotAvailable, BenchError) as exc:
        figures.append(unavailable("startup.task_list", "task list (reference)", str(exc)))
    try:
        ctx.log(f"loading {n_tasks:,} tasks into todo (not timed)")
        home = home_with_tasks(ctx, "home-tasks", records)
    except NotAvailable as exc:
        figures.append(unavailable("startup.tasks_list", label, str(exc)))
        home = None
    variants = (
        ("startup.tasks_list", label, [], "its default view: the first 100 rows"),
        (
            "startup.tasks_list_all",
            f"todo tasks list --limit 0 (all {n_tasks:,} rows)",
            ["--limit", "0"],
            "every row, as task list prints",
        ),
    )
    for key, what, flags, how in variants if home is not None else ():
        try:
            ctx.log(" ".join(["todo tasks list", *flags]))
            stats = _measure(ctx, todo + ["tasks", "list", *flags], env=todo_env(home))
            lines = stats.last.stdout.count("\n")
            fig = Figure(
                key,
                what,
                stats.wall.median,
                "s",
                target="faster than Taskwarrior's task list",
                note=f"{how}; {lines} lines of output; peak RSS {stats.rss_mb.median:.1f} MB"
                f"{_cpu(stats)}",
                extra=_stats(stats, tasks=n_tasks, output_lines=lines),
            )
            if tw_stats is not None:
                fig.reference = _ref("task list", tw_stats)
                fig.ratio = speed_ratio(stats.wall.median, tw_stats.wall.median)
                fig.met = stats.wall.median < tw_stats.wall.median
            figures.append(fig)
        except BenchError as exc:
            figures.append(failed(key, what, str(exc)))

    # -- todo models --free from a warm cache -------------------------------------------
    label = "todo models --free (warm cache)"
    try:
        home = ctx.tmpdir("home-models")
        source = catalog_cache.seed_cache(home)
        ctx.log(f"todo models --free (cache: {source})")
        stats = _measure(ctx, todo + ["models", "--free"], env=todo_env(home))
        figures.append(
            Figure(
                "startup.models_free",
                label,
                stats.wall.median,
                "s",
                target=f"≤ {MODELS_TARGET_S} s",
                met=stats.wall.median <= MODELS_TARGET_S,
                note=f"catalog {source}; peak RSS {stats.rss_mb.median:.1f} MB{_cpu(stats)}",
                extra=_stats(stats, catalog=source),
            )
        )
    except NotAvailable as exc:
        figures.append(unavailable("startup.models_free", label, str(exc)))
    except BenchError as exc:
        figures.append(failed("startup.models_free", label, str(exc)))
    return figures
