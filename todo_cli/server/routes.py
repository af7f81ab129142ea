"""The endpoints under ``/api/{user_id}``: chat (JSON and server-sent events),
conversations, tasks and undo.

Authentication and user scoping already happened in ``auth.ApiGuard``: a handler only runs
for the token's own user, whose id it reads from ``request.state.user``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Security
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from ..errors import NotFoundError, ProviderError, TodoError
from .auth import error_body
from .scoping import ServerConfig, open_user_store, user_conversation, user_conversations
from .turns import TurnRecord, TurnRunner, provider_status, sse

_bearer = HTTPBearer(auto_error=False, description="A token from `todo serve token add USER`.")


def current_user(
    request: Request,
    user_id: Annotated[str, Path(description="Whose task list and conversations.")],
) -> str:
    """The authenticated user (``ApiGuard`` checked that it is the one in the path)."""
    return str(request.state.user)


User = Annotated[str, Depends(current_user)]
router = APIRouter(prefix="/api/{user_id}", dependencies=[Security(_bearer)])


def _config(request: Request) -> ServerConfig:
    return request.app.state.config  # type: ignore[no-any-return]


def _runner(request: Request) -> TurnRunner:
    return request.app.state.runner  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- models


class ChatRequest(BaseModel):
    """The seed's request: ``conversation_id`` null starts a conversation."""

    conversation_id: StrictStr | None = None
    message: StrictStr = Field(description="What the user says to the agent.")
    confirm: StrictBool = Field(
        False, description="Allow deletes and bulk completes in this turn (like `--yes`)."
    )


class ToolCallOut(BaseModel):
    tool: str
    arguments: dict[str, Any]
    result: Any
    ok: bool


class ApprovalOut(BaseModel):
    tool: str
    arguments: dict[str, Any]
    description: str
    approved: bool


class UsageOut(BaseModel):
    input_tokens: int
    output_tokens: int
    cost: float | None


class ChatResponse(BaseModel):
    conversation_id: str
    response: str
    tool_calls: list[ToolCallOut]
    approvals: list[ApprovalOut]
    usage: UsageOut
    model: str | None
    notices: list[str]


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: StrictStr
    notes: StrictStr | None = None
    priority: StrictStr | None = Field(None, description="none, low, medium or high")
    due: StrictStr | None = Field(None, description='"tomorrow 5pm", "2026-12-01", ...')
    tags: list[StrictStr] = []
    project: StrictStr | None = None


class TaskPatch(BaseModel):
    """Only the fields given change; ``due``/``project``/``notes`` null clears them."""

    model_config = ConfigDict(extra="forbid")

    title: StrictStr | None = None
    notes: StrictStr | None = None
    priority: StrictStr | None = None
    due: StrictStr | None = None
    tags: list[StrictStr] | None = Field(None, description="Replaces every tag.")
    add_tags: list[StrictStr] | None = None
    remove_tags: list[StrictStr] | None = None
    project: StrictStr | None = None
    status: StrictStr | None = Field(None, description="pending or done")


# --------------------------------------------------------------------------- chat


@router.post("/chat", response_model=ChatResponse, tags=["chat"])
async def chat(body: ChatRequest, request: Request, user: User) -> Any:
    """One turn with the agent; the answer with its tool calls, held-back approvals,
    usage and the model that answered."""
    runner = _runner(request)
    message = runner.check(user, body.conversation_id, body.message)
    record = TurnRecord(body.confirm)
    try:
        async for event in runner.turn(user, body.conversation_id, message, confirm=body.confirm):
            record.add(event)
    except ProviderError as exc:
        return _provider_error(exc, record)
    return record.result()


