"""A gateway over real engine parts: memory or SQLite backends, a real skill registry.

``client`` talks to the ASGI app in-process (httpx's ASGITransport buffers a whole
response, so it sees event streams only once they end); ``live_url`` serves the same app
with uvicorn on a random loopback port for streaming tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from skilld.engine.brokers import Broker, open_broker
from skilld.engine.executor import Executor, SkillExecutor
from skilld.engine.stores import Store, open_store
from skilld.engine.worker import Worker
from skilld.gateway import GatewayConfig, create_app
from skilld.skills.registry import SkillRegistry
from tests.helpers import write_skill


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def broker(backend: str, tmp_path: Path) -> AsyncIterator[Broker]:
    url = "memory://" if backend == "memory" else f"sqlite:///{tmp_path / 'queue.db'}"
    async with open_broker(url, visibility_timeout=5.0) as opened:
        yield opened


@pytest.fixture
async def store(backend: str, tmp_path: Path) -> AsyncIterator[Store]:
    url = "memory://" if backend == "memory" else f"sqlite:///{tmp_path / 'results.db'}"
    async with open_store(url) as opened:
        yield opened


@pytest.fixture
def skills_dir(tmp_path: Path) -> Path:
    root = tmp_path / "skills"
    write_skill(root, "greet", "description: Greets someone.", "Hello, $ARGUMENTS!\n")
    write_skill(
        root,
        "summarize",
        "description: Summarizes a file.\ncontext: fork",
        "Summarize $ARGUMENTS in one line.\n",
    )
    return root


@pytest.fixture
def registry(tmp_path: Path, skills_dir: Path) -> SkillRegistry:
    work = tmp_path / "work"
    work.mkdir()
    return SkillRegistry(work, add_dirs=[skills_dir], include_packages=False)


@pytest.fixture
def config() -> GatewayConfig:
    return GatewayConfig()


@pytest.fixture
def app(broker: Broker, store: Store, registry: SkillRegistry, config: GatewayConfig) -> FastAPI:
    return create_app(broker=broker, store=store, registry=registry, config=config)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


RunWorker = Callable[..., contextlib.AbstractAsyncContextManager[Worker]]


@pytest.fixture
def run_worker(broker: Broker, store: Store, registry: SkillRegistry) -> RunWorker:
    """``async with run_worker(executor=None, **options) as worker``: a worker on the same
    engine parts, running skills from the registry unless given another executor."""

    @contextlib.asynccontextmanager
    async def running(executor: Executor | None = None, **options: Any) -> AsyncIterator[Worker]:
        options.setdefault("concurrency", 8)
        options.setdefault("heartbeat_s", 0)
        options.setdefault("shutdown_grace_s", 2.0)
        worker = Worker(
            broker,
            store,
            executor or SkillExecutor(registry, default_model="sim:0"),
            **options,
        )
        async with worker:
            yield worker

    return running


@contextlib.asynccontextmanager
async def serving(app: FastAPI, port: int = 0) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields its base URL.

    The socket is bound and listening before uvicorn starts, so the URL is known at once
    and early connections wait in the backlog: no polling for readiness.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    serve = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.state.stopping.set()  # as `skilld serve` does: open event streams end
        server.should_exit = True
        async with asyncio.timeout(10):
            await serve
        sock.close()


@pytest.fixture
async def live_url(app: FastAPI) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url
