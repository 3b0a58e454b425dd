"""Reading permission rules from Claude Code's settings files and from the caller."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from skilld.exceptions import ConfigurationError, PermissionRuleError
from skilld.permission_settings import (
    ListingSettings,
    caller_rules,
    load_listing_settings,
    load_permission_engine,
    load_skill_overrides,
    read_settings_files,
    rules_from_settings,
)
from skilld.permissions import RuleSource
from skilld.settings import Settings
from skilld.skills.loader import skill_from_text


@pytest.fixture
def env(tmp_path: Path) -> tuple[Path, Settings]:
    """A project folder and settings pointing at a private home and managed dir."""
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    settings = Settings(home=tmp_path / "home", managed_dir=tmp_path / "managed")
    (settings.home / ".claude").mkdir(parents=True)
    settings.managed_dir.mkdir()
    return project, settings


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def files(project: Path, settings: Settings) -> dict[str, Path]:
    return {
        "managed": settings.managed_dir / "managed-settings.json",
        "user": settings.home / ".claude" / "settings.json",
        "project": project / ".claude" / "settings.json",
        "local": project / ".claude" / "settings.local.json",
    }


def test_no_files_no_rules(env: tuple[Path, Settings]) -> None:
    project, settings = env
    engine = load_permission_engine(project, settings=settings)
    assert engine.rules == ()
    assert engine.cwd == str(project)
    assert engine.home == str(settings.home)
    assert read_settings_files(project, settings=settings) == []


def test_every_file_is_read_in_precedence_order(env: tuple[Path, Settings]) -> None:
    project, settings = env
    paths = files(project, settings)
    for source, path in paths.items():
        write(path, {"permissions": {"allow": [f"Bash({source})"], "deny": [f"Read(/{source})"]}})
    engine = load_permission_engine(project, settings=settings, allow=["Bash(caller)"])
    assert [(str(r), r.behavior, r.source.value, r.origin) for r in engine.rules] == [
        ("Bash(managed)", "allow", "managed", str(paths["managed"])),
        ("Read(/managed)", "deny", "managed", str(paths["managed"])),
        ("Bash(caller)", "allow", "caller", "--allow"),
        ("Bash(local)", "allow", "local", str(paths["local"])),
        ("Read(/local)", "deny", "local", str(paths["local"])),
        ("Bash(project)", "allow", "project", str(paths["project"])),
        ("Read(/project)", "deny", "project", str(paths["project"])),
        ("Bash(user)", "allow", "user", str(paths["user"])),
        ("Read(/user)", "deny", "user", str(paths["user"])),
    ]
    roots = {r.source.value: r.root for r in engine.rules}
    assert roots == {
        "managed": str(settings.managed_dir),
        "caller": None,
        "local": str(project),
        "project": str(project),
        "user": str(settings.home / ".claude"),
    }


def test_decisions_from_files(env: tuple[Path, Settings]) -> None:
    project, settings = env
    paths = files(project, settings)
    write(paths["project"], {"permissions": {"allow": ["Bash(git *)", "Skill(deploy)"]}})
    write(paths["user"], {"permissions": {"deny": ["Bash(git push:*)"]}})
    engine = load_permission_engine(project, settings=settings)
    assert engine.check_shell("git status").behavior == "allow"
    decision = engine.check_shell("git push origin")
    assert (decision.behavior, decision.rule, decision.origin) == (
        "deny",
        "Bash(git push:*)",
        str(paths["user"]),
    )
    deploy = skill_from_text("---\nallowed-tools: Bash\n---\nx", name="deploy")
    assert engine.check_skill(deploy).behavior == "allow"


def test_user_slash_paths_are_under_home_claude(env: tuple[Path, Settings]) -> None:
    project, settings = env
    write(files(project, settings)["user"], {"permissions": {"deny": ["Read(/secrets/**)"]}})
    engine = load_permission_engine(project, settings=settings)
    home_secret = str(settings.home / ".claude" / "secrets" / "a")
    assert engine.check_tool("Read", {"file_path": home_secret}).behavior == "deny"
    project_secret = str(project / "secrets" / "a")
    assert engine.check_tool("Read", {"file_path": project_secret}).behavior == "allow"


def test_caller_rules() -> None:
    rules = caller_rules(allow=["Bash(ls)"], ask=["Skill(x)"], deny=["WebFetch"])
    assert [(str(r), r.behavior, r.source, r.origin) for r in rules] == [
        ("Bash(ls)", "allow", RuleSource.CALLER, "--allow"),
        ("Skill(x)", "ask", RuleSource.CALLER, "--ask"),
        ("WebFetch", "deny", RuleSource.CALLER, "--deny"),
    ]


def test_caller_deny_beats_a_project_allow(env: tuple[Path, Settings]) -> None:
    project, settings = env
    write(files(project, settings)["project"], {"permissions": {"allow": ["Bash"]}})
    engine = load_permission_engine(project, settings=settings, deny=["Bash(rm *)"])
    decision = engine.check_shell("rm -rf build")
    assert (decision.behavior, decision.origin) == ("deny", "--deny")


def test_malformed_caller_rule_names_the_flag() -> None:
    with pytest.raises(PermissionRuleError) as caught:
        caller_rules(deny=["Bash(rm"])
    assert str(caught.value) == (
        "Invalid permission rule 'Bash(rm' (in --deny): missing ')' at the end "
        "(write Tool(specifier))"
    )


def test_malformed_rule_names_the_file_list_and_index(env: tuple[Path, Settings]) -> None:
    project, settings = env
    path = write(
        files(project, settings)["project"],
        {"permissions": {"allow": ["Bash(ls)"], "deny": ["Read", "bash(x)"]}},
    )
    with pytest.raises(PermissionRuleError) as caught:
        load_permission_engine(project, settings=settings)
    assert caught.value.origin == f"{path} (permissions.deny[1])"
    assert str(caught.value) == (
        f"Invalid permission rule 'bash(x)' (in {path} (permissions.deny[1])): "
        "unknown tool 'bash': did you mean 'Bash'?"
    )


def test_non_string_rule(env: tuple[Path, Settings]) -> None:
    project, settings = env
    path = write(files(project, settings)["local"], {"permissions": {"ask": [3]}})
    with pytest.raises(PermissionRuleError, match=r"permissions\.ask\[0\]") as caught:
        load_permission_engine(project, settings=settings)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", ":1:2: invalid JSON: Expecting property name enclosed in double quotes"),
        ("[1, 2]", ": settings must be a JSON object, not list"),
        ({"permissions": []}, ": 'permissions' must be an object with allow/ask/deny lists"),
        ({"permissions": {"allow": "Bash"}}, ": 'permissions.allow' must be a list of rule"),
        (
            {"permissions": {"additionalDirectories": "x"}},
            ": 'permissions.additionalDirectories' must be a list of paths",
        ),
    ],
)
def test_malformed_file_names_the_file(
    env: tuple[Path, Settings], content: Any, message: str
) -> None:
    project, settings = env
    path = write(files(project, settings)["project"], content)
    with pytest.raises(ConfigurationError) as caught:
        load_permission_engine(project, settings=settings)
    assert str(caught.value).startswith(str(path) + message)


def test_unreadable_settings(env: tuple[Path, Settings]) -> None:
    project, settings = env
    files(project, settings)["local"].mkdir()
    with pytest.raises(ConfigurationError, match="is a folder, not a settings file"):
        load_permission_engine(project, settings=settings)
    files(project, settings)["local"].rmdir()
    files(project, settings)["local"].write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_permission_engine(project, settings=settings)


def test_empty_file_and_bom_are_accepted(env: tuple[Path, Settings]) -> None:
    project, settings = env
    paths = files(project, settings)
    write(paths["project"], "")
    paths["local"].write_text('\ufeff{"permissions": {"allow": ["Bash(ls)"]}}', encoding="utf-8")
    engine = load_permission_engine(project, settings=settings)
    assert [str(r) for r in engine.rules] == ["Bash(ls)"]


def test_managed_only(env: tuple[Path, Settings]) -> None:
    project, settings = env
    paths = files(project, settings)
    write(
        paths["managed"],
        {"allowManagedPermissionRulesOnly": True, "permissions": {"allow": ["Bash(ls)"]}},
    )
    write(paths["project"], {"permissions": {"allow": ["Bash(git *)"]}})
    engine = load_permission_engine(project, settings=settings, allow=["Bash(make)"])
    assert [str(r) for r in engine.rules] == ["Bash(ls)"]
    assert engine.check_shell("git status").behavior == "ask"
    write(paths["managed"], {"allowManagedPermissionRulesOnly": "yes"})
    with pytest.raises(ConfigurationError, match="must be true or false"):
        load_permission_engine(project, settings=settings)


def test_additional_directories(env: tuple[Path, Settings], tmp_path: Path) -> None:
    project, settings = env
    shared = tmp_path / "shared"
    write(
        files(project, settings)["project"],
        {"permissions": {"additionalDirectories": [str(shared)]}},
    )
    engine = load_permission_engine(project, settings=settings, additional_dirs=[tmp_path / "x"])
    assert engine.check_tool("Read", {"file_path": str(shared / "a")}).behavior == "allow"
    assert engine.check_tool("Read", {"file_path": str(tmp_path / "x" / "a")}).behavior == "allow"
    assert engine.check_tool("Read", {"file_path": str(tmp_path / "y")}).behavior == "ask"


def test_rules_from_one_file(env: tuple[Path, Settings]) -> None:
    project, settings = env
    write(files(project, settings)["project"], {"permissions": None, "other": 1})
    (found,) = read_settings_files(project, settings=settings)
    assert found.source is RuleSource.PROJECT
    assert rules_from_settings(found) == []


def test_skill_overrides_merge_with_precedence(env: tuple[Path, Settings]) -> None:
    project, settings = env
    paths = files(project, settings)
    write(paths["user"], {"skillOverrides": {"a": "off", "b": "name-only", "c": "off"}})
    write(paths["project"], {"skillOverrides": {"a": "on"}})
    write(paths["managed"], {"skillOverrides": {"c": "user-invocable-only"}})
    assert load_skill_overrides(project, settings=settings) == {
        "a": "on",
        "b": "name-only",
        "c": "user-invocable-only",
    }
    write(paths["local"], {"skillOverrides": ["a"]})
    with pytest.raises(ConfigurationError) as caught:
        load_skill_overrides(project, settings=settings)
    assert str(caught.value) == (
        f"{paths['local']}: 'skillOverrides' must map skill names to "
        "on, name-only, user-invocable-only or off, not list"
    )
    # a value the listing would refuse names the file here, not later without it
    write(paths["local"], {"skillOverrides": {"b": "on", "a": "hidden"}})
    with pytest.raises(ConfigurationError) as caught:
        load_listing_settings(project, settings=settings)
    assert str(caught.value) == (
        f"{paths['local']}: 'skillOverrides' must map skill names to "
        "on, name-only, user-invocable-only or off (skill 'a': 'hidden')"
    )


def test_defaults_come_from_the_environment(
    isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_env / ".claude").mkdir()
    write(isolated_env / ".claude" / "settings.json", {"permissions": {"allow": ["Bash(ls)"]}})
    monkeypatch.chdir(tmp_path)
    engine = load_permission_engine()
    assert [r.source for r in engine.rules] == [RuleSource.USER]
    assert engine.cwd == str(tmp_path)


def test_listing_settings(env: tuple[Path, Settings]) -> None:
    project, settings = env
    paths = files(project, settings)
    assert load_listing_settings(project, settings=settings) == ListingSettings({}, 0.01, 1536)
    write(paths["user"], {"skillListingBudgetFraction": 0.05, "skillListingMaxDescChars": 100})
    write(paths["project"], {"skillListingMaxDescChars": 300, "skillOverrides": {"a": "off"}})
    assert load_listing_settings(project, settings=settings) == ListingSettings(
        {"a": "off"}, 0.05, 300
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"skillListingBudgetFraction": 0}, "'skillListingBudgetFraction' must be a number in"),
        ({"skillListingBudgetFraction": "1%"}, "'skillListingBudgetFraction' must be a number"),
        ({"skillListingBudgetFraction": True}, "'skillListingBudgetFraction' must be a number"),
        ({"skillListingMaxDescChars": 0}, "'skillListingMaxDescChars' must be a whole number"),
        ({"skillListingMaxDescChars": 2.5}, "'skillListingMaxDescChars' must be a whole number"),
    ],
)
def test_bad_listing_settings_name_the_file(
    env: tuple[Path, Settings], data: dict[str, Any], message: str
) -> None:
    project, settings = env
    path = write(files(project, settings)["local"], data)
    with pytest.raises(ConfigurationError) as caught:
        load_listing_settings(project, settings=settings)
    assert str(caught.value).startswith(f"{path}: {message}")
