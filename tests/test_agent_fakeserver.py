"""The offline test kit itself: the fake server speaks like OpenRouter."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import fakeserver
import pytest
from fakeserver import FakeServer

fake_server = fakeserver.fake_server

HERE = Path(__file__).resolve().parent


class _Resp:
    def __init__(self, status: int, text: str, headers: dict[str, str]) -> None:
        self.status_code, self.text, self.headers = status, text, headers

    def json(self):
        return json.loads(self.text)


def _http(method: str, url: str, body: object = None) -> _Resp:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return _Resp(r.status, r.read().decode(), {k.lower(): v for k, v in r.headers.items()})
    except urllib.error.HTTPError as e:
        return _Resp(e.code, e.read().decode(), {k.lower(): v for k, v in e.headers.items()})


def _events(text: str) -> list[str]:
    return [e for e in text.split("\n\n") if e.strip()]


def test_stream_shape_is_openrouter_like(fake_server: FakeServer) -> None:
    fake_server.add_reasoning_text("Let me think", "Hi there", cost=0.002)
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    r = _http("POST", f"{fake_server.url}/chat/completions", body)
    events = _events(r.text)
    assert events[0] == ": OPENROUTER PROCESSING"
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e[len("data: ") :]) for e in events[1:-1]]
    assert all("provider" in c and "native_finish_reason" in c["choices"][0] for c in chunks)
    assert any(c["choices"][0]["delta"].get("reasoning") for c in chunks)
    assert any(c["choices"][0]["delta"].get("reasoning_details") for c in chunks)
    finish = [i for i, c in enumerate(chunks) if c["choices"][0]["finish_reason"]]
    usage = [i for i, c in enumerate(chunks) if c.get("usage")]
    assert finish and usage and usage[0] > finish[0]
    assert chunks[usage[0]]["usage"]["cost"] == 0.002
    assert fake_server.chat_requests[0].body["messages"][0]["content"] == "hi"


def test_tool_call_arguments_split_and_id_on_first_delta_only(fake_server: FakeServer) -> None:
    fake_server.add_tool_call(
        "add_tasks", {"tasks": [{"title": "Buy milk", "due": "tomorrow"}]}, call_id="c1"
    )
    r = _http("POST", f"{fake_server.url}/chat/completions", {"stream": True})
    chunks = [json.loads(e[6:]) for e in _events(r.text)[1:-1]]
    deltas = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert deltas[0]["id"] == "c1" and deltas[0]["function"]["name"] == "add_tasks"
    assert all("id" not in d for d in deltas[1:])
    assert len(deltas) >= 3
    args = "".join(d["function"]["arguments"] for d in deltas)
    assert json.loads(args) == {"tasks": [{"title": "Buy milk", "due": "tomorrow"}]}


def test_errors_non_stream_models_and_key(fake_server: FakeServer) -> None:
    fake_server.add_error(429, headers={"Retry-After": "3"})
    fake_server.add_text("plain")
    r = _http("POST", f"{fake_server.url}/chat/completions", {"stream": True})
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert r.json()["error"]["code"] == 429
    r = _http("POST", f"{fake_server.url}/chat/completions", {"stream": False})
    assert r.json()["choices"][0]["message"]["content"] == "plain"
    assert _http("GET", f"{fake_server.url}/models").json()["data"][0]["id"]
    assert "data" in _http("GET", f"{fake_server.url}/key").json()
    # An exhausted script is a loud 500, never a silent success.
    assert _http("POST", f"{fake_server.url}/chat/completions", {}).status_code == 500
    assert [r.method for r in fake_server.requests] == ["POST", "POST", "GET", "GET", "POST"]


def test_openai_client_reads_stream_error_chunk(fake_server: FakeServer) -> None:
    import openai

    fake_server.add_stream_error("Partial", {"code": 502, "message": "Upstream died"})
    client = openai.OpenAI(base_url=fake_server.url, api_key="k", max_retries=0)
    seen = []
    with pytest.raises(openai.APIError, match="Upstream died"):
        for chunk in client.chat.completions.create(model="m", messages=[], stream=True):
            seen.append(chunk.choices[0].delta.content or "")
    assert "".join(seen) == "Partial"


def test_runs_as_a_process_with_a_script(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"type": "text", "text": "From a script"}]))
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "fakeserver.py"), "--port", "0", "--script", str(script)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("URL http://127.0.0.1:")
        url = line.split(" ", 1)[1]
        r = _http("POST", f"{url}/chat/completions", {"stream": False})
        assert r.json()["choices"][0]["message"]["content"] == "From a script"
    finally:
        proc.terminate()
        proc.wait(5)
