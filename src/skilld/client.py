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
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar

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

T = TypeVar("T")


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


def _json(response: httpx.Response) -> Any:
    _raise_for_problem(response)
    return response.json()


@dataclass(frozen=True, slots=True)
class _Call(Generic[T]):
    """One request of the API, as both faces send it, and how its answer reads."""

    method: str
    path: str
    options: dict[str, Any]  # httpx's request arguments: json, params, headers, timeout
    read: Callable[[httpx.Response], T]


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

    # What each method asks and how its answer reads, for both faces: a face only sends
    # the request (awaiting or blocking) and hands the response to ``call.read``.

    def _submit_call(
        self,
        skill: str,
        args: str | Sequence[str],
        *,
        mode: Literal["inline", "fork"] | None,
        idempotency_key: str | None,
        wait: float | None,
        options: Mapping[str, Any],
    ) -> _Call[TaskResult]:
        return _Call(
            "POST",
            "/v1/tasks",
            {
                "json": _task_body(skill, args, {"mode": mode, **options}),
                "headers": {"Idempotency-Key": idempotency_key} if idempotency_key else {},
                "params": {"wait": f"{wait:g}"} if wait else {},
                "timeout": self._timeout + (wait or 0),
            },
            _result,
        )

    def _wait_call(self, task_id: str, deadline: float | None) -> tuple[_Call[TaskResult], bool]:
        """One ``?wait=`` round trip of ``wait``, and whether it is the last one (the
        deadline has come) whatever the task's state."""
        left = _WAIT_SLICE_S if deadline is None else deadline - time.monotonic()
        slice_s = max(0.0, min(_WAIT_SLICE_S, left))
        call = _Call(
            "GET",
            f"/v1/tasks/{task_id}",
            {
                "params": {"wait": f"{slice_s:g}"} if slice_s else {},
                "timeout": self._timeout + slice_s,
            },
            _result,
        )
        return call, deadline is not None and left <= 0

    def _events_request(self, task_id: str, after: int | None) -> dict[str, Any]:
        import httpx

        headers = {"Accept": "text/event-stream"}
        if after is not None:
            headers["Last-Event-ID"] = str(after)
        # The gateway sends a keepalive comment every 15 s: a minute of silence means the
        # connection is dead, and the stream reconnects.
        timeout = httpx.Timeout(self._timeout, read=_STREAM_IDLE_S)
        return {
            "method": "GET",
            "url": f"/v1/tasks/{task_id}/events",
            "headers": headers,
            "timeout": timeout,
        }


def _get_call(task_id: str) -> _Call[TaskResult]:
    return _Call("GET", f"/v1/tasks/{task_id}", {}, _result)


def _cancel_call(task_id: str) -> _Call[TaskResult]:
    return _Call("DELETE", f"/v1/tasks/{task_id}", {}, _result)


def _skills_call() -> _Call[list[dict[str, Any]]]:
    return _Call("GET", "/v1/skills", {}, lambda r: list(_json(r)["skills"]))


def _skill_call(name: str) -> _Call[dict[str, Any]]:
    return _Call("GET", f"/v1/skills/{name}", {}, lambda r: dict(_json(r)))


