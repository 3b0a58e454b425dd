"""``skilld serve``, ``submit`` and ``result`` as a user runs them: real processes, real
sockets, the embedded SQLite default on a temporary data directory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from skilld.cli import app
from tests.helpers import write_skill

runner = CliRunner()


class Served:
    """A running ``skilld serve`` subprocess and where it listens."""

    def __init__(self, process: subprocess.Popen[str], banner: list[str], cwd: Path) -> None:
        self.process = process
        self.cwd = cwd
        self.banner = banner
        self.url = banner[0].rsplit(" ", 1)[-1]

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, str]:
        """Signal the server; its exit code and the rest of its output."""
        self.process.send_signal(signum)
        rest, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, rest


def start_serve(
    *args: str, cwd: Path, env: dict[str, str] | None = None, private: Path | None = None
) -> Served:
    """Start ``skilld serve --port 0 ARGS`` in ``cwd`` and wait for its banner (four
    lines). Its home and managed directories are empty folders under ``private`` (default
    ``cwd``)."""
    private = private or cwd
    home, managed = private / "home", private / "managed"
    home.mkdir(exist_ok=True)
    managed.mkdir(exist_ok=True)
    isolated = {"HOME": str(home), "SKILLD_HOME": str(home), "SKILLD_MANAGED_DIR": str(managed)}
    process = subprocess.Popen(
        [sys.executable, "-m", "skilld", "serve", "--port", "0", *args],
        cwd=cwd,
        env={**os.environ, **isolated, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    banner = [process.stdout.readline() for _ in range(4)]
    if not banner[0].startswith("skilld serve: listening on http://"):
        process.kill()
        rest = process.communicate(timeout=10)[0]
        raise AssertionError("serve did not start:\n" + "".join(banner) + rest)
    return Served(process, [line.rstrip("\n") for line in banner], cwd)


def make_project(root: Path) -> Path:
    """A working directory with one skill in ./skills."""
    write_skill(root / "skills", "greet", "description: Greets.", "Hello, $ARGUMENTS!\n")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


@contextlib.contextmanager
def serving(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Iterator[Served]:
    server = start_serve(*args, cwd=cwd, env=env)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.communicate(timeout=10)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the tests that only submit and read (starting one takes seconds)."""
    project = make_project(tmp_path_factory.mktemp("served"))
    with serving("--skills-dir", "skills", "--concurrency", "4", cwd=project) as server:
        yield server


@pytest.fixture
def served(project: Path) -> Iterator[Served]:
    """A server of this test's own (for tests that stop it)."""
    with serving("--skills-dir", "skills", "--concurrency", "4", cwd=project) as server:
        yield server


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_serve_listens_on_loopback_with_the_embedded_default(shared: Served) -> None:
    assert shared.url.startswith("http://127.0.0.1:")
    assert shared.banner[1].strip() == "broker sqlite:///.skilld/queue.db"
    assert shared.banner[2].strip() == "store  sqlite:///.skilld/results.db"
    assert "1 skill(s), 4 task(s) at once" in shared.banner[3]
    assert httpx.get(f"{shared.url}/readyz").json()["status"] == "ready"
    assert (shared.cwd / ".skilld" / "queue.db").exists()


def test_submit_wait_and_result(shared: Served) -> None:
    code, out, _ = cli("submit", "greet", "Ada", "Lovelace", "--wait", "--url", shared.url)
    assert code == 0
    assert out.endswith("Hello, Ada Lovelace!\n\n")

    code, task_id, _ = cli("submit", "greet", "Bo", "--url", shared.url)
    assert code == 0
    code, out, _ = cli("result", task_id.strip(), "--wait", "--json", "--url", shared.url)
    result = json.loads(out)
    assert (code, result["status"], result["id"]) == (0, "succeeded", task_id.strip())
    assert result["output"].endswith("Hello, Bo!\n")


def test_result_of_an_unknown_task(shared: Served) -> None:
    code, _, err = cli("result", "nope", "--url", shared.url)

    assert code == 2
    assert "No task with id 'nope'" in err


def test_submit_an_unknown_skill_names_the_close_ones(shared: Served) -> None:
    code, _, err = cli("submit", "gret", "--url", shared.url)

    assert code == 2
    assert "Unknown skill: gret. Did you mean greet?" in err


def test_submit_from_file_submits_the_good_lines_and_names_the_bad(
    shared: Served, tmp_path: Path
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        "\n".join(
            [
                json.dumps({"skill": "greet", "args": "one"}),
                "{not json",
                json.dumps({"skill": "greet", "args": ["two", "words here"]}),
                json.dumps({"args": "no skill"}),
                json.dumps({"skill": "greet", "priority": 99}),
                "",
                json.dumps({"skill": "greet", "args": "three"}),
            ]
        )
    )

    code, out, err = cli(
        "submit", "--from-file", str(tasks), "--wait", "--json", "--url", shared.url
    )

    results = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert sorted(r["output"].rsplit("\n", 2)[-2] for r in results) == [
        "Hello, one!",
        "Hello, three!",
        "Hello, two 'words here'!",
    ]
    assert f"{tasks}:2: not JSON" in err
    assert f'{tasks}:4: expected an object with a "skill" name' in err
    assert f"{tasks}:5: HTTP 422" in err
    assert "priority" in err


