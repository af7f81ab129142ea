"""Measurement helpers shared by the benchmark sections.

Wall time comes from ``time.perf_counter``; the peak RSS of a child process comes from
``os.wait4`` (the kernel's ``ru_maxrss`` of that one child, in KiB on Linux), read by a small
spawner process so the benchmark's own size never leaks into it. Every figure is
the median of ``runs`` measurements taken after ``warmup`` discarded ones. Nothing here
asserts anything about speed: a figure that misses its target is reported, never raised.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / "bench"
CACHE_DIR = BENCH_DIR / ".cache"  # reference tools installed on request (git-ignored)
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"

# Variables the program reads; benchmarks never pass the developer's real ones on.
_PROVIDER_PREFIXES = ("OPENROUTER", "GROQ", "GEMINI", "OPENAI", "OLLAMA", "CUSTOM")
PROGRAM_ENV_VARS = ["LLM_PROVIDER", "TODO_HOME", "TODO_DEBUG", "OPENAI_BASE_URL"] + [
    f"{p}_{s}" for p in _PROVIDER_PREFIXES for s in ("API_KEY", "DEFAULT_MODEL", "BASE_URL")
]


class NotAvailable(Exception):
    """The figure cannot be measured here: a module is not built yet or a tool is missing."""


class BenchError(Exception):
    """A measured command or call failed (a bug, not slowness)."""


# -- running things ------------------------------------------------------------------


@dataclass
class ProcessRun:
    """One finished child process."""

    argv: list[str]
    wall: float  # seconds, spawn to exit
    peak_rss_mb: float  # the child's own peak resident set size
    returncode: int
    stdout: str
    stderr: str
    cpu: float = 0.0  # the child's own CPU seconds (user + system)


class _Spawner:
    """The small helper process (``bench/_spawner.py``) that forks every measured command."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-I", str(BENCH_DIR / "_spawner.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lock = threading.Lock()

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self.lock:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise BenchError("the process spawner exited")
        reply = json.loads(line)
        if "error" in reply:
            raise BenchError(f"could not start `{req['argv'][0]}`: {reply['error']}")
        return reply

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=5)


_spawner: _Spawner | None = None


def _get_spawner() -> _Spawner:
    global _spawner
    if _spawner is None or _spawner.proc.poll() is not None:
        _spawner = _Spawner()
    return _spawner


def close_spawner() -> None:
    global _spawner
    if _spawner is not None:
        _spawner.close()
        _spawner = None


def run_process(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 120.0,
    stdin_data: bytes | None = None,
) -> ProcessRun:
    """Run ``argv`` to completion; its wall time and its own peak RSS (``os.wait4``).

    The command is forked by a small spawner process (see ``_spawner.py``) so that its peak
    RSS is not inflated by this process's size. Output goes to temporary files (no pipe to
    drain, so no dead-lock on big output) and is returned decoded. A child still running
    after ``timeout`` seconds is killed and reported as a ``BenchError``.
    """
    with tempfile.TemporaryDirectory(prefix="run-") as tmp:
        files = {name: Path(tmp) / name for name in ("stdin", "stdout", "stderr")}
        files["stdin"].write_bytes(stdin_data or b"")
        reply = _get_spawner().request(
            {
                "argv": [str(a) for a in argv],
                "env": dict(os.environ if env is None else env),
                "cwd": str(cwd) if cwd else None,
                "stdin": str(files["stdin"]),
                "stdout": str(files["stdout"]),
                "stderr": str(files["stderr"]),
                "timeout": timeout,
            }
        )
        run = ProcessRun(
            argv=[str(a) for a in argv],
            wall=reply["wall"],
            peak_rss_mb=reply["maxrss_kb"] / 1024.0,  # KiB on Linux
            returncode=reply["returncode"],
            stdout=files["stdout"].read_bytes().decode("utf-8", "replace"),
            stderr=files["stderr"].read_bytes().decode("utf-8", "replace"),
            cpu=reply.get("cpu", 0.0),
        )
    if reply["timed_out"]:
        raise BenchError(f"`{' '.join(run.argv)}` still running after {timeout:.0f} s; killed")
    return run


def check_ok(run: ProcessRun) -> ProcessRun:
    """Raise ``BenchError`` with the tail of stderr when the child exited non-zero."""
    if run.returncode != 0:
        tail = (run.stderr.strip() or run.stdout.strip()).splitlines()[-3:]
        raise BenchError(
            f"`{' '.join(Path(a).name if i == 0 else a for i, a in enumerate(run.argv))}` "
            f"exited {run.returncode}: {' / '.join(tail) or '(no output)'}"
        )
    return run


