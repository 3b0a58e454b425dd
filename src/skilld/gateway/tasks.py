"""The tasks API: submit, look up, wait for, follow and cancel skill executions."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response, StreamingResponse

from skilld.engine import operations
from skilld.engine.brokers.base import Broker
from skilld.engine.stores.base import Store, cancelled_result
from skilld.engine.task import TaskResult, TaskStatus, encode
from skilld.exceptions import TaskNotFoundError
from skilld.gateway.config import GatewayConfig
from skilld.gateway.problems import Problem, problem_responses
from skilld.gateway.registry import SkillCatalog, find_skill
from skilld.gateway.schemas import parse_task_request, ref
from skilld.gateway.sse import EVENT_STREAM, follow_events, replay_events
from skilld.skills.model import Skill

if TYPE_CHECKING:
    from skilld.engine.cache import SkillCache

__all__ = ["tasks_router"]

_JSON = "application/json"
_WaitQuery = Annotated[
    float | None,
    Query(
        ge=0,
        description=(
            "Wait up to this many seconds for the task to finish before answering "
            "(at most the server's limit, 300 s by default)."
        ),
    ),
]


def _result_response(result: TaskResult, status: int, **headers: str) -> Response:
    return Response(encode(result), status_code=status, media_type=_JSON, headers=headers)


def _result_doc(description: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": ref("TaskResult")}}}


def tasks_router(
    *,
    broker: Broker,
    store: Store,
    registry: SkillCatalog | None,
    config: GatewayConfig,
    stopping: asyncio.Event,
    skill_cache: SkillCache | None = None,
) -> APIRouter:
    """The ``/v1/tasks`` routes over one broker and store.

    With a ``registry`` and a ``skill_cache``, each accepted task runs the version of
    its skill the gateway has now: the definition is published to the cache under its
    version hash and the task pins that version (unless the client pinned it already),
    so a worker whose copy differs, or that has none, runs the submitted one.
    """
    router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

    async def wait_for(task_id: str, wait: float | None) -> TaskResult | None:
        current = await store.get(task_id)
        if current is None or current.terminal or not wait:
            return current
        finished = await store.wait(task_id, min(wait, config.max_wait_s))
        return finished if finished is not None else await store.get(task_id)

    async def known(task_id: str) -> TaskResult:
        result = await store.get(task_id)
        if result is None:
            raise TaskNotFoundError(task_id)
        return result

    @router.post(
        "",
        summary="Submit a task",
        description=(
            "Queue one execution of a skill. Answers 202 with the task's state, or 201 with "
            "its final result when `wait` is given and the task finishes in time. The same "
            "`Idempotency-Key` (per tenant) returns the first task instead of queueing "
            "another; such answers carry `Idempotent-Replayed: true`."
        ),
        status_code=202,
        responses={
            201: _result_doc("The task finished within `wait`: its final result."),
            202: _result_doc("The task is queued or running: its current state."),
            **problem_responses(400, 401, 413, 422, 503),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {_JSON: {"schema": ref("TaskRequest")}},
            }
        },
    )
    async def submit_task(
        request: Request,
        wait: _WaitQuery = None,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                max_length=256,
                description="Submissions with the same key (per tenant) share one execution.",
            ),
        ] = None,
    ) -> Response:
        body = await request.body()
        # An unknown skill is refused here (422, with close names), not dead-lettered later.
        found: list[Skill] = []

        def lookup(name: str) -> Skill:
            assert registry is not None
            skill = find_skill(registry, name)
            found.append(skill)
            return skill

        task = parse_task_request(
            body, idempotency_key=idempotency_key, find_skill=None if registry is None else lookup
        )
        if skill_cache is not None and found:
            version = await skill_cache.publish(found[0])
            if version is not None and task.skill_version is None:
                task = msgspec.structs.replace(task, skill_version=version)
        submission = await operations.submit(broker, store, task)
        if submission.created and not wait:
            # The store has just recorded exactly this: no round trip to read it back.
            result: TaskResult | None = TaskResult.queued(task)
        else:
            result = await wait_for(submission.task_id, wait)
        if result is None:  # only when the store lost the record meanwhile
            raise TaskNotFoundError(submission.task_id)
        headers = {"Location": f"/v1/tasks/{submission.task_id}"}
        if not submission.created:
            headers["Idempotent-Replayed"] = "true"
        return _result_response(result, 201 if result.terminal else 202, **headers)

    @router.get(
        "/{task_id}",
        summary="Get a task's state or result",
        responses={
            200: _result_doc("The task's state, or its final result."),
            **problem_responses(401, 404, 422),
        },
        response_class=Response,
    )
    async def get_task(task_id: str, wait: _WaitQuery = None) -> Response:
        result = await wait_for(task_id, wait)
        if result is None:
            raise TaskNotFoundError(task_id)
        return _result_response(result, 200)

    @router.delete(
        "/{task_id}",
        summary="Cancel a task",
        description=(
            "A queued task is cancelled at once (200). A running one is stopped by its "
            "worker (202: follow it with GET or the event stream). A finished task cannot "
            "be cancelled (409); cancelling a cancelled task is harmless (200)."
        ),
        responses={
            200: _result_doc("The task is cancelled."),
            202: _result_doc("Cancellation requested; the worker running it will stop it."),
            **problem_responses(401, 404, 409),
        },
        response_class=Response,
    )
    async def cancel_task(task_id: str) -> Response:
        current = await known(task_id)
        if current.terminal:
            if current.status is TaskStatus.CANCELLED:
                return _result_response(current, 200)
            raise Problem(
                409,
                f"Task {task_id} already finished ({current.status.value}); "
                "it cannot be cancelled.",
                kind="task-finished",
            )
        # Flag first, so a worker that claims the task from now on sees the flag.
        await operations.cancel(store, task_id)
        if current.status is TaskStatus.QUEUED:
            # Nobody runs it: record the cancellation now rather than when (if ever) a
            # worker fetches it; a worker that claims it later finds it finished.
            await store.finish(cancelled_result(current, task_id, time.time()))
        result = await known(task_id)
        return _result_response(result, 200 if result.terminal else 202)

    @router.get(
        "/{task_id}/events",
        summary="Follow a task's events (Server-Sent Events)",
        description=(
            "Events `queued`, `started`, `progress`, `tool_use`, `retrying`, `deferred` and "
            "`finished`, each with its offset as the SSE `id` and the event as JSON `data`. "
            "Reconnect with `Last-Event-ID` (or `?after=`) to resume after that event. "
            "The stream ends after `finished`."
        ),
        responses={
            200: {
                "description": "A text/event-stream of TaskEvent objects.",
                "content": {
                    EVENT_STREAM: {
                        "schema": {"type": "string"},
                        "example": 'id: 1\nevent: queued\ndata: {"task_id":"…","offset":1}\n\n',
                    }
                },
            },
            **problem_responses(401, 404, 422),
        },
        response_class=StreamingResponse,
    )
    async def task_events(
        task_id: str,
        after: Annotated[
            int | None, Query(ge=0, description="Resume after this event offset.")
        ] = None,
        last_event_id: Annotated[
            str | None,
            Header(alias="Last-Event-ID", description="Set by SSE clients on reconnect."),
        ] = None,
    ) -> StreamingResponse:
        current = await known(task_id)
        start = after if after is not None else _parse_last_event_id(last_event_id)
        # A finished task's events are all written: replay them and end (even when the
        # client resumes after the last one), rather than follow a stream that is over.
        stream = (
            replay_events(store, task_id, start)
            if current.terminal
            else follow_events(store, task_id, start, config.sse_keepalive_s, stopping)
        )
        return StreamingResponse(
            stream,
            media_type=EVENT_STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


def _parse_last_event_id(value: str | None) -> int:
    if value is None or not value.strip():
        return 0
    try:
        offset = int(value.strip())
    except ValueError:
        raise Problem(
            422,
            f"Last-Event-ID must be an event offset (a whole number), not {value!r}.",
            kind="invalid-request",
            errors=[{"field": "header.Last-Event-ID", "message": "not an integer"}],
        ) from None
    if offset < 0:
        raise Problem(
            422,
            "Last-Event-ID cannot be negative.",
            kind="invalid-request",
            errors=[{"field": "header.Last-Event-ID", "message": "negative"}],
        )
    return offset
