"""Remote skills over a local HTTP server (127.0.0.1) and a local bare git repository."""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from skilld.agent.loop import Agent
from skilld.agent.models import ScriptedModel, TextBlock, ToolResultBlock, tool_call
from skilld.exceptions import RemoteSkillError
from skilld.skills.model import LoadedFrom, Source, content_hash
from skilld.skills.registry import SkillRegistry
from skilld.skills.remote import RemoteSkills, RemoteSkillSpec, fetch_remote_skill, normalise_pin
from skilld.tool import SkillTool

SKILL_MD = b"---\ndescription: Lint the code\nallowed-tools: Bash(ruff *)\n---\nRun the linter.\n"


class Server:
    """Serves ``routes`` (path → (body, content type)) and counts requests."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(self.path)
                body, kind = server.routes.get(self.path, (b"", ""))
                self.send_response(200 if kind else 404)
                self.send_header("Content-Type", kind or "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path: str, body: bytes, kind: str = "application/octet-stream") -> str:
        self.routes[path] = (body, kind)
        return self.url + path


@pytest.fixture
def server() -> Iterator[Server]:
    served = Server()
    thread = threading.Thread(target=served.httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield served
    finally:
        served.httpd.shutdown()
        served.httpd.server_close()
        thread.join(5)


def tar_gz(files: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def pin_of(files: dict[str, bytes], tmp_path: Path) -> str:
    """The content hash of a folder holding ``files`` (what a publisher pins)."""
    folder = tmp_path / "pin-source"
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return content_hash(folder)


FILES = {"SKILL.md": SKILL_MD, "scripts/lint.sh": b"#!/bin/sh\nruff check .\n"}


def test_a_pinned_tar_gz_is_fetched_verified_and_cached(server: Server, tmp_path: Path) -> None:
    archived = {f"lint/{name}": data for name, data in FILES.items()}
    url = server.add("/lint.tar.gz", tar_gz(archived))
    pin = pin_of(FILES, tmp_path)
    cache = tmp_path / "cache"
    spec = RemoteSkillSpec("lint", url, sha256=pin)
    skill = fetch_remote_skill(spec, cache_dir=cache)
    assert (skill.name, skill.source, skill.loaded_from) == (
        "lint",
        Source.REMOTE,
        LoadedFrom.REMOTE,
    )
    assert skill.description == "Lint the code"
    assert skill.version == pin
    assert skill.directory == cache / pin.removeprefix("sha256:")
    assert (skill.directory / "scripts" / "lint.sh").is_file()
    assert skill.metadata["remote_url"] == url
    # pinned and cached: no second download
    again = fetch_remote_skill(spec, cache_dir=cache)
    assert again.version == pin
    assert server.hits == ["/lint.tar.gz"]


def test_a_hash_mismatch_is_refused_and_nothing_is_cached(server: Server, tmp_path: Path) -> None:
    url = server.add("/lint.zip", zipped(FILES))
    wrong = "sha256:" + "0" * 64
    cache = tmp_path / "cache"
    with pytest.raises(RemoteSkillError, match="does not match the pin sha256:0000") as caught:
        fetch_remote_skill(RemoteSkillSpec("lint", url, sha256=wrong), cache_dir=cache)
    assert url in str(caught.value)
    assert list(cache.iterdir()) == []


def test_zip_and_plain_skill_md_and_registry_entries(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    from_zip = fetch_remote_skill(
        RemoteSkillSpec("lint", server.add("/x.zip", zipped(FILES))), cache_dir=cache
    )
    assert from_zip.version == pin_of(FILES, tmp_path)
    plain = fetch_remote_skill(
        RemoteSkillSpec("one", server.add("/one/SKILL.md", SKILL_MD, "text/markdown")),
        cache_dir=cache,
    )
    assert plain.body.strip() == "Run the linter."
    archive_url = server.add("/pkg.tgz", tar_gz(FILES))
    entry = {"url": archive_url, "sha256": pin_of(FILES, tmp_path)}
    registry_url = server.add("/registry/lint", json.dumps(entry).encode(), "application/json")
    from_registry = fetch_remote_skill(RemoteSkillSpec("lint", registry_url), cache_dir=cache)
    assert from_registry.version == entry["sha256"]
    bad_entry = {"url": archive_url, "sha256": "sha256:" + "1" * 64}
    lying = server.add("/registry/liar", json.dumps(bad_entry).encode(), "application/json")
    with pytest.raises(RemoteSkillError, match="does not match the pin sha256:1111"):
        fetch_remote_skill(RemoteSkillSpec("liar", lying), cache_dir=cache)


@pytest.mark.parametrize(
    ("files", "links", "why"),
    [
        ({"/etc/evil": b"x", "SKILL.md": SKILL_MD}, None, "'/etc/evil' has an absolute path"),
        ({"../evil": b"x", "SKILL.md": SKILL_MD}, None, "'../evil' has an absolute path or '..'"),
        ({"a/../../evil": b"x"}, None, "'a/../../evil' has an absolute path or '..'"),
        ({"SKILL.md": SKILL_MD}, {"link": "../../outside"}, "'link' links outside the archive"),
        ({"SKILL.md": SKILL_MD}, {"abs": "/etc/passwd"}, "'abs' links outside the archive"),
    ],
)
def test_unsafe_tar_members_are_refused_before_anything_is_written(
    server: Server,
    tmp_path: Path,
    files: dict[str, bytes],
    links: dict[str, str] | None,
    why: str,
) -> None:
    url = server.add("/evil.tar.gz", tar_gz(files, links=links))
    cache = tmp_path / "cache"
    with pytest.raises(RemoteSkillError, match=re.escape(why)):
        fetch_remote_skill(RemoteSkillSpec("evil", url), cache_dir=cache)
    assert not (tmp_path / "evil").exists()
    assert list(cache.iterdir()) == []


def test_unsafe_zip_members_are_refused(server: Server, tmp_path: Path) -> None:
    url = server.add("/evil.zip", zipped({"SKILL.md": SKILL_MD, "../../evil": b"x"}))
    why = re.escape("'../../evil' has an absolute path or '..'")
    with pytest.raises(RemoteSkillError, match=why):
        fetch_remote_skill(RemoteSkillSpec("evil", url), cache_dir=tmp_path / "cache")


def test_errors_name_the_url(server: Server, tmp_path: Path) -> None:
    with pytest.raises(RemoteSkillError, match="404"):
        fetch_remote_skill(RemoteSkillSpec("x", server.url + "/missing"), cache_dir=tmp_path)
    no_skill = server.add("/empty.zip", zipped({"README.md": b"hi"}))
    with pytest.raises(RemoteSkillError, match=r"no SKILL\.md found"):
        fetch_remote_skill(RemoteSkillSpec("x", no_skill), cache_dir=tmp_path)
    with pytest.raises(RemoteSkillError, match="unsupported URL scheme 'ftp'"):
        fetch_remote_skill(RemoteSkillSpec("x", "ftp://127.0.0.1/x"), cache_dir=tmp_path)
    with pytest.raises(RemoteSkillError, match="not a sha256 pin"):
        normalise_pin("md5:abc")


def test_a_git_repository_at_a_tag_and_path(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "skills" / "lint" / "scripts").mkdir(parents=True)
    for name, data in FILES.items():
        (work / "skills" / "lint" / name).write_bytes(data)

    def git(*args: str, cwd: Path = work) -> None:
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "skill")
    git("tag", "v1")
    bare = tmp_path / "skills.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    pin = pin_of(FILES, tmp_path)
    spec = RemoteSkillSpec("lint", f"git+file://{bare}#ref=v1&path=skills/lint", sha256=pin)
    skill = fetch_remote_skill(spec, cache_dir=tmp_path / "cache")
    assert skill.version == pin
    assert not (skill.directory / ".git").exists()
    with pytest.raises(RemoteSkillError, match="git clone failed"):
        fetch_remote_skill(
            RemoteSkillSpec("lint", f"git+file://{bare}#ref=v9"), cache_dir=tmp_path / "c2"
        )


async def test_the_skill_tool_runs_a_pinned_remote_skill_without_asking(
    server: Server, tmp_path: Path
) -> None:
    pin = pin_of(FILES, tmp_path)
    url = server.add("/lint.tar.gz", tar_gz(FILES))
    other = server.add("/loose.tar.gz", tar_gz({**FILES, "extra.txt": b"changed"}))
    remote = RemoteSkills(
        [RemoteSkillSpec("lint", url, sha256=pin), RemoteSkillSpec("loose", other)],
        cache_dir=tmp_path / "cache",
    )
    project = tmp_path / "project"
    project.mkdir()
    registry = SkillRegistry(project, include_packages=False, include_bundled=False)
    tool = SkillTool(registry, remote=remote)
    assert "- lint: (remote skill)" in tool.spec().description
    model = ScriptedModel(
        [tool_call("Skill", {"skill": "lint"}), tool_call("Skill", {"skill": "loose"}), "ok"]
    )
    agent = Agent(model, skill_tool=tool, cwd=project)
    [e async for e in agent.run("lint it")]
    result, content = model.requests[1].messages[-1].blocks
    assert isinstance(result, ToolResultBlock)
    assert result.content == "Launching skill: lint"
    assert isinstance(content, TextBlock)
    assert "Run the linter." in content.text
    # content that matches no pin declares allowed-tools: it needs permission
    (unpinned,) = model.requests[2].messages[-1].blocks
    assert isinstance(unpinned, ToolResultBlock)
    assert unpinned.is_error
    assert "needs permission" in unpinned.content
    assert server.hits == ["/lint.tar.gz", "/loose.tar.gz"]


async def test_the_skill_tool_reports_a_remote_failure_to_the_model(
    server: Server, tmp_path: Path
) -> None:
    url = server.add("/lint.zip", zipped(FILES))
    remote = RemoteSkills(
        [RemoteSkillSpec("lint", url, sha256="sha256:" + "a" * 64)], cache_dir=tmp_path / "c"
    )
    registry = SkillRegistry(tmp_path, include_packages=False, include_bundled=False)
    model = ScriptedModel([tool_call("Skill", {"skill": "lint"}), "ok"])
    [e async for e in Agent(model, skill_tool=SkillTool(registry, remote=remote)).run("go")]
    (result,) = model.requests[1].messages[-1].blocks
    assert isinstance(result, ToolResultBlock)
    assert result.is_error
    assert "Remote skill lint could not be loaded" in result.content
    assert "does not match the pin" in result.content


def test_a_registry_cannot_point_at_local_files(server: Server, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    entry = {"url": secret.as_uri()}
    url = server.add("/registry/sneaky", json.dumps(entry).encode(), "application/json")
    with pytest.raises(RemoteSkillError, match="must be an http"):
        fetch_remote_skill(RemoteSkillSpec("sneaky", url), cache_dir=tmp_path / "cache")
