from __future__ import annotations

import msgspec
import pytest

from skilld.engine.task import (
    SCHEMA_VERSION,
    SkillTask,
    TaskError,
    TaskResult,
    TaskStatus,
    decode_result,
    decode_task,
    encode,
)
from skilld.exceptions import MalformedTaskError


def test_task_round_trips_through_json() -> None:
    task = SkillTask(skill="review", args="src/ --strict", mode="fork", priority=7, model="sim:0")
    decoded = decode_task(encode(task))
    assert decoded == task
    assert decoded.attempt == 1
    assert len(task.id) == 32


def test_defaults_are_not_written_on_the_wire() -> None:
    body = msgspec.json.decode(encode(SkillTask(skill="x", id="t1", created_at=1.0)))
    assert body == {"id": "t1", "skill": "x", "created_at": 1.0}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "not valid JSON"),
        (b"[1, 2]", "Expected `object`, got `array`"),
        (b'{"args": "x"}', "missing required field `skill`"),
        (b'{"skill": ""}', "at `$.skill`"),
        (b'{"skill": "a", "priority": "high"}', "Expected `int`, got `str` - at `$.priority`"),
        (b'{"skill": "a", "priority": 12}', "at `$.priority`"),
        (b'{"skill": "a", "mode": "remote"}', "at `$.mode`"),
        (b'{"skill": "a", "timeout_s": 0}', "at `$.timeout_s`"),
        (b'{"skill": "a", "id": "has space"}', "at `$.id`"),
    ],
)
def test_malformed_tasks_say_what_is_wrong(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedTaskError, match="task") as caught:
        decode_task(body)
    assert reason in str(caught.value)


def test_newer_schema_versions_are_refused() -> None:
    body = f'{{"v": {SCHEMA_VERSION + 1}, "skill": "a"}}'.encode()
    with pytest.raises(MalformedTaskError, match="newer than this skilld"):
        decode_task(body)


def test_next_attempt_counts_up_and_keeps_the_id() -> None:
    task = SkillTask(skill="a")
    again = task.next_attempt()
    assert (again.id, again.attempt) == (task.id, 2)


def test_result_round_trip_and_terminal_states() -> None:
    result = TaskResult(
        id="t",
        status=TaskStatus.FAILED,
        error=TaskError.from_exception(ValueError("bad")),
        output={"n": 1},
    )
    assert decode_result(encode(result)) == result
    assert result.error == TaskError("ValueError", "bad")
    assert {s for s in TaskStatus if s.terminal} == {
        TaskStatus.SUCCEEDED,
        TaskStatus.FAILED,
        TaskStatus.DEAD,
        TaskStatus.CANCELLED,
    }
