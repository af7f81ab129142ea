"""`todo serve`: a real uvicorn server on 127.0.0.1 driven over HTTP with httpx, the model
behind it the fake OpenAI-compatible server (tests/fakeserver.py) over real HTTP too."""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fakeserver
import helpers
import pytest
from fakeserver import FakeServer
from server_helpers import FakeModelProcess, LiveServer, sse_events, todo_model

httpx = pytest.importorskip("httpx", reason="the dev group installs httpx")
pytest.importorskip("fastapi", reason="the dev group installs the server extra")
pytest.importorskip("uvicorn", reason="the dev group installs the server extra")

fake_server = fakeserver.fake_server
no_internet = fakeserver.no_internet
server = helpers.openrouter_server

SEED = {"conversation_id": None, "message": "Add a task to test OpenRouter"}


@pytest.fixture(autouse=True)
def _offline(no_internet):
    return no_internet


@dataclass
class Api:
    url: str
    tokens: dict[str, str]
    fake: FakeServer
    live: LiveServer

    def client(self, user: str | None = None, token: str | None = None) -> httpx.Client:
        headers = {}
        token = token or (self.tokens[user] if user else None)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=20)


def start_api(_model: Any, **limits: Any) -> tuple[LiveServer, dict[str, str]]:
    """The server (on the settings of the environment, which point at ``_model``) with
    tokens for alice and bob."""
    from todo_cli.config import load_settings
    from todo_cli.server.scoping import ServerConfig
    from todo_cli.server.tokens import TokenStore, tokens_path

    store = TokenStore(tokens_path())
    tokens = {user: store.add(user)[1] for user in ("alice", "bob")}
    live = LiveServer(ServerConfig(load_settings(), **limits)).start()
    return live, tokens


@pytest.fixture
def api(server: FakeServer) -> Iterator[Api]:
    server.responder = todo_model
    live, tokens = start_api(server)
    try:
        yield Api(live.url, tokens, server, live)
    finally:
        live.stop()


def chat(client: httpx.Client, user: str, message: str, **body: Any) -> httpx.Response:
    return client.post(f"/api/{user}/chat", json={"message": message, **body})


# --------------------------------------------------------------------------- chat


def test_the_seed_request_adds_a_task_and_answers_in_the_seed_shape(api: Api) -> None:
    with api.client("alice") as c:
        r = c.post("/api/alice/chat", json=SEED)
        assert r.status_code == 200, r.text
        out = r.json()
        assert set(out) >= {
            "conversation_id",
            "response",
            "tool_calls",
            "approvals",
            "usage",
            "model",
        }
        assert out["conversation_id"]
        (call,) = out["tool_calls"]
        assert call["tool"] == "add_tasks"
        assert call["arguments"] == {"tasks": [{"title": "a task to test OpenRouter"}]}
        assert call["ok"] is True and "error" not in call["result"]
        assert out["approvals"] == []
        assert out["model"] == fakeserver.DEFAULT_MODEL
        assert out["usage"]["input_tokens"] > 0
        assert "a task to test OpenRouter" in out["response"]
        tasks = c.get("/api/alice/tasks").json()
        assert [t["title"] for t in tasks["tasks"]] == ["a task to test OpenRouter"]
        # The same conversation goes on, and its history is stored in order.
        r2 = chat(c, "alice", "hello again", conversation_id=out["conversation_id"])
        assert r2.status_code == 200 and r2.json()["response"] == "You said: hello again"
        convo = c.get(f"/api/alice/conversations/{out['conversation_id']}").json()
        assert [(m["role"], m["text"]) for m in convo["messages"]] == [
            ("user", "Add a task to test OpenRouter"),
            ("assistant", out["response"]),
            ("user", "hello again"),
            ("assistant", "You said: hello again"),
        ]
        listed = c.get("/api/alice/conversations").json()["conversations"]
        assert [(x["id"], x["turns"]) for x in listed] == [(out["conversation_id"], 2)]
    # The model saw the history of the conversation on the second turn.
    second = api.fake.chat_requests[-1].messages
    assert any(
        m.get("role") == "user" and "test OpenRouter" in str(m.get("content")) for m in second
    )


def test_an_unknown_conversation_is_404_and_nothing_runs(api: Api) -> None:
    with api.client("alice") as c:
        r = chat(c, "alice", "hi", conversation_id="deadbeef")
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "No conversation 'deadbeef'."
    assert api.fake.chat_requests == []


