"""How a gateway is configured, and the rule that keeps an open port from being anonymous."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from skilld.exceptions import ConfigurationError

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_WAIT_S", "GatewayConfig", "is_loopback"]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_WAIT_S = 300.0


def is_loopback(host: str) -> bool:
    """True when ``host`` names only this machine (``127.0.0.0/8``, ``::1``, ``localhost``).

    ``0.0.0.0`` and ``::`` are *every* interface, so they are not loopback.
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Settings of the HTTP gateway.

    Attributes:
        tokens: bearer tokens accepted on ``/v1``; empty means no authentication, which
            is only allowed on a loopback address (see :meth:`check_bind`).
        max_body_bytes: larger request bodies are refused with 413 before being read.
        max_wait_s: the longest ``?wait=`` a client may ask for (longer waits are cut).
        sse_keepalive_s: a comment line is sent on an idle event stream this often, so
            proxies do not close it.
    """

    tokens: frozenset[str] = field(default_factory=frozenset)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_wait_s: float = DEFAULT_MAX_WAIT_S
    sse_keepalive_s: float = 15.0

    @classmethod
    def with_tokens(cls, tokens: Iterable[str], **options: object) -> GatewayConfig:
        """A config accepting ``tokens`` (blank entries are ignored)."""
        kept = frozenset(t.strip() for t in tokens if t and t.strip())
        return cls(tokens=kept, **options)  # type: ignore[arg-type]

    @property
    def auth_required(self) -> bool:
        return bool(self.tokens)

    def check_bind(self, host: str) -> None:
        """Refuse to serve without authentication on anything but loopback."""
        if not self.tokens and not is_loopback(host):
            raise ConfigurationError(
                f"refusing to listen on {host!r} without authentication: "
                "pass --token (or set SKILLD_API_TOKEN), or bind to 127.0.0.1"
            )
