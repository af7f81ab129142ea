"""`todo serve` and `todo serve token ...` driven as a user would."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import fakeserver
import pytest
from conftest import TODO_EXE
from fakeserver import FakeServer
from helpers import invoke_cli
from server_helpers import todo_model

fake_server = fakeserver.fake_server
README = Path(__file__).resolve().parents[1] / "README.md"


def test_token_add_prints_it_once_and_stores_only_its_hash(todo_home: Path) -> None:
    out = invoke_cli("serve", "token", "add", "Alice", "--label", "phone")
    assert out.code == 0, out.stderr
    token = out.stdout.strip()
    assert re.fullmatch(r"todo_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", token)
    token_id = token.split("_")[1]
    assert f"Token {token_id} for user 'alice'" in out.stderr
    path = todo_home / "data" / "server_tokens.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert token not in text and token.split("_", 2)[2] not in text
    assert hashlib.sha256(token.encode()).hexdigest() in text
    listed = invoke_cli("serve", "token", "list")
    assert token_id in listed.stdout and "alice" in listed.stdout and "phone" in listed.stdout
    assert token not in listed.stdout + listed.stderr
    rows = json.loads(invoke_cli("serve", "token", "list", "--json").stdout)
    assert rows == [
        {"id": token_id, "user": "alice", "created_at": rows[0]["created_at"], "label": "phone"}
    ]
    gone = invoke_cli("serve", "token", "revoke", token_id)
    assert gone.code == 0 and f"Revoked token {token_id} of user 'alice'." in gone.stdout
    assert json.loads(invoke_cli("serve", "token", "list", "--json").stdout) == []
    again = invoke_cli("serve", "token", "revoke", token_id)
    assert again.code == 3 and f"No token '{token_id}'." in again.stderr


def test_token_add_refuses_a_bad_user_id() -> None:
    for bad in ("bad user", "_x", "a/b", "é", "x" * 65):
        out = invoke_cli("serve", "token", "add", bad)
        assert out.code == 2, bad
        assert "is not a valid user id" in out.stderr


def test_serve_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("fastapi", "uvicorn") else real(name, *a),
    )
    out = invoke_cli("serve")
    assert out.code == 1
    assert out.stderr.strip().splitlines() == [
        "Error: `todo serve` needs fastapi and uvicorn, which are not installed. Install them "
        "with `pip install 'todo-cli[server]'` (or `uv sync` in a clone)."
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _readme_curl() -> str:
    """The seed's curl command exactly as the README shows it."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```sh\n(TOKEN=.*?curl .*?/api/alice/chat.*?)```", text, re.DOTALL)
    assert block, "the README has no curl example for /api/alice/chat"
    return "\n".join(line for line in block[1].splitlines() if not line.startswith("TOKEN="))


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_newcomer_starts_the_server_adds_a_token_and_runs_the_readme_curl(
    fake_server: FakeServer, todo_env: dict[str, str]
) -> None:
    fake_server.responder = todo_model
    key = "sk-or-v1-secret-key-never-logged"
    env = {**todo_env, "OPENROUTER_BASE_URL": fake_server.url, "OPENROUTER_API_KEY": key}
    token = subprocess.run(
        [*TODO_EXE, "serve", "token", "add", "alice"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    port = _free_port()
    server = subprocess.Popen(
        [*TODO_EXE, "serve", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        curl = _readme_curl().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            probe = subprocess.run(
                [
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    f"http://127.0.0.1:{port}/health",
                ],
                capture_output=True,
                text=True,
            )
            if probe.stdout == "200":
                break
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "todo serve did not start"
            time.sleep(0.2)
        run = subprocess.run(
            ["bash", "-c", curl], env={**env, "TOKEN": token}, capture_output=True, text=True
        )
        out = json.loads(run.stdout)
        assert out["tool_calls"][0]["tool"] == "add_tasks"
        assert out["tool_calls"][0]["arguments"] == {
            "tasks": [{"title": "a task to test OpenRouter"}]
        }
        assert out["conversation_id"] and out["response"]
        listed = subprocess.run(
            [*TODO_EXE, "tasks", "--list", "alice", "list", "--json"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert [t["title"] for t in json.loads(listed.stdout)] == ["a task to test OpenRouter"]
        denied = subprocess.run(
            ["bash", "-c", curl.replace("$TOKEN", "todo_00000000_wrong")],
            capture_output=True,
            text=True,
        )
        assert json.loads(denied.stdout)["error"]["code"] == "unauthorized"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            out_log, err_log = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            out_log, err_log = server.communicate()
    log = out_log + err_log
    assert "POST /api/alice/chat" in log  # the access log is on ...
    secret = token.split("_", 2)[2]  # the secret itself may contain "_"
    assert token not in log and secret not in log  # ... and never shows secrets
    assert key not in log
    assert os.environ.get("OPENROUTER_API_KEY") is None
