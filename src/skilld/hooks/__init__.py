"""Hooks: commands and Python callables that run at points of an agent's life.

Claude Code's hooks, to the letter: the same events, configuration shape, matchers,
stdin JSON, exit codes and JSON answers. See :mod:`skilld.hooks.runner` for how an agent
loop uses them.
"""

from skilld.hooks.config import (
    DEFAULT_TIMEOUT,
    CommandHook,
    Hook,
    HookGroup,
    HooksConfig,
    PythonHook,
    UnsupportedHook,
    parse_hooks,
)
from skilld.hooks.events import HookEvent
from skilld.hooks.matchers import Matcher, compile_matcher
from skilld.hooks.output import HookOutcome, HookOutput, HookRun, PermissionDecision
from skilld.hooks.runner import HookRunner, Registration
from skilld.hooks.sources import load_settings_hooks, settings_files

__all__ = [
    "DEFAULT_TIMEOUT",
    "CommandHook",
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
