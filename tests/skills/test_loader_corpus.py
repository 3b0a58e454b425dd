"""Every skill and command file of the real corpus loads, and loads sensibly."""

from __future__ import annotations

from pathlib import Path

import pytest

from skilld.skills.loader import load_skill_file
from skilld.skills.model import LoadedFrom, Skill, Source
from tests.helpers import CORPUS

pytestmark = pytest.mark.corpus


def _skill_files() -> list[Path]:
    return sorted(p for p in (CORPUS / "skills").rglob("*") if p.name.lower() == "skill.md")


def _command_files() -> list[Path]:
    return sorted(
        p for p in (CORPUS / "commands").rglob("*.md") if "commands" in p.parent.parts[-3:]
    )


@pytest.fixture(scope="module")
def skills() -> list[Skill]:
    return [load_skill_file(path, source=Source.PROJECT) for path in _skill_files()]


@pytest.fixture(scope="module")
def commands() -> list[Skill]:
    return [
        load_skill_file(path, source=Source.PROJECT, loaded_from=LoadedFrom.COMMANDS)
        for path in _command_files()
    ]


def test_every_corpus_skill_loads_with_a_description(skills: list[Skill]) -> None:
    assert len(skills) >= 400
    assert all(skill.description for skill in skills)
    assert all(skill.name == skill.directory.name for skill in skills if skill.directory)
    # this corpus is well-formed YAML throughout: nothing to report at load time
    assert [skill.path for skill in skills if skill.diagnostics] == []


def test_every_corpus_command_loads(commands: list[Skill]) -> None:
    assert len(commands) >= 150
    without_frontmatter = [c for c in commands if not c.frontmatter]
    assert len(without_frontmatter) >= 40  # a common real shape
    assert all(c.description_from_body for c in without_frontmatter)
    assert all(c.description for c in commands)
    assert [c.path for c in commands if c.has_errors] == []


def test_real_field_shapes_are_coerced(skills: list[Skill], commands: list[Skill]) -> None:
    every = skills + commands
    listed = [s for s in every if isinstance(s.frontmatter.get("allowed-tools"), list)]
    written = [s for s in every if isinstance(s.frontmatter.get("allowed-tools"), str)]
    assert listed
    assert written
    assert all(s.allowed_tools for s in listed + written)
    assert all(isinstance(t, str) and t for s in every for t in s.allowed_tools)
    hinted = [s for s in every if s.frontmatter.get("argument-hint") is not None]
    assert hinted
    assert all(isinstance(s.argument_hint, str) and s.argument_hint for s in hinted)


def test_dollar_amounts_in_bodies_are_kept_verbatim(skills: list[Skill]) -> None:
    with_dollars = [s for s in skills if "$" in s.body]
    assert with_dollars
    for skill in with_dollars[:20]:
        assert skill.path is not None
        assert skill.body in skill.path.read_text(encoding="utf-8").replace("\r\n", "\n")


def test_cjk_text_survives_loading(skills: list[Skill]) -> None:
    cjk = [s for s in skills if any("\u3040" <= ch <= "\u9fff" for ch in s.body)]
    assert cjk  # research-grants writes its Taiwanese criteria in Chinese
    assert all("\ufffd" not in s.body and not s.diagnostics for s in cjk)
