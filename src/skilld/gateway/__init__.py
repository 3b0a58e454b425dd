"""The HTTP gateway: the tasks and skills API over a broker and a store (FastAPI)."""

from skilld.gateway.app import create_app
from skilld.gateway.config import GatewayConfig, is_loopback

__all__ = ["GatewayConfig", "create_app", "is_loopback"]