@dataclass
class Series:
    """Repeated measurements of one quantity."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    def to_dict(self, scale: float = 1.0) -> dict[str, Any]:
        """Median, min, max and samples, multiplied by ``scale`` (1000 for s -> ms)."""
        return {
            "median": self.median * scale,
            "min": self.min * scale,
            "max": self.max * scale,
            "n": len(self.samples),
            "samples": [v * scale for v in self.samples],
        }


@dataclass
class CommandStats:
    wall: Series
    rss_mb: Series
    last: ProcessRun
    cpu: Series | None = None  # the child's own CPU seconds: steadier than wall on a busy machine


def measure_command(
    argv: list[str],
    *,
    runs: int,
    warmup: int,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 120.0,
    check: bool = True,
) -> CommandStats:
    """Run a command ``warmup`` + ``runs`` times; medians of wall time and peak RSS."""
    walls: list[float] = []
    rss: list[float] = []
    cpus: list[float] = []
    last: ProcessRun | None = None
    for i in range(warmup + runs):
        run = run_process(argv, env=env, cwd=cwd, timeout=timeout)
        if check:
            check_ok(run)
        last = run
        if i >= warmup:
            walls.append(run.wall)
            rss.append(run.peak_rss_mb)
            cpus.append(run.cpu)
    assert last is not None
    return CommandStats(Series(walls), Series(rss), last, Series(cpus))


def measure_calls(fn: Callable[[], float | None], *, runs: int, warmup: int) -> Series:
    """Call ``fn`` ``warmup`` + ``runs`` times; it returns its own duration or None to be timed."""
    samples: list[float] = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        own = fn()
        took = own if own is not None else time.perf_counter() - start
        if i >= warmup:
            samples.append(took)
    return Series(samples)


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without the program's own variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in PROGRAM_ENV_VARS}
    env.update({"NO_COLOR": "1", "COLUMNS": "120"})
    env.update(extra)
    return env


@contextmanager
def patched_environ(**values: str | None) -> Iterator[None]:
    """Set (or with None remove) environment variables for the in-process sections."""
    saved = {k: os.environ.get(k) for k in list(values) + PROGRAM_ENV_VARS}
    try:
        for k in PROGRAM_ENV_VARS:
            os.environ.pop(k, None)
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def todo_command() -> list[str]:
    """How users start `todo`: the console script of this environment, else ``-m todo_cli``."""
    script = Path(sys.executable).with_name("todo")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "todo_cli"]


def dir_size(path: Path) -> int:
    """Bytes used by the files in ``path`` (the database plus its WAL and SHM files)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# -- figures -------------------------------------------------------------------------


@dataclass
class Figure:
    """One row of the results table (and one entry of the JSON file)."""

    key: str  # stable id, e.g. "startup.help"
    label: str  # what was measured, e.g. "todo --help"
    value: float | None = None
    unit: str = ""  # "s", "ms", "MB", "tasks/s", "tokens", ...
    target: str | None = None  # e.g. "≤ 0.15 s"
    reference: str | None = None  # e.g. "llm --help 0.61 s"
    ratio: str | None = None  # e.g. "6.6x faster"
    met: bool | None = None  # None: no target, or not measured
    status: str = "ok"  # "ok" | "not available" | "error"
    note: str | None = None  # why it is not available / what went wrong / how measured
    extra: dict[str, Any] = field(default_factory=dict)

    def display_value(self) -> str:
        if self.value is None:
            return self.status
        return format_value(self.value, self.unit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "display": self.display_value(),
            "target": self.target,
            "reference": self.reference,
            "ratio": self.ratio,
            "met": self.met,
            "status": self.status,
            "note": self.note,
            **({"extra": self.extra} if self.extra else {}),
        }


def format_value(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit in ("tasks/s", "tokens", "tasks"):
        return f"{value:,.0f} {unit}"
    if unit == "turns/s":
        return f"{value:.1f} turns/s"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:g} {unit}".strip()


def unavailable(key: str, label: str, why: str, **kw: Any) -> Figure:
    return Figure(key, label, status="not available", note=why, **kw)


def failed(key: str, label: str, why: str, **kw: Any) -> Figure:
    return Figure(key, label, status="error", note=why, **kw)


def speed_ratio(ours: float, theirs: float) -> str:
    """Human ratio of two durations: "3.2x faster" / "1.4x slower"."""
    if ours <= 0 or theirs <= 0:
        return "n/a"
    if ours <= theirs:
        return f"{theirs / ours:.1f}x faster"
    return f"{ours / theirs:.1f}x slower"


# -- context -------------------------------------------------------------------------


@dataclass
class Context:
    """Options of one benchmark run, shared by every section."""

    quick: bool
    runs: int
    warmup: int
    install_refs: bool
    tmp: Path
    verbose: bool = True

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"  {message}", file=sys.stderr, flush=True)

    def tmpdir(self, name: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.tmp))
        return path


# -- the machine ---------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory, OS and versions: printed under the table and kept in the JSON."""
    import sqlite3

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))} (Linux {platform.release()})"
                break
    except OSError:
        pass
    commit = None
    with suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": os_name,
        "arch": platform.machine(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "commit": commit or None,
    }
