"""Tokens the agent spends on every request: instructions + tool schemas, and a list result.

Counted with OpenAI's ``o200k_base`` encoding. tiktoken downloads that vocabulary at first
use, which an offline machine cannot do; the ``bpe-openai`` package ships the same file. We
hand that file to tiktoken itself, which checks it against the SHA-256 it expects for
``o200k_base`` before using it, so the counts are tiktoken's own. Without tiktoken, bpe-openai
counts alone (same vocabulary, its own BPE); without either, a labelled estimate (chars / 4).

What is counted is what the agent really sends, read from the requests the local fake server
recorded during a real `ChatSession` turn: the system message, and the ``tools`` array as
compact JSON (providers render schemas in their own formats; the JSON is a close, usually
slightly high, proxy).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from typing import Any

from .data import generate_tasks
from .harness import BenchError, Context, Figure, unavailable
from .todo_env import db_path, load_tasks, open_store, require
from .turns import (
    find_list_tool,
    instructions_of,
    record_turn,
    tool_names,
    tool_result_of,
    turn_script,
)

TARGET_TOKENS = 1500
LIST_BUDGET = 1000  # the agent.task_list_tokens default
LIST_TASKS = 200


def _bpe_openai_vocab() -> bytes:
    from importlib.resources import files

    return gzip.decompress((files("bpe_openai.data") / "o200k_base.tiktoken.gz").read_bytes())


def _tiktoken_o200k() -> Any:
    """tiktoken's ``o200k_base``, its vocabulary file read from bpe-openai instead of the web."""
    import tiktoken
    import tiktoken.load as tl

    vocab = _bpe_openai_vocab()
    original = tl.read_file

    def offline_read_file(blobpath: str) -> bytes:
        if blobpath.endswith("/o200k_base.tiktoken"):
            return vocab
        raise OSError(f"offline: will not fetch {blobpath.rsplit('/', 1)[-1]}")

    saved_cache = os.environ.get("TIKTOKEN_CACHE_DIR")
    tl.read_file = offline_read_file
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # read through read_file, hash-checked, no cache
    try:
        return tiktoken.get_encoding("o200k_base")  # raises ValueError on a hash mismatch
    finally:
        tl.read_file = original
        if saved_cache is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = saved_cache


