"""Bearer tokens on /v1, open probes, and the refusal to serve anonymously off loopback."""

from __future__ import annotations

import httpx
import pytest

from skilld.exceptions import ConfigurationError
from skilld.gateway import GatewayConfig, is_loopback


@pytest.fixture
def config() -> GatewayConfig:
    return GatewayConfig.with_tokens(["s3cret", "other-token", " "])


@pytest.fixture
def backend() -> str:
    return "memory"


async def test_missing_token_is_a_401_problem_with_a_challenge(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/tasks", json={"skill": "greet"})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in response.json()["detail"]


@pytest.mark.parametrize("header", ["Bearer wrong", "Bearer s3cre", "Basic czNjcmV0", "s3cret"])
async def test_wrong_token_is_refused(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/v1/skills", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("token", ["s3cret", "other-token"])
async def test_any_configured_token_is_accepted(client: httpx.AsyncClient, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}

    submitted = await client.post("/v1/tasks", json={"skill": "greet"}, headers=headers)
    skills = await client.get("/v1/skills", headers=headers)

    assert submitted.status_code == 202
    assert skills.status_code == 200


async def test_a_blank_token_is_never_configured(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/skills", headers={"Authorization": "Bearer  "})

    assert response.status_code == 401


async def test_every_v1_route_needs_the_token(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/v1/tasks/x"),
        ("DELETE", "/v1/tasks/x"),
        ("GET", "/v1/tasks/x/events"),
        ("GET", "/v1/skills"),
        ("GET", "/v1/skills/greet"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 401, (method, path)


async def test_probes_and_the_api_document_stay_open(client: httpx.AsyncClient) -> None:
    for path in ["/healthz", "/readyz", "/openapi.json"]:
        assert (await client.get(path)).status_code == 200, path


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)
    GatewayConfig().check_bind(host)  # no tokens needed


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com", ""])
def test_other_hosts_need_a_token(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigurationError, match="without authentication"):
        GatewayConfig().check_bind(host)
    GatewayConfig.with_tokens(["t"]).check_bind(host)
