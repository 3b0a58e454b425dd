"""Every skill and command of the shared corpus of real skills loads; none is lost.

Each collection is loaded the way a user would point skilld at it (``--add-dir``, a
plugin folder, a ``.claude/commands`` folder), and the number loaded is compared with
the number of files on disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from skilld.skills.model import LoadedFrom, Source
from skilld.skills.registry import SkillRegistry, clear_caches
from tests.helpers import CORPUS

SKILLS = CORPUS / "skills"
COMMANDS = CORPUS / "commands"

ADD_DIR_COLLECTIONS = [
    "anthropics__skills",
    "openai__skills",
    "obra__superpowers",
    "wshobson__agents",
    "getsentry__skills",
    "K-Dense-AI__claude-scientific-skills",
]


@pytest.fixture(autouse=True)
def corpus_present() -> Iterator[None]:
    if not CORPUS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the shared corpus is missing: {CORPUS}")
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    clear_caches(activations=True)
    yield
    clear_caches(activations=True)


def skill_files(root: Path) -> list[Path]:
    """SKILL.md files on disk, any case spelling, without following symlinks."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", "node_modules")]
        found += [Path(folder) / f for f in files if f.upper() == "SKILL.MD"]
    return found


def registry(cwd: Path, **kwargs: object) -> SkillRegistry:
    return SkillRegistry(cwd, include_packages=False, include_bundled=False, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("collection", ADD_DIR_COLLECTIONS)
def test_every_skill_of_a_collection_loads_via_add_dir(tmp_path: Path, collection: str) -> None:
    root = SKILLS / collection
    on_disk = skill_files(root)
    assert on_disk, "the collection holds skills"
    reg = registry(tmp_path, add_dirs=[root])
    loaded = reg.all_skills()
    assert sorted(str(s.path) for s in loaded) == sorted(str(p) for p in on_disk)
    assert {s.source for s in loaded} == {Source.ADD_DIR}
    assert all(s.name and s.description for s in loaded)
    assert [d for d in reg.diagnostics if d.level != "info"] == []


def test_every_plugin_skill_loads_namespaced(tmp_path: Path) -> None:
    root = SKILLS / "anthropics__claude-plugins-official"
    reg = registry(tmp_path, plugin_dirs=[root / "plugins", root / "external_plugins"])
    loaded = reg.all_skills()
    from_skill_files = [s for s in loaded if s.path is not None and s.path.name == "SKILL.md"]
    assert len(from_skill_files) == len(skill_files(root))
    assert all(s.source is Source.PLUGIN and s.name.count(":") >= 1 for s in loaded)
    # the same skill name in three plugins: three skills, no collision
    assert {"discord:access", "imessage:access", "telegram:access"} <= {s.name for s in loaded}
    assert all(s.plugin_root is not None and s.plugin_root.is_dir() for s in loaded)
    assert [d for d in reg.diagnostics if d.level != "info"] == []


@pytest.mark.parametrize("collection", ["wshobson__commands", "wshobson__agents"])
def test_every_command_loads_from_a_commands_folder(tmp_path: Path, collection: str) -> None:
    root = COMMANDS / collection
    on_disk = sorted(root.rglob("*.md"))
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / ".claude").mkdir()
    (project / ".claude" / "commands").symlink_to(root)
    reg = registry(project)
    loaded = reg.all_skills()
    assert len(loaded) == len(on_disk)
    assert {s.loaded_from for s in loaded} == {LoadedFrom.COMMANDS}
    expected = {":".join(p.relative_to(root).with_suffix("").parts) for p in on_disk}
    assert {s.name for s in loaded} == expected
    assert [d for d in reg.diagnostics if d.level != "info"] == []


def test_getsentry_agents_symlink_does_not_double_load(tmp_path: Path) -> None:
    """getsentry keeps ``.agents/skills -> ../skills``; both paths reach the same files."""
    skills = SKILLS / "getsentry__skills" / "skills"
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    for folder in (".claude", ".agents"):
        (project / folder).mkdir()
        (project / folder / "skills").symlink_to(skills)
    reg = registry(project)
    count = len(skill_files(skills))
    assert len(reg.all_skills()) == count
    assert len([d for d in reg.diagnostics if "loaded once" in d.message]) == count


def test_the_whole_corpus_as_one_root_loses_nothing(tmp_path: Path) -> None:
    reg = registry(tmp_path, add_dirs=[SKILLS])
    loaded = reg.all_skills()
    assert len(loaded) == len(skill_files(SKILLS))
    assert len({s.name for s in loaded}) == len(loaded)  # clashes kept, qualified
    assert [d for d in reg.diagnostics if d.level != "info"] == []
