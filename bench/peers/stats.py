"""Figures of runs: percentiles, one run's metrics, median/min/max over repetitions, ratios.

Pure functions over plain data (what the drivers print), so they are tested without any
server or peer installed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["percentile", "ratio", "run_metrics", "spread", "sustained"]

SUSTAIN_FRACTION = 0.95
"""An offered rate is sustained when the steady completion rate reaches this share of it,
every task finished in time, and the p99 latency is under the limit."""
SUSTAIN_P99_S = 0.4


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated; NaN if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def run_metrics(
    outcome: Mapping[str, Any], *, rate: float | None = None, duration: float = 0.0
) -> dict[str, Any]:
    """The figures of one run from a driver's ``outcome``.

    ``tasks_per_s`` is tasks finished over the time from the first submission to the
    last result seen. Under offered load, ``steady_per_s`` counts only the results seen
    between 1 s into the run and the end of the submission window (the rate the system
    kept up while the load was on), and ``offered_per_s`` is what the submitter really
    managed to offer.
    """
    latencies = list(outcome.get("latencies") or [])
    done = int(outcome.get("done", 0))
    submitted = int(outcome.get("submitted", 0))
    elapsed = float(outcome.get("elapsed_s", 0.0))
    metrics: dict[str, Any] = {
        "submitted": submitted,
        "done": done,
        "complete": done == submitted and submitted > 0 and not outcome.get("timed_out"),
        "tasks_per_s": done / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p90_ms": percentile(latencies, 90) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000 if latencies else math.nan,
        "submit_per_s": submitted / s if (s := float(outcome.get("submit_s", 0.0))) > 0 else 0.0,
    }
    if rate is not None and duration > 1.0:
        done_at = outcome.get("done_at") or []
        steady = sum(1 for t in done_at if 1.0 <= t <= duration)
        metrics["offered_rate"] = rate
        metrics["offered_per_s"] = metrics["submit_per_s"]
        metrics["steady_per_s"] = steady / (duration - 1.0)
        metrics["sustained"] = sustained(metrics, rate)
    return metrics


def sustained(metrics: Mapping[str, Any], rate: float, *, p99_s: float = SUSTAIN_P99_S) -> bool:
    """Did a run keep up with ``rate``: all tasks done, the steady rate at least 95% of
    it, and p99 end-to-end latency under ``p99_s``?"""
    p99 = float(metrics.get("p99_ms", math.nan))
    return bool(
        metrics.get("complete")
        and float(metrics.get("steady_per_s", 0.0)) >= SUSTAIN_FRACTION * rate
        and not math.isnan(p99)
        and p99 < p99_s * 1000
    )


def spread(values: Iterable[float]) -> dict[str, float | int]:
    """Median, min and max of the finite values (and how many there were)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return {"median": math.nan, "min": math.nan, "max": math.nan, "n": 0}
    return {
        "median": statistics.median(finite),
        "min": min(finite),
        "max": max(finite),
        "n": len(finite),
    }


def ratio(ours: float, theirs: float, *, lower_is_better: bool = False) -> float | None:
    """How many times better ``ours`` is (throughput: ours/theirs; latency: theirs/ours);
    None when either side is missing or zero."""
    if not (math.isfinite(ours) and math.isfinite(theirs)) or ours <= 0 or theirs <= 0:
        return None
    return theirs / ours if lower_is_better else ours / theirs
