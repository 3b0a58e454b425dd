"""Fork tasks through the agent: the Skill tool's sub-agent, run for a task.

A fork task runs exactly as a fork skill invoked through the Skill tool does (see
:mod:`skilld.tool`): a sub-agent with a fresh id, of the type the skill's ``agent:`` names,
gets the expanded skill as its task, may use tools (the built-in ones by default, under the
permission rules of the worker's settings files plus the skill's ``allowed-tools``) and
answers with its final text. What the engine adds:

* **The model.** The task's ``model``, else a backend URI in the skill's ``model:``, else
  the worker's default (``skilld run`` picks the same way). A task that names a model
  overrides the skill's ``model:``; a skill's plain model name (``model: haiku``) applies
  when the task names none, as in the Skill tool.
* **Progress.** Each tool use of the sub-agent (and of the sub-agents it forks in turn)
  becomes a ``tool_use`` event of the task, and its end a ``progress`` event, so the
  gateway's event stream shows what the fork is doing.
* **Usage.** The task's usage is the sum of every model call of the sub-agent and of its
  own forks.
* **Cancellation and clean-up.** Cancelling the task (``DELETE /v1/tasks/{id}``, a lost
  lease, shutdown) cancels the sub-agent inside its model call or tool at once; the Skill
  tool releases the sub-agent's session entries and hooks when it ends, on success,
  error or cancellation, and the runner drops its own reference in ``finally``.

The parent agent is built per task (tools, the Skill tool and the permission engine are
built once per runner and shared; none holds per-task state) so concurrent tasks never
share a conversation. Responses are not streamed: nobody reads the text deltas of a task.

The shortcut: most forks on a load-test model answer at once without tools, and the agent
machinery (two agents, a task and a queue per model call) then costs more than the call.
So a plain fork's first request is built here, exactly as the agent would build it, and
sent directly; an answer without tool uses *is* the agent's result (same text, usage and
events: none), and an answer with tool uses is handed to the agent as the answer to its
own first request (:class:`_Primed`), so the model is never asked twice. Measured on
2,000 fork tasks on ``sim:200ms`` in one worker (memory backend, 2-core machine): about
430 µs of worker CPU per task through the whole agent, 190 µs with the shortcut, 155 µs
for the single model call the engine made before it ran forks through the agent.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skilld.agent.models.base import Message, Model, ModelRequest, ModelResponse, ToolSpec
from skilld.engine.task import SkillTask, TaskUsage

if TYPE_CHECKING:
    from skilld.agent.loop import Agent, AgentType
    from skilld.agent.models.base import Usage
    from skilld.agent.session import SessionState
    from skilld.agent.tools import Tool
    from skilld.engine.executor import EventSink, Outcome
    from skilld.permissions import PermissionEngine
    from skilld.skills.model import Skill
    from skilld.tool import SkillCatalog, SkillTool

__all__ = ["SubagentRunner", "fork_model_uri"]

log = logging.getLogger(__name__)

_PREVIEW_CHARS = 500  # longest string value of a tool input or result kept in an event


def fork_model_uri(skill: Skill, task: SkillTask, default: str | None) -> str | None:
    """The model URI a fork task runs on: the task's, else the skill's ``model:`` when it
    names a backend, else ``default``."""
    from skilld.tool import MODEL_URI_PREFIXES

    if task.model:
        return task.model
    if skill.model and skill.model.startswith(MODEL_URI_PREFIXES):
        return skill.model
    return default


class SubagentRunner:
    """Runs fork tasks as sub-agents of a per-task parent agent.

    Args:
        registry: the skills (the sub-agent's Skill tool offers them too).
        cwd: the agents' working directory (default: the process's).
        tools: the sub-agent's tools besides the Skill tool (default: the built-in Bash,
            Read, Write, Edit, Glob, Grep); plain functions become tools.
        permissions: the permission engine; default: the rules of the settings files
            found from ``cwd`` (as ``skilld run`` reads them).
        max_turns: model calls a sub-agent makes at most.
        max_tokens: the cap on one response's tokens.
        agent_types: the sub-agent types a skill's ``agent:`` may name.
        shortcut: make a plain fork's first model call directly (no agent objects, no
            loop) and run the agent only when that answer asks for a tool, continuing
            from it; output, events and usage are the agent's either way. False always
            runs the agent from the start.
    """

    def __init__(
        self,
        registry: SkillCatalog,
        *,
        cwd: str | Path | None = None,
        tools: Sequence[Tool | Callable[..., Any]] | None = None,
        permissions: PermissionEngine | None = None,
        max_turns: int | None = None,
        max_tokens: int = 4096,
        agent_types: dict[str, AgentType] | None = None,
        shortcut: bool = True,
    ) -> None:
        from skilld.agent.loop import DEFAULT_AGENT_TYPES, DEFAULT_MAX_TURNS
        from skilld.agent.tools import FunctionTool, Tool
        from skilld.agent.tools import builtin_tools as _builtin_tools
        from skilld.tool import SkillTool

        self.cwd = Path(cwd).resolve() if cwd is not None else Path.cwd()
        chosen = _builtin_tools() if tools is None else list(tools)
        self.tools: list[Tool] = [
            item if isinstance(item, Tool) else FunctionTool(item) for item in chosen
        ]
        self.skill_tool: SkillTool = SkillTool(registry)
        self._permissions = permissions
        self.max_turns = max_turns if max_turns is not None else DEFAULT_MAX_TURNS
        self.max_tokens = max_tokens
        self.agent_types = dict(agent_types if agent_types is not None else DEFAULT_AGENT_TYPES)
        self.shortcut = shortcut
        self.shortcuts = 0
        """How many forks made their first model call directly (see ``shortcut``)."""
        self.active: dict[str, Agent] = {}
        """Task id → the parent agent of a fork running in the agent loop now."""
        self._cleared: dict[tuple[str, str], Skill] = {}
        # The tools offered to each agent type, for the shortcut's request. The Skill
        # tool's part lists the registry's skills, so it is kept only while the registry
        # can say when its skills change.
        self._specs: dict[str, list[ToolSpec]] = {}
        subscribe = getattr(registry, "subscribe", None)
        self._keep_specs = callable(subscribe)
        if callable(subscribe):
            subscribe(self._specs.clear)

    @property
    def permissions(self) -> PermissionEngine:
        if self._permissions is None:
            from skilld.permission_settings import load_permission_engine

            self._permissions = load_permission_engine(self.cwd)
        return self._permissions

    async def run(
        self, skill: Skill, task: SkillTask, *, model: Model, events: EventSink
    ) -> Outcome:
        """Run ``skill`` as a fork for ``task`` on ``model``; the sub-agent's answer."""
        from skilld.agent.loop import select_agent_type
        from skilld.agent.session import SessionState

        skill = self._for_task(skill, task)
        # A session id either way, so that a second expansion of the skill (after the
        # shortcut) sees the same ${CLAUDE_SESSION_ID} as the first.
        session = SessionState(task.session_id or str(uuid.uuid4()))
        agent_type = select_agent_type(skill.agent, self.agent_types)
        if self.shortcut and _plain(skill, agent_type, self.max_turns):
            first = await self._first_call(skill, task, model, session, agent_type)
            if not first.response.tool_calls:
                return first.outcome(skill)
            model = _Primed(model, first.request, first.response)
        return await self._agent(skill, task, model, session, events)

    async def _agent(
        self, skill: Skill, task: SkillTask, model: Model, session: SessionState, events: EventSink
    ) -> Outcome:
        """The whole agent: the Skill tool forks ``skill`` from a per-task parent."""
        from skilld.agent.loop import Agent, SubagentProgress, TurnEnd
        from skilld.agent.tools import ToolContext
        from skilld.engine.executor import Outcome

        nested: list[Usage] = []

        async def emit(event: Any) -> None:
            if isinstance(event, SubagentProgress):
                await _report(event, events, nested, depth=0)

        parent = Agent(
            model,
            tools=self.tools,
            skill_tool=self.skill_tool,
            permissions=self.permissions,
            session=session,
            cwd=self.cwd,
            max_turns=self.max_turns,
            max_tokens=self.max_tokens,
            agent_types=self.agent_types,
            stream=False,
        )
        context = ToolContext(
            cwd=parent.cwd,
            agent_id=parent.agent_id,
            agent=parent,
            emit=emit,
            read_files=parent.read_files,
        )
        self.active[task.id] = parent
        try:
            result = await self.skill_tool.invoke(skill, task.args, context)
        finally:
            self.active.pop(task.id, None)
        end = result.data
        usage = end.usage if isinstance(end, TurnEnd) else None
        for extra in nested:
            usage = extra if usage is None else usage + extra
        return Outcome(output=result.content, usage=_task_usage(usage), skill_version=skill.version)

    async def _first_call(
        self,
        skill: Skill,
        task: SkillTask,
        model: Model,
        session: SessionState,
        agent_type: AgentType,
    ) -> _FirstCall:
        """The sub-agent's first model call, made directly. The request is built as the
        Skill tool and the loop build it (a test holds the two equal), so when the answer
        asks for no tool it is the whole run; otherwise the agent continues from it."""
        from skilld.skills.expansion import ExpansionContext, expand_skill

        context = ExpansionContext(
            session_id=session.session_id, cwd=self.cwd, permissions=self.permissions
        )
        expansion = await expand_skill(skill, task.args, context=context)
        effort = skill.effort if skill.effort is not None else agent_type.effort
        request = ModelRequest(
            messages=(Message.user(expansion.text),),
            system=agent_type.system_prompt,
            tools=self._tool_specs(agent_type),
            max_tokens=self.max_tokens,
            effort=effort,
        )
        self.shortcuts += 1
        return _FirstCall(request, await model.complete(request))

    def _tool_specs(self, agent_type: AgentType) -> list[ToolSpec]:
        """The tools a sub-agent of ``agent_type`` is offered (the fork's own tools:
        the type's, or all of the parent's with the Skill tool last)."""
        specs = self._specs.get(agent_type.name) if self._keep_specs else None
        if specs is None:
            specs = [
                tool.spec()
                for tool in (*self.tools, self.skill_tool)
                if agent_type.tools is None or tool.name in agent_type.tools
            ]
            if self._keep_specs:
                self._specs[agent_type.name] = specs
        return specs

    def _for_task(self, skill: Skill, task: SkillTask) -> Skill:
        """The skill as the Skill tool should fork it: without its ``model:`` when the task
        names the model or the model is already the skill's own backend URI (so the tool
        neither overrides the task's choice nor builds a model per task)."""
        from skilld.tool import MODEL_URI_PREFIXES

        if not skill.model or skill.model == "inherit":
            return skill
        if not task.model and not skill.model.startswith(MODEL_URI_PREFIXES):
            return skill  # a model name: the request override applies, as in the Skill tool
        key = (skill.name, skill.version)
        cleared = self._cleared.get(key)
        if cleared is None:
            if len(self._cleared) > 1024:
                self._cleared.clear()
            cleared = dataclasses.replace(skill, model=None, fixed_version=skill.version)
            self._cleared[key] = cleared
        return cleared


