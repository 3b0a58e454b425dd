"""Every error is application/problem+json, including the framework's own."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from skilld.engine.brokers.memory import MemoryBroker
from skilld.engine.stores import Store
from skilld.exceptions import BackendUnavailableError
from skilld.gateway import create_app

PROBLEM = "application/problem+json"


@pytest.fixture
def backend() -> str:
    return "memory"


async def test_unknown_route(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/nothing")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "No route for GET /v2/nothing"


async def test_wrong_method(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/tasks")

    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert "PUT" in response.json()["detail"]


async def test_problem_fields(client: httpx.AsyncClient) -> None:
    problem = (await client.get("/v1/tasks/missing")).json()

    assert set(problem) >= {"type", "title", "status", "detail", "instance"}
    assert problem["title"] == "Not Found"
    assert problem["instance"] == "/v1/tasks/missing"


class BrokenBroker(MemoryBroker):
    """A broker whose every publish fails as an unreachable server's would."""

    async def _publish(self, messages: object) -> None:
        raise BackendUnavailableError("connection refused")


async def test_unreachable_backend_is_a_503_problem(store: Store) -> None:
    app: FastAPI = create_app(broker=BrokenBroker(), store=store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        response = await http.post("/v1/tasks", json={"skill": "greet"})

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "5"
    assert "connection refused" in response.json()["detail"]


async def test_unexpected_error_is_a_500_problem_without_details(store: Store) -> None:
    class Exploding(MemoryBroker):
        async def _publish(self, messages: object) -> None:
            raise RuntimeError("secret internals")

    app = create_app(broker=Exploding(), store=store)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        response = await http.post("/v1/tasks", json={"skill": "greet"})

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "secret" not in response.text
