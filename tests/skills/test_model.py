"""Skill's memory layout: slotted, with the lazily computed version cached in a slot."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

from skilld.skills.loader import load_skill_file, skill_from_text
from skilld.skills.model import Skill, Source

TEXT = "---\ndescription: d\n---\nbody"


def test_a_skill_has_no_instance_dict() -> None:
    skill = skill_from_text(TEXT, name="s")
    assert not hasattr(skill, "__dict__")
    assert "version" not in Skill.__slots__  # the property, not a slot of its own name


def test_the_version_is_computed_once_and_kept(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "SKILL.md").write_text(TEXT, encoding="utf-8")
    skill = load_skill_file(folder / "SKILL.md", source=Source.USER)
    first = skill.version
    (folder / "extra.txt").write_text("changes the folder's hash", encoding="utf-8")
    assert skill.version == first  # cached on the instance: the same object, one version
    reloaded = load_skill_file(folder / "SKILL.md", source=Source.USER)
    assert reloaded.version != first


def test_the_cached_version_takes_no_part_in_equality_or_hash() -> None:
    computed, fresh = skill_from_text(TEXT, name="s"), skill_from_text(TEXT, name="s")
    assert computed.version.startswith("sha256:")
    assert computed == fresh
    assert hash(computed) == hash(fresh)
    assert "_version" not in repr(computed)
    assert "_version" not in Skill.__dataclass_fields__


def test_replace_and_pickle_keep_the_version_right() -> None:
    skill = skill_from_text(TEXT, name="s")
    version = skill.version
    pinned = replace(skill, fixed_version="sha256:pinned")
    assert pinned.version == "sha256:pinned"  # not the original's cached one
    assert replace(skill, body="other").version != version
    restored = pickle.loads(pickle.dumps(skill))
    assert restored == skill
    assert restored.version == version
