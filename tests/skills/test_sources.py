"""Each source on its own: where it looks, how it names, what it skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skilld.settings import Settings
from skilld.skills.model import LoadedFrom, Source
from skilld.skills.sources.add_dir import add_dir_skills, qualifier_for
from skilld.skills.sources.commands import load_commands
from skilld.skills.sources.managed import managed_skills
from skilld.skills.sources.plugins import plugin_skills
from skilld.skills.sources.project import project_dirs, project_skills
from skilld.skills.sources.scan import ScanLimits, scan_skills_folder, scan_tree
from skilld.skills.sources.user import user_skills
from tests.helpers import write_skill


def names(batch_or_found: object) -> list[str]:
    loaded = getattr(batch_or_found, "loaded", None)
    if loaded is not None:
        return [item.skill.name for item in loaded]
    return [Path(f.file).parent.name for f in batch_or_found]  # type: ignore[attr-defined]


# -- skills folders -------------------------------------------------------------------


def test_skills_folder_lists_direct_subfolders_by_name(tmp_path: Path) -> None:
    write_skill(tmp_path, "zeta")
    write_skill(tmp_path, "alpha")
    write_skill(tmp_path / "alpha", "nested")  # not a direct child: Claude Code skips it
    (tmp_path / "notes").mkdir()  # no SKILL.md
    (tmp_path / "loose.md").write_text("not a skill folder")
    diagnostics: list = []
    found = scan_skills_folder(tmp_path, diagnostics)
    assert names(found) == ["alpha", "zeta"]
    assert diagnostics == []


def test_skill_file_in_capitals_loads_with_an_info(tmp_path: Path) -> None:
    folder = tmp_path / "shout"
    folder.mkdir()
    (folder / "SKILL.MD").write_text("---\ndescription: loud\n---\nBody\n")
    diagnostics: list = []
    found = scan_skills_folder(tmp_path, diagnostics)
    assert names(found) == ["shout"]
    assert [d.level for d in diagnostics] == ["info"]
    assert "SKILL.MD" in diagnostics[0].message
    assert diagnostics[0].path == folder / "SKILL.MD"


def test_missing_folder_is_not_an_error(tmp_path: Path) -> None:
    diagnostics: list = []
    assert scan_skills_folder(tmp_path / "absent", diagnostics) == []
    assert diagnostics == []


def test_unreadable_skill_file_is_skipped_and_named(tmp_path: Path) -> None:
    write_skill(tmp_path, "good", "description: fine")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "SKILL.md").symlink_to(tmp_path / "nowhere.md")  # dangling: open() fails
    batch = managed_skills(Settings(managed_dir=tmp_path / "m"))
    assert batch.loaded == []  # sanity: nothing in the managed dir
    (tmp_path / "m" / ".claude").mkdir(parents=True)
    (tmp_path / "m" / ".claude" / "skills").symlink_to(tmp_path)
    batch = managed_skills(Settings(managed_dir=tmp_path / "m"))
    assert names(batch) == ["good"]
    assert len(batch.diagnostics) == 1
    problem = batch.diagnostics[0]
    assert problem.level == "error"
    assert problem.path is not None
    assert problem.path.name == "SKILL.md"
    assert problem.path.parent.name == "broken"


# -- trees (--add-dir) ----------------------------------------------------------------


def test_tree_finds_skills_at_any_depth_including_dot_folders(tmp_path: Path) -> None:
    write_skill(tmp_path / "skills", "a")
    write_skill(tmp_path / "plugins" / "p" / "skills", "b")
    write_skill(tmp_path / "skills" / ".curated", "c")
    diagnostics: list = []
    found = scan_tree(tmp_path, ScanLimits(8, 1000), diagnostics)
    assert sorted(names(found)) == ["a", "b", "c"]
    assert diagnostics == []


def test_a_skill_folder_owns_its_subfolders_except_at_the_root(tmp_path: Path) -> None:
    write_skill(tmp_path, "outer")
    write_skill(tmp_path / "outer" / "templates", "inner")  # a file of outer, not a skill
    (tmp_path / "SKILL.md").write_text("---\ndescription: the root is a skill too\n---\n")
    found = scan_tree(tmp_path, ScanLimits(8, 1000), [])
    assert names(found) == [tmp_path.name, "outer"]


def test_tree_skips_git_node_modules_and_gitignored_folders(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write_skill(tmp_path / ".git", "in-git")
    write_skill(tmp_path / "node_modules" / "pkg", "in-node-modules")
    write_skill(tmp_path / "build", "ignored-by-root")
    write_skill(tmp_path / "sub" / "cache", "ignored-by-nested")
    write_skill(tmp_path / "sub", "kept")
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "sub" / ".gitignore").write_text("cache\n")
    found = scan_tree(tmp_path, ScanLimits(8, 1000), [])
    assert names(found) == ["kept"]


def test_tree_uses_gitignore_files_above_the_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("generated/\n")
    root = tmp_path / "packages"
    write_skill(root / "generated", "hidden")
    write_skill(root, "visible")
    assert names(scan_tree(root, ScanLimits(8, 1000), [])) == ["visible"]


def test_tree_depth_bound_is_reported_once(tmp_path: Path) -> None:
    write_skill(tmp_path / "a" / "b" / "c" / "d", "deep")
    write_skill(tmp_path / "a" / "b2" / "c" / "d", "deep2")
    write_skill(tmp_path, "top")
    diagnostics: list = []
    found = scan_tree(tmp_path, ScanLimits(max_depth=2, max_dirs=1000), diagnostics)
    assert names(found) == ["top"]
    assert len(diagnostics) == 1
    assert "deeper than 2" in diagnostics[0].message


def test_tree_folder_count_bound_stops_with_a_warning(tmp_path: Path) -> None:
    for i in range(10):
        write_skill(tmp_path, f"s{i}")
    diagnostics: list = []
    found = scan_tree(tmp_path, ScanLimits(max_depth=8, max_dirs=4), diagnostics)
    assert len(found) == 3  # the root and three skill folders were visited
    assert [d.level for d in diagnostics] == ["warning"]
    assert "stopped after 4 folders" in diagnostics[0].message


def test_tree_follows_symlinked_folders_once_and_survives_cycles(tmp_path: Path) -> None:
    write_skill(tmp_path / "real", "shared")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "loop").symlink_to(tmp_path)
    found = scan_tree(tmp_path, ScanLimits(8, 1000), [])
    assert len(found) == 1
    assert found[0].real == os.path.realpath(tmp_path / "real" / "shared" / "SKILL.md")


def test_tree_order_is_stable(tmp_path: Path) -> None:
    for name in ["m", "b", "x", "a"]:
        write_skill(tmp_path / name / "skills", name + "-skill")
    first = [f.file for f in scan_tree(tmp_path, ScanLimits(8, 1000), [])]
    assert first == sorted(first)
    assert first == [f.file for f in scan_tree(tmp_path, ScanLimits(8, 1000), [])]


def test_add_dir_of_a_missing_folder_says_so(tmp_path: Path) -> None:
    batch = add_dir_skills(tmp_path / "nope", Settings.from_env())
    assert batch.loaded == []
    assert "does not exist" in batch.diagnostics[0].message


@pytest.mark.parametrize(
    ("container", "expected"),
    [
        ("apps/web/.claude/skills", "apps/web"),
        ("plugins/p/skills", "plugins/p"),
        ("skills", "root"),
        ("", "root"),
        ("tools", "tools"),
    ],
)
def test_qualifier_names_where_a_skill_sits(tmp_path: Path, container: str, expected: str) -> None:
    root = tmp_path / "root"
    assert qualifier_for(str(root / container), str(root)) == expected


# -- user, managed, project -----------------------------------------------------------


def test_user_skills_come_from_both_home_folders(isolated_env: Path) -> None:
    write_skill(isolated_env / ".claude" / "skills", "one")
    write_skill(isolated_env / ".agents" / "skills", "two")
    batch = user_skills(Settings.from_env())
    assert names(batch) == ["one", "two"]
    assert {item.skill.source for item in batch.loaded} == {Source.USER}


def test_project_walks_up_to_the_repository_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    cwd = repo / "apps" / "web"
    cwd.mkdir(parents=True)
    write_skill(tmp_path / ".claude" / "skills", "above-repo")
    write_skill(repo / ".claude" / "skills", "at-root")
    write_skill(cwd / ".agents" / "skills", "at-cwd")
    s = Settings.from_env()
    assert project_dirs(cwd, s) == [cwd, repo / "apps", repo]
    batch = project_skills(cwd, s)
    assert names(batch) == ["at-cwd", "at-root"]
    assert {item.skill.source for item in batch.loaded} == {Source.PROJECT}


def test_project_walk_stops_below_home(isolated_env: Path) -> None:
    cwd = isolated_env / "work" / "proj"
    cwd.mkdir(parents=True)
    assert project_dirs(cwd, Settings.from_env()) == [cwd, cwd.parent]


# -- commands -------------------------------------------------------------------------


def test_commands_are_named_by_file_and_namespaced_by_folder(tmp_path: Path) -> None:
    (tmp_path / "frontend").mkdir()
    (tmp_path / "frontend" / "component.md").write_text("Make a component for $ARGUMENTS\n")
    (tmp_path / "deploy.md").write_text("---\ndescription: Ship it\n---\nShip.\n")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "as-skill").mkdir()
    (tmp_path / "as-skill" / "SKILL.md").write_text("---\ndescription: folder skill\n---\nX\n")
    (tmp_path / "as-skill" / "inner.md").write_text("not a command: the folder is a skill")
    batch = load_commands(tmp_path, source=Source.PROJECT)
    got = {item.skill.name: item.skill for item in batch.loaded}
    assert list(got) == ["deploy", "as-skill", "frontend:component"]
    assert got["deploy"].description == "Ship it"
    assert got["frontend:component"].description == "Make a component for $ARGUMENTS"
    assert got["frontend:component"].loaded_from is LoadedFrom.COMMANDS
    assert got["frontend:component"].directory is None
    assert got["as-skill"].directory == tmp_path / "as-skill"


# -- plugins --------------------------------------------------------------------------


def make_plugin(root: Path, folder: str, manifest: str | None) -> Path:
    plugin = root / folder
    if manifest is not None:
        (plugin / ".claude-plugin").mkdir(parents=True)
        (plugin / ".claude-plugin" / "plugin.json").write_text(manifest)
    write_skill(plugin / "skills", "review", "description: plugin review")
    (plugin / "commands" / "sub").mkdir(parents=True)
    (plugin / "commands" / "sub" / "go.md").write_text("Go.\n")
    return plugin


def test_plugin_names_are_namespaced_by_the_manifest_name(tmp_path: Path) -> None:
    plugin = make_plugin(tmp_path, "folder-name", '{"name": "tools"}')
    batch = plugin_skills([plugin])
    got = {item.skill.name: item.skill for item in batch.loaded}
    assert list(got) == ["tools:review", "tools:sub:go"]
    review = got["tools:review"]
    assert review.source is Source.PLUGIN
    assert review.loaded_from is LoadedFrom.PLUGIN
    assert review.plugin == "tools"
    assert review.plugin_root == plugin  # ${CLAUDE_PLUGIN_ROOT}
    assert batch.diagnostics == []


def test_a_folder_of_plugins_and_plugins_without_or_with_broken_manifests(tmp_path: Path) -> None:
    make_plugin(tmp_path, "a", '{"name": "alpha"}')
    make_plugin(tmp_path, "b", None)  # the manifest is optional
    make_plugin(tmp_path, "c", "{not json")
    (tmp_path / "not-a-plugin").mkdir()
    batch = plugin_skills([tmp_path])
    assert sorted(item.skill.name for item in batch.loaded if ":sub:" not in item.skill.name) == [
        "alpha:review",
        "b:review",
        "c:review",
    ]
    assert len(batch.diagnostics) == 1
    assert batch.diagnostics[0].path == tmp_path / "c" / ".claude-plugin" / "plugin.json"


def test_plugin_manifest_paths_add_places_but_never_leave_the_plugin(tmp_path: Path) -> None:
    plugin = make_plugin(
        tmp_path, "p", '{"name": "p", "skills": ["extra", "../outside"], "commands": "more"}'
    )
    write_skill(plugin / "extra", "bonus")
    write_skill(tmp_path / "outside", "escape")
    (plugin / "more").mkdir()
    (plugin / "more" / "x.md").write_text("X\n")
    batch = plugin_skills([plugin])
    got = [item.skill.name for item in batch.loaded]
    assert "p:bonus" in got
    assert "p:x" in got
    assert not any("escape" in name for name in got)
    assert any("leaves the plugin folder" in d.message for d in batch.diagnostics)


def test_plugin_dir_without_plugins_is_reported(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    batch = plugin_skills([tmp_path / "empty"])
    assert batch.loaded == []
    assert "no plugin here" in batch.diagnostics[0].message


def test_a_gitignored_root_named_on_purpose_is_still_scanned(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("generated/\n")
    root = tmp_path / "generated"
    write_skill(root / "skills", "made")
    write_skill(root / "cache", "not-this")
    (root / ".gitignore").write_text("cache/\n")
    assert names(scan_tree(root, ScanLimits(8, 1000), [])) == ["made"]


def test_unreadable_folder_is_reported_and_the_rest_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_skill(tmp_path / "ok", "fine")
    write_skill(tmp_path / "locked", "hidden")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if os.fspath(path) == str(tmp_path / "locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    diagnostics: list = []
    found = scan_tree(tmp_path, ScanLimits(8, 1000), diagnostics)
    assert names(found) == ["fine"]
    assert len(diagnostics) == 1
    assert diagnostics[0].path == tmp_path / "locked"
    assert "Permission denied" in diagnostics[0].message


def test_a_file_too_large_to_be_a_skill_is_skipped_with_an_error(tmp_path: Path) -> None:
    from skilld.skills.frontmatter import MAX_FILE_BYTES

    write_skill(tmp_path, "small")
    huge = tmp_path / "huge"
    huge.mkdir()
    (huge / "SKILL.md").write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    batch = add_dir_skills(tmp_path, Settings.from_env())
    assert names(batch) == ["small"]
    assert [d.level for d in batch.diagnostics] == ["error"]
    assert batch.diagnostics[0].path == huge / "SKILL.md"
    assert "limit" in batch.diagnostics[0].message


def test_a_symlinked_skill_folder_is_followed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_skill(store, "real-skill")
    skills = tmp_path / "skills"
    skills.mkdir()
    (skills / "alias").symlink_to(store / "real-skill")
    found = scan_skills_folder(skills, [])
    assert [Path(f.file).parent.name for f in found] == ["alias"]
    assert found[0].real == os.path.realpath(store / "real-skill" / "SKILL.md")


def test_tree_finds_capitalized_skill_files_too(tmp_path: Path) -> None:
    folder = tmp_path / "skills" / "shout"
    folder.mkdir(parents=True)
    (folder / "SKILL.MD").write_text("---\ndescription: loud\n---\n")
    write_skill(folder / "templates", "inner")  # belongs to shout
    diagnostics: list = []
    found = scan_tree(tmp_path, ScanLimits(8, 1000), diagnostics)
    assert [f.file for f in found] == [str(folder / "SKILL.MD")]
    assert [d.level for d in diagnostics] == ["info"]
