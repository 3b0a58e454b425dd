"""The gateway's FastAPI application, assembled from its routers.

:func:`create_app` takes engine parts that are already connected; whoever opened them
(``skilld serve``, a test) closes them. The app adds authentication, the body-size limit,
problem+json errors and an OpenAPI document generated from the wire types.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI

from skilld.engine.brokers.base import Broker
from skilld.engine.stores.base import Store
from skilld.gateway.auth import bearer_auth
from skilld.gateway.config import GatewayConfig
from skilld.gateway.health import health_router
from skilld.gateway.limits import BodySizeLimit
from skilld.gateway.problems import install_problem_handlers
from skilld.gateway.registry import SkillCatalog
from skilld.gateway.schemas import openapi_components
from skilld.gateway.skills import skills_router
from skilld.gateway.tasks import tasks_router

if TYPE_CHECKING:
    from skilld.engine.cache import SkillCache

__all__ = ["create_app"]

_DESCRIPTION = """\
Run Agent Skills as tasks. Submit with `POST /v1/tasks`, follow with
`GET /v1/tasks/{id}/events` (Server-Sent Events) or wait with `?wait=SECONDS`.
Every error is an `application/problem+json` document (RFC 9457).
"""


def create_app(
    *,
    broker: Broker,
    store: Store,
    registry: SkillCatalog | None = None,
    config: GatewayConfig | None = None,
    skill_cache: SkillCache | None = None,
) -> FastAPI:
    """The gateway over a connected ``broker`` and ``store``.

    Args:
        registry: the skills tasks may name; when given, a task naming an unknown skill
            is refused at submission, a task without ``mode`` takes the skill's own, and
            ``/v1/skills`` lists them. Without it, any name is queued.
        config: tokens and limits (default: no tokens, 1 MiB bodies).
        skill_cache: with a ``registry``, each accepted task's skill is published here
            under its version hash and the task pins that version, so workers run what
            was submitted even if their copy changed or they have none (see
            :class:`~skilld.engine.cache.SkillCache`). Without it tasks pin only what
            clients pin, and each worker runs the version it has.

    Event streams stay open until their task finishes; a server that stops should set
    ``app.state.stopping`` (an :class:`asyncio.Event`) first, as ``skilld serve`` does on
    SIGTERM, so they end and clients resume elsewhere with ``Last-Event-ID``. (The ASGI
    lifespan shutdown sets it too, but servers run it only once connections are closed.)
    """
    from importlib.metadata import version

    config = config or GatewayConfig()
    stopping = asyncio.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stopping.clear()
        yield
        # Ends open event streams, so shutting down does not wait on idle followers.
        stopping.set()

    app = FastAPI(
        title="skilld",
        version=version("skilld"),
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.stopping = stopping
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)

    # Without tokens there is no security to declare (and no dependency to solve per call).
    authenticated = [Depends(bearer_auth(config))] if config.auth_required else []
    app.include_router(
        tasks_router(
            broker=broker,
            store=store,
            registry=registry,
            config=config,
            stopping=stopping,
            skill_cache=skill_cache,
        ),
        dependencies=authenticated,
    )
    if registry is not None:
        app.include_router(skills_router(registry), dependencies=authenticated)
    app.include_router(health_router(broker=broker, store=store, stopping=stopping))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {}).update(openapi_components())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
