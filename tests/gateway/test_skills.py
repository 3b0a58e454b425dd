"""GET /v1/skills and /v1/skills/{name} from the real registry."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def backend() -> str:
    return "memory"


async def test_lists_every_skill(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/skills")

    assert response.status_code == 200
    skills = {s["name"]: s for s in response.json()["skills"]}
    assert set(skills) == {"greet", "summarize"}
    assert skills["summarize"]["context"] == "fork"
    assert skills["greet"]["description"] == "Greets someone."
    assert skills["greet"]["version"].startswith("sha256:")


async def test_shows_one_skill(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/skills/greet")

    assert response.status_code == 200
    assert response.json()["name"] == "greet"
    assert response.json()["source"] == "add-dir"


async def test_unknown_skill_is_a_404_with_close_names(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/skills/gret")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:skilld:problem:skill-not-found"
    assert "Did you mean greet?" in response.json()["detail"]
