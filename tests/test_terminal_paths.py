"""Every path from outside text to the terminal, fed hostile text, shows it inert.

Outside text is a task title (typed, imported, or written by the model), the model's answer,
reasoning and model name, a catalog's ids and names, a key's label, a server's error message,
a field of an imported file, a value from a `.env`. Each test below is one output path; all
of them run the real code: the CLI in-process or as a real process on a pseudo-terminal,
the chat against ``tests/fakeserver.py`` over HTTP, the interactive session through
prompt-toolkit's pipe with a terminal-like output.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import fakeserver
import helpers
import pytest
from conftest import TODO_EXE
from fakeserver import FakeServer, build_stream
from helpers import run_on_pty

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet
server = helpers.openrouter_server

# Window title, clipboard write, clear screen + colour, 8-bit CSI, bidi override, BEL, DCS.
EVIL = (
    "ev\x1b]0;PWNED\x07il\x1b]52;c;Y2xpcGJvYXJk\x07 ti\x1b[2J\x1b[31mtle\x9b31m 买"
    "\u202e🎉\x07\x1bPqsixel\x1b\\ 👨\u200d👩\u200d👧"
)
SHOWN = "evil title 买🎉 👨\u200d👩\u200d👧"  # what a user must see instead
MODEL = "evil/mo\x1b]0;PWNED\x07del"

_OURS = re.compile(
    r"\x1b\[[0-9;?]*[mKAGJHlh]"  # colours, line erase, cursor moves, cursor show/hide
    r"|\x1b\[\d*[ABCDn]|\x1b[=>78]|\x1b\]8;[^\x07\x1b]*\x1b\\"  # keypad, saved cursor
)


def assert_inert(output: str, *, shown: str | None = SHOWN) -> None:
    """No escape sequence from the outside text; only the program's own styling codes."""
    assert "PWNED" not in output and "Y2xpcGJvYXJk" not in output and "sixel" not in output
    assert "\x07" not in output and "\x9b" not in output and "\u202e" not in output
    rest = _OURS.sub("", output)
    assert "\x1b" not in rest, repr(rest[max(0, rest.find("\x1b") - 40) :][:80])
    if shown is not None:
        assert shown in _OURS.sub("", output).replace("\r", ""), output


@pytest.fixture(autouse=True)
def _offline(no_internet):
    return no_internet


def _add(title: str = EVIL, **kw: Any) -> int:
    from todo_cli.store import TaskStore

    with TaskStore.open() as store:
        return store.add(title, **kw).id


def _on_pty(env: dict[str, str], *args: str) -> tuple[str, int]:
    text, code, _ = run_on_pty([*TODO_EXE, *args], env, prompt=b"\x00never", reply=b"")
    return text, code


# --------------------------------------------------------------------------- todo tasks


def test_path_tasks_list_table(todo) -> None:
    _add(tags=["h\u202eome"], project="p\x9b2Jroj")
    r = todo("tasks", "list")
    assert_inert(r.out)
    assert "#home" in r.out and "proj" in r.out


def test_path_tasks_show_details_and_notes(todo) -> None:
    _add(notes=f"line one\n{EVIL}")
    r = todo("tasks", "show", "1")
    assert_inert(r.out)
    assert "line one" in r.out


def test_path_tasks_change_lines_and_undo(todo) -> None:
    _add()
    for args in (("done", "1"), ("reopen", "1"), ("edit", "1", "--priority", "high")):
        assert_inert(todo("tasks", *args).out)
    assert_inert(todo("tasks", "undo").out)
    assert_inert(todo("tasks", "add", EVIL).out)


def test_path_tasks_search_echoes_the_query(todo) -> None:
    assert_inert(todo("tasks", "search", EVIL).out)


def test_path_tasks_import_report_and_error_lines(todo, tmp_path: Path) -> None:
    good = tmp_path / "ok.txt"
    good.write_text(f"{EVIL}\n", encoding="utf-8")
    r = todo("tasks", "import", str(good))
    assert r.code == 0 and ": 1 added, " in r.out
    assert_inert(todo("tasks", "list").out)
    bad = tmp_path / "bad.txt"
    bad.write_text("x due:2026-13-45\x1b]0;PWNED\x07\n", encoding="utf-8")
    r = todo("tasks", "import", str(bad))
    assert r.code != 0 and "line 1" in r.err
    assert_inert(r.err, shown=None)
    data = tmp_path / "bad.json"
    data.write_text(json.dumps([{"title": "x", "due": EVIL}]), encoding="utf-8")
    r = todo("tasks", "import", str(data))
    assert r.code != 0
    assert_inert(r.err, shown=None)


