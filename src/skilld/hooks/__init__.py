"""Hooks: commands and Python callables that run at points of an agent's life.

Claude Code's hooks, to the letter: the same events, configuration shape, matchers,
stdin JSON, exit codes and JSON answers. See :mod:`skilld.hooks.runner` for how an agent
loop uses them.
"""

from skilld.hooks.config import (
    DEFAULT_TIMEOUT,
    HOOK_TYPES,
    CommandHook,
    Hook,
    HookGroup,
    HooksConfig,
    PythonHook,
    UnsupportedHook,
    parse_hooks,
)
from skilld.hooks.events import CLAUDE_CODE_EVENTS, EventInfo, HookEvent
from skilld.hooks.matchers import Matcher, compile_matcher
from skilld.hooks.output import HookOutcome, HookOutput, HookRun, PermissionDecision
from skilld.hooks.runner import HookRunner, Registration
from skilld.hooks.sources import load_settings_hooks, settings_files

__all__ = [
    "CLAUDE_CODE_EVENTS",
    "DEFAULT_TIMEOUT",
    "HOOK_TYPES",
    "CommandHook",
    "EventInfo",
    "Hook",
    "HookEvent",
    "HookGroup",
    "HookOutcome",
    "HookOutput",
    "HookRun",
    "HookRunner",
    "HooksConfig",
    "Matcher",
    "PermissionDecision",
    "PythonHook",
    "Registration",
    "UnsupportedHook",
    "compile_matcher",
    "load_settings_hooks",
    "parse_hooks",
    "settings_files",
]
