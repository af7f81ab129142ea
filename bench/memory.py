"""Peak memory (and wall time) of a one-shot `todo chat "..."` turn against the fake server.

The command runs as a user runs it (the environment's `todo` script, output to a file, no
terminal) with OpenRouter's base URL pointed at the local fake server, which answers each
turn with a call of the list tool and then a short text. The peak RSS is the child's own
(``ru_maxrss`` via ``os.wait4``).
"""

from __future__ import annotations

import sys

from .data import generate_tasks
from .harness import BenchError, Context, Figure, measure_command, todo_command
from .todo_env import home_with_tasks, todo_env
from .turns import ANSWER, ServerProcess, agent_environ, list_tool_name, turn_script

TARGET_MB = 150.0
MESSAGE = "What is on my list?"


def run(ctx: Context) -> list[Figure]:
    tool = list_tool_name()
    home = home_with_tasks(ctx, "home-oneshot", generate_tasks(20, seed=5))
    iterations = ctx.warmup + ctx.runs
    workdir = ctx.tmpdir("fakeserver-oneshot")
    with ServerProcess(workdir, turn_script(tool) * iterations) as server:
        env = todo_env(home, **agent_environ(home, server.url))
        ctx.log(f'todo chat "{MESSAGE}" x {iterations}')
        stats = measure_command(
            todo_command() + ["chat", MESSAGE],
            runs=ctx.runs,
            warmup=ctx.warmup,
            env=env,
            cwd=home,
            timeout=120,
        )
        requests = len(server.chat_bodies(wait_for=2 * iterations))
    if ANSWER.split(":")[0] not in stats.last.stdout:
        raise BenchError(f"todo chat did not print the answer: {stats.last.stdout[-200:]!r}")
    if requests != 2 * iterations:
        raise BenchError(f"expected {2 * iterations} model requests, the server saw {requests}")
    rss = stats.rss_mb.median
    extra = {"peak_rss_mb": stats.rss_mb.to_dict(), "wall_s": stats.wall.to_dict()}
    ctx.log("python -c 'import agents' (reference: the Agents SDK alone)")
    sdk = measure_command(
        [sys.executable, "-c", "import agents"], runs=ctx.runs, warmup=ctx.warmup, env=env
    )
    sdk_extra = {"peak_rss_mb": sdk.rss_mb.to_dict(), "wall_s": sdk.wall.to_dict()}
    return [
        Figure(
            "memory.oneshot_rss",
            "one-shot todo chat: peak RSS",
            rss,
            "MB",
            target=f"≤ {TARGET_MB:g} MB",
            met=rss <= TARGET_MB,
            note=f"one turn with a `{tool}` call; max over runs {stats.rss_mb.max:.1f} MB",
            extra=extra,
        ),
        Figure(
            "memory.oneshot_wall",
            "one-shot todo chat: wall time",
            stats.wall.median,
            "s",
            reference=f"import agents {sdk.wall.median:.3f} s",
            note="process start to exit, including imports and two model requests",
            extra=extra,
        ),
        Figure(
            "memory.import_agents",
            "python -c 'import agents' (reference)",
            sdk.wall.median,
            "s",
            note=f"the Agents SDK import alone; peak RSS {sdk.rss_mb.median:.1f} MB",
            extra=sdk_extra,
        ),
    ]