def test_path_error_line_quoting_input(todo) -> None:
    _add("plain")
    r = todo("tasks", "edit", "1", "--due", EVIL)
    assert r.code == 2 and r.err.startswith("Error:")
    assert_inert(r.err)


def test_path_tasks_json_stays_exact_json(todo) -> None:
    _add()
    r = todo("tasks", "list", "--json")
    assert [t["title"] for t in json.loads(r.out)] == [EVIL]  # exact, escaped by JSON
    assert "\x1b" not in r.out and "\x9b" not in r.out and "\u202e" not in r.out
    shown = json.loads(todo("tasks", "show", "1", "--json").out)
    assert shown["title"] == EVIL


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_path_tasks_table_and_export_on_a_terminal(todo_env: dict[str, str]) -> None:
    _add()
    env = {**todo_env, "TERM": "xterm-256color"}
    env.pop("NO_COLOR")
    text, code = _on_pty(env, "tasks", "list")
    assert code == 0
    assert_inert(text)
    text, code = _on_pty(env, "tasks", "export", "-f", "todotxt")
    assert code == 0
    assert_inert(text)


# --------------------------------------------------------------------------- models, config


def _evil_catalog(server: FakeServer) -> None:
    server.models_body = {
        "data": [
            {
                "id": MODEL,
                "name": EVIL,
                "context_length": 8192,
                "pricing": {"prompt": "0", "completion": "0"},
                "supported_parameters": ["tools"],
            }
        ]
    }


def test_path_models_table_ids_and_set(todo, server: FakeServer) -> None:
    _evil_catalog(server)
    r = todo("models", "--refresh")
    assert r.code == 0, r.err
    assert_inert(r.out)
    assert "evil/model" in r.out
    r = todo("models", "--ids")
    assert_inert(r.out, shown="evil/model")
    r = todo("models", "--set", "x\x1b]0;PWNED\x07y")
    assert_inert(r.out + r.err, shown=None)
    r = todo("models", "--json")
    assert json.loads(r.out)[0]["id"] == MODEL


def test_path_config_show_get_and_check(todo, server: FakeServer) -> None:
    Path(".env").write_text(f"GROQ_DEFAULT_MODEL={MODEL}\n", encoding="utf-8")
    assert_inert(todo("config", "show").out, shown="evil/model")
    assert_inert(todo("config", "get", "groq.model").out, shown="evil/model")
    server.key_body = {"data": {"label": EVIL, "usage": 0, "limit": None, "is_free_tier": True}}
    r = todo("config", "check")
    assert r.code == 0, r.err
    assert_inert(r.out)


# --------------------------------------------------------------------------- one-shot chat


def test_path_chat_answer_tool_lines_notices_and_error(todo, server: FakeServer) -> None:
    # (a lookup among the calls makes the model answer in words)
    server.add_tool_calls(
        [("add_tasks", {"tasks": [{"title": EVIL}]}), ("search_tasks", {"text": "x"})]
    )
    server.add_text(f"Added **{EVIL}**.", model=MODEL)
    r = todo("chat", "add it")
    assert r.code == 0, r.err
    assert_inert(r.out)  # the answer
    assert_inert(r.err)  # "+ #1 ..." and the fallback line naming the model
    assert "evil/model" in r.err
    server.add_tool_call("delete_tasks", {"ids": [1]})
    server.add_text("Not deleted.")
    r = todo("chat", "delete it")
    assert "not done without --yes" in r.err
    assert_inert(r.err)
    server.add_stream_error("partial", {"code": 502, "message": f"upstream {EVIL}"})
    r = todo("chat", "hi")
    assert r.code == 4
    assert_inert(r.err)


def test_path_chat_reasoning(todo, server: FakeServer) -> None:
    from todo_cli.config import set_value

    set_value("show_reasoning", True)
    server.add_reasoning_text(f"thinking {EVIL}", "done")
    r = todo("chat", "hi")
    assert r.code == 0, r.err
    assert_inert(r.err)