def test_sigterm_stops_gracefully(served: Served) -> None:
    code, _, _ = cli("submit", "greet", "x", "--wait", "--url", served.url)
    assert code == 0

    exit_code, rest = served.stop(signal.SIGTERM)

    assert exit_code == 0
    assert "skilld serve: stopped" in rest
    assert "'succeeded': 1" in rest


def test_concurrency_zero_serves_the_gateway_alone(project: Path) -> None:
    server = start_serve("--skills-dir", "skills", "--concurrency", "0", cwd=project)
    try:
        assert "no worker (gateway only)" in server.banner[3]
        task = httpx.post(f"{server.url}/v1/tasks", json={"skill": "greet"}).json()
        after = httpx.get(f"{server.url}/v1/tasks/{task['id']}", params={"wait": 0.2}).json()
        assert after["status"] == "queued"
        assert httpx.get(f"{server.url}/readyz").json()["queue_depth"] == 1
    finally:
        assert server.stop()[0] == 0


def test_backend_urls_from_the_environment(project: Path, tmp_path: Path) -> None:
    broker_url = f"sqlite:///{tmp_path / 'elsewhere' / 'q.db'}"
    store_url = f"sqlite:///{tmp_path / 'elsewhere' / 'r.db'}"
    server = start_serve(
        "--skills-dir",
        "skills",
        cwd=project,
        env={"SKILLD_BROKER_URL": broker_url, "SKILLD_STORE_URL": store_url},
    )
    try:
        assert server.banner[1].strip() == f"broker {broker_url}"
        assert server.banner[2].strip() == f"store  {store_url}"
        code, out, _ = cli("submit", "greet", "env", "--wait", "--url", server.url)
        assert code == 0
        assert out.endswith("Hello, env!\n\n")
    finally:
        server.stop()
    assert (tmp_path / "elsewhere" / "q.db").exists()
    assert not (project / ".skilld").exists()


def test_tokens_are_enforced(project: Path) -> None:
    server = start_serve("--skills-dir", "skills", "--token", "t0ken", cwd=project)
    try:
        assert "no authentication" not in server.banner[3]
        assert httpx.get(f"{server.url}/v1/skills").status_code == 401
        code, _, err = cli("submit", "greet", "--url", server.url)
        assert code == 2
        assert "HTTP 401" in err
        code, _, _ = cli("submit", "greet", "--url", server.url, "--token", "t0ken")
        assert code == 0
    finally:
        server.stop()


def test_serve_refuses_an_open_address_without_a_token() -> None:
    code, _, err = cli("serve", "--host", "0.0.0.0", "--port", "0")

    assert code == 2
    assert "refusing to listen on '0.0.0.0' without authentication" in err


def test_serve_reports_a_port_in_use(shared: Served) -> None:
    port = shared.url.rsplit(":", 1)[-1]

    code, _, err = cli("serve", "--port", port)

    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_unreachable_gateway_is_a_clear_error() -> None:
    code, _, err = cli("submit", "greet", "--url", "http://127.0.0.1:9")

    assert code == 2
    assert "cannot reach the gateway at http://127.0.0.1:9" in err


def test_serves_the_examples_from_the_repository(tmp_path: Path) -> None:
    """What the README's ``make serve`` does: every example skill is listed and runs."""
    from skilld.skills.registry import SkillRegistry
    from tests.helpers import EXAMPLES, REPO

    expected = {s.name for s in SkillRegistry(REPO, add_dirs=[EXAMPLES]).skills()}
    # Run from the repository, as `make serve` does: commit-message reads its git history.
    server = start_serve(
        "--skills-dir",
        str(EXAMPLES),
        "--model",
        "sim:0",
        "--data-dir",
        str(tmp_path / "data"),
        cwd=REPO,
        private=tmp_path,
    )
    try:
        listed = httpx.get(f"{server.url}/v1/skills").json()["skills"]
        assert {s["name"] for s in listed} == expected
        assert expected, "no example skills"
        for skill in listed:
            response = httpx.post(
                f"{server.url}/v1/tasks",
                params={"wait": 30},
                json={"skill": skill["name"], "args": "v0.1.0 staging"},
                timeout=40,
            )
            assert response.json()["status"] == "succeeded", (skill["name"], response.json())
    finally:
        assert server.stop()[0] == 0


def test_serve_reports_a_data_dir_it_cannot_use(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    code, _, err = cli("serve", "--port", "0", "--data-dir", str(blocker))

    assert code == 2
    assert "cannot open the engine's files" in err
    assert str(blocker) in err


def test_sigterm_lets_a_running_task_finish(project: Path) -> None:
    write_skill(project / "skills", "slow", "description: Thinks.\ncontext: fork", "Think.\n")
    server = start_serve(
        "--skills-dir", "skills", "--model", "sim:1.5s", "--grace", "20", cwd=project
    )
    try:
        task = httpx.post(f"{server.url}/v1/tasks", json={"skill": "slow"}).json()
        with httpx.stream("GET", f"{server.url}/v1/tasks/{task['id']}/events") as events:
            for line in events.iter_lines():
                if line == "event: started":
                    break
        code, rest = server.stop(signal.SIGTERM)
    finally:
        if server.process.poll() is None:
            server.process.kill()

    assert code == 0
    assert "'succeeded': 1" in rest
    results = server.cwd / ".skilld" / "results.db"

    async def stored() -> str:
        from skilld.engine.stores import open_store

        async with open_store(f"sqlite:///{results}") as store:
            result = await store.get(task["id"])
            return "missing" if result is None else result.status.value

    assert asyncio.run(stored()) == "succeeded"
