from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skilld.engine.cache import SkillCache
from skilld.engine.executor import FunctionExecutor, Outcome, SkillExecutor
from skilld.engine.task import SkillTask, TaskUsage
from skilld.exceptions import ConfigurationError, SkillNotFoundError, SkillVersionMismatchError
from tests.helpers import write_skill


async def no_events(type: str, data: dict[str, Any] | None = None) -> None:
    raise AssertionError("no events expected")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_skill(
        tmp_path / ".claude" / "skills",
        "greet",
        "name: greet\ndescription: Greets someone",
        "Hello $ARGUMENTS!\n",
    )
    return tmp_path


async def test_inline_task_returns_the_expanded_prompt(project: Path) -> None:
    executor = SkillExecutor(cwd=project)
    outcome = await executor.execute(SkillTask(skill="greet", args="world"), events=no_events)
    assert outcome.output.endswith("Hello world!\n")
    assert outcome.skill_version == executor.registry.get("greet").version  # type: ignore[union-attr]


async def test_fork_task_sends_the_prompt_to_the_model(project: Path) -> None:
    executor = SkillExecutor(cwd=project, default_model="sim:0")
    task = SkillTask(skill="greet", args="model", mode="fork")
    outcome = await executor.execute(task, events=no_events)
    # sim answers with the user message it received: the expanded prompt
    assert outcome.output.endswith("Hello model!\n")
    assert outcome.usage.input_tokens > 0
    assert outcome.usage.output_tokens > 0


async def test_task_model_wins_over_the_default(project: Path) -> None:
    executor = SkillExecutor(cwd=project, default_model="no-such-scheme:x")
    task = SkillTask(skill="greet", mode="fork", model="test:echo")
    outcome = await executor.execute(task, events=no_events)
    assert "Hello" in outcome.output


async def test_fork_without_any_model_says_how_to_set_one(project: Path) -> None:
    executor = SkillExecutor(cwd=project)
    with pytest.raises(ConfigurationError, match="SKILLD_DEFAULT_MODEL"):
        await executor.execute(SkillTask(skill="greet", mode="fork"), events=no_events)


async def test_pinned_version_must_match(project: Path) -> None:
    executor = SkillExecutor(cwd=project)
    task = SkillTask(skill="greet", skill_version="sha256:old")
    with pytest.raises(SkillVersionMismatchError, match="pins version sha256:old"):
        await executor.execute(task, events=no_events)


async def test_unknown_skill(project: Path) -> None:
    with pytest.raises(SkillNotFoundError, match="Unknown skill: nope"):
        await SkillExecutor(cwd=project).execute(SkillTask(skill="nope"), events=no_events)


async def test_fork_runner_seam_replaces_the_subagent(project: Path) -> None:
    seen: list[str] = []

    async def runner(
        skill: Any, task: SkillTask, prompt: str, *, model: Any, events: Any
    ) -> Outcome:
        seen.append(prompt)
        return Outcome(output="from the agent loop", usage=TaskUsage(input_tokens=1))

    executor = SkillExecutor(cwd=project, default_model="sim:0", fork_runner=runner)
    outcome = await executor.execute(SkillTask(skill="greet", mode="fork"), events=no_events)
    assert outcome.output == "from the agent loop"
    assert outcome.skill_version is not None
    assert seen[0].endswith("Hello !\n")


async def test_function_executor_accepts_sync_async_and_outcomes() -> None:
    async def with_events(task: SkillTask, events: Any) -> Outcome:
        return Outcome(output=task.args, usage=TaskUsage(output_tokens=3))

    task = SkillTask(skill="s", args="x")
    assert (
        await FunctionExecutor(lambda t: t.args * 2).execute(task, events=no_events)
    ).output == "xx"
    outcome = await FunctionExecutor(with_events).execute(task, events=no_events)
    assert outcome.usage.output_tokens == 3


async def test_cancel_stops_a_fork_task_inside_its_model_call(project: Path) -> None:
    import asyncio

    from skilld.engine.brokers import open_broker
    from skilld.engine.operations import cancel, submit
    from skilld.engine.stores import open_store
    from skilld.engine.task import TaskStatus
    from skilld.engine.worker import Worker

    executor = SkillExecutor(cwd=project, default_model="sim:60s")
    task = SkillTask(skill="greet", mode="fork")
    broker, store = open_broker("memory://"), open_store("memory://")
    async with broker, store, Worker(broker, store, executor, heartbeat_s=0):
        await submit(broker, store, task)
        async with asyncio.timeout(5):
            async for event in store.watch_events(task.id):
                if event.type == "started":
                    break
        await cancel(store, task.id)
        result = await store.wait(task.id, 5)  # not the model's 60 s
    assert result is not None
    assert result.status is TaskStatus.CANCELLED


