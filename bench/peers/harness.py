"""``python -m bench peers``: skilld side by side with Celery, Dramatiq and Taskiq.

Creates ``bench/.venv-peers`` (the peers, matplotlib and py-spy; never skilld's own
environment), then runs every scenario with skilld and the peers alternating, several
repetitions each, every run in fresh worker processes on fresh queues, and writes into
``bench/results/``: ``runs.json`` (every run), ``summary.json`` (medians, ratios,
targets), ``report.md`` and the PNG charts; ``profile.md`` from a py-spy profile of a
skilld worker.

Each run is one driver process (``bench.peers.skilld_driver`` in this environment,
``bench.peers.peer_driver`` in the peers' one) with a task count and a time limit; the
harness kills a driver that overruns its limit by more than a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import venv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.peers.report import write_profile, write_report
from bench.peers.stats import run_metrics
from bench.peers.summary import PEERS, SKILLD, build_summary

REPO = Path(__file__).resolve().parents[2]
HERE = REPO / "bench" / "peers"
ENV = REPO / "bench" / ".venv-peers"
REQUIREMENTS = HERE / "requirements.txt"
RESULTS = REPO / "bench" / "results"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
REDIS_URL = "redis://127.0.0.1:6379/0"

TITLES = {
    "s1_noop": "1. no-op task, drain",
    "s2_sleep": "2. 200 ms I/O-bound task, drain",
    "s4_noop": "4. skilld alone: no-op drain on other backends",
    "s4_sleep": "4. skilld alone: 200 ms task drain on other backends",
    "s5_noop": "5. every system on its Redis broker: no-op drain",
    "s5_sleep": "5. every system on its Redis broker: 200 ms task drain",
}


@dataclass(frozen=True, slots=True)
class Config:
    """What one invocation measures (``--quick`` shrinks the counts, not the method)."""

    reps: int = 3
    n_noop: int = 20000
    n_sleep: int = 10000
    n_prefork_sleep: int = 400
    rates: tuple[float, ...] = (500.0, 2000.0)
    ladder: tuple[float, ...] = (3000.0, 4000.0, 5000.0)
    duration: float = 20.0
    load_reps: int = 1
    processes: int = 2
    concurrency: int = 500
    drain_limit: float = 180.0
    prefork_limit: float = 30.0
    warmup: int = 200
    systems: tuple[str, ...] = (SKILLD, *PEERS)
    only: tuple[str, ...] = ("s1", "s2", "s3", "s4", "s5", "ceiling", "memory", "profile")
    amqp: str = AMQP_URL
    redis: str = REDIS_URL
    skilld_backends: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


QUICK = {"reps": 2, "n_noop": 5000, "n_sleep": 4000, "n_prefork_sleep": 200, "warmup": 100}


# -- environment ---------------------------------------------------------------------------


def peers_python(env: Path = ENV) -> Path:
    """The peers' interpreter; the environment is (re)made when the requirements change."""
    python = env / "bin" / "python"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    stamp = env / ".installed"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    print(f"creating {env} (peers, matplotlib, py-spy) ...", file=sys.stderr)
    if not python.exists():
        venv.EnvBuilder(with_pip=True, symlinks=True).create(env)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True
    )
    stamp.write_text(digest + "\n")
    return python


def check_servers(amqp_port: int = 5672, redis_port: int = 6379, *, wait: float = 0.0) -> None:
    """Both servers accept connections (waiting up to ``wait`` seconds: other jobs on this
    machine restart them in their fault tests)."""
    end = time.monotonic() + wait
    for name, port in (("RabbitMQ", amqp_port), ("Redis", redis_port)):
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                break
            except OSError:
                if time.monotonic() >= end:
                    raise SystemExit(
                        f"{name} is not listening on 127.0.0.1:{port} (start it, e.g. with .ci/run)"
                    ) from None
                time.sleep(1.0)


def skilld_backends(config: Config) -> dict[str, str]:
    """Which of skilld's distributed backends this checkout has (they are optional)."""
    from skilld.engine.brokers import open_broker
    from skilld.engine.stores import open_store
    from skilld.exceptions import ConfigurationError

    found = {"amqp": "yes", "sqlite": "yes"}
    for kind, opener in (("redis_broker", open_broker), ("redis_store", open_store)):
        try:
            opener(config.redis)
            found[kind] = "yes"
        except (ConfigurationError, ImportError) as exc:
            found[kind] = f"no ({exc})"
    return found


