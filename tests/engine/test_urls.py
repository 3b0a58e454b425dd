"""Backend URLs are shown and logged without their passwords."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skilld.cli import app
from skilld.engine.brokers import open_broker
from skilld.engine.redis_common import Unavailable
from skilld.engine.stores import open_store
from skilld.engine.urls import redact
from skilld.engine.worker import Worker
from skilld.exceptions import BackendUnavailableError, ConfigurationError
from tests.cli.test_serve import start_serve
from tests.engine.services import require_rabbitmq, unique_name


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:***@127.0.0.1:5672/"),
        ("amqps://u:p%40ss@mq.example/vh?queue=q", "amqps://u:***@mq.example/vh?queue=q"),
        ("redis://:s3cret@127.0.0.1:6379/0?prefix=p:", "redis://:***@127.0.0.1:6379/0?prefix=p:"),
        ("rediss://user:pw@h:6380", "rediss://user:***@h:6380"),
        ("redis://h/0?password=pw&queue=q", "redis://h/0?password=***&queue=q"),
        ("unix://:pw@/run/redis.sock?db=1", "unix://:***@/run/redis.sock?db=1"),
        ("amqp://u:a@b@host/", "amqp://u:***@host/"),  # an unencoded @ in the password
        # Nothing to hide: unchanged.
        ("amqp://guest@127.0.0.1/", "amqp://guest@127.0.0.1/"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("sqlite:///.skilld/queue.db", "sqlite:///.skilld/queue.db"),
        ("memory://", "memory://"),
        ("not a url", "not a url"),
    ],
)
def test_redact_hides_passwords_only(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_error_messages_about_a_url_hide_its_password() -> None:
    with pytest.raises(ConfigurationError) as broker_error:
        open_broker("kafka://user:s3cret@host")
    with pytest.raises(ConfigurationError) as store_error:
        open_store("mongodb://user:s3cret@host")
    with pytest.raises(ConfigurationError) as option_error:
        open_broker("memory://x:s3cret@q?visibility_timeout=soon")
    for error in (broker_error, store_error, option_error):
        assert "s3cret" not in str(error.value)
        assert "user:***@" in str(error.value) or "x:***@" in str(error.value)
    result = CliRunner().invoke(app, ["worker", "--broker", "kafka://user:s3cret@host"])
    assert result.exit_code == 2
    assert "s3cret" not in result.output
    assert "user:***@host" in result.output


def test_redis_outage_message_hides_the_password() -> None:
    guard = Unavailable("the Redis store", "redis://:s3cret@127.0.0.1:6379/0")
    with pytest.raises(BackendUnavailableError) as error, guard:
        raise ConnectionRefusedError("refused")
    assert "s3cret" not in str(error.value)
    assert "redis://:***@127.0.0.1:6379/0" in str(error.value)


async def test_worker_log_lines_hide_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = open_broker("memory://")
    broker.url = "amqp://guest:s3cret@127.0.0.1:5672/"  # as a RabbitMQ broker names itself

    async def failing_fetch(limit: int, timeout: float) -> list[object]:
        worker.stop()
        raise ConnectionError("down")

    broker._fetch = failing_fetch  # type: ignore[method-assign,assignment]
    from skilld.engine.executor import FunctionExecutor

    worker = Worker(broker, open_store("memory://"), FunctionExecutor(lambda t: None))
    with caplog.at_level(logging.ERROR, logger="skilld.worker"):
        await worker.run()
    [record] = [r for r in caplog.records if "fetching from" in r.getMessage()]
    assert "s3cret" not in record.getMessage()
    assert "amqp://guest:***@127.0.0.1:5672/" in record.getMessage()


@pytest.mark.slow
def test_serve_and_worker_banners_hide_the_password(tmp_path: Path) -> None:
    amqp = require_rabbitmq()  # guest:guest, the server's own default
    assert ":guest@" in amqp
    from tests.engine.services import delete_rabbitmq_queues

    queue = unique_name("banner")
    broker = f"{amqp}?queue={queue}"
    store = f"sqlite:///{tmp_path / 'results.db'}"
    try:
        served = start_serve(
            "--broker", broker, "--store", store, "--concurrency", "0", cwd=tmp_path
        )
        code, rest = served.stop()
        assert code == 0, rest
        shown = "\n".join(served.banner) + rest
        assert f"  broker {redact(broker)}" in served.banner
        assert "guest:***@127.0.0.1" in shown
        assert ":guest@" not in shown

        command = [sys.executable, "-m", "skilld", "worker", "--burst"]
        worker = subprocess.run(
            [*command, "--broker", broker, "--store", store],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert worker.returncode == 0, worker.stderr
        assert "guest:***@127.0.0.1" in worker.stderr
        assert ":guest@" not in worker.stderr + worker.stdout
    finally:
        delete_rabbitmq_queues(queue)
