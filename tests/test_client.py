"""skilld.Client and skilld.SyncClient against a real gateway and worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from skilld.client import Client, SyncClient
from skilld.engine.brokers import Broker, open_broker
from skilld.engine.executor import EventSink, FunctionExecutor, Outcome, SkillExecutor
from skilld.engine.stores import Store, open_store
from skilld.engine.task import SkillTask, TaskStatus
from skilld.engine.worker import Worker
from skilld.exceptions import GatewayError, SkillNotFoundError, TaskNotFoundError
from skilld.gateway import GatewayConfig, create_app
from skilld.skills.registry import SkillRegistry
from tests.gateway.conftest import serving
from tests.helpers import write_skill

TOKEN = "client-test-token"


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[Broker, Store, SkillRegistry]]:
    write_skill(tmp_path / "skills", "greet", "description: Greets.", "Hello, $ARGUMENTS!\n")
    (tmp_path / "work").mkdir()
    registry = SkillRegistry(
        tmp_path / "work", add_dirs=[tmp_path / "skills"], include_packages=False
    )
    async with open_broker("memory://") as broker, open_store("memory://") as store:
        yield broker, store, registry


@pytest.fixture
def app(parts: tuple[Broker, Store, SkillRegistry]) -> FastAPI:
    broker, store, registry = parts
    config = GatewayConfig.with_tokens([TOKEN])
    return create_app(broker=broker, store=store, registry=registry, config=config)


@pytest.fixture
async def worker(parts: tuple[Broker, Store, SkillRegistry]) -> AsyncIterator[Worker]:
    broker, store, registry = parts
    async with Worker(
        broker, store, SkillExecutor(registry), concurrency=4, heartbeat_s=0
    ) as running:
        yield running


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[Client]:
    async with Client(
        "http://gateway", token=TOKEN, transport=httpx.ASGITransport(app=app)
    ) as opened:
        yield opened


async def test_submit_and_wait(client: Client, worker: Worker) -> None:
    queued = await client.submit("greet", ["Ada", "Lovelace"])
    result = await client.wait(queued.id, timeout=10)

    assert queued.status is TaskStatus.QUEUED
    assert result.status is TaskStatus.SUCCEEDED
    assert result.output.endswith("Hello, Ada Lovelace!\n")
    assert (await client.get(queued.id)) == result


async def test_submit_with_wait_returns_the_result(client: Client, worker: Worker) -> None:
    result = await client.submit("greet", "Bo", wait=10)

    assert result.status is TaskStatus.SUCCEEDED
    assert result.output.endswith("Hello, Bo!\n")


async def test_wait_with_a_timeout_returns_the_current_state(client: Client) -> None:
    queued = await client.submit("greet")

    result = await client.wait(queued.id, timeout=0.05)

    assert result.status is TaskStatus.QUEUED


async def test_idempotency_key(client: Client) -> None:
    first = await client.submit("greet", idempotency_key="k1")
    second = await client.submit("greet", idempotency_key="k1")

    assert first.id == second.id


async def test_cancel(client: Client) -> None:
    queued = await client.submit("greet")

    cancelled = await client.cancel(queued.id)

    assert cancelled.status is TaskStatus.CANCELLED


async def test_skills(client: Client) -> None:
    assert [s["name"] for s in await client.skills()] == ["greet"]
    assert (await client.skill("greet"))["description"] == "Greets."


async def test_errors_are_the_libraries_own(client: Client) -> None:
    with pytest.raises(TaskNotFoundError, match="nope"):
        await client.get("nope")
    with pytest.raises(SkillNotFoundError, match="Unknown skill: nope"):
        await client.skill("nope")
    with pytest.raises(GatewayError) as caught:
        await client.submit("greet", priority=99)
    assert caught.value.status == 422
    assert caught.value.problem["errors"][0]["field"] == "body.priority"


async def test_a_wrong_token_raises_401(app: FastAPI) -> None:
    async with Client("http://g", token="wrong", transport=httpx.ASGITransport(app=app)) as bad:
        with pytest.raises(GatewayError) as caught:
            await bad.skills()
    assert caught.value.status == 401


async def test_events_follow_a_live_task_and_resume(
    app: FastAPI, parts: tuple[Broker, Store, SkillRegistry]
) -> None:
    broker, store, _ = parts

    async def report(task: SkillTask, events: EventSink) -> Outcome:
        await events("progress", {"done": 1})
        return Outcome(output="ok")

    async with serving(app) as url, Client(url, token=TOKEN) as client:
        queued = await client.submit("greet")
        worker = Worker(broker, store, FunctionExecutor(report), concurrency=2, heartbeat_s=0)
        async with worker, asyncio.timeout(20):
            types = [(e.offset, e.type) async for e in client.events(queued.id)]
            resumed = [e.type async for e in client.events(queued.id, last_event_id=2)]

    assert types == [(1, "queued"), (2, "started"), (3, "progress"), (4, "finished")]
    assert resumed == ["progress", "finished"]


async def test_sync_client_over_a_real_socket(app: FastAPI, worker: Worker) -> None:
    async with serving(app) as url:

        def use() -> tuple[str, str, list[str], list[str]]:
            with SyncClient(url, token=TOKEN) as client:
                submitted = client.submit("greet", "Cy", wait=10)
                again = client.wait(submitted.id, timeout=5)
                events = [e.type for e in client.events(submitted.id)]
                names = [s["name"] for s in client.skills()]
                with pytest.raises(TaskNotFoundError):
                    client.get("nope")
                return submitted.status.value, again.output, events, names

        status, output, events, names = await asyncio.to_thread(use)

    assert status == "succeeded"
    assert output.endswith("Hello, Cy!\n")
    assert events == ["queued", "started", "finished"]
    assert names == ["greet"]


async def test_many_requests_at_once_share_small_pools(app: FastAPI, worker: Worker) -> None:
    async with serving(app) as url, Client(url, token=TOKEN, max_connections=8) as client:
        results = await asyncio.gather(
            *(client.submit("greet", str(i), wait=10) for i in range(40))
        )
        pools = len(client._pools)

    assert {r.status for r in results} == {TaskStatus.SUCCEEDED}
    assert len({r.id for r in results}) == 40
    assert pools == 2  # 8 connections, 4 a pool


def test_https_pools_share_one_tls_context() -> None:
    client = Client("https://gateway.invalid", max_connections=8)
    first, second = client._http, client._http

    assert first is not second
    assert client._ssl is not None
    asyncio.run(client.aclose())


async def test_events_resume_across_a_server_restart(
    app: FastAPI, parts: tuple[Broker, Store, SkillRegistry]
) -> None:
    """The stream breaks when the server stops; the client reconnects to the next one and
    resumes after the last event it saw, missing none and repeating none."""
    broker, store, _ = parts
    async with serving(app) as url, Client(url, token=TOKEN) as submitter:
        queued = await submitter.submit("greet")
    port = int(url.rsplit(":", 1)[-1])

    async with Client(url, token=TOKEN) as client:
        stream = client.events(queued.id)
        async with serving(app, port=port):
            first = await anext(stream)
        # The server is gone now; the next one listens on the same port.
        async with (
            serving(app, port=port),
            Worker(broker, store, FunctionExecutor(lambda task: "ok"), heartbeat_s=0),
            asyncio.timeout(20),
        ):
            rest = [event async for event in stream]

    assert [(e.offset, e.type) for e in [first, *rest]] == [
        (1, "queued"),
        (2, "started"),
        (3, "finished"),
    ]


async def test_events_give_up_when_the_server_stays_away(app: FastAPI) -> None:
    async with serving(app) as url, Client(url, token=TOKEN) as submitter:
        queued = await submitter.submit("greet")

    async with Client(url, token=TOKEN) as client:
        with pytest.raises(httpx.ConnectError):
            await anext(client.events(queued.id, reconnect=False))
