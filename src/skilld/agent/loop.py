"""The agent loop: model → permission check and hooks → tools → model, as an async iterator.

::

    agent = Agent("sim:0", registry=load_registry("."))
    async for event in agent.run("Summarise the README"):
        ...  # TextDelta, AssistantTurn, ToolStart, ToolEnd, SubagentProgress, TurnEnd

One :meth:`Agent.run` is one user turn. It ends when the model stops asking for tools,
after ``max_turns`` model calls, when the token budget is spent, when a hook says
``continue: false``, or when it is cancelled: setting the ``cancel`` event (or cancelling
the task that iterates) stops an in-flight model stream at once and ends the turn with
reason ``cancelled``. The last event is always :class:`TurnEnd` (unless the consumer
cancelled the iterating task, which raises ``CancelledError`` as asyncio does).

Each tool use goes through, in order: the tool's ``validate_input``; the turn's
``disallowed-tools`` and, in strict mode, the allowlist; PreToolUse hooks (which may
deny, ask, allow or rewrite the input); the tool's ``check_permissions`` (rules plus the
turn's always-allow rules); for an ``ask``: PermissionRequest hooks, then the host's
``ask`` callback, and with neither a deny; the call; PostToolUse (or
PostToolUseFailure) hooks.

Skills (Claude Code's rules): an invoked skill's ``allowed-tools`` pre-approve tool uses
for the rest of the invoking turn only (the next :meth:`Agent.run` starts clean), and its
``disallowed-tools`` remove tools while it is active. Beyond Claude Code,
``strict_allowed_tools=True`` makes ``allowed-tools`` an enforced allowlist: a skill that
lists tools gets those and no others for the rest of the turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from skilld.agent.models.base import (
    Message,
    Model,
    ModelRequest,
    ModelResponse,
    ResponseDone,
    TextBlock,
    TextDelta,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
)
from skilld.agent.session import MAIN_AGENT_ID, SessionState
from skilld.agent.tools import FunctionTool, Tool, ToolContext, ToolResult, TurnContext
from skilld.agent.tools import builtin_tools as _builtin_tools
from skilld.exceptions import PermissionRuleError
from skilld.hooks import HookEvent, HookRunner
from skilld.permissions import (
    PermissionDecision,
    PermissionEngine,
    PermissionRequest,
    PermissionRule,
)

if TYPE_CHECKING:
    from skilld.tool import SkillCatalog, SkillTool

__all__ = [
    "DEFAULT_AGENT_TYPES",
    "DEFAULT_MAX_TURNS",
    "Agent",
    "AgentEvent",
    "AgentType",
    "AskFunction",
    "AssistantTurn",
    "StopCause",
    "SubagentProgress",
    "TextDeltaEvent",
    "ToolEnd",
    "ToolStart",
    "TurnEnd",
    "UserTurn",
    "select_agent_type",
]

DEFAULT_MAX_TURNS = 50
"""Model calls one :meth:`Agent.run` makes at most unless told otherwise."""

_COMPACT_PROMPT = (
    "Summarise the conversation so far for a continuation: the task, what was done, what "
    "was found, the decisions made, and what remains. Be complete but concise."
)
_SUMMARY_HEADER = "This session continues an earlier conversation, summarised here:"

StopCause = Literal[
    "end_turn", "max_turns", "token_budget", "cancelled", "hook_stopped", "prompt_blocked"
]


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class TextDeltaEvent:
    """Text of the model's answer as it streams in."""

    text: str
    agent_id: str = MAIN_AGENT_ID


@dataclass(frozen=True, slots=True)
class AssistantTurn:
    """One whole model response, appended to the conversation."""

    message: Message
    usage: Usage
    stop_reason: str
    model: str
    agent_id: str = MAIN_AGENT_ID

    @property
    def text(self) -> str:
        return self.message.text


@dataclass(frozen=True, slots=True)
class ToolStart:
    """A tool use is about to be checked and run."""

    tool_use: ToolUseBlock
    agent_id: str = MAIN_AGENT_ID


