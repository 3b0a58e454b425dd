"""The Skill tool: how a model invokes a skill, as Claude Code's Skill tool does.

Three steps, each its own method:

* :meth:`SkillTool.validate_input`: the skill must exist (an unknown name gets the
  closest known names) and the model may invoke it (``disable-model-invocation`` is
  refused with a message telling the model to ask the user to run ``/name``).
* :meth:`SkillTool.check_permissions`: deny rules first; a skill whose content hash is
  pinned (a remote skill's pin, or ``trusted_versions``) is allowed without asking;
  otherwise the permission engine's chain (deny, ask, allow rules, then safe properties,
  then ask).
* :meth:`SkillTool.call` dispatches:

  - **inline**: the expanded content enters the conversation as a new user message, and
    a context modifier changes what later tool calls of the turn see: the skill's
    ``allowed-tools`` merged into the always-allow rules (deduplicated, a new layer over
    the previous context, which is left untouched), its ``disallowed-tools`` removed, its
    ``model`` as the request's model (keeping the current model's context-window suffix
    such as ``[1m]``) and its ``effort``.
  - **fork** (``context: fork``): a sub-agent with a fresh agent id runs the expanded
    content as its task. Its type comes from ``agent:`` (named → ``general-purpose`` →
    the first available), its model from ``model:`` (a URI such as ``sim:0`` picks
    another backend), its effort from ``effort:``. Each of its tool uses is reported as
    :class:`~skilld.agent.loop.SubagentProgress`; its final text is the result. Its
    session entries and hooks are released when it ends, also when it fails.
  - **remote**: skills of a :class:`~skilld.skills.remote.RemoteSkills` catalogue are
    fetched on first use (pinned, cached) and then run inline or forked like any other.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from skilld.agent.models.base import Message, Model, ToolSpec, split_context_suffix
from skilld.agent.session import MAIN_AGENT_ID
from skilld.agent.tools.base import ContextModifier, Tool, ToolContext, ToolResult, TurnContext
from skilld.exceptions import (
    PermissionRuleError,
    RemoteSkillError,
    SkillNotFoundError,
    SkillNotInvocableError,
)
from skilld.hooks import HookEvent
from skilld.permissions import (
    PermissionDecision,
    PermissionEngine,
    PermissionRequest,
    PermissionRule,
    RuleSource,
)
from skilld.skills.expansion import Expansion, ExpansionContext, expand_skill
from skilld.skills.model import Skill

if TYPE_CHECKING:
    from skilld.agent.loop import Agent
    from skilld.skills.remote import RemoteSkills

__all__ = [
    "MODEL_URI_PREFIXES",
    "SkillCatalog",
    "SkillTool",
    "resolve_model_override",
    "skill_context_modifier",
]

MODEL_URI_PREFIXES = ("anthropic:", "openai:", "sim:", "test:")
"""A skill's ``model:`` starting with one of these names a backend, not a model name."""

_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "skill": {"type": "string", "description": 'The skill name, e.g. "pdf" or "review".'},
        "args": {"type": "string", "description": "Optional arguments for the skill."},
    },
    "required": ["skill"],
    "additionalProperties": False,
}
_DESCRIPTION = (
    "Execute a skill within the main conversation. When a task matches a skill below, "
    "invoke it with its name (and arguments in `args`) before doing anything else; its "
    "instructions then arrive as a message to follow. Do not invoke a skill that is "
    "already running.\n\nAvailable skills:\n"
)


class SkillCatalog(Protocol):
    """What the Skill tool needs of a registry (:class:`skilld.skills.registry.SkillRegistry`)."""

    def get(self, name: str) -> Skill | None: ...

    def skills(self) -> list[Skill]: ...


def resolve_model_override(skill_model: str, current_model: str | None) -> str:
    """The model a skill's ``model:`` selects, keeping the current context-window suffix.

    ``("opus", "claude-sonnet-4-5[1m]")`` → ``"opus[1m]"``: a session running with a 1M
    context keeps it when a skill switches models, unless the skill names a suffix itself.
    """
    _, suffix = split_context_suffix(skill_model)
    if suffix or not current_model:
        return skill_model
    _, current_suffix = split_context_suffix(current_model)
    return skill_model + current_suffix


