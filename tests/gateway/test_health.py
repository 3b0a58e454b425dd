"""Liveness and readiness probes."""

from __future__ import annotations

import httpx
import pytest

from skilld.engine.brokers.memory import MemoryBroker
from skilld.engine.stores import Store
from skilld.exceptions import BackendUnavailableError
from skilld.gateway import create_app


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_queue(client: httpx.AsyncClient) -> None:
    await client.post("/v1/tasks", json={"skill": "greet"})
    await client.post("/v1/tasks", json={"skill": "greet"})

    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "queue_depth": 2, "workers": 0}


@pytest.mark.parametrize("backend", ["memory"])
async def test_readyz_is_503_when_the_broker_does_not_answer(store: Store) -> None:
    class Down(MemoryBroker):
        async def _depth(self) -> int:
            raise BackendUnavailableError("connection refused")

    app = create_app(broker=Down(), store=store)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as http:
        response = await http.get("/readyz")
        alive = await http.get("/healthz")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "connection refused" in response.json()["detail"]
    assert alive.status_code == 200
