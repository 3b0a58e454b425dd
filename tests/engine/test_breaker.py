from __future__ import annotations

import pytest

from skilld.engine.breaker import (
    BreakerPolicy,
    BreakerState,
    counts_as_failure,
    retry_after_of,
)
from skilld.exceptions import ModelAPIError

POLICY = BreakerPolicy(failure_threshold=3, open_s=10.0, half_open_probes=1, close_after=1)


def fail_times(state: BreakerState, n: int, now: float = 0.0) -> BreakerState:
    for _ in range(n):
        state = POLICY.record_failure(state, now)
    return state


def test_closed_breaker_admits_and_counts_consecutive_failures() -> None:
    state = fail_times(BreakerState(), 2)
    assert state.mode == "closed"
    assert POLICY.admit(state, 0.0)[0].allowed
    assert POLICY.record_success(state, 0.0) == BreakerState()


def test_threshold_opens_and_defers_until_open_s() -> None:
    state = fail_times(BreakerState(), 3, now=100.0)
    assert state.mode == "open"
    admission, same = POLICY.admit(state, 105.0)
    assert not admission.allowed
    assert admission.retry_at == 110.0
    assert same == state


def test_half_open_admits_one_probe_then_closes_on_success() -> None:
    state = fail_times(BreakerState(), 3, now=0.0)
    probe, state = POLICY.admit(state, 10.0)
    assert probe.allowed
    assert probe.probe
    assert state.mode == "half_open"
    second, state = POLICY.admit(state, 10.5)
    assert not second.allowed
    assert second.retry_at == 11.5
    assert POLICY.record_success(state, 11.0) == BreakerState()


def test_failed_probe_opens_again() -> None:
    state = fail_times(BreakerState(), 3, now=0.0)
    _, state = POLICY.admit(state, 10.0)
    state = POLICY.record_failure(state, 12.0)
    assert state.mode == "open"
    assert state.retry_at == 22.0


def test_retry_after_keeps_the_breaker_open_longer() -> None:
    state = fail_times(BreakerState(), 2)
    state = POLICY.record_failure(state, 0.0, retry_after=60.0)
    assert state.mode == "open"
    assert state.retry_at == 60.0


def test_neutral_outcome_frees_the_probe_slot() -> None:
    state = fail_times(BreakerState(), 3)
    _, state = POLICY.admit(state, 10.0)
    state = POLICY.record_neutral(state, 10.1)
    assert state.mode == "half_open"
    assert POLICY.admit(state, 10.2)[0].allowed


@pytest.mark.parametrize(
    ("exc", "counts"),
    [
        (ModelAPIError("rate", status=429, retry_after=3), True),
        (ModelAPIError("down", status=502), True),
        (TimeoutError(), True),
        (ConnectionResetError(), True),
        (ModelAPIError("your fault", status=400), False),
        (ValueError("bug in the args"), False),
    ],
)
def test_what_counts_against_the_service(exc: Exception, counts: bool) -> None:
    assert counts_as_failure(exc) is counts


def test_retry_after_is_read_from_model_errors() -> None:
    assert retry_after_of(ModelAPIError("x", status=429, retry_after=7)) == 7
    assert retry_after_of(TimeoutError()) is None
