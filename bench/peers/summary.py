"""``summary.json``: per scenario each system's median figures and skilld's ratio to each
peer, and the issue's targets, each with the measured value and ``met``.

Input is the list of run records the harness collected (``{"scenario", "system", "rep",
"metrics", "error"}``) plus the ceiling and memory measurements; pure, so it is tested
without servers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from bench.peers.stats import SUSTAIN_P99_S, ratio, spread

__all__ = ["FIGURES", "PEERS", "SKILLD", "build_summary", "evaluate_targets"]

SKILLD = "skilld"
PEERS = ("celery-prefork", "celery-gevent", "dramatiq", "taskiq")
FIGURES = ("tasks_per_s", "p50_ms", "p99_ms", "steady_per_s", "submit_per_s")
LOWER_IS_BETTER = {"p50_ms", "p99_ms"}

TARGET_FASTEST = 1.5
TARGET_TASKIQ_CELERY = 3.0
TARGET_RATE = 3000.0
TARGET_CEILING_SHARE = 0.6
TARGET_RSS_MB = 150.0


def _scenario_table(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    by_system: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for run in runs:
        by_system[run["system"]].append(run)
    systems: dict[str, Any] = {}
    for system, items in by_system.items():
        ok = [r for r in items if not r.get("error")]
        entry: dict[str, Any] = {
            figure: spread(r["metrics"].get(figure, math.nan) for r in ok)
            for figure in FIGURES
            if any(figure in r["metrics"] for r in ok)
        }
        entry["runs"] = len(items)
        entry["complete_runs"] = sum(1 for r in ok if r["metrics"].get("complete"))
        if any("sustained" in r["metrics"] for r in ok):
            entry["sustained_runs"] = sum(1 for r in ok if r["metrics"].get("sustained"))
        errors = [str(r["error"]) for r in items if r.get("error")]
        if errors:
            entry["errors"] = errors
        configs = [r.get("config") for r in items if r.get("config")]
        if configs:
            entry["config"] = configs[0]
        systems[system] = entry
    ratios: dict[str, dict[str, float | None]] = {}
    # skilld's row: "skilld", else its first variant ("skilld-redis-streams"...).
    mine = [s for s in systems if s == SKILLD] or [s for s in systems if s.startswith(SKILLD)]
    ours = systems[mine[0]] if mine else None
    if ours is not None:
        for system, entry in systems.items():
            if system.startswith(SKILLD):
                continue
            ratios[system] = {
                figure: ratio(
                    float(ours[figure]["median"]),
                    float(entry[figure]["median"]),
                    lower_is_better=figure in LOWER_IS_BETTER,
                )
                for figure in ("tasks_per_s", "p50_ms", "p99_ms")
                if figure in ours and figure in entry
            }
    return {"systems": systems, "ratios": ratios}


def _median(summary: Mapping[str, Any], scenario: str, system: str, figure: str) -> float:
    try:
        return float(summary["scenarios"][scenario]["systems"][system][figure]["median"])
    except (KeyError, TypeError):
        return math.nan


def _target(
    name: str, measured: float | None, threshold: float, met: bool, note: str
) -> dict[str, Any]:
    finite = measured is not None and math.isfinite(measured)
    return {
        "target": name,
        "measured": round(measured, 3) if finite and measured is not None else None,
        "threshold": threshold,
        "met": bool(met and finite),
        "note": note if finite else f"not measured: {note}",
    }


def _ratio_targets(summary: Mapping[str, Any], scenario: str, label: str) -> list[dict[str, Any]]:
    ours = _median(summary, scenario, SKILLD, "tasks_per_s")
    peers = {p: _median(summary, scenario, p, "tasks_per_s") for p in PEERS}
    peers = {p: v for p, v in peers.items() if math.isfinite(v) and v > 0}
    out: list[dict[str, Any]] = []
    if peers:
        fastest = max(peers, key=lambda p: peers[p])
        r = ratio(ours, peers[fastest])
        out.append(
            _target(
                f"{label}: skilld >= {TARGET_FASTEST}x the fastest peer",
                r,
                TARGET_FASTEST,
                r is not None and r >= TARGET_FASTEST,
                f"fastest peer {fastest}: {peers[fastest]:.0f}/s, skilld {ours:.0f}/s",
            )
        )
    else:
        out.append(_target(f"{label}: skilld >= {TARGET_FASTEST}x the fastest peer", None,
                           TARGET_FASTEST, False, "no peer run"))  # fmt: skip
    for family in ("taskiq", "celery"):
        members = {p: v for p, v in peers.items() if p.startswith(family)}
        name = f"{label}: skilld >= {TARGET_TASKIQ_CELERY}x {family}"
        if not members:
            out.append(_target(name, None, TARGET_TASKIQ_CELERY, False, f"no {family} run"))
            continue
        best = max(members, key=lambda p: members[p])  # the best configuration of the family
        r = ratio(ours, members[best])
        out.append(
            _target(
                name,
                r,
                TARGET_TASKIQ_CELERY,
                r is not None and r >= TARGET_TASKIQ_CELERY,
                f"{best}: {members[best]:.0f}/s, skilld {ours:.0f}/s",
            )
        )
    return out


def evaluate_targets(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with what was measured and whether it is met."""
    targets = _ratio_targets(summary, "s1_noop", "scenario 1 (no-op drain)")
    targets += _ratio_targets(summary, "s2_sleep", "scenario 2 (200 ms task drain)")

    best_rate, best_p99 = math.nan, math.nan
    for name, table in summary.get("scenarios", {}).items():
        if not name.startswith("s3_load_"):
            continue
        entry = table["systems"].get(SKILLD)
        if entry and entry.get("sustained_runs"):
            rate = float(name.removeprefix("s3_load_"))
            if not math.isfinite(best_rate) or rate > best_rate:
                best_rate, best_p99 = rate, float(entry["p99_ms"]["median"])
    targets.append(
        _target(
            f"scenario 3: {TARGET_RATE:.0f} tasks/s of the 200 ms task sustained 20 s, "
            f"p99 < {SUSTAIN_P99_S * 1000:.0f} ms",
            best_rate,
            TARGET_RATE,
            math.isfinite(best_rate) and best_rate >= TARGET_RATE,
            f"highest offered rate skilld sustained: {best_rate:.0f}/s (p99 {best_p99:.0f} ms)"
            if math.isfinite(best_rate)
            else "skilld sustained none of the offered rates",
        )
    )
    if not math.isfinite(best_rate):
        targets[-1]["measured"] = 0.0
        targets[-1]["note"] = "skilld sustained none of the offered rates"

    ceiling = summary.get("ceiling", {}).get("rabbitmq_per_s", {})
    raw = float(ceiling.get("median", math.nan)) if isinstance(ceiling, Mapping) else math.nan
    noop = _median(summary, "s1_noop", SKILLD, "tasks_per_s")
    share = noop / raw if math.isfinite(raw) and raw > 0 else math.nan
    targets.append(
        _target(
            f"no-op throughput >= {TARGET_CEILING_SHARE:.0%} of the raw RabbitMQ "
            "publish+consume ceiling",
            share,
            TARGET_CEILING_SHARE,
            share >= TARGET_CEILING_SHARE,
            f"skilld {noop:.0f}/s, raw aio-pika loop {raw:.0f} msg/s",
        )
    )
    memory = summary.get("memory", {})
    rss = float(memory.get("peak_rss_mb", math.nan))
    targets.append(
        _target(
            f"a worker holding 1,000 tasks in flight stays under {TARGET_RSS_MB:.0f} MB RSS",
            rss,
            TARGET_RSS_MB,
            rss < TARGET_RSS_MB,
            f"peak RSS {rss:.1f} MB with {memory.get('peak_in_flight', '?')} tasks running",
        )
    )
    return targets


def build_summary(
    runs: Sequence[Mapping[str, Any]],
    *,
    ceiling: Mapping[str, Any] | None = None,
    memory: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    titles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The whole ``summary.json`` document."""
    by_scenario: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for run in runs:
        by_scenario[run["scenario"]].append(run)
    scenarios = {}
    for name, items in by_scenario.items():
        table = _scenario_table(items)
        if titles and name in titles:
            table["title"] = titles[name]
        scenarios[name] = table
    summary: dict[str, Any] = {
        "config": dict(config or {}),
        "scenarios": scenarios,
        "ceiling": dict(ceiling or {}),
        "memory": dict(memory or {}),
    }
    summary["targets"] = evaluate_targets(summary)
    return summary
