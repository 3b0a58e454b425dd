"""skilld: an Agent Skills runtime and a task engine to run skills at scale.

The public API, imported lazily: ``import skilld`` loads nothing but this table, and
``skilld.Agent`` (say) imports the agent loop on first use. Optional backends (SDKs,
brokers, the gateway) load only when something that needs them is used.

::

    import skilld

    registry = skilld.SkillRegistry(".")
    for skill in registry.skills():
        print(skill.name, skill.description)

    expansion = skilld.expand_skill_sync(registry.get("review"), "src/app.py")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from skilld.exceptions import (
    BackendUnavailableError,
    BundledSkillError,
    ConfigurationError,
    EngineError,
    ExpansionError,
    GatewayError,
    HookConfigError,
    HookError,
    LeaseLostError,
    MalformedTaskError,
    MissingDependencyError,
    ModelAPIError,
    ModelError,
    PermissionDeniedError,
    PermissionRuleError,
    RemoteSkillError,
    Retry,
    SettingsFileError,
    ShellCommandDenied,
    ShellCommandError,
    SkilldError,
    SkilldSignal,
    SkillError,
    SkillNotFoundError,
    SkillNotInvocableError,
    SkillParseError,
    SkillVersionMismatchError,
    TaskCancelled,
    TaskNotFoundError,
)

if TYPE_CHECKING:
    from skilld.agent.loop import Agent
    from skilld.agent.models import (
        FunctionModel,
        Message,
        Model,
        ModelRequest,
        ModelResponse,
        ScriptedModel,
        resolve_model,
        tool_call,
    )
    from skilld.agent.session import SessionState
    from skilld.agent.tools import Tool, ToolContext, builtin_tools, function_tool
    from skilld.client import Client, SyncClient
    from skilld.engine import (
        FunctionExecutor,
        SkillExecutor,
        SkillTask,
        TaskEvent,
        TaskResult,
        TaskStatus,
        Worker,
        open_broker,
        open_store,
        submit,
    )
    from skilld.hooks import HookEvent, HookRunner, HooksConfig
    from skilld.permission_settings import load_permission_engine
    from skilld.permissions import PermissionDecision, PermissionEngine, PermissionRule
    from skilld.settings import Settings
    from skilld.skills.expansion import Expansion, ExpansionContext, expand_skill, expand_skill_sync
    from skilld.skills.frontmatter import parse_frontmatter
    from skilld.skills.listing import Listing, build_listing
    from skilld.skills.loader import load_skill_file, skill_from_text
    from skilld.skills.model import Diagnostic, LoadedFrom, Skill, Source
    from skilld.skills.registry import (
        SkillRegistry,
        clear_caches,
        load_registry,
        register_bundled_skill,
    )
    from skilld.skills.remote import fetch_remote_skill
    from skilld.skills.validate import Profile, ValidationReport, validate_path, validate_skill
    from skilld.tool import SkillTool

_LAZY: dict[str, str] = {
    "Agent": "skilld.agent.loop",
    "build_listing": "skilld.skills.listing",
    "builtin_tools": "skilld.agent.tools",
    "clear_caches": "skilld.skills.registry",
    "Client": "skilld.client",
    "Diagnostic": "skilld.skills.model",
    "expand_skill": "skilld.skills.expansion",
    "expand_skill_sync": "skilld.skills.expansion",
    "Expansion": "skilld.skills.expansion",
    "ExpansionContext": "skilld.skills.expansion",
    "fetch_remote_skill": "skilld.skills.remote",
    "function_tool": "skilld.agent.tools",
    "FunctionExecutor": "skilld.engine",
    "FunctionModel": "skilld.agent.models",
    "HookEvent": "skilld.hooks",
    "HookRunner": "skilld.hooks",
    "HooksConfig": "skilld.hooks",
    "Listing": "skilld.skills.listing",
    "load_permission_engine": "skilld.permission_settings",
    "load_registry": "skilld.skills.registry",
    "load_skill_file": "skilld.skills.loader",
    "LoadedFrom": "skilld.skills.model",
    "Message": "skilld.agent.models",
    "Model": "skilld.agent.models",
    "ModelRequest": "skilld.agent.models",
    "ModelResponse": "skilld.agent.models",
    "open_broker": "skilld.engine",
    "open_store": "skilld.engine",
    "parse_frontmatter": "skilld.skills.frontmatter",
    "PermissionDecision": "skilld.permissions",
    "PermissionEngine": "skilld.permissions",
    "PermissionRule": "skilld.permissions",
    "Profile": "skilld.skills.validate",
    "register_bundled_skill": "skilld.skills.registry",
    "resolve_model": "skilld.agent.models",
    "ScriptedModel": "skilld.agent.models",
    "SessionState": "skilld.agent.session",
    "Settings": "skilld.settings",
    "Skill": "skilld.skills.model",
    "skill_from_text": "skilld.skills.loader",
    "SkillExecutor": "skilld.engine",
    "SkillRegistry": "skilld.skills.registry",
    "SkillTask": "skilld.engine",
    "SkillTool": "skilld.tool",
    "Source": "skilld.skills.model",
    "submit": "skilld.engine",
    "SyncClient": "skilld.client",
    "TaskEvent": "skilld.engine",
    "TaskResult": "skilld.engine",
    "TaskStatus": "skilld.engine",
    "Tool": "skilld.agent.tools",
    "tool_call": "skilld.agent.models",
    "ToolContext": "skilld.agent.tools",
    "validate_path": "skilld.skills.validate",
    "validate_skill": "skilld.skills.validate",
    "ValidationReport": "skilld.skills.validate",
    "Worker": "skilld.engine",
}

__all__ = [
    "Agent",
    "BackendUnavailableError",
    "BundledSkillError",
    "Client",
    "ConfigurationError",
    "Diagnostic",
    "EngineError",
    "Expansion",
    "ExpansionContext",
    "ExpansionError",
    "FunctionExecutor",
    "FunctionModel",
    "GatewayError",
    "HookConfigError",
    "HookError",
    "HookEvent",
    "HookRunner",
    "HooksConfig",
    "LeaseLostError",
    "Listing",
    "LoadedFrom",
    "MalformedTaskError",
    "Message",
    "MissingDependencyError",
    "Model",
    "ModelAPIError",
    "ModelError",
    "ModelRequest",
    "ModelResponse",
    "PermissionDecision",
    "PermissionDeniedError",
    "PermissionEngine",
    "PermissionRule",
    "PermissionRuleError",
    "Profile",
    "RemoteSkillError",
    "Retry",
    "ScriptedModel",
    "SessionState",
    "Settings",
    "SettingsFileError",
    "ShellCommandDenied",
    "ShellCommandError",
    "Skill",
    "SkillError",
    "SkillExecutor",
    "SkillNotFoundError",
    "SkillNotInvocableError",
    "SkillParseError",
    "SkillRegistry",
    "SkillTask",
    "SkillTool",
    "SkillVersionMismatchError",
    "SkilldError",
    "SkilldSignal",
    "Source",
    "SyncClient",
    "TaskCancelled",
    "TaskEvent",
    "TaskNotFoundError",
    "TaskResult",
    "TaskStatus",
    "Tool",
    "ToolContext",
    "ValidationReport",
    "Worker",
    "__version__",
    "build_listing",
    "builtin_tools",
    "clear_caches",
    "expand_skill",
    "expand_skill_sync",
    "fetch_remote_skill",
    "function_tool",
    "load_permission_engine",
    "load_registry",
    "load_skill_file",
    "open_broker",
    "open_store",
    "parse_frontmatter",
    "register_bundled_skill",
    "resolve_model",
    "skill_from_text",
    "submit",
    "tool_call",
    "validate_path",
    "validate_skill",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'skilld' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
