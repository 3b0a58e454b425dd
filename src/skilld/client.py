"""Python clients of the skilld gateway: :class:`Client` (async) and :class:`SyncClient`.

Both speak the ``/v1`` HTTP API that ``skilld serve`` exposes and answer with the engine's
own types (:class:`~skilld.engine.task.TaskResult`), so code moves between an embedded
engine and a remote one without changing shape. httpx is imported when a client is made,
not when skilld is imported.

    async with skilld.Client("http://127.0.0.1:8000") as client:
        task = await client.submit("summarize", "README.md", wait=30)
        async for event in client.events(task.id):
            print(event.type, event.data)

A problem answer raises: :class:`~skilld.exceptions.TaskNotFoundError` and
:class:`~skilld.exceptions.SkillNotFoundError` for the unknown, and
:class:`~skilld.exceptions.GatewayError` (with ``status`` and the problem document) for
the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import msgspec

from skilld.engine.task import TaskEvent, TaskResult
from skilld.exceptions import GatewayError, SkillNotFoundError, TaskNotFoundError

if TYPE_CHECKING:
    import ssl

    import httpx

__all__ = ["DEFAULT_URL", "Client", "SyncClient"]

DEFAULT_URL = "http://127.0.0.1:8000"

# One ``?wait=`` round trip of :meth:`Client.wait`: long enough to avoid polling, short
# enough that proxies with idle timeouts do not cut the request.
_WAIT_SLICE_S = 25.0
_CONNECTIONS_PER_POOL = 4
_RECONNECTS = 5  # failed reconnections in a row before an event stream gives up
_STREAM_IDLE_S = 60.0
_TERMINAL = frozenset({"succeeded", "failed", "dead", "cancelled"})


def _sse_headers(after: int | None) -> dict[str, str]:
    headers = {"Accept": "text/event-stream"}
    if after is not None:
        headers["Last-Event-ID"] = str(after)
    return headers


def _stream_timeout(timeout: float) -> httpx.Timeout:
    import httpx

    # The gateway sends a keepalive comment every 15 s: a minute of silence means the
    # connection is dead, and the stream reconnects.
    return httpx.Timeout(timeout, read=_STREAM_IDLE_S)


def _backoff(failures: int) -> float:
    return float(min(0.25 * 2 ** (failures - 1), 4.0))


def _task_body(
    skill: str,
    args: str | Sequence[str],
    options: Mapping[str, Any],
) -> dict[str, Any]:
    body: dict[str, Any] = {"skill": skill, "args": args if isinstance(args, str) else list(args)}
    body.update({k: v for k, v in options.items() if v is not None})
    return body


def _raise_for_problem(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        problem = response.json()
        if not isinstance(problem, dict):
            raise ValueError(problem)
    except ValueError:
        problem = {"detail": response.text or response.reason_phrase}
    detail = str(problem.get("detail") or response.reason_phrase)
    kind = str(problem.get("type", ""))
    # Both "not found" answers come from routes ending in the name or id asked for.
    asked = response.url.path.rstrip("/").split("/")[-1]
    if kind.endswith(":task-not-found"):
        raise TaskNotFoundError(asked)
    if kind.endswith(":skill-not-found"):
        raise SkillNotFoundError(asked)
    raise GatewayError(response.status_code, detail, problem=problem)


def _result(response: httpx.Response) -> TaskResult:
    _raise_for_problem(response)
    return msgspec.json.decode(response.content, type=TaskResult)


class _SSEParser:
    """Turn ``text/event-stream`` lines into :class:`~skilld.engine.task.TaskEvent`.

    A task event's offset and type are inside its JSON ``data``, which is all this
    decodes; the ``id`` and ``event`` lines are there for browsers' ``EventSource``.
    """

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> TaskEvent | None:
        if line == "":
            data, self._data = "\n".join(self._data), []
            if not data:
                return None
            try:
                return msgspec.json.decode(data, type=TaskEvent)
            except msgspec.DecodeError:
                return None  # not one of ours (a proxy's message, say): skip it
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value.removeprefix(" "))
        return None


class _Base:
    def __init__(
        self,
        url: str,
        token: str | None,
        timeout: float,
        headers: Mapping[str, str] | None,
    ) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Accept": "application/json", **(headers or {})}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout

    def _submit_request(
        self,
        skill: str,
        args: str | Sequence[str],
        *,
        mode: Literal["inline", "fork"] | None,
        idempotency_key: str | None,
        wait: float | None,
        options: Mapping[str, Any],
    ) -> tuple[dict[str, Any], dict[str, str], dict[str, str], float]:
        body = _task_body(skill, args, {"mode": mode, **options})
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        params = {"wait": f"{wait:g}"} if wait else {}
        return body, headers, params, self._timeout + (wait or 0)


class Client(_Base):
    """Async client of a skilld gateway.

    Args:
        url: where ``skilld serve`` listens (default ``http://127.0.0.1:8000``).
        token: a bearer token, when the gateway needs one.
        timeout: seconds for one request (a ``wait`` is added on top of it).
        max_connections: requests in flight at once (more wait for a free connection);
            raise it when many tasks are awaited together with ``wait``.
        transport: an httpx transport, e.g. ``httpx.ASGITransport(app)`` to talk to an app
            in the same process without a socket.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(url, token, timeout, headers)
        self._transport = transport
        # httpcore's pool looks at every one of its connections each time it hands one
        # out, so one pool of hundreds of connections spends more CPU on that than on the
        # requests. Many small pools, used in turn, keep the cost per request flat; a
        # given transport (a test's ASGITransport) gets a single pool.
        per_pool = max_connections if transport is not None else _CONNECTIONS_PER_POOL
        self._pool_size = min(per_pool, max_connections)
        self._pool_count = 1 if transport is not None else -(-max_connections // per_pool)
        self._pools: list[httpx.AsyncClient] = []
        self._turn = 0
        self._ssl: ssl.SSLContext | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        """The next pool in turn (made on first use, sharing one TLS context)."""
        if len(self._pools) < self._pool_count:
            import httpx

            if self._ssl is None and self.url.startswith("https:"):
                self._ssl = httpx.create_ssl_context()
            limits = httpx.Limits(
                max_connections=self._pool_size, max_keepalive_connections=self._pool_size
            )
            pool = httpx.AsyncClient(
                base_url=self.url,
                headers=self._headers,
                timeout=self._timeout,
                limits=limits,
                transport=self._transport,
                verify=self._ssl or True,
            )
            self._pools.append(pool)
            return pool
        self._turn = (self._turn + 1) % len(self._pools)
        return self._pools[self._turn]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        pools, self._pools = self._pools, []
        for pool in pools:
            await pool.aclose()

    async def submit(
        self,
        skill: str,
        args: str | Sequence[str] = "",
        *,
        mode: Literal["inline", "fork"] | None = None,
        idempotency_key: str | None = None,
        wait: float | None = None,
        **options: Any,
    ) -> TaskResult:
        """Queue a run of ``skill``; with ``wait``, return its result if ready in time.

        ``options`` are the other task fields (``model``, ``session_id``, ``tenant``,
        ``priority``, ``timeout_s``, ``max_attempts``, ``skill_version``, ``depends_on``).
        """
        body, headers, params, timeout = self._submit_request(
            skill, args, mode=mode, idempotency_key=idempotency_key, wait=wait, options=options
        )
        response = await self._http.post(
            "/v1/tasks", json=body, headers=headers, params=params, timeout=timeout
        )
        return _result(response)

    async def get(self, task_id: str) -> TaskResult:
        """The task's current state (``queued``, ``running``...) or its final result."""
        return _result(await self._http.get(f"/v1/tasks/{task_id}"))

    async def wait(self, task_id: str, timeout: float | None = None) -> TaskResult:
        """Wait for the task to finish; after ``timeout`` seconds, return its state then."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = _WAIT_SLICE_S if deadline is None else deadline - time.monotonic()
            slice_s = max(0.0, min(_WAIT_SLICE_S, left))
            response = await self._http.get(
                f"/v1/tasks/{task_id}",
                params={"wait": f"{slice_s:g}"} if slice_s else {},
                timeout=self._timeout + slice_s,
            )
            result = _result(response)
            if result.status in _TERMINAL or (deadline is not None and left <= 0):
                return result

    async def events(
        self, task_id: str, *, last_event_id: int | None = None, reconnect: bool = True
    ) -> AsyncIterator[TaskEvent]:
        """The task's events as they happen, from after ``last_event_id`` when given.

        Ends after the task's ``finished`` event. When the stream breaks first (the
        server restarted, a proxy cut it), it reconnects and resumes after the last event
        seen, backing off; it gives up after a few failed attempts in a row, raising the
        last connection error (with ``reconnect=False``, at the first).
        """
        import httpx

        after, failures = last_event_id, 0
        while True:
            try:
                async for event in self._event_stream(task_id, after):
                    after, failures = event.offset, 0
                    yield event
                    if event.type == "finished":
                        return
                if not reconnect:
                    return
            except httpx.TransportError:
                if not reconnect or failures >= _RECONNECTS:
                    raise
            failures += 1
            await asyncio.sleep(_backoff(failures))

    async def _event_stream(self, task_id: str, after: int | None) -> AsyncIterator[TaskEvent]:
        parser = _SSEParser()
        async with self._http.stream(
            "GET",
            f"/v1/tasks/{task_id}/events",
            headers=_sse_headers(after),
            timeout=_stream_timeout(self._timeout),
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                _raise_for_problem(response)
            async for line in response.aiter_lines():
                event = parser.feed(line.rstrip("\r"))
                if event is not None:
                    yield event

    async def cancel(self, task_id: str) -> TaskResult:
        """Ask for the task to be cancelled; returns its state after the request."""
        return _result(await self._http.delete(f"/v1/tasks/{task_id}"))

    async def skills(self) -> list[dict[str, Any]]:
        """Every skill the gateway's workers can run (``skilld list --json`` shape)."""
        response = await self._http.get("/v1/skills")
        _raise_for_problem(response)
        return list(response.json()["skills"])

    async def skill(self, name: str) -> dict[str, Any]:
        """One skill, every field (``skilld show --json`` shape)."""
        response = await self._http.get(f"/v1/skills/{name}")
        _raise_for_problem(response)
        return dict(response.json())


class SyncClient(_Base):
    """Blocking twin of :class:`Client`, with the same methods and arguments."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 100,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        super().__init__(url, token, timeout, headers)
        self._http = httpx.Client(
            base_url=self.url,
            headers=self._headers,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def submit(
        self,
        skill: str,
        args: str | Sequence[str] = "",
        *,
        mode: Literal["inline", "fork"] | None = None,
        idempotency_key: str | None = None,
        wait: float | None = None,
        **options: Any,
    ) -> TaskResult:
        """See :meth:`Client.submit`."""
        body, headers, params, timeout = self._submit_request(
            skill, args, mode=mode, idempotency_key=idempotency_key, wait=wait, options=options
        )
        response = self._http.post(
            "/v1/tasks", json=body, headers=headers, params=params, timeout=timeout
        )
        return _result(response)

    def get(self, task_id: str) -> TaskResult:
        """See :meth:`Client.get`."""
        return _result(self._http.get(f"/v1/tasks/{task_id}"))

    def wait(self, task_id: str, timeout: float | None = None) -> TaskResult:
        """See :meth:`Client.wait`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = _WAIT_SLICE_S if deadline is None else deadline - time.monotonic()
            slice_s = max(0.0, min(_WAIT_SLICE_S, left))
            response = self._http.get(
                f"/v1/tasks/{task_id}",
                params={"wait": f"{slice_s:g}"} if slice_s else {},
                timeout=self._timeout + slice_s,
            )
            result = _result(response)
            if result.status in _TERMINAL or (deadline is not None and left <= 0):
                return result

    def events(
        self, task_id: str, *, last_event_id: int | None = None, reconnect: bool = True
    ) -> Iterator[TaskEvent]:
        """See :meth:`Client.events`."""
        import httpx

        after, failures = last_event_id, 0
        while True:
            try:
                for event in self._event_stream(task_id, after):
                    after, failures = event.offset, 0
                    yield event
                    if event.type == "finished":
                        return
                if not reconnect:
                    return
            except httpx.TransportError:
                if not reconnect or failures >= _RECONNECTS:
                    raise
            failures += 1
            time.sleep(_backoff(failures))

    def _event_stream(self, task_id: str, after: int | None) -> Iterator[TaskEvent]:
        parser = _SSEParser()
        with self._http.stream(
            "GET",
            f"/v1/tasks/{task_id}/events",
            headers=_sse_headers(after),
            timeout=_stream_timeout(self._timeout),
        ) as response:
            if response.status_code >= 400:
                response.read()
                _raise_for_problem(response)
            for line in response.iter_lines():
                event = parser.feed(line.rstrip("\r"))
                if event is not None:
                    yield event

    def cancel(self, task_id: str) -> TaskResult:
        """See :meth:`Client.cancel`."""
        return _result(self._http.delete(f"/v1/tasks/{task_id}"))

    def skills(self) -> list[dict[str, Any]]:
        """See :meth:`Client.skills`."""
        response = self._http.get("/v1/skills")
        _raise_for_problem(response)
        return list(response.json()["skills"])

    def skill(self, name: str) -> dict[str, Any]:
        """See :meth:`Client.skill`."""
        response = self._http.get(f"/v1/skills/{name}")
        _raise_for_problem(response)
        return dict(response.json())