def counter() -> tuple[Callable[[str], int], str, bool]:
    """(count function, how it counts, exact?)."""
    try:
        enc = _tiktoken_o200k()
        return (
            lambda text: len(enc.encode(text, disallowed_special=())),
            "tiktoken o200k_base (vocabulary from bpe-openai, SHA-256 checked by tiktoken)",
            True,
        )
    except (ImportError, OSError, ValueError):
        pass
    try:
        import bpe_openai

        enc2 = bpe_openai.get_encoding("o200k_base")
        return lambda text: len(enc2.encode(text)), "bpe-openai o200k_base", True
    except (ImportError, OSError, ValueError, AttributeError):
        pass
    return (
        lambda text: (len(text) + 3) // 4,
        "ESTIMATE chars/4: tiktoken/bpe-openai not installed (uv run --group bench ...)",
        False,
    )


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def run(ctx: Context) -> list[Figure]:
    count, method, exact = counter()
    ctx.log(f"counting with {method}")
    home = ctx.tmpdir("home-tokens")
    store = open_store(db_path(home))
    try:
        load_tasks(store, generate_tasks(LIST_TASKS, seed=11))
    finally:
        store.close()

    def script(first_body: dict[str, Any]) -> list[dict[str, Any]]:
        name, params = find_list_tool(first_body)
        props = params.get("properties") or {}
        args: dict[str, Any] = {}
        if "limit" in props:
            args["limit"] = LIST_TASKS
        return turn_script(name, args)

    ctx.log("recording one agent turn against the fake server")
    bodies, _events = record_turn(home, script)
    if len(bodies) < 2:
        raise BenchError(f"expected 2 requests in a tool-calling turn, saw {len(bodies)}")
    first, second = bodies[0], bodies[1]
    system = instructions_of(first)
    # The open-task list the instructions carry (rebuilt every request) is counted apart.
    cut = system.find("\n\nOpen tasks")
    instructions, task_list = (system, "") if cut < 0 else (system[:cut], system[cut + 2 :])
    tools = first.get("tools") or []
    n_instr = count(instructions)
    n_tools = count(compact(tools))
    total = n_instr + n_tools
    label_suffix = "" if exact else " (estimate)"
    figures = [
        Figure(
            "tokens.instructions_schemas",
            "instructions + tool schemas" + label_suffix,
            total,
            "tokens",
            target=f"≤ {TARGET_TOKENS:,} tokens",
            met=total <= TARGET_TOKENS,
            note=f"{n_instr} instructions + {n_tools} for {len(tools)} tool schemas "
            f"({', '.join(tool_names(first))}); {method}",
            extra={
                "instructions_tokens": n_instr,
                "schemas_tokens": n_tools,
                "tools": tool_names(first),
                "instructions_chars": len(instructions),
                "schemas_chars": len(compact(tools)),
                "method": method,
                "exact": exact,
            },
        )
    ]
    if task_list:
        n_list = count(task_list)
        budget = TARGET_TOKENS + LIST_BUDGET
        figures.append(
            Figure(
                "tokens.with_task_list",
                f"instructions + schemas + task list ({LIST_TASKS} tasks in store)" + label_suffix,
                total + n_list,
                "tokens",
                target=f"≤ {budget:,} tokens",
                met=total + n_list <= budget,
                note=f"the task list is {n_list} tokens "
                f"({sum(1 for line in task_list.splitlines() if line.startswith('#'))} tasks, "
                f"budget {LIST_BUDGET:,} by default)",
                extra={"task_list_tokens": n_list},
            )
        )
    result = tool_result_of(second)
    if result is None:
        raise BenchError("the second request carries no tool result")
    shown = _count_tasks(result)
    name, _ = find_list_tool(first)
    figures.append(
        Figure(
            "tokens.list_result",
            f"list tool result, {LIST_TASKS} tasks in store" + label_suffix,
            count(result),
            "tokens",
            note=f"`{name}` returned {shown if shown is not None else '?'} task(s) "
            f"({len(result):,} chars); {count(result) / max(shown or 1, 1):.0f} tokens per task",
            extra={"tasks_returned": shown, "chars": len(result), "tool": name},
        )
    )
    figures.append(_uncapped(ctx, home, count, label_suffix))
    return figures


def _uncapped(ctx: Context, home: Any, count: Callable[[str], int], suffix: str) -> Figure:
    """All 200 tasks serialized the way the list tool does (it caps what it returns)."""
    key, label = "tokens.list_200", f"{LIST_TASKS} tasks as the list tool serializes them"
    tools_mod = require("tools")
    store_mod = require("store")
    if not (hasattr(tools_mod, "brief") and hasattr(tools_mod, "dumps")):
        return unavailable(key, label, "todo_cli/tools.py has no brief()/dumps()")
    store = open_store(db_path(home))
    try:
        tasks = store.query(store_mod.TaskQuery(limit=LIST_TASKS))
    finally:
        store.close()
    text = tools_mod.dumps({"tasks": [tools_mod.brief(t) for t in tasks]})
    cap = getattr(tools_mod, "LIST_CAP", None)
    return Figure(
        key,
        label + suffix,
        count(text),
        "tokens",
        note=f"{len(tasks)} tasks through tools.brief + tools.dumps, uncapped "
        f"({len(text):,} chars); the tool itself returns at most {cap}",
        extra={"tasks": len(tasks), "chars": len(text), "cap": cap},
    )


def _count_tasks(result: str) -> int | None:
    """How many tasks a list tool result holds (it is compact JSON of some shape)."""
    try:
        data = json.loads(result)
    except ValueError:
        return None

    def walk(value: Any) -> int | None:
        if isinstance(value, list):
            if value and all(isinstance(v, dict) and "id" in v for v in value):
                return len(value)
            return None
        if isinstance(value, dict):
            for v in value.values():
                found = walk(v)
                if found is not None:
                    return found
        return None

    return walk(data)
