"""How a worker runs a task: the :class:`Executor` protocol and its two implementations.

:class:`SkillExecutor` runs skills: it finds the skill in a registry and refuses a version
other than the one the task pinned, unless its :class:`~skilld.engine.cache.SkillCache`
has that version (a gateway published it when it accepted the task): then it runs the
cached definition, so a task runs the version it was submitted with even on a worker
whose copy changed since, or that never had the skill. An ``inline`` task returns the expanded skill
(arguments, variables, inline shell). A ``fork`` task runs as the Skill tool runs a fork
skill: a sub-agent with tools and permissions, on the task's model or the worker's
default, whose final text is the output (see :mod:`skilld.engine.fork`: its tool uses
become task events, its usage is summed, cancelling the task stops it at once).
:class:`FunctionExecutor` runs a Python callable (tests, and users testing their own code
against the engine).

``fork_runner`` replaces the sub-agent with any callable that takes the expanded prompt
(a custom model pipeline, a test double).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from skilld.engine.task import SkillTask, TaskUsage
from skilld.exceptions import ConfigurationError, SkillNotFoundError, SkillVersionMismatchError

if TYPE_CHECKING:
    from skilld.agent.models.base import Model
    from skilld.agent.tools import Tool
    from skilld.engine.cache import ResultCache, SkillCache
    from skilld.engine.fork import SubagentRunner
    from skilld.permissions import PermissionEngine
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
    """Runs a fork skill instead of the sub-agent: the expanded prompt in, an
    :class:`Outcome` out."""

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
        cwd / add_dirs: the default registry's roots (``--skills-dir`` adds one); ``cwd``
            is also the fork sub-agents' working directory, where their permission
            settings are read (default: the registry's ``cwd`` when it has one, else the
            process's).
        default_model: model URI for fork tasks that name none (``--model``,
            ``SKILLD_DEFAULT_MODEL``).
        model_options: keyword arguments for :func:`skilld.agent.models.resolve_model`.
        max_tokens: the cap on one response's tokens in fork tasks.
        max_turns: model calls a fork task's sub-agent makes at most (default: the
            agent loop's).
        tools: the fork sub-agent's tools besides the Skill tool (default: the built-in
            Bash, Read, Write, Edit, Glob, Grep); plain functions become tools.
        permissions: the sub-agent's permission engine (default: the rules of the
            settings files found from ``cwd``, read on the first fork task).
        fork_runner: runs fork skills instead of the sub-agent.
        result_cache: serves the results of skills that opt in (frontmatter
            ``metadata: {skilld-cache-ttl: "300"}``) from a
            :class:`~skilld.engine.cache.ResultCache`; None: never cached.
        skill_cache: where a task's pinned version is looked up when the registry has
            another version of the skill, or none (a
            :class:`~skilld.engine.cache.SkillCache` a gateway publishes to); None: such
            a task fails with :class:`~skilld.exceptions.SkillVersionMismatchError` or
            :class:`~skilld.exceptions.SkillNotFoundError`.
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
        max_turns: int | None = None,
        tools: Sequence[Tool | Callable[..., Any]] | None = None,
        permissions: PermissionEngine | None = None,
        fork_runner: ForkRunner | None = None,
        result_cache: ResultCache | None = None,
        skill_cache: SkillCache | None = None,
    ) -> None:
        self._registry = registry
        self._cwd = cwd
        self._add_dirs = add_dirs
        self.default_model = default_model
        self._model_options = dict(model_options or {})
        self.max_tokens = max_tokens
        self.max_turns = max_turns
        self._tools = tools
        self._permissions = permissions
        self._fork_runner = fork_runner
        self._subagents: SubagentRunner | None = None
        self.result_cache = result_cache
        self.skill_cache = skill_cache
        self._models: dict[str, Model] = {}

    @property
    def registry(self) -> SkillLookup:
        if self._registry is None:
            from skilld.skills.registry import SkillRegistry

            self._registry = SkillRegistry(self._cwd, add_dirs=self._add_dirs)
        return self._registry

    def skill(self, task: SkillTask) -> Skill:
        """The skill a task names, at the version it pins, from the registry alone."""
        skill = self.registry.get(task.skill)
        if skill is None:
            raise SkillNotFoundError(task.skill)
        if task.skill_version is not None and skill.version != task.skill_version:
            raise SkillVersionMismatchError(task.skill, task.skill_version, skill.version)
        return skill

    async def resolve(self, task: SkillTask) -> Skill:
        """The skill a task names, at the version it pins: the registry's when it has
        that version (no cache look-up: the usual case costs nothing more), else the
        skill cache's; the registry's error when neither has it."""
        skill = self.registry.get(task.skill)
        if skill is not None and task.skill_version in (None, skill.version):
            return skill
        if task.skill_version is not None and self.skill_cache is not None:
            cached = await self.skill_cache.get(task.skill_version, name=task.skill)
            if cached is not None:
                return cached
        return self.skill(task)

    @property
    def subagents(self) -> SubagentRunner:
        """What runs fork tasks as sub-agents (built on first use)."""
        if self._subagents is None:
            from skilld.engine.fork import SubagentRunner

            registry = self.registry
            if not hasattr(registry, "skills"):
                raise ConfigurationError(
                    "fork tasks need a registry that can list its skills (a SkillRegistry)"
                )
            # A registry built for a project (``--cwd``) is where its agents work too:
            # tools, relative paths and the permission settings files.
            cwd = self._cwd if self._cwd is not None else getattr(registry, "cwd", None)
            self._subagents = SubagentRunner(
                registry,  # type: ignore[arg-type]  # checked just above
                cwd=cwd,
                tools=self._tools,
                permissions=self._permissions,
                max_turns=self.max_turns,
                max_tokens=self.max_tokens,
            )
        return self._subagents

    def model(self, task: SkillTask, skill: Skill | None = None) -> Model:
        """The model a fork task runs on (built once per URI): the task's, else a backend
        URI in the skill's ``model:``, else the worker's default."""
        from skilld.engine.fork import fork_model_uri

        if skill is None:
            uri = task.model or self.default_model
        else:
            uri = fork_model_uri(skill, task, self.default_model)
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
        skill = await self.resolve(task)
        if self.result_cache is None:
            return await self._run(skill, task, events)
        model = None
        if task.mode == "fork":
            from skilld.engine.fork import fork_model_uri

            model = fork_model_uri(skill, task, self.default_model)
        return await self.result_cache.get_or_run(
            skill,
            mode=task.mode,
            model=model,
            args=task.args,
            session_id=task.session_id,
            run=lambda: self._run(skill, task, events),
        )

    async def _run(self, skill: Skill, task: SkillTask, events: EventSink) -> Outcome:
        if task.mode == "fork" and self._fork_runner is None:
            # The Skill tool expands the skill itself (in the sub-agent's session).
            model = self.model(task, skill)
            return await self.subagents.run(skill, task, model=model, events=events)
        from skilld.skills.expansion import ExpansionContext, expand_skill

        context = (
            ExpansionContext(session_id=task.session_id) if task.session_id else ExpansionContext()
        )
        expansion = await expand_skill(skill, task.args, context=context)
        if task.mode == "inline":
            return Outcome(output=expansion.text, skill_version=skill.version)
        assert self._fork_runner is not None
        model = self.model(task, skill)
        outcome = await self._fork_runner(skill, task, expansion.text, model=model, events=events)
        if outcome.skill_version is None:
            outcome = Outcome(outcome.output, outcome.usage, skill.version)
        return outcome
