"""The comparison harness's pure parts: statistics, ratios, targets, report, profile
tables and the load loop (driven by in-process fakes; no peer, no server)."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import pytest
from bench.peers.harness import QUICK, Config, parse, run_driver
from bench.peers.load import LoadSpec, run_load
from bench.peers.report import profile_tables, render_report, write_profile, write_report
from bench.peers.stats import percentile, ratio, run_metrics, spread, sustained
from bench.peers.summary import build_summary, evaluate_targets


def test_percentile_interpolates_and_handles_edges() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(map(float, range(101))), 99) == pytest.approx(99.0)
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_spread_ignores_missing_values() -> None:
    assert spread([3.0, 1.0, 2.0, math.nan]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert spread([])["n"] == 0


def test_ratio_is_times_better_for_throughput_and_latency() -> None:
    assert ratio(300.0, 100.0) == 3.0
    assert ratio(50.0, 200.0, lower_is_better=True) == 4.0
    assert ratio(0.0, 100.0) is None
    assert ratio(100.0, math.nan) is None


def outcome(n: int, latency: float, elapsed: float, *, done: int | None = None) -> dict:
    done = n if done is None else done
    return {
        "submitted": n,
        "done": done,
        "submit_s": elapsed / 2,
        "elapsed_s": elapsed,
        "latencies": [latency] * done,
        "done_at": [elapsed * (i + 1) / done for i in range(done)],
        "timed_out": done < n,
    }


def test_run_metrics_of_a_drain() -> None:
    m = run_metrics(outcome(1000, 0.25, 2.0))
    assert m["tasks_per_s"] == 500.0
    assert m["p50_ms"] == pytest.approx(250.0)
    assert m["complete"] is True
    assert m["submit_per_s"] == 1000.0
    assert "sustained" not in m


def test_offered_load_is_sustained_only_when_kept_up_in_time() -> None:
    # 100/s for 10 s, results spread evenly over the 10 s, p99 250 ms: kept up.
    kept = run_metrics(outcome(1000, 0.25, 10.0), rate=100.0, duration=10.0)
    assert kept["steady_per_s"] == pytest.approx(100.0, rel=0.02)
    assert kept["sustained"] is True
    # Same completions, p99 above 400 ms: not sustained.
    slow = run_metrics(outcome(1000, 0.5, 10.0), rate=100.0, duration=10.0)
    assert slow["sustained"] is False
    # Tasks left unfinished at the time limit: not sustained.
    short = run_metrics(outcome(1000, 0.25, 10.0, done=900), rate=100.0, duration=10.0)
    assert short["complete"] is False
    assert sustained(short, 100.0) is False
    # Half the rate completed within the window: not sustained.
    lagging = run_metrics(outcome(1000, 0.25, 20.0), rate=100.0, duration=10.0)
    assert lagging["steady_per_s"] < 95
    assert lagging["sustained"] is False


def run(scenario: str, system: str, tps: float, p99: float = 100.0, **extra: object) -> dict:
    metrics = {"tasks_per_s": tps, "p50_ms": p99 / 2, "p99_ms": p99, "complete": True, **extra}
    return {"scenario": scenario, "system": system, "rep": 0, "metrics": metrics, "error": None}


def sample_summary(skilld_noop: float = 6000.0) -> dict:
    runs = [
        run("s1_noop", "skilld", skilld_noop),
        run("s1_noop", "skilld", skilld_noop * 0.9),
        run("s1_noop", "skilld", skilld_noop * 1.1),
        run("s1_noop", "dramatiq", 2000.0),
        run("s1_noop", "taskiq", 900.0),
        run("s1_noop", "celery-prefork", 700.0),
        run("s2_sleep", "skilld", 2500.0),
        run("s2_sleep", "dramatiq", 1800.0),
        run("s2_sleep", "celery-gevent", 400.0),
        run("s2_sleep", "celery-prefork", 10.0),
        run("s3_load_3000", "skilld", 2990.0, 350.0, steady_per_s=2995.0, sustained=True),
        run("s3_load_4000", "skilld", 3100.0, 900.0, steady_per_s=3100.0, sustained=False),
        {"scenario": "s2_sleep", "system": "taskiq", "rep": 0, "metrics": {}, "error": "boom"},
    ]
    return build_summary(
        runs,
        ceiling={"rabbitmq_per_s": {"median": 8000.0, "min": 7000.0, "max": 9000.0, "n": 3}},
        memory={"peak_rss_mb": 90.0, "peak_in_flight": 1000, "tasks": 1000},
        config={"reps": 3},
        titles={"s1_noop": "1. no-op"},
    )


def targets_by_prefix(summary: dict) -> dict[str, dict]:
    return {t["target"]: t for t in summary["targets"]}


def test_summary_medians_and_ratios() -> None:
    summary = sample_summary()
    s1 = summary["scenarios"]["s1_noop"]
    assert s1["title"] == "1. no-op"
    assert s1["systems"]["skilld"]["tasks_per_s"] == pytest.approx(
        {
            "median": 6000.0,
            "min": 5400.0,
            "max": 6600.0,
            "n": 3,
        }
    )
    assert s1["ratios"]["dramatiq"]["tasks_per_s"] == 3.0
    assert s1["ratios"]["taskiq"]["p99_ms"] == 1.0
    failed = summary["scenarios"]["s2_sleep"]["systems"]["taskiq"]
    assert failed["errors"] == ["boom"]
    assert failed["complete_runs"] == 0


def test_targets_measured_and_judged() -> None:
    targets = summary_targets = sample_summary()["targets"]
    assert len(targets) == 9
    by_name = {t["target"]: t for t in summary_targets}
    fastest = next(t for n, t in by_name.items() if n.startswith("scenario 1") and "fastest" in n)
    assert fastest["measured"] == 3.0
    assert fastest["met"] is True
    taskiq = next(t for n, t in by_name.items() if n.startswith("scenario 1") and "taskiq" in n)
    assert taskiq["measured"] == pytest.approx(6000 / 900, rel=1e-3)
    # Scenario 2: Taskiq's only run failed, so its ratio is not measured and not met.
    s2_taskiq = next(t for n, t in by_name.items() if n.startswith("scenario 2") and "taskiq" in n)
    assert s2_taskiq["met"] is False
    assert s2_taskiq["measured"] is None
    # Celery is judged against its best configuration (gevent here, not prefork).
    s2_celery = next(t for n, t in by_name.items() if n.startswith("scenario 2") and "celery" in n)
    assert s2_celery["measured"] == pytest.approx(6.25)
    load = next(t for n, t in by_name.items() if n.startswith("scenario 3"))
    assert load["measured"] == 3000.0
    assert load["met"] is True
    ceiling = next(t for n, t in by_name.items() if "ceiling" in n)
    assert ceiling["measured"] == 0.75
    assert ceiling["met"] is True
    memory = next(t for n, t in by_name.items() if "RSS" in n)
    assert memory["met"] is True


def test_targets_not_met_say_so() -> None:
    summary = sample_summary(skilld_noop=2500.0)
    summary["memory"] = {"peak_rss_mb": 180.0}
    del summary["scenarios"]["s3_load_3000"]
    targets = evaluate_targets(summary)
    fastest = next(
        t for t in targets if t["target"].startswith("scenario 1") and "fastest" in t["target"]
    )
    assert fastest["met"] is False
    assert fastest["measured"] == 1.25
    load = next(t for t in targets if t["target"].startswith("scenario 3"))
    assert load["met"] is False
    assert "sustained none" in load["note"]
    assert next(t for t in targets if "RSS" in t["target"])["met"] is False
    missing = evaluate_targets({"scenarios": {}})
    assert not any(t["met"] for t in missing)
    assert all(t["measured"] is None or t["measured"] == 0.0 for t in missing)


def test_report_is_written_with_every_scenario_and_target(tmp_path: Path) -> None:
    summary = sample_summary()
    path = tmp_path / "report.md"
    write_report(summary, path)
    text = path.read_text()
    assert text.startswith("# skilld vs Celery, Dramatiq and Taskiq")
    assert "| skilld | 6,000 (5,400–6,600) |" in text
    assert "3.00x" in text  # skilld over Dramatiq in scenario 1
    assert "- taskiq: error: boom" in text
    assert text.count("| yes |") == sum(t["met"] for t in summary["targets"])
    assert "acks_late" in text
    assert "peak 90.0 MB" in text
    json.dumps(summary)  # the summary is plain JSON
    assert render_report({}).startswith("# skilld")


def test_profile_tables_count_self_inclusive_and_components(tmp_path: Path) -> None:
    lines = [
        "run (asyncio/base_events.py:1);select (selectors.py:468) 60",
        "run (asyncio/base_events.py:1);_handle (skilld/engine/worker.py:300);"
        "encode (skilld/engine/task.py:200) 30",
        "run (asyncio/base_events.py:1);_handle (skilld/engine/worker.py:300);"
        "publish (aio_pika/exchange.py:10) 10",
    ]
    tables = profile_tables(lines)
    assert tables["total"] == 100
    assert tables["self"][0] == ("select (selectors.py)", 60)
    assert ("_handle (skilld/engine/worker.py)", 40) in tables["inclusive"]
    components = dict(tables["categories"])
    assert components["idle (event loop waiting)"] == 60
    assert components["aio-pika / aiormq / pamqp (AMQP client)"] == 10
    assert components["skilld.engine.worker"] == 30
    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join(lines) + "\n")
    write_profile(raw, tmp_path / "profile.md", run={"metrics": {"submitted": 10}})
    assert "| idle (event loop waiting) | 60 | 60.0% |" in (tmp_path / "profile.md").read_text()


class FakeSystem:
    """A system whose tasks finish after ``delay_polls`` polls; thread-safe."""

    def __init__(self, delay_polls: int = 2, lose: int = 0) -> None:
        self.delay_polls = delay_polls
        self.lose = lose
        self.ages: dict[int, int] = {}
        self.lock = threading.Lock()
        self.next = 0

    def submit(self, count: int) -> list[int]:
        with self.lock:
            ids = list(range(self.next, self.next + count))
            self.next += count
            for i in ids:
                self.ages[i] = 0
        return ids

    def poll(self, ids: list[int]) -> list[bool]:
        with self.lock:
            out = []
            for i in ids:
                self.ages[i] += 1
                out.append(i >= self.lose and self.ages[i] > self.delay_polls)
            return out


def test_run_load_drains_and_measures_every_task() -> None:
    fake = FakeSystem()
    spec = LoadSpec(n=1200, batch=500, poll_s=0.001, window=300, time_limit=30)
    out = run_load(spec, fake.submit, fake.poll)
    assert out.submitted == 1200
    assert out.done == 1200
    assert len(out.latencies) == 1200
    assert all(x >= 0 for x in out.latencies)
    assert not out.timed_out
    assert not out.errors


def test_run_load_stops_at_the_time_limit_and_reports_what_finished() -> None:
    fake = FakeSystem(lose=10)  # the first 10 tasks never finish
    out = run_load(LoadSpec(n=50, poll_s=0.001, time_limit=0.3), fake.submit, fake.poll)
    assert out.timed_out
    assert out.done == 40
    assert run_metrics(out.to_dict())["complete"] is False


def test_run_load_offers_a_fixed_rate() -> None:
    fake = FakeSystem(delay_polls=0)
    out = run_load(
        LoadSpec(rate=2000.0, duration=0.25, poll_s=0.001, time_limit=10),
        fake.submit,
        fake.poll,
        tick=0.001,
    )
    assert out.submitted == 500
    assert out.done == 500
    # The submitter paced itself: the submissions took about the offered duration.
    assert out.submit_finished - out.started >= 0.2


def test_run_load_reports_a_failing_client() -> None:
    def submit(count: int) -> list[int]:
        raise ConnectionError("broker went away")

    out = run_load(LoadSpec(n=10, poll_s=0.001, time_limit=5), submit, lambda ids: [])
    assert out.done == 0
    assert out.errors == ["submit: ConnectionError: broker went away"]


def test_command_line_and_quick_configuration() -> None:
    config, out, add = parse(["--quick", "--rates", "100,200", "--only", "s1,ceiling"])
    assert add is False
    assert config.n_noop == QUICK["n_noop"]
    assert config.rates == (100.0, 200.0)
    assert config.only == ("s1", "ceiling")
    assert out.name == "results"
    assert Config().n_noop == 20000  # the N
    assert Config().to_dict()["processes"] == 2


def test_run_driver_reads_the_result_line_or_reports_the_failure() -> None:
    import sys

    ok = run_driver(
        [sys.executable, "-c", "print('noise'); print('BENCH-RESULT {\"x\": 1}')"], timeout=30
    )
    assert ok == {"x": 1}
    failed = run_driver([sys.executable, "-c", "import sys; sys.exit('nope')"], timeout=30)
    assert "without a result" in failed["error"]
    assert "nope" in failed["error"]


def test_run_load_survives_a_server_restart_while_polling() -> None:
    fake = FakeSystem(delay_polls=0)
    failures = iter([True, False])

    def poll(ids: list[int]) -> list[bool]:
        if next(failures, False):
            raise ConnectionError("Connection reset by peer")
        return fake.poll(ids)

    out = run_load(LoadSpec(n=20, poll_s=0.001, time_limit=10), fake.submit, poll)
    assert out.done == 20
    assert out.poll_failures == 1
    assert out.errors == ["poll: ConnectionError: Connection reset by peer"]


def test_a_skilld_variant_is_compared_with_the_peers_of_its_table() -> None:
    summary = build_summary(
        [run("s5_noop", "skilld-redis-streams", 3000.0), run("s5_noop", "dramatiq-redis", 1500.0)]
    )
    assert summary["scenarios"]["s5_noop"]["ratios"]["dramatiq-redis"]["tasks_per_s"] == 2.0
