"""The chat session's /add quick add, /today, /agenda, /tasks filters, /done on a parent and
the toolbar counts, against the real store."""

from __future__ import annotations

import asyncio

import pytest
from repl_helpers import session


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-test")


def test_quick_add_agenda_and_filters(key: None) -> None:
    async def main() -> None:
        async with session([]) as d:
            out = await d.send("/add buy milk tomorrow 5pm !high #errand @home every monday")
            assert "+ #1 buy milk · due " in out and " 17:00 · high · #errand · @home" in out
            assert "every Monday" in out
            out = await d.send('/add "Tomorrow never dies" today')
            assert "+ #2 Tomorrow never dies · due " in out
            out = await d.send("/add plain title")
            assert "+ #3 plain title" in out
            out = await d.send("/today")
            assert "Today · " in out and "#2 Tomorrow never dies" in out
            assert "buy milk" not in out
            out = await d.send("/agenda 8")
            assert "Tomorrow · " in out and out.count("#1 buy milk") == 2  # Wed and Monday
            out = await d.send("/agenda x")
            assert "Not a number of days" in out
            out = await d.send("/tasks repeating")
            assert "buy milk" in out and "plain title" not in out
            store = d.repl.store
            store.add("later", wait="in 3 days")
            with store.group("x"):
                store.add("blocked", blocked_by=[3])
            d.repl.refresh_stats()
            assert d.repl.stats is not None
            assert (d.repl.stats["waiting"], d.repl.stats["blocked"]) == (1, 1)
            toolbar = "".join(text for _style, text in d.repl._toolbar())
            assert "1 blocked" in toolbar and "1 waiting" in toolbar
            out = await d.send("/tasks waiting")
            assert "later" in out and "plain title" not in out
            out = await d.send("/tasks blocked")
            assert "blocked" in out and "later" not in out

    asyncio.run(main())


def test_done_on_a_parent_asks_first(key: None) -> None:
    async def main() -> None:
        async with session([]) as d:
            store = d.repl.store
            parent = store.add("Plan trip")
            store.add("Book flights", parent=parent.id)
            d.repl.idle.clear()
            d.pipe.send_text("/done 1\r")
            await d.answer("n")
            await d.idle()
            assert "Nothing was completed." in d.out
            assert store.get(1).status == "pending"
            d.repl.idle.clear()
            d.pipe.send_text("/done 1\r")
            await d.answer("y")
            await d.idle()
            assert "✓ #1 Plan trip" in d.out and "✓ #2 Book flights" in d.out
            assert store.get(2).status == "done"
            rep = store.add("Water plants", repeat="every sunday")
            out = await d.send(f"/done {rep.id}")
            assert f"✓ #{rep.id} Water plants · next due " in out and "every Sunday" in out

    asyncio.run(main())
