"""The chat session, in-process: prompt-toolkit pipe input, dummy output, scripted turns."""

from __future__ import annotations

import asyncio
import os
import signal
import stat

import pytest
from repl_helpers import ScriptedChat, session, tool, words

from todo_cli.errors import ProviderError
from todo_cli.events import ApprovalRequest, Notice, ReasoningDelta, TextDelta


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-test")


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


def test_turn_streams_markdown_tools_and_footer(key: None) -> None:
    script = [
        *words("Sure, adding it."),
        *tool("add_task", {"title": "Buy milk"}, '{"id": 1, "title": "Buy milk"}'),
        TextDelta("Done:\n\n- **Buy milk**\n"),
    ]

    async def main() -> None:
        async with session([script]) as d:
            out = await d.send("add buy milk")
            assert "Sure, adding it." in out
            assert "Buy milk" in out
            assert "• Buy milk" in out  # markdown list rendered, ** gone
            assert "**" not in out
            assert "120 in" in out and "30 out" in out and "test/model" in out
            assert d.repl.made[0].messages == ["add buy milk"]
            assert d.repl.totals.turns == 1

    run(main())


def test_slash_help_and_unknown_command(key: None) -> None:
    async def main() -> None:
        async with session([]) as d:
            out = await d.send("/help")
            for name in ("/tasks", "/undo", "/model", "/resume", "/exit", "/reasoning"):
                assert name in out
            out = await d.send("/tsks")
            assert "Unknown command /tsks" in out and "/tasks" in out
            out = await d.send("//etc/hosts is a file")  # a message, not a command
            assert d.repl.made[0].messages == ["/etc/hosts is a file"]
            out = await d.send("/hist")  # unique prefix
            assert "No conversations yet" in out or "conversation" in out.lower()

    run(main())


def test_exit_command_ends_session(key: None) -> None:
    async def main() -> None:
        async with session([]) as d:
            await d.send("/exit", wait=False)
            async with asyncio.timeout(5):
                await d.task

    run(main())


def test_model_provider_reasoning_commands(key: None) -> None:
    async def main() -> None:
        async with session([[TextDelta("hi")]]) as d:
            out = await d.send("/model")
            assert "openai/gpt-oss-20b:free" in out
            await d.send("/model meta/llama-test")
            assert d.repl.model == "meta/llama-test"
            out = await d.send("/provider nope")
            assert "Unknown provider" in out
            out = await d.send("/provider ollama")
            assert d.repl.provider_name == "ollama" and "llama3.2" in out
            await d.send("/provider openrouter")
            await d.send("/model other/model")
            await d.send("hello")
            chat = d.repl.made[0]
            assert chat.kwargs["provider"] == "openrouter"
            assert chat.kwargs["model"] == "other/model"
            await d.send("/model third/model")  # applied to the live session
            assert chat.model == "third/model"
            assert d.repl.show_reasoning is False
            out = await d.send("/reasoning")
            assert d.repl.show_reasoning is True and "shown" in out

    run(main())


def test_reasoning_shown_only_when_enabled(key: None) -> None:
    script = [ReasoningDelta("pondering deeply"), TextDelta("answer")]

    async def main() -> None:
        async with session([list(script), list(script)]) as d:
            out = await d.send("q1")
            assert "pondering" not in out and "answer" in out
            await d.send("/reasoning")
            out = await d.send("q2")
            assert "pondering deeply" in out and "answer" in out

    run(main())


def test_approval_yes_and_no(key: None) -> None:
    request = ApprovalRequest("call_9", "delete_tasks", {"ids": [4, 5]}, "Delete 2 tasks (#4, #5)")

    async def main() -> None:
        scripts = [[TextDelta("Deleting."), request, TextDelta(" ok")] for _ in range(2)]
        async with session(scripts) as d:
            await d.send("delete them", wait=False)
            await d.answer("n")
            await d.idle()
            await d.send("delete them again", wait=False)
            await d.answer("y")
            await d.idle()
            assert d.repl.made[0].answers == [False, True]
            assert "Delete 2 tasks (#4, #5)" not in d.out  # asked on the prompt, not printed

    run(main())


def test_yes_flag_approves_without_asking(key: None) -> None:
    request = ApprovalRequest("call_9", "delete_tasks", {"ids": [4]}, "Delete 1 task (#4)")

    async def main() -> None:
        async with session([[request]], yes=True) as d:
            out = await d.send("delete it")
            assert "approved (--yes)" in out
            assert d.repl.made[0].answers == [True]

    run(main())


