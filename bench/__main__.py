"""`python -m bench`: measure `todo`, print a table next to references, optionally write JSON.

    uv run --group bench python -m bench               # full run (installs references)
    uv run --group bench python -m bench --json bench/results.json
    uv run python -m bench --quick                      # one iteration at small sizes (CI)

Nothing here asserts anything about speed. The exit status is 1 only when a measurement
itself broke (a command failed, an API changed): a figure whose module is not built or
whose reference tool is missing is reported as "not available" and the run still exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from .harness import (
    Context,
    Figure,
    NotAvailable,
    close_spawner,
    failed,
    machine_info,
    unavailable,
)

SECTIONS = (
    "startup",
    "store",
    "import",
    "agent",
    "tokens",
    "intents",
    "memory",
    "server",
    "postgres",
)


def _section_module(name: str) -> ModuleType:
    from . import (
        agent_bench,
        import_bench,
        intents,
        memory,
        pg_bench,
        server_bench,
        startup,
        store_bench,
        tokens,
    )

    return {
        "startup": startup,
        "store": store_bench,
        "import": import_bench,
        "agent": agent_bench,
        "tokens": tokens,
        "intents": intents,
        "memory": memory,
        "server": server_bench,
        "postgres": pg_bench,
    }[name]


def run_section(name: str, ctx: Context) -> list[Figure]:
    print(f"[{name}]", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        figures = _section_module(name).run(ctx)
    except NotAvailable as exc:
        figures = [unavailable(f"{name}", name, str(exc))]
    except Exception as exc:  # a broken measurement is reported, and fails the run
        detail = traceback.format_exception_only(exc)[-1].strip()
        if ctx.verbose:
            traceback.print_exc(file=sys.stderr)
        figures = [failed(f"{name}", name, detail)]
    ctx.log(f"({time.perf_counter() - started:.1f} s)")
    return figures


def _loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def render(figures: list[Figure], machine: dict, args: argparse.Namespace, took: float) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 150) if not sys.stdout.isatty() else None)
    mode = "quick (1 iteration, small sizes)" if args.quick else f"median of {args.runs} runs"
    table = Table(title=f"todo benchmarks — {mode}", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target")
    table.add_column("reference")
    table.add_column("ratio", justify="right")
    table.add_column("met?", justify="center")
    for f in figures:
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: ""}[f.met]
        value = f.display_value()
        if f.status == "error":
            value = "[red]error[/]"
        elif f.status != "ok":
            value = f"[dim]{value}[/]"
        table.add_row(f.label, value, f.target or "", f.reference or "", f.ratio or "", met)
    console.print(table)
    console.print(
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; "
        f"{machine['os']}; Python {machine['python']}; SQLite {machine['sqlite']}; "
        f"commit {machine['commit']}; load average {machine['load_average']}. "
        f"Took {took:.1f} s."
    )
    notes = [f for f in figures if f.note]
    if notes:
        console.print("Notes:")
        for f in notes:
            console.print(f"  {f.label}: {f.note}", markup=False, highlight=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one iteration at small sizes (CI)")
    parser.add_argument("--json", metavar="FILE", help="write every figure to this JSON file")
    parser.add_argument("--runs", type=int, default=7, help="measured runs per figure (7)")
    parser.add_argument(
        "--install-refs",
        action="store_true",
        help="install the reference tools (llm, Taskwarrior) even with --quick",
    )
    parser.add_argument(
        "--only",
        metavar="SECTION",
        action="append",
        choices=SECTIONS,
        help=f"run only these sections ({', '.join(SECTIONS)}); repeatable",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 1
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    tmp = Path(tempfile.mkdtemp(prefix="todo-bench-"))
    ctx = Context(
        quick=args.quick,
        runs=args.runs,
        warmup=0 if args.quick else 1,
        install_refs=args.install_refs or not args.quick,
        tmp=tmp,
        verbose=not args.quiet,
    )
    started = time.perf_counter()
    load_before = _loadavg()
    figures: list[Figure] = []
    try:
        for name in args.only or SECTIONS:
            figures.extend(run_section(name, ctx))
    finally:
        close_spawner()
        shutil.rmtree(tmp, ignore_errors=True)
    took = time.perf_counter() - started
    machine = machine_info()
    machine["load_average"] = f"{load_before} at start, {_loadavg()} at end (1/5/15 min)"
    render(figures, machine, args, took)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "mode": "quick" if args.quick else "full",
            "runs": args.runs,
            "warmup": ctx.warmup,
            "seconds": round(took, 1),
            "machine": machine,
            "figures": [f.to_dict() for f in figures],
        }
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"Wrote {path}", file=sys.stderr)
    broken = [f for f in figures if f.status == "error"]
    if broken:
        print(f"{len(broken)} measurement(s) failed: see Notes.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