def test_stream_sends_deltas_tool_calls_and_the_whole_answer_at_the_end(api: Api) -> None:
    with api.client("alice") as c:
        r = c.post("/api/alice/chat/stream", json={"message": "add water the plants"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.text)
        names = [name for name, _ in events]
        assert names[0] == "start" and names[-1] == "done"
        assert names.index("tool_call") < names.index("tool_result") < names.index("text")
        text = "".join(d["text"] for n, d in events if n == "text")
        done = events[-1][1]
        assert done["response"] == text
        assert done["conversation_id"] == events[0][1]["conversation_id"]
        assert done["tool_calls"][0]["tool"] == "add_tasks"
        assert done["usage"]["output_tokens"] > 0
        tasks = c.get("/api/alice/tasks").json()["tasks"]
        assert [t["title"] for t in tasks] == ["water the plants"]


def test_deletes_are_held_back_without_confirm_and_run_with_it(api: Api) -> None:
    with api.client("alice") as c:
        task = c.post("/api/alice/tasks", json={"title": "Old thing"}).json()
        r = chat(c, "alice", f"delete #{task['id']}")
        assert r.status_code == 200, r.text
        out = r.json()
        (held,) = out["approvals"]
        assert held["tool"] == "delete_tasks" and held["approved"] is False
        assert f"#{task['id']} Old thing" in held["description"]
        assert out["tool_calls"][0]["ok"] is False
        assert c.get(f"/api/alice/tasks/{task['id']}").status_code == 200  # still there
        # The model was told it was not done, and how the user can allow it.
        told = api.fake.chat_requests[-1].messages[-1]
        assert told["role"] == "tool" and "Not done" in told["content"]
        assert '"confirm": true' in json.loads(told["content"])["error"]
        r = chat(c, "alice", f"delete #{task['id']}", confirm=True)
        out = r.json()
        assert out["approvals"][0]["approved"] is True and out["tool_calls"][0]["ok"] is True
        assert c.get(f"/api/alice/tasks/{task['id']}").status_code == 404


# --------------------------------------------------------------------------- tasks


def test_task_routes_add_list_filter_edit_delete_and_undo(api: Api) -> None:
    with api.client("alice") as c:
        a = c.post(
            "/api/alice/tasks",
            json={"title": "Buy milk", "due": "tomorrow", "priority": "high", "tags": ["errand"]},
        )
        assert a.status_code == 201, a.text
        milk = a.json()
        assert milk["due"] and milk["priority"] == "high" and milk["tags"] == ["errand"]
        rent = c.post("/api/alice/tasks", json={"title": "Pay rent", "project": "home"}).json()
        listed = c.get("/api/alice/tasks").json()
        assert [t["title"] for t in listed["tasks"]] == ["Buy milk", "Pay rent"]
        assert listed["total"] == 2
        assert [t["id"] for t in c.get("/api/alice/tasks?tag=errand").json()["tasks"]] == [
            milk["id"]
        ]
        assert [t["id"] for t in c.get("/api/alice/tasks?project=home").json()["tasks"]] == [
            rent["id"]
        ]
        assert c.get("/api/alice/tasks?priority=high&limit=1").json()["total"] == 1
        assert [t["id"] for t in c.get("/api/alice/tasks?q=rent").json()["tasks"]] == [rent["id"]]
        assert c.get("/api/alice/tasks?due_before=in 3 days").json()["total"] == 1
        p = c.patch(f"/api/alice/tasks/{rent['id']}", json={"status": "done", "due": "friday"})
        assert p.status_code == 200 and p.json()["status"] == "done"
        assert c.get("/api/alice/tasks").json()["total"] == 1
        assert c.get("/api/alice/tasks?status=all").json()["total"] == 2
        assert c.patch(f"/api/alice/tasks/{rent['id']}", json={"due": None}).json()["due"] is None
        d = c.delete(f"/api/alice/tasks/{milk['id']}")
        assert d.status_code == 200 and d.json()["deleted"]["title"] == "Buy milk"
        u = c.post("/api/alice/undo")
        assert u.status_code == 200 and u.json()["changes"][0]["after"]["title"] == "Buy milk"
        assert c.get(f"/api/alice/tasks/{milk['id']}").status_code == 200
        missing = c.get("/api/alice/tasks/424242")
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == "No task #424242"
        bad = c.post("/api/alice/tasks", json={"title": "x", "due": "the day after never"})
        assert bad.status_code == 422 and "never" in bad.json()["error"]["message"]
        assert (
            c.post("/api/alice/tasks", json={"title": "x", "priority": "urgent"}).status_code == 422
        )


def test_the_users_list_is_the_store_list_of_the_same_name(api: Api) -> None:
    from todo_cli.config import load_settings
    from todo_cli.store import TaskStore

    with api.client("alice") as c:
        c.post("/api/alice/tasks", json={"title": "From the web"})
    with TaskStore.open(load_settings(), list_name="alice") as store:
        assert [t.title for t in store.query()] == ["From the web"]
        change = store.last_change()
        assert change is not None and change.origin is not None
        assert (change.origin.source, change.origin.ref) == ("server", "alice")
    with TaskStore.open(load_settings()) as store:
        assert store.query() == []  # the CLI's default list is untouched


# --------------------------------------------------------------------------- auth


def test_no_token_or_an_unknown_token_is_401(api: Api) -> None:
    for client in (api.client(), api.client(token="todo_00000000_" + "x" * 43)):
        with client as c:
            r = c.get("/api/alice/tasks")
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == "Bearer"
            assert "todo serve token add" in r.json()["error"]["hint"]
            assert c.post("/api/alice/chat", content=b"{not json").status_code == 401
    with httpx.Client(base_url=api.url, headers={"Authorization": "Basic abc"}) as c:
        assert c.get("/api/alice/tasks").status_code == 401


def test_a_revoked_token_stops_working_on_the_next_request(api: Api) -> None:
    from todo_cli.server.tokens import TokenStore, tokens_path

    store = TokenStore(tokens_path())
    info, token = store.add("carol")
    with api.client(token=token) as c:
        assert c.get("/api/carol/tasks").status_code == 200
        store.revoke(info.id)
        assert c.get("/api/carol/tasks").status_code == 401


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/tasks", None),
    ("GET", "/tasks?status=all", None),
    ("POST", "/tasks", {"title": "intruder"}),
    ("GET", "/tasks/{task}", None),
    ("PATCH", "/tasks/{task}", {"title": "taken over"}),
    ("DELETE", "/tasks/{task}", None),
    ("POST", "/undo", None),
    ("POST", "/chat", {"message": "add intruder", "conversation_id": "{convo}"}),
    ("POST", "/chat", {"message": "add intruder", "conversation_id": None}),
    ("POST", "/chat/stream", {"message": "add intruder", "conversation_id": "{convo}"}),
    ("GET", "/conversations", None),
    ("GET", "/conversations/{convo}", None),
    ("GET", "/no/such/route", None),
]


