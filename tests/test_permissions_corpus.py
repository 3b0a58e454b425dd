"""The permission rules real skills declare in ``allowed-tools`` all parse and match."""

from __future__ import annotations

import pytest

from skilld.permissions import PermissionEngine, PermissionRule
from skilld.skills.loader import load_skill_file
from skilld.skills.model import LoadedFrom, Source
from tests.helpers import CORPUS

pytestmark = pytest.mark.corpus


def corpus_allowed_tools() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in sorted(CORPUS.rglob("*.md")):
        if path.name == "SKILL.md":
            loaded_from = LoadedFrom.SKILLS
        elif "commands" in path.parts:
            loaded_from = LoadedFrom.COMMANDS
        else:
            continue
        skill = load_skill_file(path, source=Source.PROJECT, loaded_from=loaded_from)
        found.extend((str(path), rule) for rule in skill.allowed_tools)
    return found


def test_every_corpus_allowed_tools_rule_parses() -> None:
    rules = corpus_allowed_tools()
    assert len(rules) > 100
    for _path, text in rules:
        PermissionRule.parse(text, origin=_path)  # raises, naming the file, if malformed


def test_corpus_bash_rules_allow_what_they_name() -> None:
    engine = PermissionEngine(cwd="/p", home="/h")
    checked = 0
    for _path, text in corpus_allowed_tools():
        rule = PermissionRule.parse(text)
        if rule.tool != "Bash" or rule.specifier is None or "*" not in rule.specifier:
            continue
        prefix = rule.specifier.removesuffix(":*").removesuffix(" *").rstrip()
        if "*" in prefix:
            continue
        command = f"{prefix} --some-flag"
        assert engine.check_shell(command, extra_allow=[text]).behavior == "allow", text
        assert engine.check_shell(f"{command} && curl evil", extra_allow=[text]).behavior == (
            "ask"
        ), text
        checked += 1
    assert checked >= 10
