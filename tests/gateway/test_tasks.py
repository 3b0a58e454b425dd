"""POST/GET/DELETE /v1/tasks through the real ASGI app and engine parts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec
import pytest

from skilld.engine.executor import FunctionExecutor, Outcome
from skilld.engine.stores import Store
from skilld.engine.task import SkillTask
from tests.gateway.conftest import RunWorker

PROBLEM = "application/problem+json"


async def test_submit_answers_202_with_the_queued_task(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/tasks", json={"skill": "greet", "args": "Ada"})

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["skill"] == "greet"
    assert response.headers["location"] == f"/v1/tasks/{body['id']}"
    again = await client.get(f"/v1/tasks/{body['id']}")
    assert again.status_code == 200
    assert again.json()["status"] == "queued"


async def test_submit_without_wait_answers_what_the_store_recorded_without_reading_it(
    client: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real_get = store.get

    async def counting_get(task_id: str) -> Any:
        reads.append(task_id)
        return await real_get(task_id)

    monkeypatch.setattr(store, "get", counting_get)
    response = await client.post("/v1/tasks", json={"skill": "greet", "args": "Ada"})
    assert response.status_code == 202
    assert reads == []  # the answer is built from the task itself: no round trip
    monkeypatch.undo()
    recorded = await store.get(response.json()["id"])
    assert recorded is not None
    assert response.json() == msgspec.to_builtins(recorded)


async def test_wait_returns_201_with_the_result_when_ready(
    client: httpx.AsyncClient, run_worker: RunWorker
) -> None:
    async with run_worker():
        response = await client.post(
            "/v1/tasks", params={"wait": 10}, json={"skill": "greet", "args": "Ada"}
        )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["output"].endswith("\n\nHello, Ada!\n")
    assert body["attempts"] == 1


async def test_wait_that_runs_out_answers_202_with_the_current_state(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/tasks", params={"wait": 0.05}, json={"skill": "greet"})

    assert response.status_code == 202
    assert response.json()["status"] == "queued"


async def test_get_with_wait_returns_the_final_result(
    client: httpx.AsyncClient, run_worker: RunWorker
) -> None:
    task_id = (await client.post("/v1/tasks", json={"skill": "greet", "args": "Bo"})).json()["id"]
    async with run_worker():
        response = await client.get(f"/v1/tasks/{task_id}", params={"wait": 10})

    assert response.json()["status"] == "succeeded"
    assert response.json()["output"].endswith("Hello, Bo!\n")


async def test_args_may_be_a_list_joined_with_shell_quoting(
    client: httpx.AsyncClient, run_worker: RunWorker
) -> None:
    async with run_worker():
        response = await client.post(
            "/v1/tasks", params={"wait": 10}, json={"skill": "greet", "args": ["Ada", "the cat"]}
        )

    assert response.json()["output"].endswith("Hello, Ada 'the cat'!\n")


async def test_mode_defaults_to_the_skills_own_context(
    client: httpx.AsyncClient, run_worker: RunWorker
) -> None:
    seen: list[SkillTask] = []

    def record(task: SkillTask) -> str:
        seen.append(task)
        return task.mode

    async with run_worker(FunctionExecutor(record)):
        fork = await client.post("/v1/tasks", params={"wait": 10}, json={"skill": "summarize"})
        inline = await client.post(
            "/v1/tasks", params={"wait": 10}, json={"skill": "summarize", "mode": "inline"}
        )

    assert fork.json()["output"] == "fork"
    assert inline.json()["output"] == "inline"


async def test_same_idempotency_key_shares_one_task(
    client: httpx.AsyncClient, store: Store
) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = await client.post("/v1/tasks", json={"skill": "greet"}, headers=headers)
    second = await client.post("/v1/tasks", json={"skill": "greet"}, headers=headers)
    other_tenant = await client.post(
        "/v1/tasks", json={"skill": "greet", "tenant": "acme"}, headers=headers
    )

    assert first.json()["id"] == second.json()["id"]
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert other_tenant.json()["id"] != first.json()["id"]


async def test_idempotency_key_in_header_and_body_must_agree(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/tasks",
        json={"skill": "greet", "idempotency_key": "a"},
        headers={"Idempotency-Key": "b"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "header.Idempotency-Key"


async def test_unknown_task_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/tasks/nope")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:skilld:problem:task-not-found"
    assert "nope" in problem["detail"]


@pytest.mark.parametrize(
    ("body", "status", "field", "says"),
    [
        (b'{"skill": "greet",', 400, "body", "not valid JSON"),
        (b"", 400, "body", "empty"),
        (b"[1, 2]", 422, "body", "Expected `object`"),
        (b'{"args": "x"}', 422, "body.skill", "missing required field `skill`"),
        (b'{"skill": "greet", "priority": "high"}', 422, "body.priority", "Expected `int"),
        (b'{"skill": "greet", "priority": 42}', 422, "body.priority", "<= 9"),
        (b'{"skill": "greet", "timeout_s": 0}', 422, "body.timeout_s", "> 0"),
        (
            b'{"skill": "greet", "mode": "remote"}',
            422,
            "body.mode",
            "expected one of: 'inline', 'fork'",
        ),
        (b'{"skill": "greet", "prority": 1}', 422, "body.prority", "unknown field `prority`"),
        (b'{"skill": "gret"}', 422, "body.skill", "Did you mean greet?"),
        (
            b'{"skill": "greet", "skill_version": "sha256:0"}',
            422,
            "body.skill_version",
            "not sha256:0",
        ),
    ],
)
async def test_bad_bodies_get_a_problem_naming_the_field(
    client: httpx.AsyncClient, body: bytes, status: int, field: str, says: str
) -> None:
    response = await client.post(
        "/v1/tasks", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status
    assert says in problem["detail"]
    assert problem["errors"][0]["field"] == field


async def test_nothing_is_queued_for_a_bad_body(client: httpx.AsyncClient, broker: Any) -> None:
    await client.post("/v1/tasks", json={"skill": "greet", "priority": 99})

    assert await broker.depth() == 0


async def test_bad_query_parameter_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/tasks", params={"wait": "-1"}, json={"skill": "greet"})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "query.wait"


async def test_cancel_a_queued_task_at_once(client: httpx.AsyncClient) -> None:
    task_id = (await client.post("/v1/tasks", json={"skill": "greet"})).json()["id"]

    response = await client.delete(f"/v1/tasks/{task_id}")
    again = await client.delete(f"/v1/tasks/{task_id}")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert again.status_code == 200
    assert (await client.get(f"/v1/tasks/{task_id}")).json()["status"] == "cancelled"


async def test_a_cancelled_queued_task_never_runs(
    client: httpx.AsyncClient, run_worker: RunWorker
) -> None:
    ran: list[str] = []
    task_id = (await client.post("/v1/tasks", json={"skill": "greet"})).json()["id"]
    await client.delete(f"/v1/tasks/{task_id}")
    marker = (await client.post("/v1/tasks", json={"skill": "greet"})).json()["id"]

    async with run_worker(FunctionExecutor(lambda task: ran.append(task.id))):
        await client.get(f"/v1/tasks/{marker}", params={"wait": 10})

    assert ran == [marker]


async def test_cancel_a_running_task_stops_it(
    client: httpx.AsyncClient, run_worker: RunWorker
) -> None:
    started = asyncio.Event()

    async def forever(task: SkillTask) -> Outcome:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("not reached")

    async with run_worker(FunctionExecutor(forever)):
        task_id = (await client.post("/v1/tasks", json={"skill": "greet"})).json()["id"]
        async with asyncio.timeout(10):
            await started.wait()
        response = await client.delete(f"/v1/tasks/{task_id}")
        final = await client.get(f"/v1/tasks/{task_id}", params={"wait": 10})

    assert response.status_code in (200, 202)
    assert final.json()["status"] == "cancelled"


async def test_cancel_a_finished_task_is_a_409(
    client: httpx.AsyncClient, run_worker: RunWorker
) -> None:
    async with run_worker():
        done = await client.post("/v1/tasks", params={"wait": 10}, json={"skill": "greet"})

    response = await client.delete(f"/v1/tasks/{done.json()['id']}")

    assert response.status_code == 409
    assert "already finished (succeeded)" in response.json()["detail"]


async def test_cancel_unknown_task_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/tasks/nope")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


async def test_a_task_may_pin_the_current_version(
    client: httpx.AsyncClient, run_worker: RunWorker
) -> None:
    version = (await client.get("/v1/skills/greet")).json()["version"]

    async with run_worker():
        response = await client.post(
            "/v1/tasks", params={"wait": 10}, json={"skill": "greet", "skill_version": version}
        )

    assert response.json()["status"] == "succeeded"
    assert response.json()["skill_version"] == version