# -- runs ----------------------------------------------------------------------------------


def _driver(system: str, python: Path) -> list[str]:
    if system.startswith(SKILLD):
        return [sys.executable, "-m", "bench.peers.skilld_driver"]
    return [str(python), "-m", "bench.peers.peer_driver"]


def run_driver(command: Sequence[str], timeout: float) -> dict[str, Any]:
    """Run one driver; its record, or ``{"error": ...}`` if it failed or overran."""
    try:
        proc = subprocess.run(
            list(command),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    except subprocess.TimeoutExpired:
        return {"error": f"driver overran {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("BENCH-RESULT "):
            return dict(json.loads(line.removeprefix("BENCH-RESULT ")))
    tail = (proc.stderr or proc.stdout)[-800:]
    return {"error": f"driver exited {proc.returncode} without a result: {tail}"}


class Harness:
    def __init__(self, config: Config, python: Path, out: Path) -> None:
        self.config = config
        self.python = python
        self.out = out
        self.runs: list[dict[str, Any]] = []
        self.extra: dict[str, Any] = {}
        self.primary = {
            "broker": "amqp",
            "store": "redis" if config.skilld_backends.get("redis_store") == "yes" else "sqlite",
        }

    def load(self) -> None:
        """Start from the runs already in ``runs.json`` (``--add``: measure more steps
        into the same results)."""
        path = self.out / "runs.json"
        if path.exists():
            document = json.loads(path.read_text())
            self.runs = list(document.get("runs", []))
            self.extra = {k: document[k] for k in ("ceiling", "memory") if k in document}

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        document = {"config": self.config.to_dict(), "runs": self.runs, **self.extra}
        (self.out / "runs.json").write_text(json.dumps(document, indent=1, default=str) + "\n")

    def one(
        self,
        scenario: str,
        system: str,
        rep: int,
        *,
        task: str,
        n: int = 0,
        rate: float | None = None,
        time_limit: float,
        concurrency: int = 0,
        options: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        c = self.config
        name = system
        if system == SKILLD:
            options = {**self.primary, **(options or {})}
        driver_system = SKILLD if system.startswith(SKILLD) else system
        command = [
            *_driver(system, self.python),
            "--system", driver_system, "--task", task,
            "--n", str(n), "--duration", str(c.duration),
            "--time-limit", str(time_limit), "--processes", str(c.processes),
            "--concurrency", str(concurrency), "--warmup", str(c.warmup),
            "--amqp", c.amqp, "--redis", c.redis,
        ]  # fmt: skip
        if rate is not None:
            command += ["--rate", str(rate)]
        for key, value in (options or {}).items():
            command += ["--option", f"{key}={value}"]
        started = time.monotonic()
        check_servers(wait=180)
        record = run_driver(command, timeout=time_limit + 120)
        for attempt in (1, 2):
            if not (record.get("error") or (record.get("outcome") or {}).get("errors")):
                break
            # Other jobs restart these servers in their fault tests: a disturbed run is run
            # again (twice at most) once both servers answer, after they settled.
            why = record.get("error") or record["outcome"]["errors"]
            print(f"  retrying {scenario} {name}: {why}"[:300], file=sys.stderr, flush=True)
            time.sleep(10)
            check_servers(wait=180)
            record = run_driver(command, timeout=time_limit + 120)
            record["retried"] = attempt
        outcome = record.pop("outcome", None)
        metrics = (
            run_metrics(outcome, rate=rate, duration=c.duration) if outcome is not None else {}
        )
        if outcome is not None and outcome.get("errors"):
            record.setdefault("error", "; ".join(outcome["errors"]))
        run = {
            "scenario": scenario,
            "system": name,
            "rep": rep,
            "task": task,
            "n": n,
            "rate": rate,
            "metrics": metrics,
            "error": record.pop("error", None),
            "config": {k: v for k, v in record.items() if k not in ("worker_pids",)},
            "wall_s": time.monotonic() - started,
        }
        self.runs.append(run)
        self.save()
        shown = (
            f"{metrics.get('tasks_per_s', 0):8.0f}/s p50 {metrics.get('p50_ms', 0):7.0f} ms "
            f"p99 {metrics.get('p99_ms', 0):7.0f} ms done {metrics.get('done', 0)}/"
            f"{metrics.get('submitted', 0)}"
            if metrics
            else ""
        )
        if rate is not None and metrics:
            shown += f" steady {metrics.get('steady_per_s', 0):.0f}/s"
        print(
            f"[{datetime.now(UTC):%H:%M:%S}] {scenario:14} {name:16} rep {rep} {shown} "
            f"{run['error'] or ''}"[:400],
            file=sys.stderr,
            flush=True,
        )
        return run

    def systems(self, rep: int, include: Sequence[str]) -> list[str]:
        """The systems in this repetition's order (rotated, so none always runs first)."""
        chosen = [s for s in self.config.systems if s in include]
        shift = rep % len(chosen) if chosen else 0
        return chosen[shift:] + chosen[:shift]

    # -- scenarios -----------------------------------------------------------------------

    def scenario_1(self) -> None:
        c = self.config
        for rep in range(c.reps):
            for system in self.systems(rep, (SKILLD, "celery-prefork", "dramatiq", "taskiq")):
                self.one("s1_noop", system, rep, task="noop", n=c.n_noop, time_limit=c.drain_limit)

    def scenario_2(self) -> None:
        c = self.config
        for rep in range(c.reps):
            for system in self.systems(rep, (SKILLD, *PEERS)):
                if system == "celery-prefork":
                    self.one("s2_sleep", system, rep, task="sleep", n=c.n_prefork_sleep,
                             time_limit=c.prefork_limit)  # fmt: skip
                else:
                    self.one("s2_sleep", system, rep, task="sleep", n=c.n_sleep,
                             time_limit=c.drain_limit, concurrency=c.concurrency)  # fmt: skip

    def scenario_3(self) -> None:
        c = self.config
        limit = c.duration + 40
        peers = (SKILLD, "celery-gevent", "dramatiq", "taskiq")
        for rate in c.rates:
            for rep in range(c.load_reps):
                for system in self.systems(rep, peers):
                    self.one(f"s3_load_{rate:.0f}", system, rep, task="sleep", rate=rate,
                             time_limit=limit, concurrency=c.concurrency)  # fmt: skip

        # Then the highest rate skilld sustains: upwards from the fixed rates while it keeps
        # up, or downwards (halving) when it did not keep up with the lowest; the peers get
        # that rate too, once.
        def attempt(rate: float) -> bool:
            run = self.one(f"s3_load_{rate:.0f}", SKILLD, 0, task="sleep", rate=rate,
                           time_limit=limit, concurrency=c.concurrency)  # fmt: skip
            return bool(run["metrics"].get("sustained"))

        kept = [
            r for r in self.runs
            if r["scenario"].startswith("s3_load_") and r["system"] == SKILLD
            and r["metrics"].get("sustained")
        ]  # fmt: skip
        top: float | None = None
        if kept and max(r["rate"] for r in kept) >= max(c.rates):
            top = max(c.rates)
            for rate in c.ladder:
                if rate <= top:
                    continue
                if not attempt(rate):
                    break
                top = rate
        else:
            rate = min(c.rates)
            for _ in range(3):
                rate = round(rate / 2)
                if attempt(rate):
                    top = rate
                    break
        if top is not None and top not in c.rates:
            for system in peers[1:]:
                self.one(f"s3_load_{top:.0f}", system, 0, task="sleep", rate=top,
                         time_limit=limit, concurrency=c.concurrency)  # fmt: skip

    def scenario_4(self) -> None:
        c = self.config
        variants: list[tuple[str, dict[str, str]]] = [
            ("skilld-sqlite", {"broker": "sqlite", "store": "sqlite"}),
        ]
        if c.skilld_backends.get("redis_broker") == "yes" and (
            c.skilld_backends.get("redis_store") == "yes"
        ):
            variants.append(("skilld-redis-streams", {"broker": "redis", "store": "redis"}))
        variants.append(("skilld-gateway", {**self.primary, "gateway": "1"}))
        for rep in range(max(1, c.reps - 1)):
            for name, options in variants:
                # One HTTP request per task: a smaller count keeps the run bounded.
                n = min(2000, c.n_noop // 5) if name == "skilld-gateway" else c.n_noop
                self.one("s4_noop", name, rep, task="noop", n=n, time_limit=c.drain_limit,
                         options=options)  # fmt: skip
            for name, options in variants:
                if name == "skilld-gateway":
                    continue
                self.one("s4_sleep", name, rep, task="sleep", n=c.n_sleep,
                         time_limit=c.drain_limit, concurrency=c.concurrency,
                         options=options)  # fmt: skip
        # Offered load on Redis Streams, where one producer process is not capped by
        # per-message AMQP writes: the highest fixed rate and the target rate.
        for name, options in variants:
            if name != "skilld-redis-streams":
                continue
            for rate in sorted({max(c.rates), *c.ladder[:1]}):
                self.one(f"s4_load_{rate:.0f}", name, 0, task="sleep", rate=rate,
                         time_limit=c.duration + 40, concurrency=c.concurrency,
                         options=options)  # fmt: skip

    def scenario_5(self) -> None:
        """Scenarios 1 and 2 again with every system on its Redis broker (skilld: Redis
        Streams; Dramatiq: RedisBroker; Taskiq: RedisStreamBroker; Celery: the Redis
        transport), results in Redis as before."""
        c = self.config
        if c.skilld_backends.get("redis_broker") != "yes":
            return
        ours = ("skilld-redis-streams", {"broker": "redis", "store": "redis"})
        for rep in range(max(1, c.reps - 1)):
            noop = [ours[0], "celery-prefork-redis", "dramatiq-redis", "taskiq-redis"]
            for system in noop[rep % 4 :] + noop[: rep % 4]:
                options = ours[1] if system == ours[0] else None
                self.one("s5_noop", system, rep, task="noop", n=c.n_noop,
                         time_limit=c.drain_limit, options=options)  # fmt: skip
            sleep = [ours[0], "celery-gevent-redis", "dramatiq-redis", "taskiq-redis"]
            for system in sleep[rep % 4 :] + sleep[: rep % 4]:
                options = ours[1] if system == ours[0] else None
                self.one("s5_sleep", system, rep, task="sleep", n=c.n_sleep,
                         time_limit=c.drain_limit, concurrency=c.concurrency,
                         options=options)  # fmt: skip

    def ceiling(self) -> None:
        values: dict[str, list[float]] = {"quorum": [], "classic": []}
        redis_figures: dict[str, Any] = {}
        for rep in range(max(1, self.config.reps)):
            for queue_type in ("quorum", "classic"):
                check_servers(wait=180)
                record = run_driver(
                    [sys.executable, "-m", "bench.peers.ceiling", "--amqp", self.config.amqp,
                     "--n", str(self.config.n_noop), "--queue-type", queue_type,
                     *(["--redis"] if rep == 0 and queue_type == "quorum" else [])],
                    timeout=600,
                )  # fmt: skip
                if "rabbitmq_per_s" in record:
                    values[queue_type].append(float(record["rabbitmq_per_s"]))
                redis_figures.update(record.get("redis", {}))
                print(f"[ceiling] {queue_type}: {record}", file=sys.stderr, flush=True)
        from bench.peers.stats import spread

        # The target compares with the queue type skilld's run used (quorum by default).
        self.extra["ceiling"] = {
            "rabbitmq_per_s": spread(values["quorum"]),
            "rabbitmq_classic_per_s": spread(values["classic"]),
            "redis_benchmark": redis_figures,
        }
        self.save()

    def memory(self) -> None:
        record = run_driver(
            [sys.executable, "-m", "bench.peers.memory", "--broker", self.primary["broker"],
             "--store", self.primary["store"], "--amqp", self.config.amqp,
             "--redis", self.config.redis],
            timeout=300,
        )  # fmt: skip
        print(f"[memory] {record}", file=sys.stderr, flush=True)
        self.extra["memory"] = record
        self.save()

    def profile(self) -> None:
        raw = self.out / "tmp" / "profile-worker.txt"
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.unlink(missing_ok=True)
        run = self.one(
            "profile",
            SKILLD,
            0,
            task="noop",
            n=self.config.n_noop,
            time_limit=self.config.drain_limit,
            options={"pyspy": str(ENV / "bin" / "py-spy"), "profile": str(raw)},
        )
        self.runs.remove(run)  # a profiled run is slower: not one of the measurements
        self.save()
        if raw.exists():
            write_profile(raw, self.out / "profile.md", run=run)

    def run(self) -> dict[str, Any]:
        only = set(self.config.only)
        for step, action in (
            ("ceiling", self.ceiling),
            ("s1", self.scenario_1),
            ("s2", self.scenario_2),
            ("s3", self.scenario_3),
            ("s4", self.scenario_4),
            ("s5", self.scenario_5),
            ("memory", self.memory),
            ("profile", self.profile),
        ):
            if step in only:
                action()
        titles = dict(TITLES)
        for run in self.runs:
            if run["scenario"].startswith("s3_load_"):
                titles[run["scenario"]] = (
                    f"3. offered load: 200 ms task at {run['rate']:.0f}/s for "
                    f"{self.config.duration:.0f} s"
                )
            elif run["scenario"].startswith("s4_load_"):
                titles[run["scenario"]] = (
                    f"4. skilld alone on Redis Streams: 200 ms task offered at "
                    f"{run['rate']:.0f}/s for {self.config.duration:.0f} s"
                )
        summary = build_summary(
            self.runs,
            ceiling=self.extra.get("ceiling"),
            memory=self.extra.get("memory"),
            config={
                **self.config.to_dict(),
                "skilld_primary": self.primary,
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(),
            },
            titles=titles,
        )
        (self.out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
        write_report(summary, self.out / "report.md")
        chart = subprocess.run(
            [str(self.python), "-m", "bench.peers.charts", str(self.out)],
            cwd=REPO,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"},
            check=False,
        )
        if chart.returncode:
            print(f"charts failed: {chart.stderr[-800:]}", file=sys.stderr)
        return summary


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        git = ["git", "-C", str(REPO)]
        info["commit"] = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            [*git, "status", "--porcelain", "--", "src/skilld/engine"],
            capture_output=True, text=True, check=True,
        ).stdout.split("\n")  # fmt: skip
        info["uncommitted_engine_files"] = sorted(line[3:] for line in changed if line.strip())
    with contextlib.suppress(OSError):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info


def parse(argv: Sequence[str] | None = None) -> tuple[Config, Path, bool]:
    parser = argparse.ArgumentParser(
        prog="python -m bench peers", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="smaller counts, 2 repetitions")
    parser.add_argument("--reps", type=int)
    parser.add_argument("--n-noop", type=int)
    parser.add_argument("--n-sleep", type=int)
    parser.add_argument("--duration", type=float, help="seconds of offered load (20)")
    parser.add_argument("--rates", help="offered rates, comma-separated (500,2000)")
    parser.add_argument("--ladder", help="rates tried upwards for skilld (3000,4000,5000)")
    parser.add_argument("--concurrency", type=int, help="per process, 200 ms task (500)")
    parser.add_argument("--systems", help=f"comma-separated subset of {SKILLD},{','.join(PEERS)}")
    parser.add_argument(
        "--only", help="comma-separated steps: s1,s2,s3,s4,s5,ceiling,memory,profile (all)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--add", action="store_true", help="keep the runs already in OUT/runs.json, add these"
    )
    parser.add_argument("--amqp", default=AMQP_URL)
    parser.add_argument("--redis", default=REDIS_URL)
    args = parser.parse_args(argv)
    values: dict[str, Any] = dict(QUICK) if args.quick else {}
    for name in ("reps", "n_noop", "n_sleep", "duration", "concurrency", "amqp", "redis"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    for name in ("rates", "ladder"):
        if getattr(args, name):
            values[name] = tuple(float(x) for x in getattr(args, name).split(","))
    if args.systems:
        values["systems"] = tuple(args.systems.split(","))
    if args.only:
        values["only"] = tuple(args.only.split(","))
    return Config(**values), args.out, args.add


def main(argv: Sequence[str] | None = None) -> int:
    config, out, add = parse(argv)
    check_servers()
    python = peers_python()
    config = Config(**{**config.to_dict(), "skilld_backends": skilld_backends(config)})
    print(f"skilld backends: {config.skilld_backends}", file=sys.stderr)
    harness = Harness(config, python, out)
    if add:
        harness.load()
    summary = harness.run()
    for target in summary["targets"]:
        mark = "met" if target["met"] else "NOT met"
        print(f"{mark:8} {target['target']}: {target['measured']} ({target['note']})")
    print(f"results in {out}")
    return 0