@router.post(
    "/chat/stream",
    tags=["chat"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def chat_stream(body: ChatRequest, request: Request, user: User) -> Any:
    """The same turn as server-sent events: ``start`` (conversation id), ``text`` deltas,
    ``tool_call``, ``tool_result``, ``approval``, ``notice``, then ``done`` with the whole
    answer (as ``/chat`` returns it) or ``error``."""
    runner = _runner(request)
    message = runner.check(user, body.conversation_id, body.message)
    record = TurnRecord(body.confirm)

    gone = asyncio.Event()  # set when the client disconnects: the turn stops
    events = runner.turn(user, body.conversation_id, message, confirm=body.confirm, stop=gone)
    first = record.add(await anext(events))  # NotFoundError (404) before the stream starts

    async def stream() -> AsyncIterator[bytes]:
        watcher = asyncio.create_task(_watch_disconnect(request, gone))
        try:
            if first is not None:
                yield sse(*first)
            async for event in events:
                item = record.add(event)
                if item is not None and not gone.is_set():
                    yield sse(*item)
        except ProviderError as exc:
            status, _ = provider_status(exc)
            yield sse("error", {**_provider_body(exc, record), "status": status})
            return
        except TodoError as exc:
            yield sse("error", {**error_body("error", exc.message, exc.hint), "status": 500})
            return
        finally:
            watcher.cancel()
        if not gone.is_set():
            yield sse("done", record.result())

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _watch_disconnect(request: Request, gone: asyncio.Event) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


def _provider_body(exc: ProviderError, record: TurnRecord) -> dict[str, Any]:
    return error_body(
        "provider_error",
        exc.message,
        exc.hint,
        conversation_id=record.conversation_id,
        partial_response="".join(record.text),
        tool_calls=record.tool_calls,
    )


def _provider_error(exc: ProviderError, record: TurnRecord) -> JSONResponse:
    status, headers = provider_status(exc)
    return JSONResponse(_provider_body(exc, record), status_code=status, headers=headers)


# --------------------------------------------------------------------------- conversations


@router.get("/conversations", tags=["conversations"])
def conversations_list(
    request: Request,
    user: User,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """The user's conversations, the most recently active first."""
    found = user_conversations(_config(request), user, limit)
    return {"conversations": [_conversation(c) for c in found]}


@router.get("/conversations/{conversation_id}", tags=["conversations"])
def conversation_get(conversation_id: str, request: Request, user: User) -> dict[str, Any]:
    """One conversation with its user and assistant messages, oldest first."""
    config = _config(request)
    info = user_conversation(config, user, conversation_id)
    messages = config.conversations().messages(conversation_id)
    return {
        **_conversation(info),
        "messages": [{"role": role, "text": text} for role, text in messages],
    }


def _conversation(info: Any) -> dict[str, Any]:
    return {
        "id": info.id,
        "title": info.title,
        "turns": info.turns,
        "created_at": info.created_at,
        "updated_at": info.updated_at,
    }


# --------------------------------------------------------------------------- tasks


def _store(request: Request, user: str) -> Any:
    return open_user_store(_config(request), user)


@router.get("/tasks", tags=["tasks"])
def tasks_list(
    request: Request,
    user: User,
    status: Annotated[str, Query(description="pending, done or all")] = "pending",
    priority: str | None = None,
    tag: str | None = None,
    project: str | None = None,
    due_before: Annotated[str | None, Query(description='e.g. "friday"')] = None,
    due_after: str | None = None,
    overdue: bool = False,
    today: bool = False,
    q: Annotated[str | None, Query(description="full-text search")] = None,
    sort: Annotated[str, Query(description="due, priority, created or id")] = "due",
    limit: Annotated[int | None, Query(ge=0)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The user's tasks with the filters of `todo tasks list`; ``total`` counts every
    match (``limit``/``offset`` page through them)."""
    from ..store import TaskQuery

    query = TaskQuery(
        status=status,
        priority=priority,
        tag=tag,
        project=project,
        due_before=due_before,
        due_after=due_after,
        overdue=overdue,
        due_today=today,
        text=q,
        sort=sort,
        limit=limit or None,
        offset=offset,
    )
    store = _store(request, user)
    try:
        tasks = store.query(query)
        total = store.count(query)
    finally:
        store.close()
    return {"tasks": [t.to_dict() for t in tasks], "total": total}


@router.post("/tasks", status_code=201, tags=["tasks"])
def task_add(body: TaskIn, request: Request, user: User) -> dict[str, Any]:
    """Add a task (due dates in words, as in `todo tasks add`)."""
    store = _store(request, user)
    try:
        with store.group(f"api: add '{body.title.strip()[:60]}'"):
            task = store.add(
                body.title,
                notes=body.notes,
                priority=body.priority or "none",
                due=body.due,
                tags=body.tags,
                project=body.project,
            )
    finally:
        store.close()
    return task.to_dict()  # type: ignore[no-any-return]


@router.get("/tasks/{task_id}", tags=["tasks"])
def task_get(task_id: int, request: Request, user: User) -> dict[str, Any]:
    """One task."""
    store = _store(request, user)
    try:
        return store.get(task_id).to_dict()  # type: ignore[no-any-return]
    finally:
        store.close()


@router.patch("/tasks/{task_id}", tags=["tasks"])
def task_update(task_id: int, body: TaskPatch, request: Request, user: User) -> dict[str, Any]:
    """Change the fields given; the task as it is now."""
    fields = {name: getattr(body, name) for name in body.model_fields_set}
    for name in ("title", "priority", "status", "tags", "add_tags", "remove_tags"):
        if name in fields and fields[name] is None:
            from ..errors import UsageError

            raise UsageError(f"'{name}' cannot be null.", hint="Leave it out to keep it.")
    store = _store(request, user)
    try:
        with store.group(f"api: edit #{task_id}"):
            task = store.update(task_id, **fields) if fields else store.get(task_id)
    finally:
        store.close()
    return task.to_dict()  # type: ignore[no-any-return]


@router.delete("/tasks/{task_id}", tags=["tasks"])
def task_delete(task_id: int, request: Request, user: User) -> dict[str, Any]:
    """Delete a task (POST /undo brings it back); the task as it was."""
    store = _store(request, user)
    try:
        with store.group(f"api: delete #{task_id}"):
            (task,) = store.delete([task_id])
    finally:
        store.close()
    return {"deleted": task.to_dict()}


@router.post("/undo", tags=["tasks"])
def undo(request: Request, user: User) -> dict[str, Any]:
    """Take back the user's last change group: one API call, or one whole chat turn."""
    store = _store(request, user)
    try:
        try:
            result = store.undo()
        except NotFoundError:
            raise
        except TodoError as exc:
            return JSONResponse(  # type: ignore[return-value]
                error_body("conflict", exc.message, exc.hint), status_code=409
            )
    finally:
        store.close()
    return {
        "undone": result.label,
        "changes": [
            {
                "before": c.before.to_dict() if c.before else None,
                "after": c.after.to_dict() if c.after else None,
            }
            for c in result.changes
        ],
    }