def test_path_chat_json_stays_exact(todo, server: FakeServer) -> None:
    server.add_text(EVIL)
    data = json.loads(todo("chat", "--json", "hi").out)
    assert data["text"] == EVIL


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_path_chat_markdown_tool_lines_and_footer_on_a_terminal(
    fake_server: FakeServer, todo_env: dict[str, str]
) -> None:
    fake_server.add_tool_calls(
        [("add_tasks", {"tasks": [{"title": EVIL}]}), ("search_tasks", {"text": "x"})]
    )
    fake_server.add_text(f"Added:\n\n- **{EVIL}**\n\n`{EVIL}`\n\n[x]({EVIL})", model=MODEL)
    env = {**todo_env, "TERM": "xterm-256color", "OPENROUTER_API_KEY": "sk-or-v1-test"}
    env["OPENROUTER_BASE_URL"] = fake_server.url
    env.pop("NO_COLOR")
    text, code = _on_pty(env, "chat", "add it")
    assert code == 0, text
    assert_inert(text)
    assert "evil/model" in text  # the footer names the model that answered


# --------------------------------------------------------------------------- the session


def _session_run(server: FakeServer, steps: list[str], monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the interactive session with the real agent; return everything it drew (the Rich
    console and prompt-toolkit's screen: prompt, toolbar, questions)."""
    from prompt_toolkit.data_structures import Size
    from prompt_toolkit.output.vt100 import Vt100_Output
    from repl_helpers import session

    import todo_cli.agent  # noqa: F401

    screen = io.StringIO()
    output = Vt100_Output(screen, lambda: Size(rows=30, columns=100), term="xterm")

    async def main() -> str:
        async with session(output=output) as d:
            for step in steps:
                if step.startswith("answer:"):
                    await d.answer(step.removeprefix("answer:"))
                else:
                    await d.send(step, wait=not step.startswith("delete"))
            await d.idle()
            return d.out

    out = asyncio.run(main())
    return out + "\n" + screen.getvalue()


def test_path_session_turn_paths(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_DEFAULT_MODEL", MODEL)
    server.add_tool_calls(
        [("add_tasks", {"tasks": [{"title": EVIL}]}), ("search_tasks", {"text": "x"})], model=MODEL
    )
    server.add_text(f"Added **{EVIL}**\n\n| a |\n|---|\n| {EVIL} |", model=MODEL)
    server.add_tool_call("delete_tasks", {"ids": [1]}, model=MODEL)
    server.add_text("Kept it.", model=MODEL)
    server.add_stream_error("partial", {"code": 502, "message": f"upstream {EVIL}"})
    out = _session_run(server, ["add it", "delete it", "answer:n", "hi"], monkeypatch)
    assert_inert(out)
    assert "evil/model" in out  # banner, toolbar and footer name it
    assert "Error:" in out


def test_path_session_slash_commands(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    Path(".env").write_text(f"GROQ_DEFAULT_MODEL={MODEL}\n", encoding="utf-8")
    _add()
    server.add_text(f"Answer {EVIL}", model=MODEL)
    steps = ["hello", "/tasks", "/done 1", "/undo", "/history", "/usage", "/config all"]
    steps += ["/add milk", "/model"]  # (keys typed at the prompt cannot carry an ESC)
    out = _session_run(server, steps, monkeypatch)
    assert_inert(out)


def test_path_session_resume_shows_the_last_exchange(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, todo
) -> None:
    server.add_text(f"Answer {EVIL}")
    assert todo("chat", f"question {EVIL}").code == 0
    from todo_cli.conversations import latest_conversation_id

    conv = latest_conversation_id()
    assert conv
    out = _session_run(server, [f"/resume {conv}"], monkeypatch)
    assert_inert(out)


def test_the_session_console_cleans_by_default() -> None:
    """The session's own console (not injected) is the cleaning one, so slash commands
    added later cannot print outside text raw."""
    from todo_cli.repl import Repl
    from todo_cli.termsafe import console

    repl = Repl(settings=_settings())
    assert type(repl.console) is type(console())


def _settings() -> Any:
    from todo_cli.config import load_settings

    return load_settings()


__all__ = ["EVIL", "SHOWN", "assert_inert", "build_stream"]
