"""Bundled skills: registration, lazy and safe extraction of reference files."""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from skilld.exceptions import BundledSkillError
from skilld.skills import bundled
from skilld.skills.bundled import (
    bundled_skill_directory,
    bundled_skills,
    get_bundled_skill,
    prepare_bundled_skill,
    register_bundled_skill,
    unregister_bundled_skill,
)
from skilld.skills.model import LoadedFrom, Source

SKILL_MD = "---\ndescription: Helps.\nallowed-tools: Read\n---\nRead ${CLAUDE_SKILL_DIR}/ref.md\n"


@pytest.fixture(autouse=True)
def fresh_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Extract under this test's temporary folder, and forget registrations afterwards."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    bundled._ROOT.reset()
    before = {s.name for s in bundled_skills()}
    yield
    for skill in bundled_skills():
        if skill.name not in before:
            unregister_bundled_skill(skill.name)
    bundled._ROOT.reset()


def test_registered_skill_is_listed_with_source_bundled() -> None:
    skill = register_bundled_skill("helper", SKILL_MD)
    assert skill.source is Source.BUNDLED
    assert skill.loaded_from is LoadedFrom.BUNDLED
    assert skill.description == "Helps."
    assert skill.allowed_tools == ("Read",)
    assert skill.version.startswith("sha256:")
    assert "helper" in [s.name for s in bundled_skills()]
    assert unregister_bundled_skill("helper") is True
    assert unregister_bundled_skill("helper") is False


def test_version_depends_on_the_files_too() -> None:
    a = register_bundled_skill("v", SKILL_MD, files={"ref.md": "one"}).version
    b = register_bundled_skill("v", SKILL_MD, files={"ref.md": "two"}).version
    assert a != b


def test_files_are_extracted_lazily_private_and_once(tmp_path: Path) -> None:
    register_bundled_skill(
        "withfiles", SKILL_MD, files={"ref.md": "# Ref\n", "scripts/run.sh": b"echo hi\n"}
    )
    assert list(tmp_path.iterdir()) == []  # nothing written at registration
    folder = bundled_skill_directory("withfiles")
    assert folder is not None
    assert (folder / "ref.md").read_text() == "# Ref\n"
    assert (folder / "scripts" / "run.sh").read_bytes() == b"echo hi\n"
    root = folder.parent
    assert root.parent == tmp_path
    assert root.name.startswith("skilld-bundled-")
    assert len(root.name) > len("skilld-bundled-") + 4  # a random part
    for path in (root, folder, folder / "scripts"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    for path in (folder / "ref.md", folder / "scripts" / "run.sh"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert bundled_skill_directory("withfiles") == folder  # not written again


def test_prepare_sets_the_directory() -> None:
    skill = register_bundled_skill("prep", SKILL_MD, files={"ref.md": "x"})
    assert skill.directory is None
    ready = prepare_bundled_skill(skill)
    assert ready.directory is not None
    assert (ready.directory / "ref.md").read_text() == "x"
    assert ready.version == skill.version
    without_files = register_bundled_skill("nofiles", SKILL_MD)
    assert prepare_bundled_skill(without_files) is without_files


def test_concurrent_first_uses_share_one_extraction() -> None:
    register_bundled_skill("race", SKILL_MD, files={f"f{i}.txt": str(i) for i in range(20)})
    barrier = threading.Barrier(8)
    results: list[Path | None] = []
    lock = threading.Lock()

    def use() -> None:
        barrier.wait(timeout=10)
        folder = bundled_skill_directory("race")
        with lock:
            results.append(folder)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == 8
    assert len(set(results)) == 1
    assert results[0] is not None  # a second writer would have failed on O_EXCL
    entry = get_bundled_skill("race")
    assert entry is not None
    assert entry.extraction_error is None


@pytest.mark.parametrize(
    "bad", ["/etc/passwd", "../escape.md", "a/../../b", "C:\\x.md", "\\\\server\\share", ""]
)
def test_unsafe_paths_are_refused_at_registration(bad: str) -> None:
    with pytest.raises(BundledSkillError):
        register_bundled_skill("unsafe", SKILL_MD, files={bad: "x"})
    assert get_bundled_skill("unsafe") is None


@pytest.mark.parametrize("bad", ["", "a/b", "..", "x\\y"])
def test_unsafe_names_are_refused(bad: str) -> None:
    with pytest.raises(BundledSkillError):
        register_bundled_skill(bad, SKILL_MD)


def test_failed_extraction_degrades_and_says_so(tmp_path: Path) -> None:
    skill = register_bundled_skill("planted", SKILL_MD, files={"ref.md": "x"})
    # something planted in advance where the files would go is never written through
    root = Path(tempfile.mkdtemp(prefix="skilld-bundled-"))
    target = tmp_path / "victim.txt"
    target.write_text("untouched")
    (root / "planted").mkdir(mode=0o700)
    os.symlink(target, root / "planted" / "ref.md")
    bundled._ROOT._path = root
    bundled._ROOT._pid = os.getpid()
    ready = prepare_bundled_skill(skill)
    assert ready.directory is None
    assert ready.diagnostics[-1].level == "warning"
    assert "could not be extracted" in ready.diagnostics[-1].message
    assert target.read_text() == "untouched"
    assert prepare_bundled_skill(skill).directory is None  # not retried


def test_unwritable_temp_dir_degrades(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))
    bundled._ROOT.reset()
    skill = register_bundled_skill("nowhere", SKILL_MD, files={"ref.md": "x"})
    ready = prepare_bundled_skill(skill)
    assert ready.directory is None
    assert ready.body == skill.body  # the skill itself still works
