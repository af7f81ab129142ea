"""Task rendering: table cells, relative due dates, colours, the fast layout, undo reports."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from helpers import StubTask as T
from rich.console import Console

from todo_cli import render
from todo_cli.render import (
    change_summary,
    fast_table_lines,
    print_tasks,
    task_detail_lines,
    task_line,
    task_table,
    undo_lines,
)

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=NY)  # a Tuesday


@dataclass
class Change:
    before: T | None
    after: T | None


@dataclass
class Undo:
    group_id: str
    label: str | None
    changes: list[Change]


MILK = T(12, "Buy milk", priority="high", due="2026-11-25", tags=["errand", "shop"], project="home")
LATE = T(3, "Pay rent", priority="medium", due="2026-11-20")
TODAY = T(4, "Call mom", due="2026-11-24T17:00:00-05:00")
DONE = T(5, "File taxes", status="done", due="2026-11-01", completed_at="2026-11-02T08:00:00-05:00")


def _plain(renderable, width=200) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, no_color=True, highlight=False).print(renderable)
    return buf.getvalue()


def _ansi(renderable) -> str:
    buf = io.StringIO()
    Console(file=buf, width=200, force_terminal=True, color_system="standard").print(renderable)
    return buf.getvalue()


def test_table_shows_every_column_with_relative_due():
    out = _plain(task_table([MILK, LATE, TODAY, DONE], now=NOW, tz=NY))
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "Pri", "Title", "Due", "Tags", "Project"]
    row = next(line for line in lines if "Buy milk" in line)
    assert row.split() == ["12", "☐", "high", "Buy", "milk", "tomorrow", "#errand", "#shop", "home"]
    assert "4 days ago" in out and "today 17:00" in out
    assert "✓" in next(line for line in lines if "File taxes" in line)


def test_empty_columns_are_hidden():
    out = _plain(task_table([T(1, "Plain task")], now=NOW, tz=NY))
    assert out.splitlines()[0].split() == ["ID", "Title"]


def test_colours_overdue_red_today_yellow():
    out = _ansi(task_table([LATE, TODAY, DONE], now=NOW, tz=NY))
    assert "\x1b[1;31m4 days ago" in out  # overdue: bold red
    assert "\x1b[33mtoday 17:00" in out  # due today: yellow
    assert "\x1b[1;31mhigh" not in out
    assert "\x1b[2m" in out  # done rows are dim, never red
    assert "\x1b[1;31m" not in out.split("File taxes")[1]


def test_fast_layout_matches_table_and_never_cuts_without_width():
    long = T(7, "A very long title " * 10, tags=["x"])
    lines = fast_table_lines([MILK, long], now=NOW, tz=NY)
    assert lines[0].split() == ["ID", "Pri", "Title", "Due", "Tags", "Project"]
    assert lines[1].startswith("───")
    assert lines[2].split() == ["12", "☐", "high", "Buy", "milk", "tomorrow"] + [
        "#errand",
        "#shop",
        "home",
    ]
    assert long.title.strip() in lines[3]
    assert all("\x1b" not in line for line in lines)
    assert all(line == line.rstrip() for line in lines)
    cut = fast_table_lines([MILK, long], now=NOW, tz=NY, width=80)
    assert all(len(line) <= 80 for line in cut)
    assert "…" in cut[3]
    coloured = fast_table_lines([LATE], now=NOW, tz=NY, color=True)
    assert "\x1b[1;31m4 days ago\x1b[0m" in coloured[2]


def test_print_tasks_on_a_rich_console_uses_fast_layout_for_long_lists():
    tasks = [T(i, f"Task {i}", due="2026-11-26") for i in range(1, render.RICH_ROWS_MAX + 2)]
    buf = io.StringIO()
    console = Console(file=buf, width=100, no_color=True)
    print_tasks(tasks, console=console, now=NOW, tz=NY, more=5, more_hint="narrow it down")
    lines = buf.getvalue().splitlines()
    assert len(lines) == len(tasks) + 3
    assert lines[2].split() == ["1", "☐", "Task", "1", "in", "2", "days"]
    assert lines[-1] == "… and 5 more (narrow it down)."
    buf = io.StringIO()
    print_tasks(tasks[:3], console=Console(file=buf, width=100), now=NOW, tz=NY, more=2)
    assert buf.getvalue().splitlines()[-1] == "… and 2 more (use --limit 0 to show all)."


def test_print_tasks_to_a_pipe_never_wraps_or_colours(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    long = T(1, "word " * 60, due="2026-11-20")
    buf = io.StringIO()
    print_tasks([long, MILK], file=buf, now=NOW, tz=NY, more=1)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 5
    assert ("word " * 60).strip() in lines[2]
    assert "\x1b" not in buf.getvalue()
    assert lines[-1] == "… and 1 more (use --limit 0 to show all)."


def test_print_tasks_on_a_terminal_colours_and_fits_the_width(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setattr(render, "_terminal_width", lambda: 60)
    buf = Tty()
    print_tasks([T(1, "word " * 60, due="2026-11-20"), MILK], file=buf, now=NOW, tz=NY)
    out = buf.getvalue()
    assert "\x1b[1;31m4 days ago\x1b[0m" in out
    assert "…" in out
    monkeypatch.setenv("NO_COLOR", "1")
    buf = Tty()
    print_tasks([LATE], file=buf, now=NOW, tz=NY)
    assert "\x1b" not in buf.getvalue()


def test_fast_layout_handles_wide_characters():
    lines = fast_table_lines([T(1, "买牛奶 and milk", tags=["家"]), T(22, "x")], now=NOW, tz=NY)
    from rich.cells import cell_len

    # Columns line up by display cells, not by characters.
    assert cell_len(lines[2].split("#家")[0]) == cell_len(lines[0].split("Tags")[0])
    cut = fast_table_lines([T(1, "买牛奶" * 20)], now=NOW, tz=NY, width=30)
    assert cell_len(cut[2]) <= 30 and cut[2].endswith("…")


def test_task_line():
    assert task_line(MILK, now=NOW, tz=NY) == "#12 Buy milk (due tomorrow)"
    assert task_line(T(8, "Read book", due="2026-11-28"), now=NOW, tz=NY) == (
        "#8 Read book (due in 4 days)"
    )
    assert task_line(T(9, "Later", due="2026-12-28"), now=NOW, tz=NY) == "#9 Later (due Mon 28 Dec)"
    assert task_line(DONE, now=NOW, tz=NY) == "#5 File taxes (done)"
    assert task_line(T(1, "No date")) == "#1 No date"


def test_detail_lines():
    task = replace(MILK, notes="2 litres\nsemi-skimmed")
    lines = task_detail_lines(task, now=NOW, tz=NY)
    assert lines[0] == "#12 Buy milk"
    assert "  Due:       tomorrow (Wed 25 Nov)" in lines
    assert "  Tags:      #errand #shop" in lines
    assert "  Created:   2026-11-20 09:30" in lines
    assert lines[-3:] == ["  Notes:", "    2 litres", "    semi-skimmed"]
    late = task_detail_lines(LATE, now=NOW, tz=NY)
    assert "  Due:       4 days ago (Fri 20 Nov) — overdue" in late


def test_undo_lines_single_changes():
    restored = Undo("g1", "todo tasks rm 7", [Change(None, T(7, "Call mom"))])
    assert undo_lines(restored, now=NOW, tz=NY) == ["Undid: restored #7 Call mom"]
    removed = Undo("g2", "todo tasks add", [Change(T(12, "Buy milk"), None)])
    assert undo_lines(removed, now=NOW, tz=NY) == ["Undid: removed #12 Buy milk"]
    done = T(3, "Buy milk", status="done")
    reopened = Undo("g3", None, [Change(done, replace(done, status="pending"))])
    assert undo_lines(reopened, now=NOW, tz=NY) == ["Undid: #3 Buy milk: done → pending"]


def test_undo_lines_many_changes_are_listed_and_capped():
    changes = [
        Change(T(i, f"Task {i}", status="done"), T(i, f"Task {i}"))
        for i in range(1, render.UNDO_LINES_MAX + 6)
    ]
    lines = undo_lines(Undo("g", "todo tasks done 1 2", changes), now=NOW, tz=NY)
    assert lines[0] == f"Undid todo tasks done 1 2 ({len(changes)} changes):"
    assert lines[1] == "  #1 Task 1: done → pending"
    assert lines[-1] == "  … and 5 more"
    assert len(lines) == render.UNDO_LINES_MAX + 2


def test_change_summary_lists_each_field():
    before = T(3, "Buy milk", priority="low", due="2026-11-25", tags=["a"], notes="x")
    after = replace(before, title="Buy oat milk", priority="high", due=None, tags=["a", "b"])
    after.project, after.notes = "home", None
    assert change_summary(before, after, now=NOW, tz=NY) == (
        "#3 Buy oat milk: title “Buy milk” → “Buy oat milk”; priority low → high; "
        "due tomorrow → none; tags #a → #a #b; project none → home; notes cleared"
    )
    assert change_summary(before, before, now=NOW, tz=NY) == "#3 Buy milk: no change"


def test_every_cell_style_has_an_ansi_code():
    tasks = [MILK, LATE, TODAY, DONE, T(9, "x", priority="low", project="p", tags=["t"])]
    styles = {style for t in tasks for _, style in render.task_cells(t, now=NOW, tz=NY)}
    assert {word for style in styles for word in style.split()} <= set(render._ANSI)


def test_control_characters_never_reach_the_terminal():
    evil = T(6, "Pay\x1b[2J rent\nnow", tags=["a\x07"], project="p\rq", notes="x\x1b]0;t\x07")
    out = "\n".join(fast_table_lines([evil], now=NOW, tz=NY, color=True))
    assert "\x1b[2J" not in out and "\x07" not in out and "\r" not in out
    assert "Pay rent now" in out  # the sequence is removed whole
    assert task_line(evil) == "#6 Pay rent now"
    assert "\x1b" not in "".join(task_detail_lines(evil, now=NOW, tz=NY))
    assert render.one_line("fine — 买") == "fine — 买"


def test_a_change_made_through_the_http_api_names_the_server_and_the_user() -> None:
    from todo_cli.store import GroupInfo, Origin

    info = GroupInfo(
        "g1", "add", "2026-12-01T10:42:00+00:00", Origin("server", "alice"), "root", "box"
    )
    text, mine = render.change_owner(info, session="s1")
    assert text.startswith("`todo serve`, for user alice (") and mine is False
