"""The life cycle brokers and stores share: ``connect`` once, ``close`` once, or both by
``async with``; a backend fills in :meth:`Connectable._connect` and
:meth:`Connectable._close` (both do nothing by default, for in-process backends)."""

from __future__ import annotations

from typing import Self

__all__ = ["Connectable"]


class Connectable:
    """Something opened before use and closed after (a broker, a store)."""

    _connected: bool = False

    async def connect(self) -> None:
        """Open connections and declare what the backend needs (idempotent)."""
        if not self._connected:
            await self._connect()
            self._connected = True

    async def close(self) -> None:
        """Close what :meth:`connect` opened (idempotent)."""
        if self._connected:
            self._connected = False
            await self._close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _connect(self) -> None:
        return None

    async def _close(self) -> None:
        return None
