"""Every error skilld raises, in one tree.

What *failed* derives from :class:`SkilldError`; what a skill, tool or hook *raises to
steer* the engine derives from :class:`SkilldSignal` and is never an error::

    SkilldError
    ├── ConfigurationError            bad settings, a URL nobody serves
    │   ├── MissingDependencyError    an optional extra is not installed
    │   └── SettingsFileError         a settings.json that cannot be read (names the file)
    ├── SkillError
    │   ├── SkillParseError           a SKILL.md the parser cannot read at all
    │   ├── SkillNotFoundError        no skill of that name (with close names)
    │   ├── SkillNotInvocableError    disable-model-invocation / user-invocable: false
    │   ├── SkillVersionMismatchError a task pinned another version of the skill
    │   ├── BundledSkillError         unsafe or failed extraction of bundled files
    │   └── RemoteSkillError          fetch failed, hash mismatch, unsafe archive
    ├── ExpansionError
    │   ├── ShellCommandError         an inline `!`cmd`` failed or timed out
    │   └── ShellCommandDenied        the permission engine said no
    ├── PermissionRuleError           a malformed permission rule
    ├── PermissionDeniedError         a tool or skill use was denied
    ├── HookError                     a hook could not run or answered nonsense
    │   └── HookConfigError           a malformed hooks configuration (names event/field/file)
    ├── ModelError
    │   └── ModelAPIError             the provider answered with an error status
    └── EngineError
        ├── MalformedTaskError        a message that is not a valid task
        ├── TaskNotFoundError
        ├── BackendUnavailableError   broker or store unreachable
        ├── LeaseLostError            the claim on a task expired or was taken over
        └── GatewayError              the HTTP gateway answered with a problem

    SkilldSignal
    ├── Retry                         run this task again later (``Retry(delay=10)``)
    └── TaskCancelled                 the task was cancelled while running
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "BackendUnavailableError",
    "BundledSkillError",
    "ConfigurationError",
    "EngineError",
    "ExpansionError",
    "GatewayError",
    "HookConfigError",
    "HookError",
    "LeaseLostError",
    "MalformedTaskError",
    "MissingDependencyError",
    "ModelAPIError",
    "ModelError",
    "PermissionDeniedError",
    "PermissionRuleError",
    "RemoteSkillError",
    "Retry",
    "SettingsFileError",
    "ShellCommandDenied",
    "ShellCommandError",
    "SkillError",
    "SkillNotFoundError",
    "SkillNotInvocableError",
    "SkillParseError",
    "SkillVersionMismatchError",
    "SkilldError",
    "SkilldSignal",
    "TaskCancelled",
    "TaskNotFoundError",
]


class SkilldError(Exception):
    """Base class of every error skilld raises."""


class ConfigurationError(SkilldError):
    """Settings that cannot work: a bad URL, a missing key, a conflicting option."""


class MissingDependencyError(ConfigurationError):
    """An optional dependency is needed for what was asked."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        self.extra = extra
        self.purpose = purpose
        super().__init__(f"{purpose} needs the {package!r} package: pip install 'skilld[{extra}]'")


class SettingsFileError(ConfigurationError):
    """A settings file that exists but cannot be used: unreadable, not JSON, not an object.

    The message is ``<path>[:line:column]: <reason>``; ``path``, ``line`` and ``reason``
    are kept so a lenient reader (hooks) can report it in its own list and go on.
    """

    def __init__(
        self, path: Path, reason: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        self.column = column
        where = f"{path}:{line}:{column}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


class SkillError(SkilldError):
    """Something is wrong with a skill."""


class SkillParseError(SkillError):
    """A skill file that cannot be read at all (not UTF-8, too large, unreadable)."""

    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None):
        self.path = path
        self.line = line
        self.reason = message
        where = str(path) if path is not None else "<string>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class SkillNotFoundError(SkillError):
    """No skill of that name; ``suggestions`` holds the closest names."""

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        hint = f" Did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"Unknown skill: {name}.{hint}")


class SkillNotInvocableError(SkillError):
    """The skill exists but may not be invoked this way."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"Skill {name} cannot be invoked: {reason}")


class BundledSkillError(SkillError):
    """A bundled skill's reference files could not be extracted safely."""


