"""How a worker runs a task: the :class:`Executor` protocol and its two implementations.

:class:`SkillExecutor` runs skills: it finds the skill in a registry, refuses a version
other than the one the task pinned, expands the skill's prompt (arguments, variables,
inline shell) and then, for ``inline`` tasks, returns the expanded text; for ``fork``
tasks it sends that text to a model as the user message and returns the answer and the
token usage. :class:`FunctionExecutor` runs a Python callable (tests, and users testing
their own code against the engine).

The seam for the agent loop: a fork runs through ``fork_runner`` when one is given (the
Skill tool's sub-agent, once it exists, with tools and permissions); the built-in runner
is one model call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from skilld.engine.task import SkillTask, TaskUsage
from skilld.exceptions import ConfigurationError, SkillNotFoundError, SkillVersionMismatchError

if TYPE_CHECKING:
    from skilld.agent.models.base import Model
    from skilld.engine.cache import ResultCache
    from skilld.skills.model import Skill

__all__ = [
    "EventSink",
    "Executor",
    "ForkRunner",
    "FunctionExecutor",
    "Outcome",
    "SkillExecutor",
    "SkillLookup",
]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a successful run produced."""

    output: Any = None
    usage: TaskUsage = field(default_factory=TaskUsage)
    skill_version: str | None = None


class EventSink(Protocol):
    """Where a running task reports progress: ``await events("progress", {...})``."""

    async def __call__(self, type: str, data: dict[str, Any] | None = None) -> None: ...


@runtime_checkable
class Executor(Protocol):
    """Runs one attempt of a task. Raise to fail it (the worker's retry policy decides
    what happens next); raise :class:`~skilld.exceptions.Retry` to ask for a retry."""

    async def execute(self, task: SkillTask, *, events: EventSink) -> Outcome: ...


class SkillLookup(Protocol):
    """What the executor needs of a registry (:class:`skilld.skills.registry.SkillRegistry`)."""

    def get(self, name: str) -> Skill | None: ...


class ForkRunner(Protocol):
    """Runs a fork skill: the expanded prompt in, an :class:`Outcome` out."""

    async def __call__(
        self, skill: Skill, task: SkillTask, prompt: str, *, model: Model, events: EventSink
    ) -> Outcome: ...


class FunctionExecutor:
    """Runs ``function(task)`` (sync or async) or ``function(task, events)``.

    The return value becomes the output (an :class:`Outcome` is used as it is). Ship the
    fakes: this is how tests drive a worker without skills or models.
    """

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        parameters = inspect.signature(function).parameters
        self._wants_events = len(parameters) >= 2

    async def execute(self, task: SkillTask, *, events: EventSink) -> Outcome:
        value = self.function(task, events) if self._wants_events else self.function(task)
        if inspect.isawaitable(value):
            value = await value
        return value if isinstance(value, Outcome) else Outcome(output=value)


class SkillExecutor:
    """Runs skills from a registry.

    Args:
        registry: where skills are looked up; default: a
            :class:`~skilld.skills.registry.SkillRegistry` for ``cwd`` and ``add_dirs``,
            built on first use.
        cwd / add_dirs: the default registry's roots (``--skills-dir`` adds one).
        default_model: model URI for fork tasks that name none (``--model``,
            ``SKILLD_DEFAULT_MODEL``).
        model_options: keyword arguments for :func:`skilld.agent.models.resolve_model`.
        max_tokens: the answer's token limit for fork tasks.
        fork_runner: runs fork skills instead of the built-in single model call.
        result_cache: serves the results of skills that opt in (frontmatter
            ``metadata: {skilld-cache-ttl: "300"}``) from a
            :class:`~skilld.engine.cache.ResultCache`; None: never cached.
    """

    def __init__(
        self,
        registry: SkillLookup | None = None,
        *,
        cwd: str | Path | None = None,
        add_dirs: tuple[str | Path, ...] = (),
        default_model: str | None = None,
        model_options: Mapping[str, Any] | None = None,
        max_tokens: int = 4096,
        fork_runner: ForkRunner | None = None,
        result_cache: ResultCache | None = None,
    ) -> None:
        self._registry = registry
        self._cwd = cwd
        self._add_dirs = add_dirs
        self.default_model = default_model
        self._model_options = dict(model_options or {})
        self.max_tokens = max_tokens
        self._fork_runner = fork_runner
        self.result_cache = result_cache
        self._models: dict[str, Model] = {}

    @property
    def registry(self) -> SkillLookup:
        if self._registry is None:
            from skilld.skills.registry import SkillRegistry

            self._registry = SkillRegistry(self._cwd, add_dirs=self._add_dirs)
        return self._registry

    def skill(self, task: SkillTask) -> Skill:
        """The skill a task names, at the version it pins."""
        skill = self.registry.get(task.skill)
        if skill is None:
            raise SkillNotFoundError(task.skill)
        if task.skill_version is not None and skill.version != task.skill_version:
            raise SkillVersionMismatchError(task.skill, task.skill_version, skill.version)
        return skill

    def model(self, task: SkillTask) -> Model:
        """The model a fork task runs on (built once per URI)."""
        uri = task.model or self.default_model
        if uri is None:
            raise ConfigurationError(
                f"fork task {task.id} of skill {task.skill} names no model and the worker has "
                "no default: pass --model or set SKILLD_DEFAULT_MODEL (e.g. sim:200ms)"
            )
        model = self._models.get(uri)
        if model is None:
            from skilld.agent.models import resolve_model

            model = self._models[uri] = resolve_model(uri, **self._model_options)
        return model

    async def execute(self, task: SkillTask, *, events: EventSink) -> Outcome:
        skill = self.skill(task)
        if self.result_cache is None:
            return await self._run(skill, task, events)
        model = None if task.mode == "inline" else (task.model or self.default_model)
        return await self.result_cache.get_or_run(
            skill,
            mode=task.mode,
            model=model,
            args=task.args,
            session_id=task.session_id,
            run=lambda: self._run(skill, task, events),
        )

    async def _run(self, skill: Skill, task: SkillTask, events: EventSink) -> Outcome:
        from skilld.skills.expansion import ExpansionContext, expand_skill

        context = (
            ExpansionContext(session_id=task.session_id) if task.session_id else ExpansionContext()
        )
        expansion = await expand_skill(skill, task.args, context=context)
        if task.mode == "inline":
            return Outcome(output=expansion.text, skill_version=skill.version)
        model = self.model(task)
        runner = self._fork_runner or _single_call(self.max_tokens)
        outcome = await runner(skill, task, expansion.text, model=model, events=events)
        if outcome.skill_version is None:
            outcome = Outcome(outcome.output, outcome.usage, skill.version)
        return outcome


def _single_call(max_tokens: int) -> ForkRunner:
    async def run(
        skill: Skill, task: SkillTask, prompt: str, *, model: Model, events: EventSink
    ) -> Outcome:
        from skilld.agent.models.base import Message, ModelRequest

        response = await model.complete(
            ModelRequest(messages=[Message("user", prompt)], max_tokens=max_tokens)
        )
        usage = TaskUsage(
            input_tokens=response.usage.input_tokens, output_tokens=response.usage.output_tokens
        )
        return Outcome(output=response.text, usage=usage)

    return run