def _bob_state(c: httpx.Client, convo: str) -> Any:
    return (
        c.get("/api/bob/tasks?status=all").json(),
        c.get("/api/bob/conversations").json(),
        c.get(f"/api/bob/conversations/{convo}").json(),
    )


def test_one_users_token_is_refused_on_every_route_of_another_user(api: Api) -> None:
    with api.client("bob") as bob:
        first = chat(bob, "bob", "add Bob's secret").json()
        convo = first["conversation_id"]
        task = bob.get("/api/bob/tasks").json()["tasks"][0]["id"]
        before = _bob_state(bob, convo)
        requests_before = len(api.fake.chat_requests)
        with api.client("alice") as alice:
            answers = {}
            for method, path, body in ROUTES:
                path = path.format(task=task, convo=convo)
                if isinstance(body, dict) and body.get("conversation_id") == "{convo}":
                    body = {**body, "conversation_id": convo}
                for target in ("bob", "nobody", "BOB"):
                    r = alice.request(method, f"/api/{target}{path}", json=body)
                    assert r.status_code == 403, (method, target, path, r.text)
                    answers.setdefault(r.text, []).append((method, target, path))
            # The same answer whether the other user exists or not: no hint either way.
            assert len(answers) == 1
            # Alice's own id cannot reach Bob's task or conversation either.
            assert alice.get(f"/api/alice/tasks/{task}").status_code == 404
            assert alice.patch(f"/api/alice/tasks/{task}", json={"title": "x"}).status_code == 404
            assert alice.delete(f"/api/alice/tasks/{task}").status_code == 404
            assert alice.get(f"/api/alice/conversations/{convo}").status_code == 404
            r = chat(alice, "alice", "add intruder", conversation_id=convo)
            assert r.status_code == 404
            assert alice.get("/api/alice/conversations").json() == {"conversations": []}
            assert alice.post("/api/alice/undo").status_code == 404  # Bob's add is not hers
        assert _bob_state(bob, convo) == before
        assert len(api.fake.chat_requests) == requests_before


