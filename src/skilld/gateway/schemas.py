"""What the gateway reads and writes, as msgspec types, and their OpenAPI schemas.

The wire types are the engine's own (:class:`~skilld.engine.task.TaskResult`,
:class:`~skilld.engine.task.TaskEvent`); the one type of the gateway's own is
:class:`TaskRequest`, the body of ``POST /v1/tasks``. The OpenAPI components are generated
from these same types, so the document cannot drift from what is served.
"""

from __future__ import annotations

import re
import shlex
import typing
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from skilld.engine.task import SkillTask, TaskEvent, TaskResult
from skilld.exceptions import SkillNotFoundError
from skilld.gateway.problems import PROBLEM_SCHEMA, Problem
from skilld.skills.model import Skill

__all__ = [
    "SkillList",
    "TaskRequest",
    "openapi_components",
    "parse_task_request",
    "ref",
]


class TaskRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of ``POST /v1/tasks``: which skill to run, with what, and how.

    ``args`` is the argument string (or a list, joined with shell quoting). ``mode``
    defaults to the skill's own ``context`` (inline or fork). Unset fields take the
    engine's defaults. The ``Idempotency-Key`` header, when sent, sets
    ``idempotency_key``. ``skill_version``, when sent, must be the gateway's current
    version of the skill; a gateway with a skill cache (``skilld serve``) sets it to that
    version when it is not sent, so the task runs what was submitted on every worker.
    """

    skill: str
    args: str | list[str] = ""
    mode: Literal["inline", "fork"] | None = None
    skill_version: str | None = None
    model: str | None = None
    session_id: str | None = None
    tenant: str | None = None
    priority: int | None = None
    timeout_s: float | None = None
    max_attempts: int | None = None
    idempotency_key: str | None = None
    depends_on: list[str] = msgspec.field(default_factory=list)
    deadline: float | None = None


class SkillList(msgspec.Struct):
    """The body of ``GET /v1/skills``: every skill, in the shape of ``skilld list --json``."""

    skills: list[dict[str, Any]]


_request_decoder = msgspec.json.Decoder(TaskRequest)
_AT = re.compile(r"at `\$\.?([^`]*)`")


def _field_from(message: str) -> str:
    match = _AT.search(message)
    if match and match.group(1):
        return match.group(1)
    missing = re.search(r"missing required field `([^`]+)`", message)
    if missing:
        return missing.group(1)
    unknown = re.search(r"unknown field `([^`]+)`", message)
    if unknown:
        return unknown.group(1)
    return "body"


def _allowed_values(name: str) -> tuple[Any, ...]:
    """The values a ``Literal`` field of :class:`TaskRequest` accepts (else empty)."""
    hint = typing.get_type_hints(TaskRequest).get(name)
    for option in (hint, *typing.get_args(hint)):
        if typing.get_origin(option) is Literal:
            return typing.get_args(option)
    return ()


def _invalid(message: str) -> Problem:
    name = _field_from(message)
    allowed = _allowed_values(name)
    if allowed and "Invalid enum value" in message:
        message += " (expected one of: " + ", ".join(repr(v) for v in allowed) + ")"
    return Problem(
        422,
        f"Invalid task request: {message}",
        kind="invalid-request",
        errors=[{"field": f"body.{name}" if name != "body" else name, "message": message}],
    )


def parse_task_request(
    body: bytes,
    *,
    idempotency_key: str | None,
    find_skill: Callable[[str], Skill] | None = None,
) -> SkillTask:
    """Validate a request body into a task; bad input raises a :class:`Problem`
    naming the field (400 for text that is not JSON, 422 for JSON that is not a task).

    ``find_skill(name)``, when given, checks the skill against what the workers run:
    an unknown name or a pinned ``skill_version`` that is not the current one is refused
    here rather than failing later, and a request without ``mode`` takes the skill's own
    ``context``.
    """
    if not body.strip():
        raise Problem(
            400,
            'The request body is empty: send a JSON object such as {"skill": "NAME"}.',
            kind="malformed-body",
            errors=[{"field": "body", "message": "empty"}],
        )
    try:
        request = _request_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise Problem(
            400,
            f"The request body is not valid JSON: {exc}",
            kind="malformed-body",
            errors=[{"field": "body", "message": str(exc)}],
        ) from None
    if idempotency_key is not None:
        if request.idempotency_key not in (None, idempotency_key):
            raise Problem(
                422,
                "The Idempotency-Key header and the body's idempotency_key differ; send one.",
                kind="invalid-request",
                errors=[{"field": "header.Idempotency-Key", "message": "conflicts with body"}],
            )
        request.idempotency_key = idempotency_key
    fields = {
        name: value
        for name in request.__struct_fields__
        if (value := getattr(request, name)) is not None
    }
    if isinstance(request.args, list):
        fields["args"] = shlex.join(request.args)
    if find_skill is not None:
        try:
            skill = find_skill(request.skill)
        except SkillNotFoundError as exc:
            raise Problem(
                422,
                str(exc),
                kind="unknown-skill",
                errors=[{"field": "body.skill", "message": str(exc)}],
            ) from None
        if request.skill_version not in (None, skill.version):
            message = (
                f"Skill {skill.name} is at version {skill.version}, not {request.skill_version}."
            )
            raise Problem(
                422,
                message,
                kind="skill-version-mismatch",
                errors=[{"field": "body.skill_version", "message": message}],
            )
        fields["mode"] = request.mode or skill.context
    try:
        # Converting into the engine's own type applies its limits (priority 0-9, a
        # positive timeout...), so the gateway never accepts what a worker would refuse.
        return msgspec.convert(fields, SkillTask)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc)) from None


def ref(name: str) -> dict[str, str]:
    """An OpenAPI reference to one of :func:`openapi_components`."""
    return {"$ref": f"#/components/schemas/{name}"}


def openapi_components() -> dict[str, Any]:
    """JSON schemas of every type the API reads or writes, keyed by name."""
    _, components = msgspec.json.schema_components(
        [TaskRequest, TaskResult, TaskEvent, SkillList],
        ref_template="#/components/schemas/{name}",
    )
    components["Problem"] = PROBLEM_SCHEMA
    return components