def test_ctrl_c_cancels_reply_and_keeps_session(key: None) -> None:
    slow = words("one two three four five six seven eight nine ten " * 20, delay=0.05)

    async def main() -> None:
        async with session([slow, [TextDelta("second answer")]]) as d:
            await d.send("talk a lot", wait=False)
            await d.streamed("one two three")
            chat = d.repl.made[0]
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends while a reply streams
            await d.idle()
            assert chat.cancelled
            assert "Stopped." in d.out
            assert "one two" in d.out  # what was shown stays
            assert d.out.count("one") < 20
            out = await d.send("again")
            assert "second answer" in out

    run(main())


def test_ctrl_c_at_empty_prompt_hints(key: None) -> None:
    async def main() -> None:
        async with session([]) as d:
            await d.idle()
            d.repl.idle.clear()
            d.pipe.send_text("\x03")
            await d.idle()
            assert "Ctrl-D or type /exit" in d.out
            d.pipe.send_text("half typed\x03")  # Ctrl-C drops a typed line, no hint
            await asyncio.sleep(0.1)
            assert d.out.count("Ctrl-D or type /exit") == 1

    run(main())


def test_provider_error_prints_one_line_and_session_lives(key: None) -> None:
    error = ProviderError("OpenRouter rate limit reached.", hint="Wait a minute.")

    async def main() -> None:
        async with session([[TextDelta("partial "), error], [TextDelta("fine")]]) as d:
            out = await d.send("hi")
            assert "partial" in out
            assert "Error: OpenRouter rate limit reached. Wait a minute." in out
            assert "Traceback" not in out
            out = await d.send("again")
            assert "fine" in out

    run(main())


def test_notice_and_unexpected_error(key: None) -> None:
    async def main() -> None:
        async with session([[Notice("rate limited, retrying in 2 s"), RuntimeError("boom")]]) as d:
            out = await d.send("hi")
            assert "rate limited, retrying in 2 s" in out
            assert "Error: RuntimeError: boom" in out

    run(main())


def test_multiline_input_is_one_message(key: None) -> None:
    async def main() -> None:
        async with session([[TextDelta("ok")]]) as d:
            await d.idle()
            d.repl.idle.clear()
            # Esc Enter inserts a newline; a bracketed paste with newlines stays one message.
            d.pipe.send_text("first line\x1b\r")
            d.pipe.send_text("\x1b[200~pasted one\rpasted two\x1b[201~\r")
            await d.idle()
            assert d.repl.made[0].messages == ["first line\npasted one\npasted two"]

    run(main())


def test_history_is_written_to_state_dir(key: None, todo_home) -> None:  # noqa: ANN001
    from prompt_toolkit.history import FileHistory

    from todo_cli.config import get_paths

    path = get_paths().ensure().history_file

    async def main() -> None:
        async with session([[TextDelta("ok")]], history=FileHistory(str(path))) as d:
            await d.send("remember this line")

    run(main())
    assert "remember this line" in path.read_text()


def test_default_history_file(key: None) -> None:
    from todo_cli.config import get_paths
    from todo_cli.repl import Repl

    repl = Repl()
    history = repl.session.history
    path = get_paths().history_file
    assert history.filename == str(path)  # type: ignore[attr-defined]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_no_key_opens_explains_and_stores_pasted_key() -> None:
    from todo_cli.config import get_paths

    async def main() -> None:
        async with session([[TextDelta("hello with key")]]) as d:
            await d.answer("")  # skip the offer at start-up
            await d.idle()
            assert "https://openrouter.ai/keys" in d.out
            out = await d.send("hello")
            assert "No API key for OpenRouter" in out
            assert d.repl.made == []
            out = await d.send("/help")  # slash commands work without a key
            assert "/tasks" in out
            await d.send("/key", wait=False)
            await d.answer("/tasks")  # a command typed at the hidden prompt is not a key
            await d.idle()
            assert "does not look like an API key" in d.out
            assert not get_paths().config_file.exists()
            await d.send("/key", wait=False)
            await d.answer("sk-or-v1-pasted")
            await d.idle()
            assert "Key saved" in d.out
            assert "sk-or-v1-pasted" not in d.out
            out = await d.send("hello")
            assert "hello with key" in out

    run(main())
    config = get_paths().config_file
    assert "sk-or-v1-pasted" in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_completion_of_commands_and_arguments(key: None) -> None:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from todo_cli.repl import Repl
    from todo_cli.slash import SlashCompleter

    repl = Repl()
    repl._model_ids["openrouter"] = ["openai/gpt-oss-20b:free", "meta/llama-3:free"]
    completer = SlashCompleter(repl.commands)

    def complete(text: str) -> list[str]:
        doc = Document(text, len(text))
        return [c.text for c in completer.get_completions(doc, CompleteEvent())]

    assert "/tasks" in complete("/ta")
    assert complete("/mo") == ["/model"]
    assert complete("/model llama") == ["meta/llama-3:free"]
    assert sorted(complete("/model ")) == ["meta/llama-3:free", "openai/gpt-oss-20b:free"]
    assert complete("/provider g") == ["groq", "gemini"]
    assert complete("hello /ta") == []