class SkillVersionMismatchError(SkillError):
    """A task pinned ``expected`` but the worker has version ``actual`` of the skill."""

    def __init__(self, name: str, expected: str, actual: str) -> None:
        self.name = name
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Skill {name}: the task pins version {expected} but this worker has {actual}; "
            "deploy the same skill files to every worker or submit without a pinned version"
        )


class RemoteSkillError(SkillError):
    """A remote skill could not be fetched, or its content does not match its pin."""


class ExpansionError(SkilldError):
    """The prompt of a skill could not be expanded."""


class ShellCommandError(ExpansionError):
    """An inline shell command of a skill failed; the invocation is aborted."""

    def __init__(self, pattern: str, *, exit_code: int | None, output: str, reason: str) -> None:
        self.pattern = pattern
        self.exit_code = exit_code
        self.output = output
        self.reason = reason
        super().__init__(f"Shell command failed for pattern {pattern!r}: {reason}\n{output}")


class ShellCommandDenied(ExpansionError):
    """The permission engine did not allow an inline shell command."""

    def __init__(self, pattern: str, command: str, message: str) -> None:
        self.pattern = pattern
        self.command = command
        super().__init__(f"Shell command {command!r} in {pattern!r} not allowed: {message}")


class PermissionRuleError(SkilldError):
    """A permission rule that cannot be parsed."""

    def __init__(self, rule: str, reason: str, *, origin: str | None = None) -> None:
        self.rule = rule
        self.reason = reason
        self.origin = origin
        where = f" (in {origin})" if origin else ""
        super().__init__(f"Invalid permission rule {rule!r}{where}: {reason}")


class PermissionDeniedError(SkilldError):
    """A tool or skill use was denied by a rule, a hook or the user."""

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        self.rule = rule
        super().__init__(message)


class HookError(SkilldError):
    """A hook could not run, or answered something that is not a hook answer."""


class HookConfigError(HookError):
    """A hooks configuration that cannot be used; names the file, the event and the field.

    ``location`` is the path inside the configuration, such as
    ``PreToolUse[0].hooks[1].timeout``; None when the whole settings file is unusable.
    """

    def __init__(
        self, reason: str, *, location: str | None = "", origin: str | None = None
    ) -> None:
        self.reason = reason
        self.location = location
        self.origin = origin
        # location None: the whole file is unusable, not its hooks key ("<file>: <reason>")
        where = None if location is None else f"hooks.{location}" if location else "hooks"
        if origin:
            where = f"{origin}: {where}" if where else origin
        super().__init__(f"{where}: {reason}" if where else reason)


class ModelError(SkilldError):
    """A model backend failed."""


class ModelAPIError(ModelError):
    """The model provider answered with an error status.

    ``retryable`` is true for 429, 5xx and timeouts: what a circuit breaker counts.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


class EngineError(SkilldError):
    """The task engine failed."""


class MalformedTaskError(EngineError):
    """A message that is not a valid task; it is dead-lettered with this reason."""


class TaskNotFoundError(EngineError):
    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"No task with id {task_id!r}")


class BackendUnavailableError(EngineError):
    """A broker or store cannot be reached."""


class LeaseLostError(EngineError):
    """The worker's claim on a task expired or another worker took it over."""


class GatewayError(EngineError):
    """The gateway answered a client with an error; ``problem`` is its RFC 9457 document."""

    def __init__(
        self, status: int, detail: str, *, problem: Mapping[str, object] | None = None
    ) -> None:
        self.status = status
        self.detail = detail
        self.problem = dict(problem or {})
        super().__init__(f"HTTP {status}: {detail}")


class SkilldSignal(Exception):
    """Base class of what skills, tools and hooks raise to steer the engine."""


class Retry(SkilldSignal):
    """Run the current task again after ``delay`` seconds (default: the retry policy's)."""

    def __init__(self, delay: float | None = None, reason: str = "retry requested") -> None:
        self.delay = delay
        self.reason = reason
        super().__init__(reason if delay is None else f"{reason} (in {delay:g}s)")


class TaskCancelled(SkilldSignal):
    """The running task was cancelled."""
