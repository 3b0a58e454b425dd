"""Request-size limits: declared and streamed bodies over the limit get a 413 problem."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from skilld.engine.brokers import Broker
from skilld.gateway import GatewayConfig

LIMIT = 1024


@pytest.fixture
def config() -> GatewayConfig:
    return GatewayConfig(max_body_bytes=LIMIT)


@pytest.fixture
def backend() -> str:
    return "memory"


async def test_declared_length_over_the_limit_is_refused_unread(
    client: httpx.AsyncClient, broker: Broker
) -> None:
    body = b'{"skill": "greet", "args": "' + b"x" * LIMIT + b'"}'

    response = await client.post("/v1/tasks", content=body)

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert f"limit of {LIMIT} bytes" in response.json()["detail"]
    assert await broker.depth() == 0


async def test_streamed_body_over_the_limit_is_cut_off(
    client: httpx.AsyncClient, broker: Broker
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"skill": "greet", "args": "'
        for _ in range(10):
            yield b"x" * 200
        yield b'"}'

    response = await client.post("/v1/tasks", content=chunks())

    assert response.status_code == 413
    assert response.json()["type"] == "urn:skilld:problem:body-too-large"
    assert await broker.depth() == 0


async def test_body_under_the_limit_passes(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/tasks", json={"skill": "greet", "args": "x" * 500})

    assert response.status_code == 202