def skill_context_modifier(
    skill: Skill,
    expansion: Expansion | None = None,
    *,
    strict: bool = False,
    current_model: str | None = None,
) -> ContextModifier:
    """What an invoked skill changes for the later tool calls of its turn.

    Each call of the modifier returns a new :class:`TurnContext` built on the one it is
    given (never changed): the skill's allowed tools merged into ``always_allow``, its
    disallowed tools added, in strict mode its allowed tools as the allowlist, its model
    (see :func:`resolve_model_override`; a backend URI is left to forks) and its effort.
    """
    allowed = tuple(expansion.allowed_tools if expansion is not None else skill.allowed_tools)
    model = skill.model if skill.model and skill.model != "inherit" else None
    if model is not None and model.startswith(MODEL_URI_PREFIXES):
        model = None

    def modify(turn: TurnContext) -> TurnContext:
        new = turn.allowing(allowed) if allowed else turn
        if skill.disallowed_tools:
            merged = tuple(dict.fromkeys((*new.disallowed_tools, *skill.disallowed_tools)))
            new = replace(new, disallowed_tools=merged)
        if strict and allowed:
            new = replace(new, allowlist=allowed)
        if model is not None:
            new = replace(new, model=resolve_model_override(model, turn.model or current_model))
        if skill.effort is not None:
            new = replace(new, effort=skill.effort)
        return replace(new, active_skills=(*new.active_skills, skill.name))

    return modify


