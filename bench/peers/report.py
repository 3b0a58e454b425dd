"""``report.md`` from ``summary.json``, and ``profile.md`` from py-spy's collapsed stacks.

Pure text generation (no plotting here: the charts are drawn by ``bench.peers.charts`` in
the peers' environment, where matplotlib lives).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIGURATION",
    "fmt",
    "profile_tables",
    "render_report",
    "write_profile",
    "write_report",
]

CONFIGURATION = """\
Every system runs **2 worker processes** on this machine, against the same local
RabbitMQ (127.0.0.1:5672) and Redis (127.0.0.1:6379), with a fresh queue and fresh result
keys per run (deleted after the run). Per-process concurrency: the no-op scenario uses
each system's default (skilld 100 tasks, Dramatiq 8 threads, Taskiq 100 async tasks,
Celery prefork = 2 processes); the 200 ms scenarios give every system that can hold
many tasks the same per-process concurrency (`concurrency` below): skilld
`--concurrency`, Celery gevent `-c`, Dramatiq `--threads`, Taskiq `--max-async-tasks`.
Celery prefork runs `-c 2` (its default pool, one task per process).

- **skilld**: `skilld worker` ×2; RabbitMQ broker (quorum queue, persistent messages,
  publisher confirms, manual acks after the result is stored, prefetch = free slots);
  results in the Redis store (or the SQLite store when this checkout has no Redis store:
  see `skilld_primary`). The client is the engine's producer API (`submit_many`, what the
  gateway and `skilld.Client` call) and `Store.finished` to see which results are
  readable (one Lua script per 1,000 ids, as the peers' poll). no-op: an inline
  skill whose body is one word; 200 ms: a fork task on `sim:200ms`.
- **Celery** (RabbitMQ broker, Redis result backend): `task_acks_late=True`,
  `broker_transport_options={"confirm_publish": True}` (publisher confirms), everything
  else default (prefetch multiplier 4, classic queue, JSON); workers with
  `--without-gossip --without-mingle --without-heartbeat`. Prefork: one worker `-c 2`;
  gevent: two workers `-P gevent -c <concurrency>`. The 200 ms task is `time.sleep(0.2)`
  (patched by gevent). Client: `task.apply_async()`.
- **Dramatiq** (RabbitMQ broker, Redis results): `RabbitmqBroker` with its default
  middleware (which acks after processing; no publisher confirms by default, which
  favours Dramatiq's client) plus the `Results` middleware on `RedisBackend`;
  `dramatiq --processes 2 --threads <n>`; `time.sleep(0.2)`. Client: `actor.send()`.
- **Taskiq** (`taskiq-aio-pika` broker, `taskiq-redis` results): defaults (quorum
  queue, ack when the result is saved), except `qos` (prefetch, default 10) raised to the
  concurrency, since 10 would cap a worker at 50 tasks/s of 200 ms;
  `taskiq worker --workers 2 --max-async-tasks <n>`; `asyncio.sleep(0.2)`. Client:
  `await task.kiq()` (up to 500 at once).

**Scenario 5** runs scenarios 1 and 2 again with every system on its Redis broker
(results in Redis as before): skilld on its Redis Streams broker, Dramatiq's
`RedisBroker`, Taskiq's `RedisStreamBroker` (taskiq-redis defaults), Celery's Redis
transport (no publisher confirms there; `task_acks_late` kept). Nothing else changes.

**Method.** Each run: start the workers, run 200 (100 with `--quick`) no-op tasks as a
warm-up, then offer the load from one client process: a drain submits `n` tasks as fast
as the system's client takes them (in batches of 500); offered load submits at a fixed
rate for the duration. A poller asks the result backend every 10 ms which of the oldest
5,000 outstanding tasks have a result (peers: one Lua `EXISTS` call over their result
keys in Redis; skilld: `Store.finished`, one Lua `HEXISTS` call per 1,000 task
hashes); a task's **end-to-end latency** runs from just
before its submission to the first poll that sees its result. Throughput = tasks
finished / (last result seen − first submission). Every run has a task count and a time
limit; a run that hits the limit is measured on what it finished and its row says
`complete` runs < runs. Systems alternate within each repetition (the order rotates).
Under offered load a rate is **sustained** when every task finished, the completion rate
between 1 s and the end of the submission window reached 95% of the offered rate, and
p99 latency stayed under 400 ms.
"""


def fmt(value: Any, digits: int = 0) -> str:
    """A number for a table cell (thousands separated); ``-`` when missing."""
    if value is None:
        return "-"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "-"
    return f"{number:,.{digits}f}"


def _cell(entry: Mapping[str, Any], figure: str, digits: int = 0) -> str:
    spread = entry.get(figure)
    if not isinstance(spread, Mapping) or not spread.get("n"):
        return "-"
    if spread["n"] == 1:
        return fmt(spread["median"], digits)
    return (
        f"{fmt(spread['median'], digits)} ({fmt(spread['min'], digits)}–"
        f"{fmt(spread['max'], digits)})"
    )


def _scenario_section(name: str, table: Mapping[str, Any]) -> list[str]:
    systems: Mapping[str, Any] = table.get("systems", {})
    ratios: Mapping[str, Any] = table.get("ratios", {})
    loaded = name.startswith(("s3_load_", "s4_load_"))
    lines = [f"### {table.get('title', name)}", ""]
    head = "| system | tasks/s median (min–max) | p50 ms | p99 ms |"
    rule = "|---|---|---|---|"
    if loaded:
        head += " steady tasks/s | sustained |"
        rule += "---|---|"
    head += " complete runs | skilld ÷ system (tasks/s) |"
    rule += "---|---|"
    lines += [head, rule]
    for system, entry in systems.items():
        r = ratios.get(system, {}).get("tasks_per_s")
        row = (
            f"| {system} | {_cell(entry, 'tasks_per_s')} | {_cell(entry, 'p50_ms')} | "
            f"{_cell(entry, 'p99_ms')} |"
        )
        if loaded:
            row += (
                f" {_cell(entry, 'steady_per_s')} | "
                f"{entry.get('sustained_runs', 0)}/{entry.get('runs', 0)} |"
            )
        row += f" {entry.get('complete_runs', 0)}/{entry.get('runs', 0)} | "
        row += (f"{r:.2f}x" if r is not None else "-") + " |"
        lines.append(row)
    errors = [(s, e) for s, entry in systems.items() for e in entry.get("errors", [])]
    if errors:
        lines.append("")
        lines += [f"- {system}: error: {error[:300]}" for system, error in errors]
    lines.append("")
    return lines


def render_report(summary: Mapping[str, Any]) -> str:
    """The Markdown report of one harness run."""
    config: Mapping[str, Any] = summary.get("config", {})
    lines = [
        "# skilld vs Celery, Dramatiq and Taskiq",
        "",
        f"Generated by `python -m bench peers` at {config.get('finished_at', '?')} on "
        f"{config.get('machine', {})}. Figures are medians over the repetitions with "
        "(min–max); ratios are skilld's median over the peer's median from this one run "
        "(the machine is shared and noisy: compare ratios, not absolute figures, across "
        "runs).",
        "",
        f"Repetitions: {config.get('reps')} (offered load: {config.get('load_reps')}); "
        f"no-op drain n = {fmt(config.get('n_noop'))}; 200 ms drain n = "
        f"{fmt(config.get('n_sleep'))} (Celery prefork: {fmt(config.get('n_prefork_sleep'))}, "
        f"limit {fmt(config.get('prefork_limit'))} s); offered load "
        f"{config.get('rates')} then {config.get('ladder')} tasks/s for "
        f"{fmt(config.get('duration'))} s; concurrency per process for the 200 ms task: "
        f"{config.get('concurrency')}; skilld's backends: {config.get('skilld_primary')} "
        f"(available: {config.get('skilld_backends')}).",
        "",
        "## Targets",
        "",
        "| target | measured | threshold | met | how |",
        "|---|---|---|---|---|",
    ]
    for target in summary.get("targets", []):
        lines.append(
            f"| {target['target']} | {fmt(target.get('measured'), 2)} | "
            f"{fmt(target.get('threshold'), 2)} | {'yes' if target.get('met') else '**no**'} | "
            f"{target.get('note', '')} |"
        )
    lines += ["", "## Results", ""]
    scenarios: Mapping[str, Any] = summary.get("scenarios", {})

    def order(name: str) -> tuple[str, float]:
        for prefix in ("s3_load_", "s4_load_"):
            if name.startswith(prefix):
                return (prefix, float(name.removeprefix(prefix)))
        return (name, 0.0)

    for name in sorted(scenarios, key=order):
        lines += _scenario_section(name, scenarios[name])
    ceiling: Mapping[str, Any] = summary.get("ceiling", {})
    if ceiling:
        lines += [
            "### 4. The servers' ceiling",
            "",
            "One Python process (aio-pika) publishing persistent messages with confirms while "
            "consuming them with acks:",
            "",
            f"- quorum queue: {_cell(ceiling, 'rabbitmq_per_s')} msg/s",
            f"- classic queue: {_cell(ceiling, 'rabbitmq_classic_per_s')} msg/s",
            "",
        ]
        redis_figures: Mapping[str, Any] = ceiling.get("redis_benchmark", {})
        if redis_figures:
            lines += [
                "`redis-benchmark` (50 clients), requests/s: "
                + ", ".join(f"{k} {fmt(v)}" for k, v in sorted(redis_figures.items())),
                "",
            ]
    memory: Mapping[str, Any] = summary.get("memory", {})
    if memory:
        lines += [
            "### Memory",
            "",
            f"One `skilld worker --concurrency {memory.get('tasks', '?')}` on "
            f"{memory.get('broker')} + {memory.get('store')} holding fork tasks of "
            f"`sim:{memory.get('hold_s', '?')}s`: idle {fmt(memory.get('idle_rss_mb'), 1)} MB, "
            f"peak {fmt(memory.get('peak_rss_mb'), 1)} MB RSS with "
            f"{memory.get('peak_in_flight', '?')} tasks running at once"
            + (f" (error: {memory['error']})" if memory.get("error") else "")
            + ".",
            "",
        ]
    lines += ["## How each system was configured", "", CONFIGURATION]
    versions: dict[str, str] = {}
    for table in scenarios.values():
        for entry in table.get("systems", {}).values():
            versions.update(entry.get("config", {}).get("versions", {}))
    if versions:
        lines += [
            "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
            "",
        ]
    lines += [
        "Charts: `throughput.png` (scenarios 1 and 2), `offered_load.png` (achieved vs "
        "offered), `latency.png` (p50/p99 per scenario). Every run: `runs.json`. Where the "
        "time goes in a skilld worker: `profile.md`.",
        "",
    ]
    return "\n".join(lines)


def write_report(summary: Mapping[str, Any], path: Path) -> None:
    path.write_text(render_report(summary))


# -- profile -------------------------------------------------------------------------------

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")

CATEGORIES = (
    ("idle (event loop waiting)", ("selectors.py", "select (")),
    ("aio-pika / aiormq / pamqp (AMQP client)", ("aio_pika/", "aiormq/", "pamqp/")),
    ("redis-py", ("redis/",)),
    ("sqlite3 / skilld.engine.sqlite", ("sqlite",)),
    ("msgspec (encode/decode)", ("msgspec",)),
    ("skilld.skills (registry, expansion)", ("skilld/skills/",)),
    ("skilld.engine.worker", ("skilld/engine/worker.py",)),
    ("skilld.engine stores", ("skilld/engine/stores/",)),
    ("skilld.engine brokers", ("skilld/engine/brokers/",)),
    ("asyncio machinery", ("asyncio/",)),
)


def _parse_collapsed(lines: Iterable[str]) -> list[tuple[list[str], int]]:
    stacks = []
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        try:
            stacks.append((stack.split(";"), int(count)))
        except ValueError:
            continue
    return stacks


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match["file"]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{match['func']} ({file})"


def profile_tables(lines: Iterable[str], top: int = 25) -> dict[str, Any]:
    """Self and inclusive sample counts per function, and shares per category, from
    py-spy's collapsed (``--format raw``) output."""
    stacks = _parse_collapsed(lines)
    total = sum(count for _, count in stacks) or 1
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    for frames, count in stacks:
        if not frames:
            continue
        leaf = frames[-1]
        self_counts[_short(leaf)] += count
        for frame in {_short(f) for f in frames}:
            inclusive[frame] += count
        # The category of a sample: the deepest frame that names one.
        for frame in reversed(frames):
            hit = next((name for name, keys in CATEGORIES if any(k in frame for k in keys)), None)
            if hit is not None:
                categories[hit] += count
                break
        else:
            categories["other"] += count
    return {
        "total": total,
        "self": self_counts.most_common(top),
        "inclusive": [
            (f, c) for f, c in inclusive.most_common(top * 4) if "skilld/" in f or "skilld." in f
        ][:top],
        "categories": categories.most_common(),
    }


def write_profile(raw: Path, path: Path, *, run: Mapping[str, Any] | None = None) -> None:
    tables = profile_tables(raw.read_text().splitlines())
    total = tables["total"]
    metrics = (run or {}).get("metrics", {})
    lines = [
        "# Where a skilld worker's time goes (no-op drain)",
        "",
        "py-spy (250 Hz, `--nonblocking`) on one of the two `skilld worker` processes during "
        f"a no-op drain ({fmt(metrics.get('submitted'))} tasks, "
        f"{fmt(metrics.get('tasks_per_s'))} tasks/s while profiled), backends "
        f"{(run or {}).get('config', {}).get('broker', '?')} + "
        f"{(run or {}).get('config', {}).get('store', '?')}; {total:,} samples. "
        "Generated by `python -m bench peers`; what these tables mean is written up by "
        "hand in bench/results/analysis.md.",
        "",
        "## By component (deepest matching frame of each sample)",
        "",
        "| component | samples | share |",
        "|---|---|---|",
    ]
    lines += [
        f"| {name} | {count:,} | {count / total:.1%} |" for name, count in tables["categories"]
    ]
    lines += [
        "",
        "## Self time (leaf functions)",
        "",
        "| function | samples | share |",
        "|---|---|---|",
    ]
    lines += [f"| `{name}` | {count:,} | {count / total:.1%} |" for name, count in tables["self"]]
    lines += [
        "",
        "## Inclusive time, skilld functions",
        "",
        "| function | samples | share |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{name}` | {count:,} | {count / total:.1%} |" for name, count in tables["inclusive"]
    ]
    lines.append("")
    path.write_text("\n".join(lines))
