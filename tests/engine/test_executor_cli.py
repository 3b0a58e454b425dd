"""``skilld worker --cwd PROJECT`` runs fork tasks in the project: their tools work there
and the project's permission settings apply, wherever the process was started."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from skilld.agent import models
from skilld.agent.models.testing import ScriptedModel, tool_call
from skilld.cli import app
from skilld.engine.brokers import open_broker
from skilld.engine.operations import submit_many
from skilld.engine.stores import open_store
from skilld.engine.task import SkillTask, TaskEvent, TaskResult
from tests.helpers import write_skill


def test_worker_runs_fork_tools_in_its_cwd_under_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    write_skill(
        project / ".claude" / "skills", "where", "description: Says where\ncontext: fork", "Go.\n"
    )
    (project / ".claude" / "settings.json").write_text(
        '{"permissions": {"allow": ["Bash(pwd)"]}}', encoding="utf-8"
    )
    elsewhere = tmp_path / "elsewhere"
    for folder in (elsewhere, tmp_path / "home", tmp_path / "managed"):
        folder.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SKILLD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SKILLD_MANAGED_DIR", str(tmp_path / "managed"))

    def scripted(rest: str, **options: Any) -> ScriptedModel:
        return ScriptedModel([tool_call("Bash", {"command": "pwd"}), "done"])

    monkeypatch.setitem(models._SCHEMES, "cwdtest", scripted)
    data = tmp_path / "data"
    broker_url, store_url = f"sqlite:///{data / 'queue.db'}", f"sqlite:///{data / 'results.db'}"
    task = SkillTask(skill="where", mode="fork", model="cwdtest:x")

    async def enqueue() -> None:
        async with open_broker(broker_url) as b, open_store(store_url) as s:
            await submit_many(b, s, [task])

    asyncio.run(enqueue())
    result = CliRunner().invoke(
        app,
        ["worker", "--burst", "--broker", broker_url, "--store", store_url, "--cwd", str(project)],
    )
    assert result.exit_code == 0, result.output

    async def read() -> tuple[TaskResult | None, list[TaskEvent]]:
        async with open_store(store_url) as s:
            return await s.get(task.id), await s.events(task.id)

    done, events = asyncio.run(read())
    assert done is not None
    assert done.output == "done", done
    [ended] = [e.data for e in events if e.type == "progress"]
    assert (ended["denied"], ended["is_error"]) == (False, False)  # the project's allow rule
    assert ended["result"].strip() == str(project.resolve())