class _Resume:
    """Where an event stream resumes after a break, and whether it may (both faces)."""

    def __init__(self, after: int | None, reconnect: bool) -> None:
        self.after = after
        self.reconnect = reconnect
        self.failures = 0

    def seen(self, event: TaskEvent) -> bool:
        """Note ``event``; True once the stream is over (the task's ``finished``)."""
        self.after, self.failures = event.offset, 0
        return event.type == "finished"

    def may_retry(self) -> bool:
        """After a connection error: False to give up (raise it)."""
        return self.reconnect and self.failures < _RECONNECTS

    def backoff(self) -> float:
        """Seconds to wait before the next connection."""
        self.failures += 1
        return float(min(0.25 * 2 ** (self.failures - 1), 4.0))


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
        return await self._send(
            self._submit_call(
                skill, args, mode=mode, idempotency_key=idempotency_key, wait=wait, options=options
            )
        )

    async def get(self, task_id: str) -> TaskResult:
        """The task's current state (``queued``, ``running``...) or its final result."""
        return await self._send(_get_call(task_id))

    async def wait(self, task_id: str, timeout: float | None = None) -> TaskResult:
        """Wait for the task to finish; after ``timeout`` seconds, return its state then."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            call, last = self._wait_call(task_id, deadline)
            result = await self._send(call)
            if result.status in _TERMINAL or last:
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

        resume = _Resume(last_event_id, reconnect)
        while True:
            try:
                async for event in self._event_stream(task_id, resume.after):
                    yield event
                    if resume.seen(event):
                        return
                if not reconnect:
                    return
            except httpx.TransportError:
                if not resume.may_retry():
                    raise
            await asyncio.sleep(resume.backoff())

    async def _event_stream(self, task_id: str, after: int | None) -> AsyncIterator[TaskEvent]:
        parser = _SSEParser()
        async with self._http.stream(**self._events_request(task_id, after)) as response:
            if response.status_code >= 400:
                await response.aread()
                _raise_for_problem(response)
            async for line in response.aiter_lines():
                event = parser.feed(line.rstrip("\r"))
                if event is not None:
                    yield event

    async def cancel(self, task_id: str) -> TaskResult:
        """Ask for the task to be cancelled; returns its state after the request."""
        return await self._send(_cancel_call(task_id))

    async def skills(self) -> list[dict[str, Any]]:
        """Every skill the gateway's workers can run (``skilld list --json`` shape)."""
        return await self._send(_skills_call())

    async def skill(self, name: str) -> dict[str, Any]:
        """One skill, every field (``skilld show --json`` shape)."""
        return await self._send(_skill_call(name))

    async def _send(self, call: _Call[T]) -> T:
        return call.read(await self._http.request(call.method, call.path, **call.options))


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
        return self._send(
            self._submit_call(
                skill, args, mode=mode, idempotency_key=idempotency_key, wait=wait, options=options
            )
        )

    def get(self, task_id: str) -> TaskResult:
        """See :meth:`Client.get`."""
        return self._send(_get_call(task_id))

    def wait(self, task_id: str, timeout: float | None = None) -> TaskResult:
        """See :meth:`Client.wait`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            call, last = self._wait_call(task_id, deadline)
            result = self._send(call)
            if result.status in _TERMINAL or last:
                return result

    def events(
        self, task_id: str, *, last_event_id: int | None = None, reconnect: bool = True
    ) -> Iterator[TaskEvent]:
        """See :meth:`Client.events`."""
        import httpx

        resume = _Resume(last_event_id, reconnect)
        while True:
            try:
                for event in self._event_stream(task_id, resume.after):
                    yield event
                    if resume.seen(event):
                        return
                if not reconnect:
                    return
            except httpx.TransportError:
                if not resume.may_retry():
                    raise
            time.sleep(resume.backoff())

    def _event_stream(self, task_id: str, after: int | None) -> Iterator[TaskEvent]:
        parser = _SSEParser()
        with self._http.stream(**self._events_request(task_id, after)) as response:
            if response.status_code >= 400:
                response.read()
                _raise_for_problem(response)
            for line in response.iter_lines():
                event = parser.feed(line.rstrip("\r"))
                if event is not None:
                    yield event

    def cancel(self, task_id: str) -> TaskResult:
        """See :meth:`Client.cancel`."""
        return self._send(_cancel_call(task_id))

    def skills(self) -> list[dict[str, Any]]:
        """See :meth:`Client.skills`."""
        return self._send(_skills_call())

    def skill(self, name: str) -> dict[str, Any]:
        """See :meth:`Client.skill`."""
        return self._send(_skill_call(name))

    def _send(self, call: _Call[T]) -> T:
        return call.read(self._http.request(call.method, call.path, **call.options))
