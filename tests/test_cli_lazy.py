"""The command tree is built one command at a time (commands/lazy.py): the same help, the
same errors, the same commands as Typer's whole tree built at once, and only what runs."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

# Runs in a fresh interpreter (no test fixture patches Typer there). Renders the help of
# every command path, and a few usage errors, first with the tree as `todo` builds it,
# then with every registration given back to Typer so that it builds the whole tree at
# once, as it would without `defer`.
_SAME_TREE = r"""
import contextlib, io, json, sys
import typer, typer.main
from typer.models import DefaultPlaceholder
from todo_cli.cli import app
from todo_cli.commands.lazy import LazyGroup

def paths(command, path=()):
    yield path
    names = command.list_commands(None) if hasattr(command, "list_commands") else []
    for name in names:
        yield from paths(command.get_command(None, name), (*path, name))

def run(command, argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            command.main(argv, prog_name="todo", standalone_mode=True)
        except SystemExit as exc:
            out.write(f"[exit {exc.code}]")
    return out.getvalue()

ERRORS = [["tasks", "lst"], ["agenda", "-n", "400"], ["nosuch"], ["serve", "token", "x"],
          ["tasks", "add"], ["config", "get"]]

def render(fresh):
    # fresh: a new tree for each run, so that each help lists what it has not built
    found = list(paths(typer.main.get_command(app)))
    command = typer.main.get_command(app)
    tree = (lambda: typer.main.get_command(app)) if fresh else (lambda: command)
    return {" ".join(p): run(tree(), [*p, "--help"]) for p in found} | {
        "! " + " ".join(a): run(tree(), a) for a in ERRORS}

lazy = render(fresh=True)

def give_back(typer_app):
    cls = typer_app.info.cls
    if isinstance(cls, type) and issubclass(cls, LazyGroup):
        typer_app.registered_commands = list(cls.deferred_commands)
        typer_app.registered_groups = list(cls.deferred_groups)
        typer_app.info.cls = DefaultPlaceholder(None)
    for sub in typer_app.registered_groups:
        give_back(sub.typer_instance)

give_back(app)
eager = render(fresh=False)
print(json.dumps([lazy, eager]))
"""


def test_the_tree_built_one_command_at_a_time_is_the_whole_tree(todo_env) -> None:
    r = subprocess.run(
        [sys.executable, "-c", _SAME_TREE],
        env=todo_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    lazy, eager = json.loads(r.stdout)
    assert sorted(lazy) == sorted(eager)
    assert {"", "tasks", "tasks list", "serve token add", "agenda"} <= set(lazy)
    assert len(lazy) > 40
    for path in eager:
        assert lazy[path] == eager[path], path
    assert "Did you mean 'list'?" in lazy["! tasks lst"]
    assert "[exit 2]" in lazy["! agenda -n 400"]


# Records which commands Typer turns into Click commands while `todo ARGS` runs.
_BUILT = r"""
import contextlib, io, json, sys
import typer.main
built = []
command_from_info = typer.main.get_command_from_info
group_from_info = typer.main.get_group_from_info

def command(info, **kw):
    built.append(info.name or info.callback.__name__)
    return command_from_info(info, **kw)

def group(info, **kw):
    built.append(typer.main.solve_typer_info_defaults(info).name or "todo")
    return group_from_info(info, **kw)

typer.main.get_command_from_info, typer.main.get_group_from_info = command, group
from todo_cli.cli import main
sys.argv = ["todo", *sys.argv[1:]]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main()
    except SystemExit:
        pass
print(json.dumps(built))
"""


def _probe(todo_env: dict[str, str], code: str, *argv: str) -> Any:
    """Run ``code`` in a fresh interpreter with ``argv``; the JSON its last line prints."""
    r = subprocess.run(
        [sys.executable, "-c", code, *argv],
        env=todo_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


def test_a_command_line_builds_only_the_commands_it_runs(todo_env) -> None:
    def built(*argv: str) -> list[str]:
        return _probe(todo_env, _BUILT, *argv)

    assert built("--help") == ["todo"]
    assert built("tasks", "list") == ["todo", "tasks", "list"]
    assert built("tasks", "--help") == ["todo", "tasks"]
    assert built("agenda", "--json") == ["todo", "agenda"]
    assert built("serve", "token", "list") == ["todo", "serve", "token", "list"]


# What no help text needs: the date parser, the agenda, the store, the settings, the
# renderer, SQLite, the TOML and time-zone readers, tempfile's random names.
NOT_FOR_HELP = (
    "todo_cli.dates",
    "todo_cli.agenda",
    "todo_cli.store",
    "todo_cli.config",
    "todo_cli.render",
    "sqlite3",
    "tomllib",
    "zoneinfo",
    "tempfile",
)


def test_help_loads_none_of_the_code_the_commands_run(todo_env) -> None:
    probe = (
        "import contextlib, io, json, sys\n"
        "from todo_cli.cli import main\n"
        "watch = set(json.loads(sys.argv[1]))\n"
        "sys.argv = ['todo', *sys.argv[2:]]\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(json.dumps(sorted(set(sys.modules) & watch)))\n"
    )
    for argv in (["--help"], ["tasks", "--help"], ["agenda", "--help"], ["tasks", "add", "-h"]):
        loaded = _probe(todo_env, probe, json.dumps(NOT_FOR_HELP), *argv)
        assert loaded == [], f"`todo {' '.join(argv)}` loaded {loaded}"


def test_listing_and_adding_load_only_what_they_use(todo_env) -> None:
    """No repeat rules or TOML reader (no config file here), and for a list no date-phrase
    patterns either (an add looks for a due phrase at the end of the title)."""
    probe = (
        "import contextlib, io, json, sys\n"
        "from todo_cli.entry import main\n"
        "sys.argv = ['todo', *sys.argv[1:]]\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit:\n"
        "        pass\n"
        "from todo_cli import dates\n"
        "watch = {'todo_cli.repeat', 'tomllib', 'todo_cli.conversations', 'dateparser'}\n"
        "print(json.dumps([sorted(set(sys.modules) & watch), sorted(vars(dates._phrases))]))\n"
    )

    def run(*argv: str) -> list[list[str]]:
        return _probe(todo_env, probe, *argv)

    assert run("tasks", "add", "Buy", "milk")[0] == []
    modules, patterns = run("tasks", "add", "Call", "mom", "tomorrow", "5pm")
    assert modules == [] and "time_12" in patterns
    assert run("tasks", "list") == [[], []]
