"""Liveness and readiness probes (open, without authentication, for load balancers)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from skilld.engine.brokers.base import Broker
from skilld.engine.stores.base import Store
from skilld.gateway.problems import Problem, problem_responses

__all__ = ["health_router"]

_PROBE_TIMEOUT_S = 2.0


def health_router(*, broker: Broker, store: Store, stopping: asyncio.Event) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get(
        "/healthz",
        summary="Liveness",
        description="200 while the process answers.",
        responses={200: {"description": "Alive."}},
    )
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness",
        description=(
            "200 when the broker and the store answer (with the queue depth and the live "
            "workers); 503 while they do not, or while the server shuts down."
        ),
        responses={200: {"description": "Ready."}, **problem_responses(503)},
    )
    async def readyz() -> dict[str, Any]:
        if stopping.is_set():
            raise Problem(503, "The server is shutting down.", kind="not-ready")
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_S):
                depth = await broker.depth()
                workers = await store.workers()
        except Exception as exc:
            raise Problem(
                503,
                f"The task backend does not answer: {type(exc).__name__}: {exc}",
                kind="not-ready",
                headers={"Retry-After": "5"},
            ) from None
        return {"status": "ready", "queue_depth": depth, "workers": len(workers)}

    return router
