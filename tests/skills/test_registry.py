"""The registry: precedence, shadowing reports, realpath dedup, conditional and nested skills."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from skilld.exceptions import ConfigurationError
from skilld.settings import Settings
from skilld.skills.bundled import register_bundled_skill, unregister_bundled_skill
from skilld.skills.model import LoadedFrom, Source
from skilld.skills.registry import SkillRegistry, clear_caches, load_registry
from tests.helpers import write_skill


@pytest.fixture(autouse=True)
def clean_process_state() -> Iterator[None]:
    clear_caches(activations=True)
    yield
    clear_caches(activations=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository root used as the working directory."""
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    return root


def registry(cwd: Path, **kwargs: object) -> SkillRegistry:
    kwargs.setdefault("include_packages", False)
    return SkillRegistry(cwd, **kwargs)  # type: ignore[arg-type]


def by_name(reg: SkillRegistry) -> dict[str, object]:
    return {s.name: s for s in reg.skills()}


# -- precedence and shadowing ---------------------------------------------------------


def test_managed_beats_user_beats_project_beats_add_dir(
    project: Path, isolated_env: Path, tmp_path: Path
) -> None:
    settings = Settings.from_env()
    write_skill(settings.managed_dir / ".claude" / "skills", "a", "description: managed")
    for name in ("a", "b"):
        write_skill(isolated_env / ".claude" / "skills", name, "description: user")
    for name in ("a", "b", "c"):
        write_skill(project / ".claude" / "skills", name, "description: project")
    extra = tmp_path / "extra"
    for name in ("a", "b", "c", "d"):
        write_skill(extra, name, "description: add-dir")
    reg = registry(project, add_dirs=[extra])
    got = {s.name: s.description for s in reg.skills()}
    assert got == {"a": "managed", "b": "user", "c": "project", "d": "add-dir"}
    shadowed = [d for d in reg.diagnostics if "shadowed" in d.message]
    assert len(shadowed) == 6  # 3 copies of a, 2 of b, 1 of c
    assert all(d.level == "warning" and d.path is not None for d in shadowed)
    message = next(d.message for d in shadowed if d.path == extra / "c" / "SKILL.md")
    assert message.startswith("add-dir skill 'c'")
    assert "shadowed by project skill 'c'" in message


def test_nearer_project_folder_wins(project: Path) -> None:
    write_skill(project / ".claude" / "skills", "x", "description: root")
    app = project / "app"
    write_skill(app / ".claude" / "skills", "x", "description: app")
    assert registry(app).get("x").description == "app"  # type: ignore[union-attr]


def test_a_skill_beats_a_command_of_the_same_name(project: Path, isolated_env: Path) -> None:
    commands = isolated_env / ".claude" / "commands"
    commands.mkdir(parents=True)
    (commands / "deploy.md").write_text("user command\n")
    (commands / "only-command.md").write_text("just a command\n")
    write_skill(project / ".claude" / "skills", "deploy", "description: project skill")
    reg = registry(project)
    deploy = reg.get("deploy")
    assert deploy is not None
    assert deploy.loaded_from is LoadedFrom.SKILLS
    assert reg.get("only-command") is not None
    assert any("shadowed" in d.message and "command" in d.message for d in reg.diagnostics)


def test_any_local_skill_overrides_a_bundled_one(project: Path) -> None:
    register_bundled_skill("helper", "---\ndescription: bundled\n---\nB\n")
    register_bundled_skill("only-bundled", "---\ndescription: bundled too\n---\nB\n")
    try:
        write_skill(project / ".claude" / "skills", "helper", "description: local")
        reg = registry(project)
        assert reg.get("helper").source is Source.PROJECT  # type: ignore[union-attr]
        assert reg.get("only-bundled").source is Source.BUNDLED  # type: ignore[union-attr]
        assert registry(project, include_bundled=False).get("only-bundled") is None
    finally:
        unregister_bundled_skill("helper")
        unregister_bundled_skill("only-bundled")


