"""The hook runner of one session: what is configured, what skills registered, what runs.

An agent loop holds one :class:`HookRunner` per session and calls :meth:`HookRunner.run`
at each event::

    outcome = await hooks.run(HookEvent.PRE_TOOL_USE, tool_name="Bash",
                              tool_input={"command": "rm -rf /"}, tool_use_id="t1")
    if outcome.permission_decision == "deny":
        ...  # do not run the tool; tell the model outcome.reason

Every matching hook of the event runs in parallel, each under its own timeout;
identical commands run once. The answers merge in declaration order (see
:func:`skilld.hooks.output.combine`).

Skills add hooks for the rest of the session when invoked (:meth:`HookRunner.register_skill`);
a registration made for a sub-agent (``agent_id``) fires only for that agent and goes
away with :meth:`HookRunner.release_agent`. The registry is guarded by a lock, so agents
on other threads may register and release while hooks run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skilld.hooks.config import (
    DEFAULT_TIMEOUT,
    CommandHook,
    Hook,
    HooksConfig,
    PythonHook,
    parse_hooks,
)
from skilld.hooks.events import HookEvent, matcher_value
from skilld.hooks.execute import run_command_hook, run_python_hook, run_unsupported_hook
from skilld.hooks.output import HookOutcome, HookRun, combine
from skilld.hooks.sources import load_settings_hooks

if TYPE_CHECKING:
    from skilld.settings import Settings
    from skilld.skills.model import Skill

__all__ = ["HookRunner", "Registration"]

_ids = itertools.count(1)


@dataclass(frozen=True, eq=False)
class Registration:
    """Hooks added to a running session; :meth:`HookRunner.unregister` removes them.

    Attributes:
        owner: who added them (a skill's name), for :meth:`HookRunner.unregister_owner`.
        agent_id: the agent they fire for; None means every agent of the session.
        env: extra environment for their commands (``CLAUDE_SKILL_DIR``...).
    """

    config: HooksConfig
    owner: str
    agent_id: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    id: int = field(default_factory=lambda: next(_ids))


@dataclass(frozen=True, slots=True)
class _Bound:
    """A hook ready to run: where it came from and what environment it gets."""

    hook: Hook
    key: tuple[int, HookEvent, int, int]  # (registration id or 0, event, group, index)
    env: Mapping[str, str]
    registration: Registration | None


class HookRunner:
    """Runs the hooks of one session.

    Args:
        config: hooks from settings files (see :func:`skilld.hooks.load_settings_hooks`),
            always active.
        session_id: ``session_id`` of every event.
        cwd: where commands run and the ``cwd`` of every event (default: the process's).
        project_dir: ``CLAUDE_PROJECT_DIR`` for commands (default: ``cwd``).
        transcript_path: ``transcript_path`` of every event, if the agent keeps one.
        permission_mode: ``permission_mode`` of every event.
        env: extra environment for every command (on top of the process's).
        default_timeout: seconds for hooks that set no ``timeout``.
    """

    def __init__(
        self,
        config: HooksConfig | None = None,
        *,
        session_id: str = "",
        cwd: Path | str | None = None,
        project_dir: Path | str | None = None,
        transcript_path: str | None = None,
        permission_mode: str = "default",
        env: Mapping[str, str] | None = None,
        default_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.config = config or HooksConfig()
        self.session_id = session_id
        self.cwd = Path(cwd) if cwd is not None else Path.cwd()
        self.project_dir = Path(project_dir) if project_dir is not None else self.cwd
        self.transcript_path = transcript_path
        self.permission_mode = permission_mode
        self.env = dict(env or {})
        self.default_timeout = default_timeout
        self._lock = threading.Lock()
        self._registrations: dict[int, Registration] = {}
        self._spent: set[tuple[int, HookEvent, int, int]] = set()
        self._background: set[asyncio.Task[HookRun]] = set()

    @classmethod
    def from_settings(
        cls,
        project_dir: Path | str | None = None,
        *,
        settings: Settings | None = None,
        **options: Any,
    ) -> HookRunner:
        """A runner with the hooks of the managed, user, project and local settings files.

        Broken entries are skipped and listed in ``runner.config.errors``; ``options`` are
        the constructor's (``session_id``, ``cwd``...). ``cwd`` defaults to ``project_dir``.
        """
        project = Path(project_dir) if project_dir is not None else Path.cwd()
        config = load_settings_hooks(project, settings=settings)
        options.setdefault("cwd", project)
        return cls(config, project_dir=project, **options)

    # -- session-scoped registration -------------------------------------------------

    def register(
        self,
        config: HooksConfig,
        *,
        owner: str,
        agent_id: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Registration:
        """Add hooks for the rest of the session (or of ``agent_id``'s life)."""
        registration = Registration(config, owner, agent_id, dict(env or {}))
        with self._lock:
            self._registrations[registration.id] = registration
        return registration

    def register_skill(self, skill: Skill, *, agent_id: str | None = None) -> Registration | None:
        """Register the ``hooks`` of a skill's frontmatter; None when it declares none.

        Commands get ``CLAUDE_SKILL_DIR`` (the skill's folder) and, for plugin skills,
        ``CLAUDE_PLUGIN_ROOT``. Raises :class:`HookConfigError` naming the SKILL.md file
        when the hooks are malformed; nothing is registered then.
        """
        if not skill.hooks:
            return None
        origin = str(skill.path) if skill.path is not None else f"skill {skill.name}"
        config = parse_hooks(skill.hooks, origin=origin)
        env: dict[str, str] = {}
        if skill.directory is not None:
            env["CLAUDE_SKILL_DIR"] = str(skill.directory)
        if skill.plugin_root is not None:
            env["CLAUDE_PLUGIN_ROOT"] = str(skill.plugin_root)
        return self.register(config, owner=skill.name, agent_id=agent_id, env=env)

    def unregister(self, registration: Registration) -> bool:
        """Remove one registration; False if it was already gone."""
        with self._lock:
            return self._registrations.pop(registration.id, None) is not None

    def unregister_owner(self, owner: str, *, agent_id: str | None = None) -> int:
        """Remove what ``owner`` registered (for ``agent_id`` only, if given)."""
        return self._remove(
            lambda r: r.owner == owner and (agent_id is None or r.agent_id == agent_id)
        )

    def release_agent(self, agent_id: str) -> int:
        """Remove every registration made for ``agent_id`` (a fork that ended)."""
        return self._remove(lambda r: r.agent_id == agent_id)

    def registrations(self) -> tuple[Registration, ...]:
        with self._lock:
            return tuple(self._registrations.values())

    def _remove(self, predicate: Any) -> int:
        with self._lock:
            doomed = [key for key, r in self._registrations.items() if predicate(r)]
            for key in doomed:
                del self._registrations[key]
            return len(doomed)

    # -- running ---------------------------------------------------------------------

    def payload(
        self, event: HookEvent, fields: Mapping[str, Any], agent_id: str | None = None
    ) -> dict[str, Any]:
        """The JSON object a hook reads: the common fields, then the event's own."""
        data: dict[str, Any] = {
            "session_id": self.session_id,
            "transcript_path": self.transcript_path,
            "cwd": str(self.cwd),
            "permission_mode": self.permission_mode,
        }
        if agent_id is not None:
            data["agent_id"] = agent_id
        data.update(fields)
        data["hook_event_name"] = event.value
        return data

    def matching(
        self, event: HookEvent, payload: Mapping[str, Any], agent_id: str | None = None
    ) -> list[_Bound]:
        """The hooks that run for this event, in declaration order, duplicates dropped."""
        value = matcher_value(event, dict(payload))
        with self._lock:
            sources: list[tuple[HooksConfig, Registration | None]] = [(self.config, None)]
            sources.extend(
                (r.config, r)
                for r in self._registrations.values()
                if r.agent_id is None or r.agent_id == agent_id
            )
            spent = set(self._spent)
        bound: list[_Bound] = []
        seen: set[Any] = set()
        for config, registration in sources:
            reg_id = registration.id if registration is not None else 0
            env = registration.env if registration is not None else {}
            for g, group in enumerate(config.groups(event)):
                if not group.matcher.matches(value):
                    continue
                for h, hook in enumerate(group.hooks):
                    key = (reg_id, event, g, h)
                    if key in spent:
                        continue
                    identity = _identity(hook, env)
                    if identity in seen:
                        continue
                    seen.add(identity)
                    bound.append(_Bound(hook, key, env, registration))
        return bound

    async def run(
        self,
        event: HookEvent | str,
        fields: Mapping[str, Any] | None = None,
        /,
        *,
        agent_id: str | None = None,
        **more: Any,
    ) -> HookOutcome:
        """Run every hook matching ``event`` in parallel and merge their answers.

        ``fields`` (and keyword arguments) are the event's own input fields, such as
        ``tool_name``/``tool_input`` for PreToolUse. ``agent_id`` selects the hooks a
        sub-agent registered and is passed to hooks. Never raises for a failing hook;
        cancelling the call kills the running commands.
        """
        event = HookEvent(event)
        payload = self.payload(event, {**(fields or {}), **more}, agent_id)
        bound = self.matching(event, payload, agent_id)
        if not bound:
            return HookOutcome(event)
        text = json.dumps(payload, default=str)
        waited: list[tuple[_Bound, Coroutine[Any, Any, HookRun]]] = []
        for item in bound:
            coroutine = self._execute(item, event, text)
            hook = item.hook
            if isinstance(hook, CommandHook) and hook.run_async:
                task = asyncio.create_task(coroutine)
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            else:
                waited.append((item, coroutine))
        runs = await asyncio.gather(*(c for _, c in waited))
        with self._lock:
            for (item, _), result in zip(waited, runs, strict=True):
                if item.hook.once and result.status == "success":
                    self._spent.add(item.key)
        return combine(event, runs)

    async def _execute(self, item: _Bound, event: HookEvent, payload: str) -> HookRun:
        hook = item.hook
        timeout = hook.timeout if hook.timeout is not None else self.default_timeout
        if isinstance(hook, CommandHook):
            env = {**os.environ, **self.env, "CLAUDE_PROJECT_DIR": str(self.project_dir)}
            env.update(item.env)
            return await run_command_hook(
                hook, event=event, payload=payload, timeout=timeout, cwd=self.cwd, env=env
            )
        if isinstance(hook, PythonHook):
            return await run_python_hook(hook, event=event, payload=payload, timeout=timeout)
        return await run_unsupported_hook(hook)

    async def aclose(self) -> None:
        """Wait for ``async: true`` hooks still running (each is bounded by its timeout)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)


def _identity(hook: Hook, env: Mapping[str, str]) -> Any:
    # Claude Code runs an identical command once per event. The environment is part of
    # the identity: the same script under two skills' CLAUDE_SKILL_DIR is two hooks.
    if isinstance(hook, CommandHook):
        return ("command", hook.command, tuple(sorted(env.items())))
    return ("object", id(hook))
