from __future__ import annotations

import pytest

from skilld.engine.retry import RetryDecision, RetryPolicy, is_retryable
from skilld.engine.task import SkillTask
from skilld.exceptions import (
    ModelAPIError,
    Retry,
    SkillNotFoundError,
    SkillVersionMismatchError,
)

NO_JITTER = RetryPolicy(base_delay=1.0, factor=2.0, max_delay=10.0, jitter=0.0)


def task(attempt: int = 1, max_attempts: int = 5) -> SkillTask:
    return SkillTask(skill="s", attempt=attempt, max_attempts=max_attempts)


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    assert [NO_JITTER.backoff(n, 0.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_jitter_only_shortens_the_delay_within_its_fraction() -> None:
    policy = RetryPolicy(base_delay=4.0, jitter=0.5)
    assert policy.backoff(1, 0.0) == 4.0
    assert policy.backoff(1, 0.999) == pytest.approx(2.002)


def test_transient_errors_are_retried_with_backoff() -> None:
    decision = NO_JITTER.decide(task(attempt=3), RuntimeError("flaky"), rand=lambda: 0.0)
    assert decision == RetryDecision("retry", 4.0)


def test_last_attempt_goes_dead() -> None:
    decision = NO_JITTER.decide(task(5, 5), RuntimeError("flaky"), rand=lambda: 0.0)
    assert decision.action == "dead"


def test_retry_signal_sets_its_own_delay() -> None:
    decision = NO_JITTER.decide(task(), Retry(delay=42), rand=lambda: 0.0)
    assert decision == RetryDecision("retry", 42)
    assert NO_JITTER.decide(task(), Retry(), rand=lambda: 0.0) == RetryDecision("retry", 1.0)


def test_retry_after_is_never_undercut() -> None:
    exc = ModelAPIError("slow down", status=429, retry_after=30)
    assert NO_JITTER.decide(task(), exc, rand=lambda: 0.0) == RetryDecision("retry", 30)


@pytest.mark.parametrize(
    "exc",
    [
        ModelAPIError("bad request", status=400),
        SkillNotFoundError("nope"),
        SkillVersionMismatchError("s", "a", "b"),
    ],
)
def test_errors_the_task_caused_fail_without_retry(exc: Exception) -> None:
    assert not is_retryable(exc)
    assert NO_JITTER.decide(task(), exc, rand=lambda: 0.0) == RetryDecision("fail")


@pytest.mark.parametrize(
    "exc", [ModelAPIError("x", status=503), TimeoutError(), ConnectionError(), KeyError("k")]
)
def test_service_errors_and_unknown_errors_are_retryable(exc: Exception) -> None:
    assert is_retryable(exc)