@dataclass(frozen=True, slots=True)
class ToolEnd:
    """A tool use finished: ``result`` is what the model reads; ``denied`` when it never ran."""

    tool_use: ToolUseBlock
    result: ToolResultBlock
    denied: bool = False
    agent_id: str = MAIN_AGENT_ID


@dataclass(frozen=True, slots=True)
class UserTurn:
    """A user message the loop added (tool results, a skill's content, a hook's feedback)."""

    message: Message
    agent_id: str = MAIN_AGENT_ID


@dataclass(frozen=True, slots=True)
class SubagentProgress:
    """Something a sub-agent (a fork skill) did, reported while its tool call runs."""

    agent_id: str
    agent_type: str
    skill: str
    event: AgentEvent


@dataclass(frozen=True, slots=True)
class TurnEnd:
    """The turn is over: why, the final text, what it cost."""

    reason: StopCause
    text: str
    usage: Usage
    turns: int
    agent_id: str = MAIN_AGENT_ID
    detail: str | None = None


AgentEvent: TypeAlias = (
    TextDeltaEvent | AssistantTurn | ToolStart | ToolEnd | UserTurn | SubagentProgress | TurnEnd
)

AskFunction = Callable[
    [PermissionRequest], "bool | PermissionDecision | Awaitable[bool | PermissionDecision]"
]
"""The host asking a person about a tool use: True allows, False denies (may be async)."""


# --------------------------------------------------------------------------- agent types


@dataclass(frozen=True, slots=True)
class AgentType:
    """A kind of sub-agent a fork skill may ask for with ``agent:``.

    ``tools`` None means every tool of the parent; ``model`` None means the parent's.
    """

    name: str
    description: str = ""
    system_prompt: str | None = None
    tools: tuple[str, ...] | None = None
    model: str | None = None
    effort: str | int | None = None


DEFAULT_AGENT_TYPES: Mapping[str, AgentType] = {
    "general-purpose": AgentType(
        "general-purpose",
        "A general agent for multi-step tasks, with every tool.",
        "You are an agent carrying out one task. Use the tools you need, then answer with "
        "a concise report of what you did and found.",
    ),
    "Explore": AgentType(
        "Explore",
        "Read-only: searches and reads files, changes nothing.",
        "You are a read-only agent: search and read to answer the task; change nothing.",
        tools=("Read", "Glob", "Grep", "Bash"),
    ),
}


def select_agent_type(name: str | None, types: Mapping[str, AgentType]) -> AgentType:
    """The named type, else ``general-purpose``, else the first one (Claude Code's chain)."""
    if not types:
        raise ValueError("no agent types are defined")
    if name and name in types:
        return types[name]
    if "general-purpose" in types:
        return types["general-purpose"]
    return next(iter(types.values()))


# --------------------------------------------------------------------------- agent


@dataclass(slots=True)
class _Stopped:
    reason: StopCause
    detail: str | None = None


@dataclass(slots=True)
class _Call:
    """The outcome of one tool use, for the loop."""

    block: ToolResultBlock
    result: ToolResult | None = None
    denied: bool = False
    stop: str | None = None
    extra: list[str] = field(default_factory=list)