class SkillTool(Tool):
    """The tool a model calls to invoke a skill (see the module doc).

    Args:
        registry: the local skills.
        remote: remote skills, fetched on first use.
        trusted_versions: content hashes (``sha256:…``) of skills allowed without asking.
        expansion: the expansion context to use instead of one built from the agent
            (its working directory, session id, effort and permission engine).
        listing_chars: the budget of the skill catalogue in the tool's description.
    """

    name = "Skill"
    input_schema = _SCHEMA

    def __init__(
        self,
        registry: SkillCatalog,
        *,
        remote: RemoteSkills | None = None,
        trusted_versions: Iterable[str] = (),
        expansion: ExpansionContext | None = None,
        listing_chars: int | None = None,
    ) -> None:
        self.registry = registry
        self.remote = remote
        self.trusted_versions = frozenset(trusted_versions)
        self.expansion = expansion
        self.listing_chars = listing_chars

    # ----------------------------------------------------------------- description

    description = _DESCRIPTION + "(none yet)"

    def spec(self) -> ToolSpec:
        """The tool with the current catalogue (the registry may have changed)."""
        return ToolSpec(self.name, self.catalogue(), self.input_schema)

    def catalogue(self) -> str:
        """The description: what the tool does and the model-invocable skills, within the
        listing budget."""
        from skilld.skills.listing import build_listing

        listing = build_listing(self.registry.skills(), budget_chars=self.listing_chars)
        lines = [listing.text()]
        if self.remote is not None:
            lines.extend(f"- {name}: (remote skill)" for name in self.remote.names())
        return _DESCRIPTION + "\n".join(line for line in lines if line)

    # ----------------------------------------------------------------- lookup

    def _names(self) -> list[str]:
        names = [s.name for s in self.registry.skills() if not s.disable_model_invocation]
        if self.remote is not None:
            names.extend(self.remote.names())
        return names

    def close_names(self, name: str) -> list[str]:
        """Up to three known names closest to ``name`` (for "did you mean")."""
        return difflib.get_close_matches(name, self._names(), n=3, cutoff=0.6)

    async def lookup(self, name: str) -> Skill | None:
        """The skill ``name``: local first, then remote (fetched on first use)."""
        name = name.strip().removeprefix("/")
        skill = self.registry.get(name)
        if skill is None and self.remote is not None and name in self.remote.specs:
            skill = await self.remote.get(name)
        return skill

    def _known(self, name: str) -> Skill | None:
        name = name.strip().removeprefix("/")
        skill = self.registry.get(name)
        if skill is None and self.remote is not None:
            skill = self.remote.cached(name)
        return skill

    async def user_skill(self, name: str) -> Skill:
        """The skill a user typed ``/name`` for; raises when it is unknown or model-only."""
        skill = await self.lookup(name)
        if skill is None:
            raise SkillNotFoundError(name.removeprefix("/"), self.close_names(name))
        if not skill.user_invocable:
            raise SkillNotInvocableError(skill.name, "user-invocable is false (model only)")
        return skill

    # ----------------------------------------------------------------- the tool

    async def validate_input(
        self, tool_input: Mapping[str, Any], context: ToolContext
    ) -> str | None:
        problem = await super().validate_input(tool_input, context)
        if problem is not None:
            return problem
        name = str(tool_input["skill"]).strip().removeprefix("/")
        if not name:
            return "Invalid skill format: give a skill name"
        try:
            skill = await self.lookup(name)
        except RemoteSkillError as exc:
            return f"Remote skill {name} could not be loaded: {exc}"
        if skill is None:
            return str(SkillNotFoundError(name, self.close_names(name)))
        if skill.disable_model_invocation:
            return (
                f"Skill {name} cannot be used with the Skill tool due to "
                f"disable-model-invocation. Ask the user to run /{name} themselves."
            )
        return None

    def check_permissions(
        self,
        tool_input: Mapping[str, Any],
        context: ToolContext,
        permissions: PermissionEngine,
    ) -> PermissionDecision:
        name = str(tool_input["skill"]).strip().removeprefix("/")
        engine = permissions
        granted = _skill_rules(context.turn.always_allow)
        if granted:
            engine = permissions.with_rules(granted)
        first = engine.check_tool("Skill", {"skill": name})
        if first.behavior == "deny":
            return first
        skill = self._known(name)
        if skill is None:  # validate_input ran first, so this is a race with a reload
            return PermissionDecision("deny", f"Unknown skill: {name}")
        pins = self.trusted_versions | (self.remote.pins if self.remote is not None else set())
        if pins and skill.version in pins:
            return PermissionDecision("allow", f"Skill {name} matches its pin {skill.version}")
        return engine.check_skill(skill, ask=_defer_ask)

    async def call(self, tool_input: Mapping[str, Any], context: ToolContext) -> ToolResult:
        name = str(tool_input["skill"]).strip().removeprefix("/")
        skill = await self.lookup(name)
        if skill is None:
            raise SkillNotFoundError(name, self.close_names(name))
        return await self.invoke(skill, str(tool_input.get("args") or ""), context)

    async def invoke(self, skill: Skill, arguments: str, context: ToolContext) -> ToolResult:
        """Run ``skill`` with ``arguments``: inline or as a fork (no checks; see :meth:`call`)."""
        if skill.context == "fork":
            return await self._fork(skill, arguments, context)
        return await self._inline(skill, arguments, context)

    # ----------------------------------------------------------------- inline

    def _expansion_context(self, context: ToolContext) -> ExpansionContext:
        if self.expansion is not None:
            return self.expansion
        agent: Agent | None = context.agent
        if agent is None:
            return ExpansionContext(cwd=context.cwd, effort=context.turn.effort)
        return ExpansionContext(
            session_id=agent.session.session_id or str(uuid.uuid4()),
            cwd=agent.cwd,
            effort=context.turn.effort if context.turn.effort is not None else agent.effort,
            permissions=agent.permissions,
        )

    async def _inline(self, skill: Skill, arguments: str, context: ToolContext) -> ToolResult:
        agent: Agent | None = context.agent
        expansion = await expand_skill(skill, arguments, context=self._expansion_context(context))
        content = expansion.text
        if agent is not None:
            invocation = agent.session.record_invocation(
                skill.name, content, agent_id=context.agent_id, path=_path(skill)
            )
            if invocation.duplicate and invocation.note:
                content = invocation.note
            if agent.hooks is not None:
                owner = None if context.agent_id == MAIN_AGENT_ID else context.agent_id
                agent.hooks.register_skill(skill, agent_id=owner)
        modifier = skill_context_modifier(
            skill,
            expansion,
            strict=agent.strict_allowed_tools if agent is not None else False,
            current_model=agent.current_model_name(context.turn) if agent is not None else None,
        )
        return ToolResult(
            f"Launching skill: {skill.name}",
            messages=(Message.user(content),),
            context_modifier=modifier,
            data=expansion,
        )

    # ----------------------------------------------------------------- fork

    async def _fork(self, skill: Skill, arguments: str, context: ToolContext) -> ToolResult:
        from skilld.agent.loop import SubagentProgress, ToolEnd, ToolStart, TurnEnd
        from skilld.agent.loop import select_agent_type as choose

        agent: Agent | None = context.agent
        if agent is None:
            raise SkillNotInvocableError(skill.name, "a fork skill needs a running agent")
        agent_id = f"fork-{uuid.uuid4().hex[:12]}"
        agent_type = choose(skill.agent, agent.agent_types)
        current = agent.current_model_name(context.turn)
        model, owned, model_name = _fork_model(skill, agent_type.model, agent, current)
        hooks = agent.hooks
        try:
            expansion = await expand_skill(
                skill, arguments, context=self._expansion_context(context)
            )
            agent.session.record_invocation(
                skill.name, expansion.text, agent_id=agent_id, path=_path(skill)
            )
            if hooks is not None:
                hooks.register_skill(skill, agent_id=agent_id)
                await hooks.run(
                    HookEvent.SUBAGENT_START, agent_id=agent_id, agent_type=agent_type.name
                )
            effort = skill.effort if skill.effort is not None else agent_type.effort
            child = agent.fork(agent_id=agent_id, agent_type=agent_type, model=model, effort=effort)
            turn = skill_context_modifier(
                skill,
                expansion,
                strict=agent.strict_allowed_tools,
                current_model=child.current_model_name(),
            )(TurnContext(model=model_name))
            end: TurnEnd | None = None
            async for event in child.run(expansion.text, turn=turn):
                progress = isinstance(event, ToolStart | ToolEnd | SubagentProgress | TurnEnd)
                if progress and context.emit is not None:
                    await context.emit(
                        SubagentProgress(agent_id, agent_type.name, skill.name, event)
                    )
                if isinstance(event, TurnEnd):
                    end = event
        finally:
            agent.session.release_agent(agent_id)
            if hooks is not None:
                hooks.release_agent(agent_id)
            if owned:
                await model.aclose()
        assert end is not None
        text = end.text or "(the sub-agent ended without a final message)"
        if end.reason != "end_turn":
            text = f"{text}\n\n[sub-agent stopped: {end.reason}]"
        return ToolResult(text, is_error=end.reason == "cancelled", data=end)


