"""GET /v1/tasks/{id}/events: Server-Sent Events, replay and resume."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from skilld.engine.executor import EventSink, FunctionExecutor, Outcome
from skilld.engine.task import SkillTask
from tests.gateway.conftest import RunWorker


def parse_frames(text: str) -> list[dict[str, str]]:
    """SSE frames as dicts of their fields (comments and ``retry`` lines dropped)."""
    frames = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if "event" in fields:
            frames.append(fields)
    return frames


async def finished_task(client: httpx.AsyncClient, run_worker: RunWorker) -> str:
    async def report(task: SkillTask, events: EventSink) -> Outcome:
        await events("progress", {"done": 1, "total": 2})
        await events("tool_use", {"name": "Read", "input": {"file_path": "a.md"}})
        return Outcome(output="ok")

    async with run_worker(FunctionExecutor(report)):
        response = await client.post("/v1/tasks", params={"wait": 10}, json={"skill": "greet"})
    assert response.json()["status"] == "succeeded"
    return str(response.json()["id"])


async def test_replays_every_event_of_a_finished_task_then_ends(
    client: httpx.AsyncClient, run_worker: RunWorker
) -> None:
    task_id = await finished_task(client, run_worker)

    response = await client.get(f"/v1/tasks/{task_id}/events")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = parse_frames(response.text)
    assert [f["event"] for f in frames] == ["queued", "started", "progress", "tool_use", "finished"]
    assert [int(f["id"]) for f in frames] == [1, 2, 3, 4, 5]
    progress = json.loads(frames[2]["data"])
    assert progress["task_id"] == task_id
    assert progress["data"] == {"done": 1, "total": 2}
    assert json.loads(frames[-1]["data"])["data"]["status"] == "succeeded"


@pytest.mark.parametrize("how", ["header", "query"])
async def test_resumes_after_the_last_event_id(
    client: httpx.AsyncClient, run_worker: RunWorker, how: str
) -> None:
    task_id = await finished_task(client, run_worker)

    if how == "header":
        response = await client.get(f"/v1/tasks/{task_id}/events", headers={"Last-Event-ID": "3"})
    else:
        response = await client.get(f"/v1/tasks/{task_id}/events", params={"after": 3})

    frames = parse_frames(response.text)
    assert [(f["id"], f["event"]) for f in frames] == [("4", "tool_use"), ("5", "finished")]


async def test_bad_last_event_id_is_a_422_problem(client: httpx.AsyncClient) -> None:
    task_id = (await client.post("/v1/tasks", json={"skill": "greet"})).json()["id"]

    response = await client.get(f"/v1/tasks/{task_id}/events", headers={"Last-Event-ID": "x"})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "header.Last-Event-ID"


async def test_events_of_unknown_task_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/tasks/nope/events")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_follows_a_live_task_over_a_real_socket(live_url: str, run_worker: RunWorker) -> None:
    """Open the stream while the task is queued; events arrive as the worker runs it."""
    release = asyncio.Event()

    async def gated(task: SkillTask, events: EventSink) -> Outcome:
        await events("progress", {"step": "waiting"})
        await release.wait()
        return Outcome(output="done")

    seen: list[tuple[int, str]] = []
    async with httpx.AsyncClient(base_url=live_url) as http:
        task_id = (await http.post("/v1/tasks", json={"skill": "greet"})).json()["id"]
        async with (
            run_worker(FunctionExecutor(gated)),
            asyncio.timeout(20),
            http.stream("GET", f"/v1/tasks/{task_id}/events") as stream,
        ):
            event = ""
            async for line in stream.aiter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("id: "):
                    seen_id = int(line.removeprefix("id: "))
                elif line.startswith("data: "):
                    seen.append((seen_id, event))
                    if event == "progress":
                        release.set()  # only now may the task finish
    assert [e for _, e in seen] == ["queued", "started", "progress", "finished"]
    assert [i for i, _ in seen] == [1, 2, 3, 4]


async def test_resuming_after_the_last_event_of_a_finished_task_ends_at_once(
    client: httpx.AsyncClient, run_worker: RunWorker
) -> None:
    task_id = await finished_task(client, run_worker)

    response = await client.get(f"/v1/tasks/{task_id}/events", headers={"Last-Event-ID": "5"})

    assert response.status_code == 200
    assert parse_frames(response.text) == []
