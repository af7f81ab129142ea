"""Reference tools measured beside `todo`: the `llm` CLI and Taskwarrior.

`llm` (from PyPI) goes into its own virtual environment under ``bench/.cache/`` so that it
never touches the project's; Taskwarrior is Debian's ``taskwarrior`` package. Both are
installed only when asked (``--install-refs``, or any full run); a quick run uses them only
when they are already there. Each function returns the command, or raises ``NotAvailable``
saying why not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .data import to_taskwarrior
from .harness import CACHE_DIR, Context, NotAvailable, check_ok, run_process

LLM_VENV = CACHE_DIR / "llm-venv"


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(no output)"


def llm_command(ctx: Context) -> list[str]:
    """The `llm` console script in its own venv; installed here when allowed."""
    exe = LLM_VENV / "bin" / "llm"
    if exe.exists():
        return [str(exe)]
    if not ctx.install_refs:
        raise NotAvailable(
            "llm is not installed in bench/.cache/llm-venv "
            "(a full run or --install-refs installs it)"
        )
    ctx.log("installing the reference `llm` into bench/.cache/llm-venv ...")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    try:
        uv = shutil.which("uv")
        if uv:
            python = str(LLM_VENV / "bin" / "python")
            steps = [
                [uv, "venv", "--quiet", "--python", sys.executable, str(LLM_VENV)],
                [uv, "pip", "install", "--quiet", "--python", python, "llm"],
            ]
        else:
            steps = [
                [sys.executable, "-m", "venv", str(LLM_VENV)],
                [str(LLM_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "llm"],
            ]
        for step in steps:
            run = run_process(step, timeout=600)
            if run.returncode != 0:
                raise NotAvailable(f"`pip install llm` failed: {_tail(run.stderr + run.stdout)}")
    except NotAvailable:
        shutil.rmtree(LLM_VENV, ignore_errors=True)
        raise
    if not exe.exists():
        raise NotAvailable("llm installed but its `llm` script is missing")
    return [str(exe)]


def llm_version(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd + ["--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def taskwarrior_command(ctx: Context) -> str:
    """Path of Taskwarrior's `task`; installed with apt-get when allowed and possible."""
    exe = shutil.which("task")
    if exe:
        return exe
    if not ctx.install_refs:
        raise NotAvailable(
            "Taskwarrior (`task`) is not installed (apt-get install taskwarrior, or --install-refs)"
        )
    apt = shutil.which("apt-get")
    if not apt or os.geteuid() != 0:
        raise NotAvailable("Taskwarrior (`task`) is missing and apt-get as root is not available")
    ctx.log("installing the reference Taskwarrior with apt-get ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for step in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "taskwarrior"]):
        run = run_process(step, env=env, timeout=600)
        if run.returncode != 0:
            raise NotAvailable(f"apt-get install taskwarrior failed: {_tail(run.stderr)}")
    exe = shutil.which("task")
    if not exe:
        raise NotAvailable("apt-get installed taskwarrior but `task` is not on PATH")
    return exe


def taskwarrior_version(exe: str) -> str | None:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def taskwarrior_home(ctx: Context, exe: str, records: list[dict[str, Any]]) -> dict[str, str]:
    """A private TASKRC/TASKDATA holding ``records``; returns the environment to run `task` in."""
    home = ctx.tmpdir("taskwarrior")
    data = home / "data"
    data.mkdir()
    rc = home / "taskrc"
    # Defaults otherwise: the `list` report users get, its columns and sorting.
    rc.write_text(
        f"data.location={data}\nconfirmation=off\nnews.version=2.6.0\ndefaultwidth=120\n",
        encoding="utf-8",
    )
    tasks_file = home / "tasks.json"
    tasks_file.write_text(json.dumps(to_taskwarrior(records)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASK")}
    env.update({"TASKRC": str(rc), "TASKDATA": str(data), "HOME": str(home), "COLUMNS": "120"})
    run = check_ok(run_process([exe, "import", str(tasks_file)], env=env, timeout=600))
    if str(len(records)) not in run.stdout + run.stderr:
        raise NotAvailable(
            f"`task import` did not import {len(records)} tasks: {_tail(run.stdout)}"
        )
    return env


def rm_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