# -- pinned versions from the skill cache ---------------------------------------------


async def published(project: Path) -> tuple[SkillCache, str]:
    """A cache with the project's greet published, as a gateway does on submission."""
    from skilld.skills.registry import SkillRegistry

    cache = SkillCache()
    skill = SkillRegistry(project, include_packages=False).get("greet")
    assert skill is not None
    version = await cache.publish(skill)
    assert version is not None
    return cache, version


async def test_a_worker_without_the_skill_runs_the_published_version(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cache, version = await published(project)
    empty = tmp_path_factory.mktemp("empty")
    executor = SkillExecutor(cwd=empty, skill_cache=cache)
    task = SkillTask(skill="greet", args="there", skill_version=version)
    outcome = await executor.execute(task, events=no_events)
    assert outcome.output.endswith("Hello there!\n")
    assert outcome.skill_version == version
    # Only what was pinned comes from the cache: a task without a version still needs
    # the skill here.
    with pytest.raises(SkillNotFoundError):
        await executor.execute(SkillTask(skill="greet"), events=no_events)


async def test_a_skill_edited_after_submission_runs_the_submitted_version(project: Path) -> None:
    cache, version = await published(project)
    path = project / ".claude" / "skills" / "greet" / "SKILL.md"
    path.write_text(path.read_text().replace("Hello", "Goodbye"), encoding="utf-8")
    executor = SkillExecutor(cwd=project, skill_cache=cache)  # loads the edited copy

    pinned = await executor.execute(
        SkillTask(skill="greet", args="you", skill_version=version), events=no_events
    )
    current = await executor.execute(SkillTask(skill="greet", args="you"), events=no_events)

    assert pinned.output.endswith("Hello you!\n")
    assert current.output.endswith("Goodbye you!\n")
    assert current.skill_version != version


async def test_the_registrys_own_version_never_asks_the_cache(project: Path) -> None:
    cache, version = await published(project)
    executor = SkillExecutor(cwd=project, skill_cache=cache)
    for _ in range(3):
        await executor.execute(SkillTask(skill="greet", skill_version=version), events=no_events)
    assert cache.stats.to_dict() == SkillCache().stats.to_dict()  # all zero

    path = project / ".claude" / "skills" / "greet" / "SKILL.md"
    path.write_text("changed\n", encoding="utf-8")
    executor = SkillExecutor(cwd=project, skill_cache=cache)
    for _ in range(3):
        await executor.execute(SkillTask(skill="greet", skill_version=version), events=no_events)
    assert (cache.stats.l1_hits, cache.stats.misses) == (3, 0)


async def test_a_version_nobody_published_keeps_the_clear_error(project: Path) -> None:
    cache = SkillCache()
    executor = SkillExecutor(cwd=project, skill_cache=cache)
    task = SkillTask(skill="greet", skill_version="sha256:old")
    with pytest.raises(SkillVersionMismatchError, match="pins version sha256:old"):
        await executor.execute(task, events=no_events)
    with pytest.raises(SkillNotFoundError, match="Unknown skill: nope"):
        await executor.execute(
            SkillTask(skill="nope", skill_version="sha256:old"), events=no_events
        )
    assert cache.stats.misses == 2


def test_fork_agents_work_in_the_registrys_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from skilld.skills.registry import SkillRegistry

    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    executor = SkillExecutor(SkillRegistry(project, include_packages=False))
    assert executor.subagents.cwd == project.resolve()


async def test_a_fork_task_runs_the_published_version_too(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cache, version = await published(project)
    empty = tmp_path_factory.mktemp("empty")
    executor = SkillExecutor(cwd=empty, skill_cache=cache, default_model="sim:0")
    task = SkillTask(skill="greet", args="fork", mode="fork", skill_version=version)
    outcome = await executor.execute(task, events=no_events)
    assert outcome.output.endswith("Hello fork!\n")  # sim answers with the expanded prompt
    assert outcome.skill_version == version
