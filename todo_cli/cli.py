"""The `todo` command line: a thin Typer app that parses, calls the core and renders.

Start-up speed matters: this module and the command modules import only typer and the
standard library at top level. Heavy packages (agents, openai, prompt_toolkit, rich,
sqlite_utils) are imported inside the commands that need them.
"""

from __future__ import annotations

import os
import sys

import typer

from . import __version__
from .commands import agenda as agenda_cmd
from .commands import chat as chat_cmd
from .commands import config as config_cmd
from .commands import db as db_cmd
from .commands import lists as lists_cmd
from .commands import models as models_cmd
from .commands import serve as serve_cmd
from .commands import tasks as tasks_cmd
from .commands.lazy import defer

app = typer.Typer(
    name="todo",
    help="A terminal todo agent: manage tasks directly or by chatting with an LLM.",
    no_args_is_help=False,
    invoke_without_command=True,
    rich_markup_mode=None,  # plain help: rendering help with rich costs ~0.2 s at start-up
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(tasks_cmd.app, name="tasks")
app.add_typer(lists_cmd.app, name="lists")
app.add_typer(config_cmd.app, name="config")
app.add_typer(db_cmd.app, name="db")
app.command("models")(models_cmd.models)
app.command("chat")(chat_cmd.chat)
app.add_typer(serve_cmd.app, name="serve")
app.command("today")(agenda_cmd.today)
app.command("agenda")(agenda_cmd.agenda)


def _version(value: bool) -> None:
    if value:
        print(f"todo {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks on errors (same as TODO_DEBUG=1)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """A terminal todo agent: manage tasks directly or by chatting with an LLM.

    Run `todo chat` to talk to the agent, `todo tasks --help` to manage tasks without a
    model, `todo models --free` to find a free model and `todo config --help` for settings.
    """
    if debug:
        os.environ["TODO_DEBUG"] = "1"
    if ctx.invoked_subcommand is None:
        # A bare `todo` opens the chat session on a terminal, and shows help otherwise.
        if sys.stdin.isatty() and sys.stdout.isatty():
            ctx.invoke(chat_cmd.chat)
        else:
            print(ctx.get_help())
        raise typer.Exit()


# Each command is turned into a Click command only when it is looked up (`todo tasks list`
# builds that one, `todo --help` none): building all of them costs ~70 ms at start-up.
defer(app)


def debug_enabled() -> bool:
    return os.environ.get("TODO_DEBUG", "").lower() not in ("", "0", "false", "no")


def main() -> None:
    """Run the app and map every error to one line on stderr (the console script is
    ``entry.main``, which may start a one-shot chat's spinner first)."""
    from .errors import ExitCode, TodoError

    try:
        try:
            from .textin import check_argv

            check_argv(sys.argv[1:])  # bytes that are not UTF-8 fail here, in one line
            # Typer's standalone mode handles usage errors (exit 2), --help and Ctrl-C at
            # the argument-parsing stage; our domain errors propagate to here.
            app()
        finally:
            _stop_early_spinner()  # one `entry.main` started and no command took over
    except TodoError as exc:
        if debug_enabled():
            raise
        _print_error(exc.message, exc.hint)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        if debug_enabled():
            raise
        sys.stderr.write("\nInterrupted.\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    except BrokenPipeError:
        # `todo tasks list | head`: the reader went away; exit quietly.
        sys.stderr.close()
        sys.exit(int(ExitCode.OK))


def _stop_early_spinner() -> None:
    spinner = sys.modules.get("todo_cli.spinner")
    if spinner is not None:
        spinner.stop_early()


def _print_error(message: str, hint: str | None) -> None:
    from .errors import with_stop
    from .termsafe import one_line

    # Messages quote outside text (a bad field of an imported file, a server's answer).
    line = one_line(f"Error: {with_stop(message)} {hint}" if hint else f"Error: {message}")
    if sys.stderr.isatty():
        sys.stderr.write(f"\x1b[31m{line}\x1b[0m\n")
    else:
        sys.stderr.write(line + "\n")


if __name__ == "__main__":
    main()