# --------------------------------------------------------------------------- bad input


BAD_BODIES: list[tuple[bytes | Any, str]] = [
    (b"{not json", "not valid JSON"),
    (b"", "missing"),
    ([1, 2], "valid dictionary"),
    ({}, "'message' is missing"),
    ({"message": 5}, "'message'"),
    ({"message": "hi", "confirm": "yes"}, "'confirm'"),
    ({"message": "hi", "conversation_id": 7}, "'conversation_id'"),
    ({"message": "   "}, "The message is empty."),
    ({"message": "x" * 9000}, "the limit is 8000"),
]


@pytest.mark.parametrize("route", ["/chat", "/chat/stream"])
def test_malformed_chat_bodies_are_4xx_json_and_write_nothing(api: Api, route: str) -> None:
    with api.client("alice") as c:
        for body, expected in BAD_BODIES:
            if isinstance(body, bytes):
                r = c.post(
                    f"/api/alice{route}", content=body, headers={"content-type": "application/json"}
                )
            else:
                r = c.post(f"/api/alice{route}", json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.headers["content-type"] == "application/json"
            assert expected in r.json()["error"]["message"], r.json()
        huge = c.post(f"/api/alice{route}", json={"message": "x" * 100_000})
        assert huge.status_code == 413
        assert "larger than 65536 bytes" in huge.json()["error"]["message"]
        assert c.get("/api/alice/conversations").json() == {"conversations": []}
    assert api.fake.chat_requests == []


def test_malformed_task_bodies_are_422_and_write_nothing(api: Api) -> None:
    with api.client("alice") as c:
        task = c.post("/api/alice/tasks", json={"title": "Keep me"}).json()
        for body in (
            {"title": 5},
            {"tittle": "typo"},
            {"title": "x", "tags": "home"},
            {},
            {"title": " "},
        ):
            r = c.post("/api/alice/tasks", json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.json()["error"]["message"]
        for body in ({"title": None}, {"status": "finished"}, {"priority": 3}, {"colour": "red"}):
            r = c.patch(f"/api/alice/tasks/{task['id']}", json=body)
            assert r.status_code == 422, (body, r.text)
        assert c.get("/api/alice/tasks/abc").status_code == 422
        assert c.get("/api/alice/tasks?limit=-1").status_code == 422
        assert c.get("/api/alice/tasks?sort=colour").status_code == 422
        tasks = c.get("/api/alice/tasks?status=all").json()["tasks"]
        assert [(t["title"], t["updated_at"]) for t in tasks] == [("Keep me", task["updated_at"])]


# --------------------------------------------------------------------------- limits


def test_the_rate_limit_is_per_user_and_says_when_to_retry(server: FakeServer) -> None:
    live, tokens = start_api(server, rate_per_minute=3)
    try:
        with httpx.Client(
            base_url=live.url, headers={"Authorization": f"Bearer {tokens['alice']}"}
        ) as c:
            assert [c.get("/api/alice/tasks").status_code for _ in range(3)] == [200] * 3
            r = c.get("/api/alice/tasks")
            assert r.status_code == 429
            assert int(r.headers["retry-after"]) >= 1
            assert r.json()["error"]["code"] == "rate_limited"
        with httpx.Client(
            base_url=live.url, headers={"Authorization": f"Bearer {tokens['bob']}"}
        ) as c:
            assert c.get("/api/bob/tasks").status_code == 200
    finally:
        live.stop()


def test_two_turns_on_one_conversation_never_interleave(api: Api) -> None:
    import concurrent.futures

    with api.client("alice") as c:
        convo = chat(c, "alice", "first").json()["conversation_id"]
    slow = todo_model

    def slow_model(rec: Any) -> Any:
        answer = slow(rec)
        if answer is not None:
            answer.delay = 0.02  # between chunks: the turns overlap in time
        return answer

    api.fake.responder = slow_model

    def turn(n: int) -> int:
        with api.client("alice") as c:
            return chat(c, "alice", f"add job {n}", conversation_id=convo).status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(turn, range(4)))
    assert codes == [200] * 4
    with api.client("alice") as c:
        messages = c.get(f"/api/alice/conversations/{convo}").json()["messages"]
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant"] * 5
    for user_msg, answer in zip(messages[2::2], messages[3::2], strict=True):
        title = user_msg["text"].removeprefix("add ")
        assert title in answer["text"]  # each answer follows its own question


# --------------------------------------------------------------------------- provider errors


def _daily_limit() -> dict[str, Any]:
    return {
        "error": {
            "code": 429,
            "message": "Rate limit exceeded: free-models-per-day. "
            "Add 10 credits to unlock 1000 free model requests per day",
        }
    }


@pytest.mark.parametrize(
    ("script", "status", "start"),
    [
        (lambda s: s.add_error(429, _daily_limit()), 429, "Daily free-model limit reached"),
        (lambda s: (s.add_error(500), s.add_error(500)), 502, "OpenRouter had a server error"),
        (lambda s: s.add_error(401), 502, "OpenRouter rejected the API key"),
        (lambda s: s.add_text("late", first_delay=3), 504, "OpenRouter did not answer in time"),
    ],
    ids=["daily-limit", "server-error", "bad-key", "timeout"],
)
def test_provider_failures_are_json_errors_with_the_cli_messages(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, script: Any, status: int, start: str
) -> None:
    monkeypatch.setenv("TODO_TIMEOUT", "1")
    script(server)
    live, tokens = start_api(server)
    try:
        with httpx.Client(
            base_url=live.url, headers={"Authorization": f"Bearer {tokens['alice']}"}, timeout=30
        ) as c:
            r = c.post("/api/alice/chat", json={"message": "hi"})
            assert r.status_code == status, r.text
            err = r.json()["error"]
            assert err["code"] == "provider_error"
            assert err["message"].startswith(start), err
            assert err["hint"]
            if status == 429:
                assert int(r.headers["retry-after"]) >= 1
            s = c.post("/api/alice/chat/stream", json={"message": "hi"})
            events = sse_events(s.text)
            assert events[-1][0] == "error"
    finally:
        live.stop()


def test_a_server_without_a_provider_key_answers_503(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, tokens = start_api(fake_server)
    try:
        with httpx.Client(
            base_url=live.url, headers={"Authorization": f"Bearer {tokens['alice']}"}
        ) as c:
            r = c.post("/api/alice/chat", json={"message": "hi"})
            assert r.status_code == 503
            assert "OPENROUTER_API_KEY" in r.json()["error"]["hint"]
            assert c.get("/api/alice/tasks").status_code == 200  # the rest still works
    finally:
        live.stop()


def test_a_stream_error_keeps_the_partial_answer(api: Api) -> None:
    api.fake.responder = None
    api.fake.add_stream_error("Half an ans", {"code": 502, "message": "Upstream died"})
    with api.client("alice") as c:
        r = c.post("/api/alice/chat/stream", json={"message": "hi"})
    events = sse_events(r.text)
    assert events[-1][0] == "error"
    err = events[-1][1]
    assert err["status"] == 502 and err["error"]["message"].startswith("The answer stopped")
    assert err["error"]["partial_response"] == "Half an ans"


# --------------------------------------------------------------------------- load


@pytest.fixture
def loaded_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server with the fake model in its own process (so that, under load, the model
    does not compete with the server for this interpreter's lock)."""
    fake = FakeModelProcess()
    try:
        helpers.point_openrouter_at(monkeypatch, fake.url, timeout="60")
        live, _ = start_api(fake, rate_per_minute=0)
        try:
            yield live.url
        finally:
            live.stop()
    finally:
        fake.stop()


def _health_on(sock: socket.socket) -> bytes:
    """GET /health on an open connection: the status line of the answer, b"" when the
    server had closed the connection."""
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return b""
            data += chunk
    except ConnectionError:
        return b""
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length: *(\d+)", head)[1])  # type: ignore[index]
    while len(body) < length:
        body += sock.recv(4096)
    return head.split(b"\r\n", 1)[0]


@pytest.mark.timeout(300)  # several seconds on an idle 2-core machine; far more when busy
def test_fifty_users_at_once_each_with_turns_sent_together(loaded_api: str) -> None:
    """Bounded loopback load: 50 users at once, each a first turn and then two more sent
    together on the same conversation (the server runs them one after the other). No
    errors, no lost or crossed tasks, every history in question/answer pairs. A connection
    left idle meanwhile is still served afterwards: the server keeps idle connections
    longer than clients keep theirs (httpx: 5 s), so a client never sends a request on a
    connection the server is closing (that failed requests with httpx.ReadError)."""
    import asyncio

    users = [f"user{n:02d}" for n in range(50)]
    from todo_cli.server.tokens import TokenStore, tokens_path

    store = TokenStore(tokens_path())
    tokens = {u: store.add(u)[1] for u in users}
    idle = socket.create_connection(("127.0.0.1", int(loaded_api.rsplit(":", 1)[1])))
    assert _health_on(idle) == b"HTTP/1.1 200 OK"
    idle_since = time.monotonic()

    async def one_user(user: str, tls: ssl.SSLContext) -> list[str]:
        # A client of its own, as each user has: one pool shared by 50 users' requests
        # spends more CPU choosing connections (httpcore scans the pool) than the server.
        async with httpx.AsyncClient(base_url=loaded_api, timeout=60, verify=tls) as client:
            return await user_turns(client, user)

    async def user_turns(client: httpx.AsyncClient, user: str) -> list[str]:
        headers = {"Authorization": f"Bearer {tokens[user]}"}
        errors = []

        async def turn(n: int, convo: str | None) -> str | None:
            r = await client.post(
                f"/api/{user}/chat",
                json={"conversation_id": convo, "message": f"add {user} job {n}"},
                headers=headers,
            )
            if r.status_code != 200:
                errors.append(f"{user} turn {n}: {r.status_code} {r.text}")
                return None
            return str(r.json()["conversation_id"])

        convo = await turn(0, None)
        if convo is None:
            return errors
        await asyncio.gather(turn(1, convo), turn(2, convo))
        r = await client.get(f"/api/{user}/tasks?status=all&sort=id", headers=headers)
        titles = [t["title"] for t in r.json()["tasks"]]
        jobs = [f"{user} job {n}" for n in range(3)]
        if titles[:1] != jobs[:1] or sorted(titles[1:]) != jobs[1:]:
            errors.append(f"{user} tasks: {titles}")
        r = await client.get(f"/api/{user}/conversations/{convo}", headers=headers)
        messages = r.json()["messages"]
        if [m["role"] for m in messages] != ["user", "assistant"] * 3:
            errors.append(f"{user} history: {messages}")
        for question, answer in zip(messages[::2], messages[1::2], strict=False):
            if question["text"].removeprefix("add ") not in answer["text"]:
                errors.append(f"{user}: {answer['text']!r} answers {question['text']!r}")
        if sorted(m["text"] for m in messages[::2]) != [f"add {job}" for job in jobs]:
            errors.append(f"{user} history: {messages}")
        return errors

    async def run() -> list[str]:
        tls = ssl.create_default_context()  # made once: plain HTTP here, but every client wants one
        results = await asyncio.gather(*(one_user(u, tls) for u in users))
        return [e for errs in results for e in errs]

    assert asyncio.run(run()) == []
    # Idle for longer than a client keeps a connection: the server has not closed it.
    time.sleep(max(0.0, idle_since + httpx.Limits().keepalive_expiry + 1 - time.monotonic()))
    with idle:
        assert _health_on(idle) == b"HTTP/1.1 200 OK"


def test_a_client_that_leaves_a_stream_stops_its_turn_and_frees_the_user(api: Api) -> None:
    def slow_model(rec: Any) -> Any:
        answer = todo_model(rec)
        if answer is not None:
            answer.delay = 0.3  # between chunks: the client leaves in the middle
        return answer

    api.fake.responder = slow_model
    with api.client("alice") as c:
        with c.stream(
            "POST", "/api/alice/chat/stream", json={"message": "tell me a long story"}
        ) as r:
            lines = r.iter_lines()
            assert next(lines) == "event: start"
            convo = json.loads(next(lines).removeprefix("data: "))["conversation_id"]
        # Gone. The user's next turn runs at once on a history the provider accepts.
        api.fake.responder = todo_model
        r = chat(c, "alice", "add after the break", conversation_id=convo)
        assert r.status_code == 200, r.text
        assert "after the break" in r.json()["response"]
        said = [
            m["text"]
            for m in c.get(f"/api/alice/conversations/{convo}").json()["messages"]
            if m["role"] == "user"
        ]
        assert said == ["tell me a long story", "add after the break"]
