"""What the engine answers (:class:`PermissionDecision`) and what a host is asked."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from skilld.permissions.rules import PermissionBehavior

if TYPE_CHECKING:
    from skilld.skills.model import Skill

__all__ = ["AskCallback", "PermissionDecision", "PermissionRequest", "ShellPermissionChecker"]


@dataclass(frozen=True, slots=True)
class PermissionDecision:
    """What the engine decided, why (``message``), and the rule that decided (if one did).

    ``suggestions`` holds rules that would allow the use, for an ask or a deny by default.
    """

    behavior: PermissionBehavior
    message: str
    rule: str | None = None
    origin: str | None = None
    suggestions: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.behavior == "allow"


@dataclass(frozen=True, slots=True)
class PermissionRequest:
    """What an ask callback is asked about."""

    tool: str
    tool_input: Mapping[str, Any]
    message: str
    suggestions: tuple[str, ...]
    rule: str | None = None
    skill: Skill | None = None


AskCallback = Callable[[PermissionRequest], "bool | PermissionDecision"]
"""The host's way to ask a person: True allows, False denies, or a full decision."""


class ShellPermissionChecker(Protocol):
    """What the inline-shell runner needs from a permission engine."""

    def check_shell(
        self, command: str, *, extra_allow: Sequence[str] = (), tool: str = "Bash"
    ) -> PermissionDecision: ...