def _fork_model(
    skill: Skill, type_model: str | None, agent: Agent, current: str
) -> tuple[Model, bool, str | None]:
    """The fork's model object, whether the fork owns it (and must close it), and the
    model name its requests ask for (None: the model's own)."""
    wanted = skill.model if skill.model and skill.model != "inherit" else type_model
    if not wanted or wanted == "inherit":
        return agent.model, False, None
    if wanted.startswith(MODEL_URI_PREFIXES):
        from skilld.agent.models import resolve_model

        return resolve_model(wanted), True, None
    return agent.model, False, resolve_model_override(wanted, current)


def _path(skill: Skill) -> str | None:
    return str(skill.path) if skill.path is not None else None


def _defer_ask(request: PermissionRequest) -> PermissionDecision:
    """Turn the engine's question into an ``ask`` decision, which the loop then puts to
    PermissionRequest hooks and the host's ask callback."""
    return PermissionDecision("ask", request.message, request.rule, None, request.suggestions)


def _skill_rules(texts: Iterable[str]) -> list[PermissionRule]:
    rules: list[PermissionRule] = []
    for text in texts:
        try:
            rules.append(
                PermissionRule.parse(
                    text,
                    source=RuleSource.SKILL,
                    origin="the allowed-tools of an invoked skill",
                )
            )
        except PermissionRuleError:
            continue  # a malformed rule allows nothing
    return rules