def test_toolbar_shows_provider_model_tokens(key: None) -> None:
    async def main() -> None:
        async with session([[TextDelta("ok")]]) as d:
            await d.send("hi")
            text = "".join(t for _, t in d.repl._toolbar())
            assert "openrouter" in text and "test/model" in text
            assert "150 tokens" in text and "$0.0001" in text
            out = await d.send("/usage")
            assert "1 turn" in out and "120 tokens in" in out

    run(main())


def test_conversation_commands_before_first_turn(key: None) -> None:
    async def main() -> None:
        chat = ScriptedChat([[TextDelta("ok")]])
        async with session(chat=chat, conversation_id="c-given") as d:
            out = await d.send("/new")
            assert "New conversation" in out
            assert d.repl.conversation_label == "new"
            await d.send("hi")
            assert chat.kwargs["conversation_id"] is None

    run(main())


def test_unknown_conversation_fails_before_the_session_opens() -> None:
    from todo_cli.errors import NotFoundError
    from todo_cli.repl import run_repl

    with pytest.raises(NotFoundError, match="No conversation 'nope'"):
        run_repl(conversation_id="nope")


def test_enter_on_a_chosen_completion_takes_it(key: None) -> None:
    async def main() -> None:
        async with session([]) as d:
            await d.idle()
            buffer = d.repl.session.default_buffer
            d.pipe.send_text("/provider g")  # the menu offers groq and gemini
            await d.wait_for(lambda: buffer.complete_state is not None)
            d.pipe.send_text("\t")  # Tab picks the first
            await d.wait_for(lambda: buffer.text == "/provider groq")
            d.pipe.send_text("\r")  # takes the completion, does not send yet
            await d.wait_for(lambda: buffer.complete_state is None)
            assert d.repl.provider_name == "openrouter"
            out = await d.send("")  # Enter again sends "/provider groq"
            assert "Provider: groq" in out

    run(main())


def test_ctrl_c_at_the_key_question_cancels_only_the_command(key: None) -> None:
    async def main() -> None:
        async with session([]) as d:
            await d.send("/key", wait=False)
            await d.wait_for(
                lambda: (
                    d.repl._confirm_session is not None and d.repl._confirm_session.app.is_running
                )
            )
            d.pipe.send_text("\x03")
            await d.idle()
            assert "Cancelled." in d.out
            out = await d.send("/help")
            assert "/tasks" in out

    run(main())


def test_task_filter_words() -> None:
    from todo_cli.slash import parse_task_filters

    assert parse_task_filters("done #home @work high buy milk") == {
        "status": "done",
        "tag": "home",
        "project": "work",
        "priority": "high",
        "text": "buy milk",
    }
    assert parse_task_filters("all today overdue +x") == {
        "status": None,
        "due_today": True,
        "overdue": True,
        "tag": "x",
    }


def test_slash_task_commands_with_the_real_store(key: None) -> None:
    async def main() -> None:
        async with session([]) as d:
            await d.send("/add Buy milk")
            await d.send("/add Call mom")
            await d.send("/done 1")
            assert d.repl.stats is not None and d.repl.stats["open"] == 1
            out = await d.send("/tasks")
            assert "Call mom" in out and "Buy milk" not in out
            out = await d.send("/tasks done")
            assert "Buy milk" in out and "Call mom" not in out
            out = await d.send("/tasks all mom")
            assert "Call mom" in out and "Buy milk" not in out
            out = await d.send("/undo")
            assert "Buy milk" in out and "done → pending" in out
            out = await d.send("/done x")
            assert "Error: 'x' is not a task id." in out

    run(main())


def test_slash_edge_cases(key: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from todo_cli.slash import SlashCommands

    def broken(self: SlashCommands, args: str) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(SlashCommands, "cmd_usage", broken)

    async def main() -> None:
        async with session([]) as d:
            out = await d.send("/")
            assert "/tasks" in out  # a lone slash shows the help
            out = await d.send("/usage")
            assert "Error: /usage failed: disk on fire" in out
            d.repl.idle.clear()
            d.pipe.send_text("/add\x1b\rMulti word title\r")  # arguments on the next line
            await d.idle()
            assert "+ #1 Multi word title" in d.out

    run(main())


def test_error_line_matches_the_cli_format() -> None:
    from todo_cli.errors import NotFoundError
    from todo_cli.repl import _error_text

    err = NotFoundError("No task #42", hint="Run `todo tasks list --all` to see task ids.")
    assert _error_text(err).plain == (
        "Error: No task #42. Run `todo tasks list --all` to see task ids."
    )
