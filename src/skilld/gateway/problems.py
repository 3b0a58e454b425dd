"""Every gateway error as an RFC 9457 problem (``application/problem+json``).

A client always gets ``{type, title, status, detail}`` and, for bad input, ``errors``: a
list of ``{field, message}`` naming exactly what to fix. Handlers cover our own
:class:`Problem`, Starlette's ``HTTPException`` (404 for an unknown path, 405...), FastAPI's
validation errors and the skilld error tree; anything else is a 500 whose details go to
the log, never to the client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from skilld.exceptions import (
    BackendUnavailableError,
    ConfigurationError,
    SkillNotFoundError,
    TaskNotFoundError,
)

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_SCHEMA",
    "Problem",
    "install_problem_handlers",
    "problem_response",
    "problem_responses",
]

logger = logging.getLogger("skilld.gateway")

PROBLEM_JSON = "application/problem+json"
_TYPE_PREFIX = "urn:skilld:problem:"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error, as RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong, for a person."},
        "instance": {"type": "string", "description": "The request path."},
        "errors": {
            "type": "array",
            "description": "For bad input: each field at fault and why.",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


class Problem(Exception):
    """Raise in a route to answer with a problem document.

    ``kind`` becomes the problem ``type`` (``urn:skilld:problem:<kind>``); ``errors``
    lists the fields at fault for bad input.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        errors: Sequence[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.detail = detail
        self.kind = kind
        self.errors = [dict(e) for e in errors]
        self.headers = dict(headers or {})
        super().__init__(detail)


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    instance: str | None = None,
    errors: Sequence[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A ``application/problem+json`` response."""
    title = _TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": _TYPE_PREFIX + (kind or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    if errors:
        body["errors"] = [dict(e) for e in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem answers for ``statuses``."""
    return {
        status: {
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def _field_of(location: Sequence[Any]) -> str:
    # FastAPI locations look like ("query", "wait") or ("path", "task_id"): keep the
    # place so "query.wait" cannot be confused with a body field named "wait".
    return ".".join(str(part) for part in location) or "request"


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status,
        exc.detail,
        kind=exc.kind,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        detail = f"No route for {request.method} {request.url.path}"
    elif exc.status_code == 405:
        detail = f"Method {request.method} is not allowed on {request.url.path}"
    else:
        detail = str(exc.detail)
    return problem_response(exc.status_code, detail, instance=request.url.path, headers=exc.headers)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field_of(e.get("loc", ())), "message": str(e.get("msg"))} for e in exc.errors()
    ]
    fields = ", ".join(e["field"] for e in errors)
    return problem_response(
        422,
        f"Invalid request: {fields}" if fields else "Invalid request",
        kind="invalid-request",
        instance=request.url.path,
        errors=errors,
    )


async def _on_skill_not_found(request: Request, exc: Exception) -> Response:
    return problem_response(404, str(exc), kind="skill-not-found", instance=request.url.path)


async def _on_task_not_found(request: Request, exc: Exception) -> Response:
    return problem_response(404, str(exc), kind="task-not-found", instance=request.url.path)


async def _on_backend_unavailable(request: Request, exc: Exception) -> Response:
    logger.warning("backend unavailable: %s", exc)
    return problem_response(
        503,
        f"The task backend is unavailable: {exc}",
        kind="backend-unavailable",
        instance=request.url.path,
        headers={"Retry-After": "5"},
    )


async def _on_configuration_error(request: Request, exc: Exception) -> Response:
    return problem_response(400, str(exc), kind="configuration", instance=request.url.path)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        "The server failed to handle this request; the details are in its log.",
        kind="internal",
        instance=request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error of ``app`` through the problem handlers."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(SkillNotFoundError, _on_skill_not_found)
    app.add_exception_handler(TaskNotFoundError, _on_task_not_found)
    app.add_exception_handler(BackendUnavailableError, _on_backend_unavailable)
    app.add_exception_handler(ConfigurationError, _on_configuration_error)
    app.add_exception_handler(Exception, _on_unexpected)
