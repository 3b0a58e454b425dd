"""Retry policy: what to do with a task whose attempt failed. Pure; randomness injected.

Three outcomes: ``retry`` after a delay, ``dead`` (attempts used up: the task goes to the
dead-letter queue with its last error), or ``fail`` (retrying cannot help: an unknown
skill, a pinned version this worker does not have, a 4xx the task itself caused, a denied
permission). Unknown exceptions are retried, since most of what breaks at scale is
transient.

The delay is exponential (``base_delay * factor ** (attempt - 1)``, capped at
``max_delay``) with jitter so retries of a burst do not arrive together. A
:class:`~skilld.exceptions.Retry` raised by a skill or tool sets the delay itself (and, like
any retry, uses up an attempt), and a provider's ``Retry-After`` is never undercut.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from skilld.engine.task import SkillTask
from skilld.exceptions import (
    ConfigurationError,
    MalformedTaskError,
    ModelAPIError,
    PermissionDeniedError,
    Retry,
    ShellCommandDenied,
    SkillError,
)

__all__ = ["RetryDecision", "RetryPolicy", "is_retryable"]

_PERMANENT: tuple[type[BaseException], ...] = (
    SkillError,
    ShellCommandDenied,
    PermissionDeniedError,
    MalformedTaskError,
    ConfigurationError,
)


def is_retryable(exc: BaseException) -> bool:
    """Whether another attempt of the same task could succeed."""
    if isinstance(exc, Retry):
        return True
    if isinstance(exc, ModelAPIError):
        return exc.retryable
    return not isinstance(exc, _PERMANENT)


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """``action`` and, for a retry, the delay in seconds."""

    action: Literal["retry", "dead", "fail"]
    delay: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with jitter and a cap.

    Attributes:
        base_delay: delay before the second attempt, in seconds.
        factor: growth per attempt.
        max_delay: the cap.
        jitter: fraction of the delay that is random (0: none; 1: "full jitter").
    """

    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.5

    def backoff(self, attempt: int, rand: float) -> float:
        """The delay after failed attempt number ``attempt`` (``rand`` uniform in [0, 1))."""
        delay = min(self.max_delay, self.base_delay * self.factor ** max(0, attempt - 1))
        return delay * (1.0 - self.jitter * rand)

    def decide(
        self, task: SkillTask, exc: BaseException, *, rand: Callable[[], float]
    ) -> RetryDecision:
        """What to do after ``task``'s current attempt raised ``exc``."""
        if not is_retryable(exc):
            return RetryDecision("fail")
        if task.attempt >= task.max_attempts:
            return RetryDecision("dead")
        if isinstance(exc, Retry) and exc.delay is not None:
            return RetryDecision("retry", max(0.0, exc.delay))
        delay = self.backoff(task.attempt, rand())
        if isinstance(exc, ModelAPIError) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        return RetryDecision("retry", delay)
