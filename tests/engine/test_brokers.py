"""One body, every broker backend (see conftest.BACKENDS)."""

from __future__ import annotations

import pytest

from skilld.engine.brokers import Broker, open_broker
from skilld.engine.brokers.memory import MemoryBroker
from skilld.engine.task import SkillTask, TaskError
from skilld.exceptions import ConfigurationError
from tests.engine.conftest import VISIBILITY_S


async def test_publish_fetch_ack(broker: Broker) -> None:
    tasks = [SkillTask(skill="s", args=str(i)) for i in range(5)]
    await broker.publish_many(tasks)
    assert await broker.depth() == 5
    got = await broker.fetch(10, timeout=1)
    assert [d.task for d in got] == tasks
    assert await broker.depth() == 0  # leased ones are not waiting
    for delivery in got:
        await broker.ack(delivery)
    assert await broker.fetch(10, timeout=VISIBILITY_S * 2) == []


async def test_higher_priority_first_then_oldest(broker: Broker) -> None:
    if not broker.supports_priority:
        pytest.skip(f"{type(broker).__name__} has no priorities (RabbitMQ 3 quorum queues)")
    await broker.publish_many(
        [SkillTask(skill="s", args=a, priority=p) for a, p in [("a", 0), ("b", 5), ("c", 5)]]
    )
    got = await broker.fetch(3, timeout=1)
    assert [d.task.args for d in got] == ["b", "c", "a"]


async def test_delayed_message_waits(broker: Broker) -> None:
    await broker.publish(SkillTask(skill="s"), delay=0.3)
    assert await broker.fetch(1, timeout=0.05) == []
    assert len(await broker.fetch(1, timeout=2)) == 1


async def test_malformed_message_is_dead_lettered_with_its_reason(broker: Broker) -> None:
    await broker.publish_raw(b'{"skill": 12}')
    await broker.publish(SkillTask(skill="good"))
    got = await broker.fetch(10, timeout=1)
    assert [d.task.skill for d in got] == ["good"]
    [letter] = await broker.dead_letters()
    assert letter.error_type == "MalformedTaskError"
    assert "Expected `str`, got `int` - at `$.skill`" in letter.reason
    assert letter.body == b'{"skill": 12}'
    assert await broker.replay() == []  # a malformed message cannot be replayed
    assert await broker.dead_letter_count() == 1


async def test_retry_requeues_the_next_attempt_after_its_delay(broker: Broker) -> None:
    await broker.publish(SkillTask(skill="s"))
    [first] = await broker.fetch(1, timeout=1)
    await broker.retry(first, delay=0.2)
    assert await broker.fetch(1, timeout=0.05) == []
    [second] = await broker.fetch(1, timeout=2)
    assert second.task.id == first.task.id
    assert second.task.attempt == 2


async def test_defer_does_not_count_an_attempt(broker: Broker) -> None:
    await broker.publish(SkillTask(skill="s"))
    [first] = await broker.fetch(1, timeout=1)
    await broker.defer(first, delay=0)
    [again] = await broker.fetch(1, timeout=1)
    assert again.task.attempt == 1


async def test_unsettled_message_comes_back_after_the_visibility_timeout(broker: Broker) -> None:
    await broker.publish(SkillTask(skill="s"))
    [first] = await broker.fetch(1, timeout=1)
    assert not first.redelivered
    [again] = await broker.fetch(1, timeout=VISIBILITY_S * 10)
    assert again.task == first.task
    assert again.redelivered
    # The first consumer lost its lease: its late ack must not remove the message the
    # second consumer now holds.
    await broker.ack(first)
    await broker.release([again])
    assert len(await broker.fetch(1, timeout=1)) == 1


async def test_extend_keeps_the_lease(broker: Broker) -> None:
    await broker.publish(SkillTask(skill="s"))
    [first] = await broker.fetch(1, timeout=1)
    for _ in range(3):
        await broker.extend([first], VISIBILITY_S * 4)
        assert await broker.fetch(1, timeout=VISIBILITY_S / 2) == []
    await broker.ack(first)


async def test_release_hands_back_at_once(broker: Broker) -> None:
    await broker.publish(SkillTask(skill="s"))
    got = await broker.fetch(1, timeout=1)
    await broker.release(got)
    assert await broker.depth() == 1


async def test_dead_letter_list_show_replay_purge(broker: Broker) -> None:
    tasks = [SkillTask(skill="s", args=str(i), attempt=3, max_attempts=3) for i in range(3)]
    await broker.publish_many(tasks)
    got = await broker.fetch(3, timeout=1)
    for delivery in got:
        await broker.dead_letter(delivery, error=TaskError("RuntimeError", "boom"))
    letters = await broker.dead_letters()
    assert [d.task_id for d in letters] == [t.id for t in tasks]
    assert letters[0].reason == "boom"
    assert letters[0].attempts == 3
    shown = await broker.get_dead_letter(tasks[1].id)
    assert shown is not None
    assert shown.task().args == "1"
    replayed = await broker.replay([tasks[0].id])
    assert [d.task_id for d in replayed] == [tasks[0].id]
    [fresh] = await broker.fetch(1, timeout=1)
    assert (fresh.task.id, fresh.task.attempt) == (tasks[0].id, 1)
    assert await broker.purge_dead() == 2
    assert await broker.dead_letter_count() == 0