def test_plugin_skills_never_collide_with_local_ones(project: Path, tmp_path: Path) -> None:
    write_skill(project / ".claude" / "skills", "review", "description: local")
    plugin = tmp_path / "plug"
    write_skill(plugin / "skills", "review", "description: plugin")
    reg = registry(project, plugin_dirs=[plugin])
    assert reg.get("review").description == "local"  # type: ignore[union-attr]
    assert reg.get("plug:review").description == "plugin"  # type: ignore[union-attr]
    assert not [d for d in reg.diagnostics if "shadowed" in d.message]


def test_same_name_twice_in_one_add_dir_keeps_both_qualified(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    write_skill(tree / "plugins" / "a" / "skills", "deploy", "description: first")
    write_skill(tree / "plugins" / "b" / "skills", "deploy", "description: second")
    reg = registry(tmp_path, add_dirs=[tree])
    got = {s.name: s.description for s in reg.skills()}
    assert got == {"deploy": "first", "plugins/b:deploy": "second"}
    assert any("listed as 'plugins/b:deploy'" in d.message for d in reg.diagnostics)


def test_same_name_across_two_add_dirs_is_shadowed(tmp_path: Path) -> None:
    write_skill(tmp_path / "one", "x", "description: one")
    write_skill(tmp_path / "two", "x", "description: two")
    reg = registry(tmp_path, add_dirs=[tmp_path / "one", tmp_path / "two"])
    assert [s.description for s in reg.skills()] == ["one"]
    assert any("shadowed" in d.message for d in reg.diagnostics)


# -- realpath dedup -------------------------------------------------------------------


def test_symlinked_skill_folders_load_once(project: Path) -> None:
    real = project / "shared-skills"
    for name in ("a", "b"):
        write_skill(real, name)
    (project / ".claude").mkdir()
    (project / ".claude" / "skills").symlink_to(real)
    (project / ".agents").mkdir()
    (project / ".agents" / "skills").symlink_to(real)  # like getsentry's .agents/skills
    reg = registry(project)
    assert [s.name for s in reg.skills()] == ["a", "b"]
    assert [s.path for s in reg.skills()] == [
        project / ".claude/skills/a/SKILL.md",
        project / ".claude/skills/b/SKILL.md",
    ]
    duplicates = [d for d in reg.diagnostics if "loaded once" in d.message]
    assert len(duplicates) == 2
    assert all(d.level == "info" for d in duplicates)


def test_add_dir_overlapping_the_project_loads_each_file_once(project: Path) -> None:
    write_skill(project / ".claude" / "skills", "p")
    reg = registry(project, add_dirs=[project])
    assert [s.name for s in reg.all_skills()] == ["p"]
    assert reg.get("p").source is Source.PROJECT  # type: ignore[union-attr]


def test_result_is_deterministic(project: Path, tmp_path: Path) -> None:
    for i in range(30):
        write_skill(tmp_path / "t" / f"group{i % 3}", f"s{i:02d}")
        write_skill(project / ".claude" / "skills", f"p{i:02d}")
    first = [(s.name, s.path) for s in registry(project, add_dirs=[tmp_path / "t"]).skills()]
    again = [(s.name, s.path) for s in registry(project, add_dirs=[tmp_path / "t"]).skills()]
    assert first == again
    assert [n for n, _ in first[:30]] == [f"p{i:02d}" for i in range(30)]


def test_a_broken_file_never_hides_the_others(project: Path) -> None:
    skills = project / ".claude" / "skills"
    write_skill(skills, "good")
    write_skill(skills, "bad-yaml", "description: [unclosed\nx: : :")
    (skills / "not-a-file").mkdir()
    (skills / "not-a-file" / "SKILL.md").mkdir()  # a folder where the file should be
    reg = registry(project)
    assert sorted(s.name for s in reg.skills()) == ["bad-yaml", "good"]
    assert reg.get("bad-yaml").diagnostics  # type: ignore[union-attr]
    assert any(
        d.level == "error" and d.path == skills / "not-a-file" / "SKILL.md" for d in reg.diagnostics
    )


# -- conditional skills ---------------------------------------------------------------


def conditional_project(project: Path) -> SkillRegistry:
    skills = project / ".claude" / "skills"
    write_skill(skills, "py", "paths: ['**/*.py']")
    write_skill(skills, "docs", "paths: docs/")
    write_skill(skills, "always")
    return registry(project)


def test_conditional_skills_are_held_back_until_a_matching_file(project: Path) -> None:
    reg = conditional_project(project)
    assert [s.name for s in reg.skills()] == ["always"]
    assert sorted(s.name for s in reg.all_skills()) == ["always", "docs", "py"]
    assert reg.get("py") is None
    assert reg.activate_for_paths(["README.md"]) == []
    assert reg.activate_for_paths(["src/pkg/mod.py", project / "src" / "other.py"]) == ["py"]
    assert reg.get("py") is not None
    assert reg.activate_for_paths([project / "docs" / "guide" / "index.md"]) == ["docs"]
    assert reg.activate_for_paths(["src/x.py"]) == []  # already active


@pytest.mark.parametrize("outside", ["../elsewhere/x.py", "/somewhere/else/x.py", "src/../../x.py"])
def test_files_outside_the_working_directory_activate_nothing(project: Path, outside: str) -> None:
    reg = conditional_project(project)
    assert reg.activate_for_paths([outside]) == []
    assert reg.get("py") is None


def test_activation_relative_to_another_cwd(project: Path) -> None:
    reg = conditional_project(project)
    assert reg.activate_for_paths(["mod.py"], cwd=project / "src") == ["py"]


def test_activated_names_survive_clear_caches(project: Path) -> None:
    reg = conditional_project(project)
    reg.activate_for_paths(["a.py"])
    clear_caches()
    fresh = load_registry(project, include_packages=False)
    assert fresh is not reg
    assert fresh.get("py") is not None
    assert fresh.get("docs") is None
    clear_caches(activations=True)
    assert load_registry(project, include_packages=False).get("py") is None


# -- nested discovery -----------------------------------------------------------------


def test_nested_skill_folders_load_when_a_file_below_them_is_touched(project: Path) -> None:
    write_skill(project / ".claude" / "skills", "deploy", "description: root deploy")
    web = project / "apps" / "web"
    write_skill(web / ".claude" / "skills", "deploy", "description: web deploy")
    write_skill(web / ".claude" / "skills", "lint", "description: web lint")
    reg = registry(project)
    assert reg.get("lint") is None
    added = reg.discover_for_paths([web / "src" / "page.tsx"])
    assert added == ["apps/web:deploy", "lint"]
    assert reg.get("deploy").description == "root deploy"  # type: ignore[union-attr]
    assert reg.get("apps/web:deploy").description == "web deploy"  # type: ignore[union-attr]
    assert reg.discover_for_paths(["apps/web/other.ts"]) == []  # only the first time


def test_nested_discovery_skips_gitignored_and_outside_folders(
    project: Path, tmp_path: Path
) -> None:
    (project / ".gitignore").write_text("vendor/\n")
    write_skill(project / "vendor" / "lib" / ".claude" / "skills", "vendored")
    write_skill(tmp_path / "outside" / ".claude" / "skills", "outsider")
    reg = registry(project)
    assert reg.discover_for_paths([project / "vendor" / "lib" / "x.py"]) == []
    assert reg.discover_for_paths([tmp_path / "outside" / "x.py"]) == []
    assert reg.get("vendored") is None


def test_nested_conditional_skills_are_still_held_back(project: Path) -> None:
    pkg = project / "pkg"
    write_skill(pkg / ".claude" / "skills", "pkg-py", "paths: '*.py'")
    reg = registry(project)
    assert reg.discover_for_paths(["pkg/readme.md"]) == ["pkg-py"]
    assert reg.get("pkg-py") is None
    assert reg.activate_for_paths(["pkg/a.py"]) == ["pkg-py"]


# -- change signal and memo -----------------------------------------------------------


def test_subscribers_hear_activation_and_discovery(project: Path) -> None:
    write_skill(project / "sub" / ".claude" / "skills", "found")
    reg = conditional_project(project)
    heard = threading.Event()
    calls: list[int] = []

    def listener() -> None:
        calls.append(1)
        heard.set()

    def broken() -> None:
        raise RuntimeError("a broken listener does not stop the others")

    reg.subscribe(broken)
    unsubscribe = reg.subscribe(listener)
    reg.activate_for_paths(["x.py"])
    assert heard.wait(timeout=5)
    reg.discover_for_paths(["sub/file.txt"])
    assert len(calls) == 2
    unsubscribe()
    reg.activate_for_paths(["docs/a.md"])
    assert len(calls) == 2


def test_reload_rereads_sources_and_signals(project: Path) -> None:
    reg = registry(project)
    calls: list[int] = []
    reg.subscribe(lambda: calls.append(1))
    assert reg.get("new") is None
    write_skill(project / ".claude" / "skills", "new")
    reg.reload()
    assert reg.get("new") is not None
    assert calls == [1]


def test_load_registry_is_memoized_per_cwd_and_options(project: Path, tmp_path: Path) -> None:
    first = load_registry(project, include_packages=False)
    assert load_registry(project, include_packages=False) is first
    assert load_registry(project, include_packages=False, add_dirs=[tmp_path]) is not first
    other = tmp_path / "other"
    other.mkdir()
    assert load_registry(other, include_packages=False) is not first
    clear_caches()
    assert load_registry(project, include_packages=False) is not first


def test_scan_bounds_come_from_settings(tmp_path: Path) -> None:
    write_skill(tmp_path / "t" / "a" / "b" / "c", "deep")
    settings = Settings.from_env({"SKILLD_HOME": str(tmp_path), "SKILLD_SCAN_MAX_DEPTH": "2"})
    assert settings.scan_max_depth == 2
    reg = registry(tmp_path, add_dirs=[tmp_path / "t"], settings=settings)
    assert reg.get("deep") is None
    assert any("deeper than 2" in d.message for d in reg.diagnostics)


def test_plugin_dirs_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_skill(tmp_path / "p1" / "skills", "one")
    write_skill(tmp_path / "p2" / "skills", "two")
    monkeypatch.setenv("SKILLD_PLUGIN_DIRS", f"{tmp_path / 'p1'}{os.pathsep}{tmp_path / 'p2'}")
    reg = registry(tmp_path)
    assert {"p1:one", "p2:two"} <= {s.name for s in reg.skills()}


@pytest.mark.parametrize("value", ["deep", "-1"])
def test_bad_scan_bounds_are_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigurationError, match="SKILLD_SCAN_MAX_DIRS"):
        Settings.from_env({"SKILLD_SCAN_MAX_DIRS": value})


def test_a_skill_folder_and_a_symlink_to_it_load_once(project: Path) -> None:
    skills = project / ".claude" / "skills"
    write_skill(skills, "original")
    (skills / "alias").symlink_to(skills / "original")
    reg = registry(project)
    assert [s.name for s in reg.skills()] == ["alias"]  # first by name wins
    assert any("loaded once" in d.message for d in reg.diagnostics)


def test_a_failing_source_does_not_hide_the_others(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import skilld.skills.registry as registry_module

    def explode(settings: Settings) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(registry_module, "user_skills", explode)
    write_skill(project / ".claude" / "skills", "still-here")
    reg = registry(project)
    assert reg.get("still-here") is not None
    assert any(d.level == "error" and "boom" in d.message for d in reg.diagnostics)


def test_reload_keeps_discovered_folders_and_activations(project: Path) -> None:
    write_skill(project / "pkg" / ".claude" / "skills", "nested")
    reg = conditional_project(project)
    reg.discover_for_paths(["pkg/a.txt"])
    reg.activate_for_paths(["a.py"])
    reg.reload()
    assert reg.get("nested") is not None
    assert reg.get("py") is not None
