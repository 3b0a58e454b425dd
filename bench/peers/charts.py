"""PNG charts from ``summary.json`` (run in ``bench/.venv-peers``, where matplotlib is).

``python -m bench.peers.charts bench/results`` writes ``throughput.png``,
``offered_load.png`` and ``latency.png`` next to the summary.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLORS = {
    "skilld": "#1b7837",
    "celery-prefork": "#b2182b",
    "celery-gevent": "#ef8a62",
    "dramatiq": "#2166ac",
    "taskiq": "#762a83",
}


def color(system: str) -> str:
    """A system's colour; its variants (``dramatiq-redis``, ``skilld-sqlite``) share it."""
    for name in sorted(COLORS, key=len, reverse=True):
        if system.startswith((name, name.split("-")[0] + "-redis")):
            return COLORS[name]
    return COLORS.get(system.split("-")[0], "#777777")


def _median(entry: dict[str, Any], figure: str) -> tuple[float, float, float]:
    spread = entry.get(figure) or {}
    values = [spread.get(k, math.nan) for k in ("median", "min", "max")]
    return tuple(float(v) if v is not None else math.nan for v in values)  # type: ignore[return-value]


def throughput(summary: dict[str, Any], out: Path) -> None:
    names = [
        n
        for n in ("s1_noop", "s2_sleep", "s5_noop", "s5_sleep", "s4_noop", "s4_sleep")
        if n in summary["scenarios"]
    ]
    if not names:
        return
    cols = min(3, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 4.5 * rows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names, strict=False):
        table = summary["scenarios"][name]
        systems = list(table["systems"])
        medians, lows, highs = [], [], []
        for system in systems:
            median, low, high = _median(table["systems"][system], "tasks_per_s")
            medians.append(median)
            lows.append(median - low if math.isfinite(low) else 0)
            highs.append(high - median if math.isfinite(high) else 0)
        ax.bar(
            systems,
            medians,
            yerr=[lows, highs],
            capsize=4,
            color=[color(s) for s in systems],
        )
        ax.set_title(table.get("title", name), fontsize=10)
        ax.set_ylabel("tasks/s (median, min–max)")
        ax.tick_params(axis="x", rotation=30, labelsize=8)
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=110)
    plt.close(fig)


def offered_load(summary: dict[str, Any], out: Path) -> None:
    points: dict[str, list[tuple[float, float, float]]] = {}
    for name, table in summary["scenarios"].items():
        if not name.startswith("s3_load_"):
            continue
        rate = float(name.removeprefix("s3_load_"))
        for system, entry in table["systems"].items():
            steady = _median(entry, "steady_per_s")[0]
            p99 = _median(entry, "p99_ms")[0]
            points.setdefault(system, []).append((rate, steady, p99))
    if not points:
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    top = max(r for values in points.values() for r, _, _ in values)
    left.plot([0, top], [0, top], color="#bbbbbb", linestyle="--", label="offered")
    for system, values in sorted(points.items()):
        values.sort()
        shade = color(system)
        left.plot([v[0] for v in values], [v[1] for v in values], "o-", color=shade, label=system)
        right.plot([v[0] for v in values], [v[2] for v in values], "o-", color=shade, label=system)
    right.axhline(400, color="#bbbbbb", linestyle="--", label="400 ms")
    left.set_xlabel("offered tasks/s (200 ms task)")
    left.set_ylabel("achieved tasks/s (steady)")
    left.legend(fontsize=8)
    right.set_xlabel("offered tasks/s (200 ms task)")
    right.set_ylabel("p99 end-to-end latency, ms")
    right.set_yscale("log")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "offered_load.png", dpi=110)
    plt.close(fig)


def latency(summary: dict[str, Any], out: Path) -> None:
    names = list(summary["scenarios"])
    if not names:
        return
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 4.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        table = summary["scenarios"][name]
        systems = list(table["systems"])
        p50 = [_median(table["systems"][s], "p50_ms")[0] for s in systems]
        p99 = [_median(table["systems"][s], "p99_ms")[0] for s in systems]
        xs = range(len(systems))
        ax.bar([x - 0.2 for x in xs], p50, width=0.4, label="p50", color="#67a9cf")
        ax.bar([x + 0.2 for x in xs], p99, width=0.4, label="p99", color="#ef8a62")
        ax.set_xticks(list(xs), systems, rotation=40, fontsize=7, ha="right")
        ax.set_yscale("log")
        ax.set_title(table.get("title", name), fontsize=8)
        ax.set_ylabel("end-to-end latency, ms")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    plt.close(fig)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results")
    summary = json.loads((out / "summary.json").read_text())
    throughput(summary, out)
    offered_load(summary, out)
    latency(summary, out)


if __name__ == "__main__":
    main()