async def test_purge_drops_waiting_messages_only(broker: Broker) -> None:
    await broker.publish_many([SkillTask(skill="s") for _ in range(3)])
    [leased] = await broker.fetch(1, timeout=1)
    assert await broker.purge() == 2
    await broker.ack(leased)
    assert await broker.depth() == 0


async def test_message_that_keeps_killing_its_consumer_is_stopped(
    backend_urls: tuple[str, str],
) -> None:
    async with open_broker(backend_urls[0], visibility_timeout=0.05, max_deliveries=2) as b:
        await b.publish(SkillTask(skill="crasher"))
        assert len(await b.fetch(1, timeout=1)) == 1
        assert len(await b.fetch(1, timeout=2)) == 1  # delivered again, never settled
        assert await b.fetch(1, timeout=0.3) == []
        [letter] = await b.dead_letters()
        assert letter.error_type == "DeliveryLimitExceeded"


async def test_memory_join_waits_for_every_message() -> None:
    broker = MemoryBroker()
    await broker.publish_many([SkillTask(skill="s") for _ in range(3)])
    for delivery in await broker.fetch(3, timeout=1):
        await broker.ack(delivery)
    await broker.join(timeout=1)


def test_named_memory_brokers_are_shared() -> None:
    assert open_broker("memory://shared-q") is open_broker("memory://shared-q")
    assert open_broker("memory://") is not open_broker("memory://")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("kafka://x", "unknown scheme 'kafka'"),
        ("queue.db", "has no scheme"),
        ("sqlite://queue.db", "sqlite:///relative/file.db"),
    ],
)
def test_bad_urls_get_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_broker(url)


async def test_a_task_that_keeps_killing_its_worker_is_stopped_across_deferrals(
    backend_urls: tuple[str, str],
) -> None:
    # A crash is a delivery that is never settled (its lease runs out). The next
    # delivery finds the crashed worker's claim still held and defers: the count must
    # survive the deferral, or the task loops for ever.
    async with open_broker(backend_urls[0], visibility_timeout=0.1, max_deliveries=3) as b:
        task = SkillTask(skill="crasher")
        await b.publish(task)
        counts: list[int] = []
        for turn in range(12):
            got = await b.fetch(1, timeout=3)
            if not got:
                break
            [delivery] = got
            counts.append(delivery.delivery_count)
            if turn % 2 == 1:  # "the claim is busy": at once, then after a delay
                await b.defer(delivery, delay=0.05 * (turn // 2 % 2))
            # else: the worker running it dies; the lease runs out
        assert counts == [1, 2, 2, 3, 3]
        [letter] = await b.dead_letters()
        assert (letter.error_type, letter.task_id) == ("DeliveryLimitExceeded", task.id)


async def test_a_hand_back_keeps_the_count_and_a_retry_starts_again(
    backend_urls: tuple[str, str],
) -> None:
    async with open_broker(backend_urls[0], visibility_timeout=0.1) as b:
        await b.publish(SkillTask(skill="s"))
        [first] = await b.fetch(1, timeout=1)  # its worker dies
        [second] = await b.fetch(1, timeout=3)
        await b.release([second])  # graceful shutdown: not a failed delivery
        [third] = await b.fetch(1, timeout=3)
        await b.defer(third, delay=0)
        [fourth] = await b.fetch(1, timeout=3)
        assert [d.delivery_count for d in (first, second, third, fourth)] == [1, 2, 2, 2]
        await b.retry(fourth, delay=0)  # a failure the worker saw: attempts take over
        [fifth] = await b.fetch(1, timeout=3)
        assert (fifth.delivery_count, fifth.task.attempt) == (1, 2)
        await b.ack(fifth)


async def test_receive_reports_what_it_dead_lettered(backend_urls: tuple[str, str]) -> None:
    async with open_broker(backend_urls[0], visibility_timeout=0.1, max_deliveries=1) as b:
        crasher = SkillTask(skill="crasher")
        await b.publish(crasher)
        assert len(await b.fetch(1, timeout=1)) == 1  # never settled
        await b.publish_raw(b'{"id": "bad-1", "skill": "s", "priority": "high"}')
        await b.publish_raw(b"not json")
        dead: list[str | None] = []
        for _ in range(20):
            received = await b.receive(5, timeout=1)
            assert received.deliveries == []
            dead += [letter.task_id for letter in received.dead]
            if len(dead) == 3:
                break
        assert sorted(dead, key=str) == sorted([crasher.id, "bad-1", None], key=str)
        assert await b.dead_letter_count() == 3
