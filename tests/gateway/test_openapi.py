"""The OpenAPI document is served and describes every route with its schemas."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from skilld.engine.brokers import Broker
from skilld.engine.stores import Store
from skilld.engine.task import TaskResult
from skilld.gateway import GatewayConfig, create_app
from skilld.skills.registry import SkillRegistry


@pytest.fixture
def backend() -> str:
    return "memory"


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def api_routes(routes: Any) -> list[APIRoute]:
    """Every APIRoute, looking inside included routers (FastAPI keeps them nested)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


def test_every_route_is_documented(app: FastAPI, document: dict[str, Any]) -> None:
    routes = {
        (route.path.replace(":path", ""), method.lower())
        for route in api_routes(app.routes)
        for method in route.methods
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}

    assert routes == documented
    assert {
        ("/v1/tasks", "post"),
        ("/v1/tasks/{task_id}", "get"),
        ("/v1/tasks/{task_id}", "delete"),
        ("/v1/tasks/{task_id}/events", "get"),
        ("/v1/skills", "get"),
        ("/v1/skills/{name}", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    } <= documented


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_submit_documents_its_body_and_answers(document: dict[str, Any]) -> None:
    post = document["paths"]["/v1/tasks"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    request = document["components"]["schemas"]["TaskRequest"]

    assert body == {"$ref": "#/components/schemas/TaskRequest"}
    assert request["required"] == ["skill"]
    assert {"skill", "args", "mode", "priority", "idempotency_key"} <= set(request["properties"])
    for status in ("201", "202"):
        schema = post["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/TaskResult"}
    for status in ("400", "422", "413"):
        assert "application/problem+json" in post["responses"][status]["content"]
    parameters = {p["name"]: p["in"] for p in post["parameters"]}
    assert parameters == {"wait": "query", "Idempotency-Key": "header"}


def test_result_schema_matches_the_wire_type(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["TaskResult"]

    assert set(schema["properties"]) == set(TaskResult.__struct_fields__)
    assert set(schema["required"]) == {"id", "status"}


def test_event_stream_is_documented(document: dict[str, Any]) -> None:
    events = document["paths"]["/v1/tasks/{task_id}/events"]["get"]

    assert "text/event-stream" in events["responses"]["200"]["content"]
    assert {p["name"] for p in events["parameters"]} == {"task_id", "after", "Last-Event-ID"}


def test_no_security_is_declared_without_tokens(document: dict[str, Any]) -> None:
    assert "securitySchemes" not in document["components"]
    assert "security" not in document["paths"]["/v1/tasks"]["post"]


async def test_bearer_scheme_is_declared_on_v1_only_with_tokens(
    broker: Broker, store: Store, registry: SkillRegistry
) -> None:
    app = create_app(
        broker=broker, store=store, registry=registry, config=GatewayConfig.with_tokens(["t"])
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as http:
        document = (await http.get("/openapi.json")).json()

    schemes = document["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
    for path, item in document["paths"].items():
        for operation in item.values():
            assert bool(operation.get("security")) == path.startswith("/v1/"), path


async def test_interactive_docs_are_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    assert "openapi.json" in response.text
