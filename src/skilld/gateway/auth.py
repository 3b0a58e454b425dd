"""Bearer-token authentication for the ``/v1`` API.

With no tokens configured every request passes (the gateway then refuses to bind anything
but loopback, see :meth:`GatewayConfig.check_bind`). Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from skilld.gateway.config import GatewayConfig
from skilld.gateway.problems import Problem

__all__ = ["bearer_auth"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="skilld"'}


def bearer_auth(config: GatewayConfig) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency enforcing ``config.tokens`` (documented in the OpenAPI)."""
    scheme = HTTPBearer(auto_error=False, description="A token given to `skilld serve --token`.")
    tokens = [t.encode() for t in config.tokens]

    async def check(
        credentials: HTTPAuthorizationCredentials | None = Depends(scheme),  # noqa: B008
    ) -> None:
        if not tokens:
            return
        if credentials is None:
            raise Problem(
                401,
                "This API needs a bearer token: send 'Authorization: Bearer <token>'.",
                kind="unauthorized",
                headers=_CHALLENGE,
            )
        given = credentials.credentials.encode()
        # Check every token so the time taken does not tell which one nearly matched.
        matched = False
        for token in tokens:
            matched |= hmac.compare_digest(given, token)
        if not matched:
            raise Problem(
                401,
                "The bearer token is not valid.",
                kind="unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="skilld", error="invalid_token"'},
            )

    return check