class Agent:
    """One agent: a model, tools, permissions, hooks and a conversation.

    Args:
        model: a :class:`~skilld.agent.models.Model` or a URI (``sim:0``,
            ``anthropic:claude-sonnet-5-5``).
        tools: the tools (default: Bash, Read, Write, Edit, Glob, Grep); plain functions
            are made tools with :func:`~skilld.agent.tools.function_tool`.
        registry: where skills are found; with one, the Skill tool is added.
        skill_tool: a configured :class:`~skilld.tool.SkillTool` instead (remote skills).
        permissions: the permission engine (default: no rules, so Bash and edits ask).
        ask: called when a tool use needs a person's answer; without it, asking is a deny.
        hooks: the session's hook runner (default: none).
        session: the session state (invoked skills); default: a fresh one.
        system: the system prompt.
        cwd: the working directory (default: the permission engine's, else the process's).
        agent_id / agent_type: who this agent is (``main`` for the top level).
        max_turns: model calls per :meth:`run` at most.
        token_budget: tokens (input + output, summed over the agent's life) after which a
            turn stops.
        max_tokens: the cap on one response's tokens.
        effort: the default reasoning effort.
        strict_allowed_tools: ``allowed-tools`` of an invoked skill become the only tools
            allowed for the rest of the turn.
        agent_types: the sub-agent types fork skills may ask for.
        stream: stream model responses (text arrives as :class:`TextDeltaEvent`).
    """

    def __init__(
        self,
        model: Model | str,
        *,
        tools: Sequence[Tool | Callable[..., Any]] | None = None,
        registry: SkillCatalog | None = None,
        skill_tool: SkillTool | None = None,
        permissions: PermissionEngine | None = None,
        ask: AskFunction | None = None,
        hooks: HookRunner | None = None,
        session: SessionState | None = None,
        system: str | None = None,
        cwd: str | os.PathLike[str] | None = None,
        agent_id: str = MAIN_AGENT_ID,
        agent_type: str | None = None,
        max_turns: int | None = DEFAULT_MAX_TURNS,
        token_budget: int | None = None,
        max_tokens: int = 4096,
        effort: str | int | None = None,
        strict_allowed_tools: bool = False,
        agent_types: Mapping[str, AgentType] | None = None,
        stream: bool = True,
        messages: Sequence[Message] = (),
    ) -> None:
        from skilld.agent.models import resolve_model

        self.model = resolve_model(model)
        if cwd is not None:
            self.cwd = Path(os.path.abspath(cwd))
        elif permissions is not None:
            self.cwd = Path(permissions.cwd)
        else:
            self.cwd = Path.cwd()
        self.permissions = permissions or PermissionEngine(cwd=self.cwd)
        self.ask = ask
        self.hooks = hooks
        self.session = session if session is not None else SessionState()
        self.system = system
        self.agent_id = agent_id
        self.agent_type = agent_type
        self.max_turns = max_turns
        self.token_budget = token_budget
        self.max_tokens = max_tokens
        self.effort = effort
        self.strict_allowed_tools = strict_allowed_tools
        self.agent_types = dict(agent_types if agent_types is not None else DEFAULT_AGENT_TYPES)
        self.stream = stream
        self.messages: list[Message] = list(messages)
        self.usage = Usage()
        self.read_files: dict[str, float] = {}
        chosen = list(_builtin_tools()) if tools is None else list(tools)
        self.tools: dict[str, Tool] = {}
        for item in chosen:
            tool = item if isinstance(item, Tool) else FunctionTool(item)
            self.tools[tool.name] = tool
        if skill_tool is None and registry is not None:
            from skilld.tool import SkillTool

            skill_tool = SkillTool(registry)
        self.skill_tool = skill_tool
        if skill_tool is not None:
            self.tools[skill_tool.name] = skill_tool

    def __repr__(self) -> str:
        return f"<Agent {self.agent_id} model={self.model.name} tools={list(self.tools)}>"

    # ----------------------------------------------------------------- public

    async def run(
        self,
        prompt: str | Message,
        *,
        cancel: asyncio.Event | None = None,
        turn: TurnContext | None = None,
    ) -> AsyncGenerator[AgentEvent, None]:
        """Run one user turn; yields events, :class:`TurnEnd` last.

        ``turn`` starts the turn with a context other than the clean one (a skill the
        user invoked: its ``allowed-tools`` hold for this turn).
        """
        message = prompt if isinstance(prompt, Message) else Message.user(prompt)
        blocked, context_text = await self._prompt_hook(
            HookEvent.USER_PROMPT_SUBMIT, prompt=message.text
        )
        if blocked is not None:
            yield blocked
            return
        if context_text:
            message = Message.user((*message.blocks, TextBlock(context_text)))
        self.messages.append(message)
        async with contextlib.aclosing(self._loop(turn or TurnContext(), cancel)) as events:
            async for event in events:
                yield event

    async def _prompt_hook(self, event: HookEvent, **fields: Any) -> tuple[TurnEnd | None, str]:
        """Run a prompt hook of the main agent: the :class:`TurnEnd` when it blocked the
        prompt, and the context it added."""
        if self.hooks is None or self.agent_id != MAIN_AGENT_ID:
            return None, ""
        outcome = await self.hooks.run(event, **fields)
        if outcome.blocked or outcome.prevent_continuation:
            why = outcome.reason or outcome.stop_reason or "blocked by a hook"
            return self._end("prompt_blocked", "", 0, why), ""
        return None, outcome.context

    async def complete(self, prompt: str | Message, **options: Any) -> TurnEnd:
        """:meth:`run` to the end; the :class:`TurnEnd`."""
        end: TurnEnd | None = None
        async for event in self.run(prompt, **options):
            if isinstance(event, TurnEnd):
                end = event
        assert end is not None
        return end

    async def run_skill(
        self, name: str, arguments: str = "", *, cancel: asyncio.Event | None = None
    ) -> AsyncGenerator[AgentEvent, None]:
        """Run a skill as a user typing ``/name arguments`` would.

        An inline skill's content becomes the user message of one turn (its
        ``allowed-tools`` pre-approved for that turn); a fork skill runs as a sub-agent
        whose final text ends the turn. No permission check: the user asked for it.
        """
        if self.skill_tool is None:
            raise ValueError("this agent has no skills: give it a registry")
        skill = await self.skill_tool.user_skill(name)
        typed = f"/{skill.name} {arguments}".rstrip()
        blocked, _ = await self._prompt_hook(HookEvent.USER_PROMPT_SUBMIT, prompt=typed)
        if blocked is None:
            blocked, extra = await self._prompt_hook(
                HookEvent.USER_PROMPT_EXPANSION,
                expansion_type="slash_command",
                command_name=skill.name,
                command_args=arguments,
                command_source=skill.source.value,
                prompt=typed,
            )
        if blocked is not None:
            yield blocked
            return
        context = ToolContext(
            cwd=self.cwd, agent_id=self.agent_id, agent=self, read_files=self.read_files
        )
        if skill.context == "fork":
            started = len(self.messages)
            self.messages.append(Message.user(typed))
            outcome: list[ToolResult] = []

            async def work(emit: Callable[[Any], Awaitable[None]]) -> None:
                outcome.append(
                    await self.skill_tool.invoke(  # type: ignore[union-attr]
                        skill, arguments, replace(context, emit=emit)
                    )
                )

            async with contextlib.aclosing(self._drive(work, cancel)) as items:
                async for item in items:
                    if isinstance(item, _Stopped):
                        del self.messages[started:]
                        yield self._end("cancelled", "", 0)
                        return
                    yield item
            result = outcome[0]
            self.messages.append(Message.assistant(result.content))
            # The sub-agent's model calls are this run's: count them and their tokens.
            sub = result.data if isinstance(result.data, TurnEnd) else None
            if sub is not None:
                self.usage = self.usage + sub.usage
            detail = "error" if result.is_error else None
            yield self._end("end_turn", result.content, sub.turns if sub else 0, detail)
            return
        result = await self.skill_tool.invoke(skill, arguments, context)
        base = result.context_modifier(TurnContext()) if result.context_modifier else None
        content = [block for m in result.messages for block in m.blocks]
        if extra:
            content.append(TextBlock(extra))
        self.messages.append(Message.user(content))
        async with contextlib.aclosing(self._loop(base or TurnContext(), cancel)) as events:
            async for event in events:
                yield event

    async def compact(self, summary: str | None = None, *, instructions: str | None = None) -> str:
        """Replace the conversation with a summary and the skills it was following.

        The summary is ``summary`` or, without one, the model's answer to a request to
        summarise (``instructions`` added). The new conversation is one user message:
        the summary, then the session's re-attached skills (the most recent invocation
        of each, within the compaction budgets; see :mod:`skilld.agent.session`).
        PreCompact and PostCompact hooks run around it. Returns the summary.
        """
        from skilld.agent.session import render_attachments

        trigger = "manual"
        if self.hooks is not None:
            await self.hooks.run(
                HookEvent.PRE_COMPACT,
                agent_id=None if self.agent_id == MAIN_AGENT_ID else self.agent_id,
                trigger=trigger,
                custom_instructions=instructions or "",
            )
        if summary is None:
            ask = _COMPACT_PROMPT + (f"\n\n{instructions}" if instructions else "")
            request = ModelRequest(
                messages=(*self.messages, Message.user(ask)),
                system=self.system,
                max_tokens=self.max_tokens,
            )
            response = await self.model.complete(request)
            self.usage = self.usage + response.usage
            summary = response.text
        attached = render_attachments(self.session.compact(self.agent_id))
        text = f"{_SUMMARY_HEADER}\n\n{summary}" + (f"\n\n{attached}" if attached else "")
        self.messages[:] = [Message.user(text)]
        if self.hooks is not None:
            await self.hooks.run(
                HookEvent.POST_COMPACT,
                agent_id=None if self.agent_id == MAIN_AGENT_ID else self.agent_id,
                trigger=trigger,
                compact_summary=summary,
            )
        return summary

    def fork(
        self,
        *,
        agent_id: str | None = None,
        agent_type: AgentType,
        model: Model | None = None,
        effort: str | int | None = None,
        system: str | None = None,
    ) -> Agent:
        """A sub-agent sharing this agent's session, hooks, permissions and working
        directory, with its own id, conversation and tools (the type's)."""
        tools = [
            tool
            for tool in self.tools.values()
            if agent_type.tools is None or tool.name in agent_type.tools
        ]
        return Agent(
            model or self.model,
            tools=tools,
            skill_tool=None,
            permissions=self.permissions,
            ask=self.ask,
            hooks=self.hooks,
            session=self.session,
            system=system if system is not None else agent_type.system_prompt,
            cwd=self.cwd,
            agent_id=agent_id or f"agent-{uuid.uuid4().hex[:12]}",
            agent_type=agent_type.name,
            max_turns=self.max_turns,
            token_budget=self.token_budget,
            max_tokens=self.max_tokens,
            effort=effort if effort is not None else agent_type.effort or self.effort,
            strict_allowed_tools=self.strict_allowed_tools,
            agent_types=self.agent_types,
            stream=self.stream,
        )

    def current_model_name(self, turn: TurnContext | None = None) -> str:
        """The model a request of this turn names (the override, else the model's)."""
        if turn is not None and turn.model:
            return turn.model
        return self.model.name

    def tool_specs(self, turn: TurnContext) -> list[Tool]:
        """The tools offered to the model in this turn."""
        removed = [r for r in _rules(turn.disallowed_tools, "deny") if r.specifier is None]
        listed = _rules(turn.allowlist, "allow") if turn.allowlist is not None else None
        offered = []
        for tool in self.tools.values():
            if any(rule.covers_tool(tool.name) for rule in removed):
                continue
            if listed is not None and not any(rule.covers_tool(tool.name) for rule in listed):
                continue
            offered.append(tool)
        return offered

    # ----------------------------------------------------------------- the loop

    def _end(self, reason: StopCause, text: str, turns: int, detail: str | None = None) -> TurnEnd:
        return TurnEnd(reason, text, self.usage, turns, self.agent_id, detail)

    async def _loop(
        self, turn: TurnContext, cancel: asyncio.Event | None
    ) -> AsyncGenerator[AgentEvent, None]:
        turns = 0
        last_text = ""
        stop_hook_active = False
        while True:
            if cancel is not None and cancel.is_set():
                yield self._end("cancelled", last_text, turns)
                return
            if self.max_turns is not None and turns >= self.max_turns:
                yield self._end("max_turns", last_text, turns)
                return
            request = ModelRequest(
                messages=tuple(self.messages),
                system=self.system,
                tools=[tool.spec() for tool in self.tool_specs(turn)],
                max_tokens=self.max_tokens,
                effort=turn.effort if turn.effort is not None else self.effort,
                model=turn.model,
            )
            turns += 1
            response: ModelResponse | None = None
            model_call = self._drive(partial(self._call_model, request), cancel)
            async with contextlib.aclosing(model_call) as items:
                async for item in items:
                    if isinstance(item, _Stopped):
                        yield self._end("cancelled", last_text, turns)
                        return
                    if isinstance(item, ModelResponse):
                        response = item
                    else:
                        yield item
            assert response is not None
            self.usage = self.usage + response.usage
            message = response.to_message()
            self.messages.append(message)
            last_text = response.text or last_text
            yield AssistantTurn(
                message, response.usage, response.stop_reason, response.model, self.agent_id
            )
            calls = response.tool_calls
            over_budget = (
                self.token_budget is not None and self.usage.total_tokens >= self.token_budget
            )
            if not calls:
                feedback = await self._stop_hooks(stop_hook_active)
                if feedback is None:
                    yield self._end("end_turn", last_text, turns)
                    return
                if over_budget:  # a Stop hook wants more, but the budget is spent
                    yield self._end("token_budget", last_text, turns, feedback)
                    return
                stop_hook_active = True
                note = Message.user(feedback)
                self.messages.append(note)
                yield UserTurn(note, self.agent_id)
                continue
            if over_budget:
                yield self._close(calls, "the token budget is spent")
                yield self._end("token_budget", last_text, turns)
                return
            results: list[ToolResultBlock] = []
            added: list[TextBlock] = []
            stop: str | None = None
            for index, call in enumerate(calls):
                yield ToolStart(call, self.agent_id)
                outcome: list[_Call] = []

                async def work(
                    emit: Callable[[Any], Awaitable[None]],
                    call: ToolUseBlock = call,
                    turn: TurnContext = turn,
                    outcome: list[_Call] = outcome,
                ) -> None:
                    outcome.append(await self._use_tool(call, turn, emit))

                stopped = False
                async with contextlib.aclosing(self._drive(work, cancel)) as items:
                    async for item in items:
                        if isinstance(item, _Stopped):
                            stopped = True
                        else:
                            yield item
                if stopped:
                    self.messages.append(
                        _results_message(results, calls[index:], "interrupted by the user")
                    )
                    yield self._end("cancelled", last_text, turns)
                    return
                done = outcome[0]
                results.append(done.block)
                yield ToolEnd(call, done.block, done.denied, self.agent_id)
                if done.result is not None:
                    if done.result.context_modifier is not None:
                        turn = done.result.context_modifier(turn)
                    for extra in done.result.messages:
                        added.extend(b for b in extra.blocks if isinstance(b, TextBlock))
                added.extend(TextBlock(text) for text in done.extra)
                stop = stop or done.stop
            tool_message = Message.user((*results, *added))
            self.messages.append(tool_message)
            yield UserTurn(tool_message, self.agent_id)
            if stop is not None:
                yield self._end("hook_stopped", last_text, turns, stop)
                return

    def _close(self, calls: Sequence[ToolUseBlock], why: str) -> UserTurn:
        message = _results_message([], calls, why)
        self.messages.append(message)
        return UserTurn(message, self.agent_id)

    async def _call_model(
        self, request: ModelRequest, emit: Callable[[Any], Awaitable[None]]
    ) -> ModelResponse:
        if not self.stream:
            return await self.model.complete(request)
        final: ModelResponse | None = None
        events = self.model.stream(request)
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    await emit(TextDeltaEvent(event.text, self.agent_id))
                elif isinstance(event, ResponseDone):
                    final = event.response
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        if final is None:
            raise RuntimeError(f"{self.model.name}: the stream ended without a response")
        return final

    async def _drive(
        self,
        work: Callable[[Callable[[Any], Awaitable[None]]], Awaitable[Any]],
        cancel: asyncio.Event | None,
    ) -> AsyncGenerator[Any, None]:
        """Run ``work(emit)`` as a task, yielding what it emits, then its result.

        Setting ``cancel`` cancels the task at once and yields :class:`_Stopped`; so does
        cancelling the task iterating this generator (which then re-raises). The work is
        always finished (cancelled and awaited) before this generator ends.
        """
        queue: asyncio.Queue[Any] = asyncio.Queue()
        task = asyncio.ensure_future(work(queue.put))
        waiter = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                waiting: set[asyncio.Future[Any]] = {task, getter}
                if waiter is not None:
                    waiting.add(waiter)
                try:
                    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    if not getter.done():
                        getter.cancel()
                if getter in done:
                    yield getter.result()
                    continue
                if waiter is not None and waiter in done and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    yield _Stopped("cancelled")
                    return
                while not queue.empty():
                    yield queue.get_nowait()
                value = task.result()
                if value is not None:
                    yield value
                return
        finally:
            if waiter is not None:
                waiter.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _stop_hooks(self, active: bool) -> str | None:
        """A Stop hook's reason to keep going (fed back to the model), or None to stop."""
        if self.hooks is None:
            return None
        if self.agent_id == MAIN_AGENT_ID:
            outcome = await self.hooks.run(HookEvent.STOP, stop_hook_active=active)
        else:
            outcome = await self.hooks.run(
                HookEvent.SUBAGENT_STOP,
                agent_id=self.agent_id,
                stop_hook_active=active,
                agent_type=self.agent_type or "",
            )
        if outcome.blocked and not outcome.prevent_continuation:
            return outcome.reason
        return None

    # ----------------------------------------------------------------- one tool use

    async def _use_tool(
        self, call: ToolUseBlock, turn: TurnContext, emit: Callable[[Any], Awaitable[None]]
    ) -> _Call:
        def refuse(text: str, *, denied: bool = False) -> _Call:
            return _Call(ToolResultBlock(call.id, text, is_error=True), denied=denied)

        tool = self.tools.get(call.name)
        if tool is None:
            return refuse(f"No such tool: {call.name}. Available: {', '.join(self.tools)}")
        context = ToolContext(
            cwd=self.cwd,
            agent_id=self.agent_id,
            tool_use_id=call.id,
            turn=turn,
            agent=self,
            emit=emit,
            read_files=self.read_files,
        )
        tool_input: dict[str, Any] = dict(call.input)
        problem = await tool.validate_input(tool_input, context)
        if problem is not None:
            return refuse(f"Invalid input for {tool.name}: {problem}")
        blocked = self._turn_refusal(tool, tool_input, turn)
        if blocked is not None:
            return refuse(blocked, denied=True)
        hook_decision = None
        hook_reason = None
        stop: str | None = None
        agent_id = None if self.agent_id == MAIN_AGENT_ID else self.agent_id
        if self.hooks is not None:
            pre = await self.hooks.run(
                HookEvent.PRE_TOOL_USE,
                agent_id=agent_id,
                tool_name=tool.name,
                tool_input=tool_input,
                tool_use_id=call.id,
            )
            if pre.prevent_continuation:
                stop = pre.stop_reason or "a PreToolUse hook stopped the agent"
            hook_decision, hook_reason = pre.permission_decision, pre.permission_decision_reason
            if hook_decision == "deny":
                why = hook_reason or pre.reason or "denied by a hook"
                result = refuse(f"PreToolUse hook denied {tool.name}: {why}", denied=True)
                result.stop = stop
                return result
            if pre.updated_input is not None:
                tool_input = dict(pre.updated_input)
                problem = await tool.validate_input(tool_input, context)
                if problem is not None:
                    return refuse(f"Invalid input for {tool.name} (from a hook): {problem}")
        decision = tool.check_permissions(tool_input, context, self.permissions)
        if decision.behavior == "ask" and not tool.requires_permission and decision.rule is None:
            decision = PermissionDecision("allow", f"{tool.name} is the host's own tool")
        if decision.behavior == "ask" and hook_decision == "allow":
            decision = PermissionDecision("allow", hook_reason or "allowed by a PreToolUse hook")
        elif decision.behavior == "allow" and hook_decision == "ask":
            decision = PermissionDecision("ask", hook_reason or "a PreToolUse hook asks first")
        if decision.behavior == "ask":
            decision = await self._ask(tool, tool_input, decision, agent_id)
        if decision.behavior != "allow":
            why = decision.message
            result = refuse(f"Permission to use {tool.name} denied: {why}", denied=True)
            result.stop = stop
            return result
        try:
            returned: object = await tool.call(tool_input, context)
            # A host's Tool subclass may return plain text despite the annotation.
            output = returned if isinstance(returned, ToolResult) else ToolResult(str(returned))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure of a tool is the model's to read
            error = f"{type(exc).__name__}: {exc}"
            if self.hooks is not None:
                await self.hooks.run(
                    HookEvent.POST_TOOL_USE_FAILURE,
                    agent_id=agent_id,
                    tool_name=tool.name,
                    tool_input=tool_input,
                    tool_use_id=call.id,
                    error=error,
                    is_interrupt=False,
                )
            return _Call(ToolResultBlock(call.id, f"{tool.name} failed: {error}", True), stop=stop)
        extra: list[str] = []
        if self.hooks is not None:
            post = await self.hooks.run(
                HookEvent.POST_TOOL_USE_FAILURE if output.is_error else HookEvent.POST_TOOL_USE,
                agent_id=agent_id,
                tool_name=tool.name,
                tool_input=tool_input,
                tool_use_id=call.id,
                **(
                    {"error": output.content, "is_interrupt": False}
                    if output.is_error
                    else {"tool_response": output.content}
                ),
            )
            if post.blocked:
                extra.append(f"{post.event.value} hook feedback: {post.reason}")
            if post.context:
                extra.append(post.context)
            if post.prevent_continuation:
                stop = stop or post.stop_reason or "a PostToolUse hook stopped the agent"
        block = ToolResultBlock(call.id, output.content, output.is_error)
        return _Call(block, output, stop=stop, extra=extra)

    def _turn_refusal(
        self, tool: Tool, tool_input: Mapping[str, Any], turn: TurnContext
    ) -> str | None:
        """Why the turn's skills forbid this use (disallowed-tools, strict allowlist)."""
        skills = ", ".join(turn.active_skills) or "the active skill"
        if turn.disallowed_tools:
            rules = _rules(turn.disallowed_tools, "deny")
            engine = PermissionEngine(rules, cwd=self.cwd)
            if engine.check_tool(tool.name, tool_input).behavior == "deny":
                return f"{tool.name} is disallowed while {skills} is active (disallowed-tools)"
        if turn.allowlist is not None:
            rules = _rules(turn.allowlist, "allow")
            engine = PermissionEngine(rules, cwd=self.cwd)
            decision = engine.check_tool(tool.name, tool_input)
            if decision.behavior != "allow" or decision.rule is None:
                listed = ", ".join(turn.allowlist) or "no tools"
                return (
                    f"{tool.name} is not in the allowed-tools of {skills} (strict mode allows "
                    f"only: {listed})"
                )
        return None

    async def _ask(
        self,
        tool: Tool,
        tool_input: Mapping[str, Any],
        decision: PermissionDecision,
        agent_id: str | None,
    ) -> PermissionDecision:
        if self.hooks is not None:
            outcome = await self.hooks.run(
                HookEvent.PERMISSION_REQUEST,
                agent_id=agent_id,
                tool_name=tool.name,
                tool_input=dict(tool_input),
                permission_suggestions=list(decision.suggestions),
            )
            if outcome.permission_decision in ("allow", "deny"):
                why = outcome.permission_decision_reason or "decided by a PermissionRequest hook"
                return PermissionDecision(outcome.permission_decision, why)
        if self.ask is None:
            message = decision.message
            missing = [rule for rule in decision.suggestions if rule not in message]
            if missing and len(missing) == len(decision.suggestions):
                message += f"; the rule {missing[0]} in permissions.allow would allow it"
            return PermissionDecision("deny", message, decision.rule, decision.origin)
        request = PermissionRequest(
            tool.name, dict(tool_input), decision.message, decision.suggestions, decision.rule
        )
        answer = self.ask(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, PermissionDecision):
            return answer
        if answer:
            return PermissionDecision("allow", f"{tool.name} was allowed when asked")
        return PermissionDecision("deny", f"{tool.name} was denied when asked")


def _results_message(
    results: Sequence[ToolResultBlock], pending: Sequence[ToolUseBlock], why: str
) -> Message:
    """The tool results so far plus an error result for each tool use that never ran, so
    the conversation stays valid for the next turn."""
    closing = [ToolResultBlock(call.id, f"Not run: {why}", is_error=True) for call in pending]
    return Message.user((*results, *closing))


def _rules(texts: Sequence[str], behavior: Literal["allow", "deny"]) -> list[PermissionRule]:
    rules = []
    for text in texts:
        # A malformed rule in a skill's frontmatter matches nothing (the validator reports it).
        with contextlib.suppress(PermissionRuleError):
            rules.append(PermissionRule.parse(text, behavior=behavior))
    return rules