async def _report(event: Any, events: EventSink, usage: list[Usage], *, depth: int) -> None:
    """Turn a sub-agent's progress into task events; collect nested forks' usage."""
    from skilld.agent.loop import SubagentProgress, ToolEnd, ToolStart, TurnEnd

    inner = event.event
    if isinstance(inner, SubagentProgress):
        await _report(inner, events, usage, depth=depth + 1)
    elif isinstance(inner, ToolStart):
        call = inner.tool_use
        await events(
            "tool_use",
            {
                "agent_id": event.agent_id,
                "skill": event.skill,
                "tool": call.name,
                "tool_use_id": call.id,
                "input": _preview(dict(call.input)),
            },
        )
    elif isinstance(inner, ToolEnd):
        await events(
            "progress",
            {
                "agent_id": event.agent_id,
                "skill": event.skill,
                "tool": inner.tool_use.name,
                "tool_use_id": inner.tool_use.id,
                "is_error": inner.result.is_error,
                "denied": inner.denied,
                "result": _preview(inner.result.content),
            },
        )
    elif isinstance(inner, TurnEnd) and depth > 0:
        # The fork's own usage comes with its result; a fork it started reports here only.
        usage.append(inner.usage)


def _preview(value: Any) -> Any:
    """``value`` with long strings cut, so one event stays small (a Write's content)."""
    if isinstance(value, str):
        if len(value) <= _PREVIEW_CHARS:
            return value
        return f"{value[:_PREVIEW_CHARS]}… ({len(value)} characters)"
    if isinstance(value, dict):
        return {str(k): _preview(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_preview(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class _FirstCall:
    request: ModelRequest
    response: ModelResponse

    def outcome(self, skill: Skill) -> Outcome:
        """What the agent returns when its first answer asks for no tool: the text (or
        the Skill tool's note for an empty one) and that call's usage."""
        from skilld.engine.executor import Outcome

        text = self.response.text or "(the sub-agent ended without a final message)"
        return Outcome(
            output=text, usage=_task_usage(self.response.usage), skill_version=skill.version
        )


def _plain(skill: Skill, agent_type: AgentType, max_turns: int | None) -> bool:
    """Whether the shortcut builds exactly the sub-agent's first request for this skill.

    Not for: inline shell commands (the agent would expand the skill again, and commands
    must run once), a plain model name (a request override), ``disallowed-tools`` (they
    narrow the offered tools), an agent type with a model of its own, or a loop allowed
    no model call at all.
    """
    if "!`" in skill.body or "```!" in skill.body:
        return False
    if skill.model and skill.model != "inherit":
        return False
    if skill.disallowed_tools:
        return False
    if agent_type.model and agent_type.model != "inherit":
        return False
    return max_turns is None or max_turns >= 1


class _Primed(Model):
    """``model``, except that the first request, when equal to ``request``, is answered
    with ``response`` (already obtained for it): the agent continues a shortcut fork
    without asking the model twice."""

    def __init__(self, model: Model, request: ModelRequest, response: ModelResponse) -> None:
        self.model = model
        self.name = model.name
        self._pending: tuple[ModelRequest, ModelResponse] | None = (request, response)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        pending, self._pending = self._pending, None
        if pending is not None:
            if _same_request(pending[0], request):
                return pending[1]
            log.warning("fork shortcut: the agent's first request differs; asking the model")
        return await self.model.complete(request)

    async def aclose(self) -> None:
        return  # the wrapped model belongs to the executor


def _same_request(a: ModelRequest, b: ModelRequest) -> bool:
    return (
        tuple(a.messages) == tuple(b.messages)
        and a.system == b.system
        and tuple(a.tools) == tuple(b.tools)
        and a.max_tokens == b.max_tokens
        and a.effort == b.effort
        and a.model == b.model
    )


def _task_usage(usage: Usage | None) -> TaskUsage:
    if usage is None:
        return TaskUsage()
    return TaskUsage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens)
