"""Circuit breaker: stop hammering a skill or model backend that keeps failing.

A pure policy: every function takes the current :class:`BreakerState` and the time and
returns the next state, so it tests without a clock and the state can be shared by all
workers through the store (last writer wins; the worst case is one extra probe).

closed ──(``failure_threshold`` counted failures in a row)──► open
open ──(``open_s`` elapsed, or the provider's Retry-After)──► half-open
half-open ──(``half_open_probes`` probe tasks run; ``close_after`` succeed)──► closed
half-open ──(a probe fails)──► open again

Only failures that say the *service* is unwell count (:func:`counts_as_failure`): 429,
5xx, timeouts and lost connections. A 4xx caused by the task itself, a skill error or a
bug in the task's arguments does not. While a breaker is open the worker defers tasks of
that skill (back on the queue until the breaker may admit them) instead of failing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec

from skilld.exceptions import ModelAPIError

__all__ = [
    "Admission",
    "BreakerPolicy",
    "BreakerState",
    "counts_as_failure",
    "retry_after_of",
]

BreakerMode = Literal["closed", "open", "half_open"]


class BreakerState(msgspec.Struct, kw_only=True, frozen=True):
    """What one breaker remembers. ``retry_at`` is when an open breaker admits a probe."""

    mode: BreakerMode = "closed"
    failures: int = 0
    opened_at: float = 0.0
    retry_at: float = 0.0
    probes: int = 0
    successes: int = 0


CLOSED = BreakerState()


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a task may run now; if not, when to try again (``retry_at``)."""

    allowed: bool
    probe: bool = False
    retry_at: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerPolicy:
    """Thresholds of a circuit breaker.

    Attributes:
        failure_threshold: counted failures in a row that open the breaker.
        open_s: how long it stays open before admitting probes (a longer Retry-After wins).
        half_open_probes: probe tasks admitted at once while half-open.
        close_after: successful probes that close the breaker again.
        probe_wait_s: how long a task waits when the half-open probe slots are taken.
    """

    failure_threshold: int = 5
    open_s: float = 30.0
    half_open_probes: int = 1
    close_after: int = 1
    probe_wait_s: float = 1.0

    def admit(self, state: BreakerState, now: float) -> tuple[Admission, BreakerState]:
        """May a task run now? Returns the decision and the state to store."""
        if state.mode == "closed":
            return Admission(True), state
        if state.mode == "open":
            if now < state.retry_at:
                return Admission(False, retry_at=state.retry_at), state
            state = msgspec.structs.replace(state, mode="half_open", probes=0, successes=0)
        if state.probes < self.half_open_probes:
            return Admission(True, probe=True), msgspec.structs.replace(
                state, probes=state.probes + 1
            )
        return Admission(False, retry_at=now + self.probe_wait_s), state

    def record_success(self, state: BreakerState, now: float) -> BreakerState:
        if state.mode == "closed":
            return state if state.failures == 0 else CLOSED
        if state.mode == "open":
            return state  # a task admitted before the breaker opened; proves little
        successes = state.successes + 1
        if successes >= self.close_after:
            return CLOSED
        return msgspec.structs.replace(state, successes=successes, probes=max(0, state.probes - 1))

    def record_failure(
        self, state: BreakerState, now: float, *, retry_after: float | None = None
    ) -> BreakerState:
        wait = max(self.open_s, retry_after or 0.0)
        if state.mode == "closed":
            failures = state.failures + 1
            if failures < self.failure_threshold:
                return msgspec.structs.replace(state, failures=failures)
            return BreakerState(mode="open", failures=failures, opened_at=now, retry_at=now + wait)
        if state.mode == "half_open":
            return BreakerState(
                mode="open", failures=state.failures + 1, opened_at=now, retry_at=now + wait
            )
        return msgspec.structs.replace(
            state, failures=state.failures + 1, retry_at=max(state.retry_at, now + wait)
        )

    def record_neutral(self, state: BreakerState, now: float) -> BreakerState:
        """A run that says nothing about the service's health (a 4xx, a skill error):
        frees its probe slot without closing or opening anything."""
        if state.mode == "half_open":
            return msgspec.structs.replace(state, probes=max(0, state.probes - 1))
        return state


def counts_as_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says the service is unwell (429, 5xx, timeout, lost connection)."""
    if isinstance(exc, ModelAPIError):
        return exc.retryable
    return isinstance(exc, TimeoutError | ConnectionError)


def retry_after_of(exc: BaseException) -> float | None:
    """The provider's Retry-After in seconds, if the error carries one."""
    if isinstance(exc, ModelAPIError):
        return exc.retry_after
    return None
